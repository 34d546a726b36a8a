"""Network post-processing of a prediction (trainer.roadgraph.connect / bridge) on hand-made masks."""

import networkx as nx
import numpy as np

from trainer.roadgraph.build import mask_to_graph


def _pieces(graph) -> int:
    return nx.number_connected_components(graph)


def _degrees(graph) -> list[int]:
    return sorted(d for _, d in graph.degree())


def test_a_straight_road_with_a_6_px_gap_is_bridged():
    mask = np.zeros((64, 128), bool)
    mask[30:35, 5:60] = True
    mask[30:35, 66:123] = True            # 5-px road, a 6-px gap at columns 60..65
    assert _pieces(mask_to_graph(mask)) == 2
    graph = mask_to_graph(mask, bridge=True)
    assert _pieces(graph) == 1 and graph.number_of_edges() == 1 and _degrees(graph) == [1, 1]
    (_, _, data), = graph.edges(data=True)
    assert 110 < data["length"] < 125        # one road end to end, not a detour
    assert 4.0 <= data["width"] <= 6.0       # the bridge keeps the road's width
    assert graph.graph["connect"]["gaps_bridged"] == 1


def test_the_bridge_follows_the_probability_not_the_straight_line():
    mask = np.zeros((80, 128), bool)
    mask[20:27, 5:55] = True
    mask[20:27, 67:123] = True            # a 12-px gap, which the model saw (below 0.5) as a curve dipping 5 px
    probability = np.where(mask, 230, 5).astype(np.uint8)
    for col in range(50, 72):
        row = 23 + int(round(5 * np.sin(np.pi * np.clip((col - 53) / 16, 0, 1))))
        probability[row - 3:row + 4, col] = np.maximum(probability[row - 3:row + 4, col], 110)
    graph = mask_to_graph(mask, bridge=True, probability=probability)
    assert _pieces(graph) == 1
    (_, _, pts), = graph.edges(data="pts")
    assert pts[:, 0].max() >= 26             # down the curve the probability shows (centre row 23)
    straight = mask_to_graph(mask, bridge=True)
    (_, _, pts), = straight.edges(data="pts")
    assert pts[:, 0].max() <= 24             # with the mask alone: straight across


def test_two_parallel_roads_3_widths_apart_are_not_joined():
    for second in ((35, 40, 30, 123), (35, 40, 5, 90)):   # staggered ends, then ends side by side
        mask = np.zeros((80, 128), bool)
        mask[20:25, 5:90] = True
        r0, r1, c0, c1 = second
        mask[r0:r1, c0:c1] = True          # centre lines 15 px = 3 widths apart
        graph = mask_to_graph(mask, bridge=True)
        assert _pieces(graph) == 2 and graph.graph["connect"]["gaps_bridged"] == 0


def test_a_t_junction_cut_by_2_px_is_rejoined():
    mask = np.zeros((100, 128), bool)
    mask[20:27, 5:123] = True              # a 7-px road across
    mask[29:95, 60:67] = True              # its side road stops 2 px short of it
    assert _pieces(mask_to_graph(mask)) == 2
    graph = mask_to_graph(mask, bridge=True)
    assert _pieces(graph) == 1
    assert _degrees(graph) == [1, 1, 1, 3]
    junction = next(n for n, d in graph.degree() if d == 3)
    row, col = graph.nodes[junction]["o"]
    assert 21 <= row <= 26 and 59 <= col <= 67   # on the road across, above the side road


def test_a_spur_shorter_than_a_width_is_pruned_and_a_side_road_is_kept():
    mask = np.zeros((64, 128), bool)
    mask[30:37, 5:123] = True              # a 7-px road
    mask[24:30, 60:63] = True              # a stub sticking out 6 px (< one width)
    assert _degrees(mask_to_graph(mask)) == [1, 1, 1, 3]   # the skeleton alone keeps it
    graph = mask_to_graph(mask, bridge=True)
    assert _degrees(graph) == [1, 1] and graph.graph["connect"]["spurs_pruned"] == 1
    mask[10:30, 60:63] = True              # a 20-px side road is a road
    assert _degrees(mask_to_graph(mask, bridge=True)) == [1, 1, 1, 3]


def test_a_short_road_leaving_the_tile_is_not_a_spur():
    mask = np.zeros((64, 128), bool)
    mask[8:15, 5:123] = True               # a 7-px road 8 px below the tile's top edge
    mask[0:8, 60:63] = True                # a side road leaving the tile there: a route out, not a stub
    assert _degrees(mask_to_graph(mask)) == [1, 1, 1, 3]
    graph = mask_to_graph(mask, bridge=True)
    assert _degrees(graph) == [1, 1, 1, 3] and graph.graph["connect"]["spurs_pruned"] == 0


def test_isolated_fragments_shorter_than_a_few_widths_are_dropped():
    mask = np.zeros((100, 128), bool)
    mask[20:25, 5:123] = True
    mask[70:75, 50:58] = True              # an 8-px blob on its own, far from any road
    assert _pieces(mask_to_graph(mask)) == 2
    graph = mask_to_graph(mask, bridge=True)
    assert _pieces(graph) == 1 and graph.graph["connect"]["fragments_dropped"] == 1


def _route_length(graph, a, b) -> float:
    def nearest(rc):
        return min(graph.nodes, key=lambda n: np.hypot(*(graph.nodes[n]["o"] - rc)))
    return nx.shortest_path_length(graph, nearest(a), nearest(b), weight="length")


def test_ends_that_face_each_other_are_preferred_over_a_road_as_near():
    mask = np.zeros((100, 128), bool)
    mask[40:47, 5:60] = True               # road A heads right ...
    mask[40:47, 72:123] = True             # ... at road B's end, 12 px on, facing it
    mask[52:57, 20:123] = True             # road C runs below, its side as near to A's end as B's end is
    probability = np.where(mask, 230, 40).astype(np.uint8)   # a flat, faint background: cost ~ length
    graph = mask_to_graph(mask, bridge=True, probability=probability)
    assert _route_length(graph, (43, 7), (43, 120)) < 120    # A -> B straight across
    from trainer.roadgraph import bridge, connect
    from trainer.roadgraph.build import raw_and_bridged
    from trainer.roadgraph.skeleton import skeletonize_mask
    rules = connect.ConnectRules(bridge=bridge.BridgeRules(facing_bonus=1.0))
    _, graph = raw_and_bridged(mask, skeletonize_mask(mask), probability=probability, rules=rules)
    assert _route_length(graph, (43, 7), (43, 120)) > 125    # without the preference A turns onto C

