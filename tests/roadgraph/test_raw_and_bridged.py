"""The metrics trace a prediction once and post-process a copy: both networks equal the ones built apart."""

import numpy as np

from trainer.roadgraph.build import graph_from_skeleton, raw_and_bridged
from trainer.roadgraph.metrics import road_metrics
from trainer.roadgraph.skeleton import skeletonize_mask


def _edges(graph):
    return sorted((tuple(map(tuple, data["pts"])), round(data["length"], 6), round(data["width"], 6))
                  for _, _, data in graph.edges(data=True))


def _gapped_roads(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = np.zeros((160, 160), bool)
    mask[40:46, 4:156] = True
    mask[4:156, 90:96] = True
    mask[110:115, 10:150] = True
    mask[:, 60:66] = mask[:, 60:66] & ~(np.arange(160)[:, None] < 50)   # a 6-px gap in each road
    mask[70:76, :] = False
    mask[:, 128:134] = mask[:, 128:134] & (np.arange(160)[:, None] < 100)
    for _ in range(3):                      # and a few random nicks
        r, c = rng.integers(10, 150, 2)
        mask[max(0, r - 2):r + 2, max(0, c - 2):c + 2] = False
    probability = np.where(mask, 220, 20).astype(np.uint8)
    return mask, probability


def test_one_trace_gives_the_same_raw_and_bridged_networks_as_two():
    for seed in range(4):
        mask, probability = _gapped_roads(seed)
        skeleton = skeletonize_mask(mask)
        raw, bridged = raw_and_bridged(mask, skeleton, probability=probability)
        assert _edges(raw) == _edges(graph_from_skeleton(mask, skeleton))
        alone = graph_from_skeleton(mask, skeleton, bridge=True, probability=probability)
        assert _edges(bridged) == _edges(alone)
        assert bridged.graph["connect"] == alone.graph["connect"]
        assert "connect" not in raw.graph           # the copy was post-processed, not the raw network


def test_road_metrics_scores_the_bridged_network_beside_the_raw_one():
    mask, probability = _gapped_roads(7)
    truth = np.zeros_like(mask)
    truth[40:46, 4:156] = truth[4:156, 90:96] = truth[110:115, 10:150] = True
    scores = road_metrics(mask, truth, bridge=True, probability=probability)
    assert scores["apls"] > scores["apls_raw"]       # the gaps cost the raw skeleton its routes
    assert road_metrics(mask, truth)["apls"] == scores["apls_raw"]
