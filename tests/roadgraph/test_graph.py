"""Mask -> graph, stage by stage: skeleton links, tracing, spurs and merges, metres."""

from __future__ import annotations

import numpy as np
import pytest
from rasterio.crs import CRS
from rasterio.transform import from_origin

from trainer.roadgraph.build import mask_to_graph
from trainer.roadgraph.simplify import simplify
from trainer.roadgraph.skeleton import skeleton_links
from trainer.roadgraph.stats import network_stats
from trainer.roadgraph.trace import trace_graph


def t_mask(width: int = 5) -> np.ndarray:
    """A horizontal road (row 50, cols 10..189) and an arm down from col 100 to row 149."""
    mask = np.zeros((200, 200), bool)
    half = width // 2
    mask[50 - half:51 + half, 10:190] = True
    mask[50:150, 100 - half:101 + half] = True
    return mask


def test_stair_steps_are_not_junctions():
    diagonal = np.zeros((6, 6), bool)
    diagonal[[0, 0, 1, 1, 2, 2], [0, 1, 1, 2, 2, 3]] = True   # a staircase line
    _, _, links = skeleton_links(diagonal)
    assert np.bincount(links.ravel()).tolist() == [1, 2, 2, 2, 2, 1]
    graph = trace_graph(diagonal)
    assert graph.number_of_nodes() == 2 and graph.number_of_edges() == 1


def test_trace_t_junction_and_ring():
    skeleton = np.zeros((20, 20), bool)
    skeleton[10, 2:18] = True
    skeleton[2:10, 9] = True
    graph = trace_graph(skeleton)
    assert sorted(d for _, d in graph.degree()) == [1, 1, 1, 3]
    assert sum(len(pts) for _, _, pts in graph.edges(data="pts")) == 16 + 8 + 2   # junction pixel in 3 paths
    ring = np.zeros((20, 20), bool)
    ring[5, 5:15] = ring[15, 5:15] = ring[5:16, 5] = ring[5:16, 14] = True
    graph = trace_graph(ring)
    assert graph.number_of_nodes() == 1 and list(graph.edges(0, 0))   # one node, one self-loop
    assert trace_graph(np.zeros((5, 5), bool)).number_of_nodes() == 0


def test_t_junction_graph_lengths_widths_kinds():
    graph = mask_to_graph(t_mask(5))
    kinds = sorted(kind for _, kind in graph.nodes(data="kind"))
    assert kinds == ["end", "end", "end", "junction"]
    assert graph.graph["units"] == "px"
    junction = next(n for n, k in graph.nodes(data="kind") if k == "junction")
    np.testing.assert_allclose(graph.nodes[junction]["o"], [50, 100], atol=1.5)
    for _, _, data in graph.edges(data=True):
        assert data["pts"].shape[1] == 2 and data["pts"].dtype.kind == "i"
        assert data["width"] == pytest.approx(5.0)
        assert data["weight"] == data["length"]
    lengths = sorted(length for _, _, length in graph.edges(data="length"))
    # skeleton ends stop about half a width short of the mask's ends
    np.testing.assert_allclose(lengths, [88, 88, 98], atol=2.5)


def test_spurs_are_pruned_and_close_junctions_merged():
    skeleton = np.zeros((40, 60), bool)
    skeleton[20, 5:55] = True
    skeleton[17:20, 30] = True          # a 3-px spur
    skeleton[5:20, 10] = True           # a real side road
    skeleton[21:35, 12] = True          # a road entering 2 px away from the side road
    fixed = lambda g: simplify(g, None, min_spur_px=5, merge_px=3.0)  # noqa: E731
    graph = fixed(trace_graph(skeleton))
    assert sorted(d for _, d in graph.degree()) == [1, 1, 1, 1, 4]   # spur gone, junctions merged
    kept = simplify(trace_graph(skeleton), None, min_spur_px=2, merge_px=0)
    assert sorted(d for _, d in kept.degree()) == [1, 1, 1, 1, 1, 3, 3, 3]


def test_spur_default_is_the_local_road_width():
    mask = np.zeros((80, 120), bool)
    mask[35:46, 5:115] = True           # an 11-px road
    mask[30:35, 58:63] = True           # a 5-px bump: skeletonisation grows a short spur
    graph = mask_to_graph(mask)
    assert sorted(d for _, d in graph.degree()) == [1, 1]
    assert graph.number_of_edges() == 1


def test_metres_from_projected_and_geographic_transforms():
    mask = np.zeros((40, 140), bool)
    mask[18:23, 10:130] = True          # 5 px wide, skeleton ~ 116 px long
    pixels = mask_to_graph(mask)
    (_, _, px), = pixels.edges(data=True)
    metres = mask_to_graph(mask, transform=from_origin(500000, 4000000, 2.0, 2.0), crs=CRS.from_epsg(32618))
    (_, _, m), = metres.edges(data=True)
    assert metres.graph["units"] == "m"
    assert m["length"] == pytest.approx(2.0 * px["length"]) and m["width"] == pytest.approx(10.0)
    feet = mask_to_graph(mask, transform=from_origin(0, 0, 2.0, 2.0), crs=CRS.from_epsg(2263))
    (_, _, ft), = feet.edges(data=True)
    assert ft["length"] == pytest.approx(2.0 * 0.3048006 * px["length"], rel=1e-5)
    # 1e-5 degree pixels: 1.113 m along the equator, half that along longitude at 60 degrees north
    equator = mask_to_graph(mask, transform=from_origin(10, 0.001, 1e-5, 1e-5), crs=CRS.from_epsg(4326))
    north = mask_to_graph(mask, transform=from_origin(10, 60.0, 1e-5, 1e-5), crs=CRS.from_epsg(4326))
    (_, _, eq), = equator.edges(data=True)
    (_, _, no), = north.edges(data=True)
    assert eq["length"] == pytest.approx(1.11195 * px["length"], rel=1e-3)
    assert no["length"] == pytest.approx(0.5 * eq["length"], rel=1e-2)   # the path's end steps are not all east-west


def test_network_stats_counts():
    mask = t_mask(5)
    mask[180:185, 20:60] = True         # a separate fragment
    mask[150, 150] = True               # and a dot
    stats = network_stats(mask_to_graph(mask))
    assert stats["junctions"] == 1 and stats["dangling_ends"] == 5 and stats["fragments"] == 3
    assert stats["edges"] == 4 and stats["units"] == "px"
    assert stats["length"] == pytest.approx(88 + 88 + 98 + 36, abs=8)
    assert network_stats(mask_to_graph(np.zeros((9, 9), bool)))["fragments"] == 0


def test_a_read_only_mask_is_accepted():
    mask = np.zeros((50, 50), bool)
    mask[20:25, 5:45] = True
    mask.setflags(write=False)
    assert mask_to_graph(mask).number_of_edges() == 1
