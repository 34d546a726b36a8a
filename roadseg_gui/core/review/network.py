"""The heavy part of review, done once per tile and threshold (off the UI thread): the predicted road
network (``trainer.roadgraph`` with gap bridging) as plain edges with their per-pixel probability."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mask_edit import threshold


@dataclass(frozen=True, eq=False)
class PredictedEdge:
    index: int
    pts: np.ndarray            # (N, 2) int row/col centre-line pixels
    width_px: float            # measured from the prediction (distance transform)
    probability: np.ndarray    # (N,) road probability 0..1 at each pixel of ``pts``
    bridge: bool               # a gap the bridging stage closed

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(row0, col0, row1, col1) inclusive bounds of the centre line."""
        (r0, c0), (r1, c1) = self.pts.min(axis=0), self.pts.max(axis=0)
        return int(r0), int(c0), int(r1), int(c1)


@dataclass(frozen=True, eq=False)
class PredictedNetwork:
    shape: tuple[int, int]
    threshold: float
    edges: list[PredictedEdge]
    pixel_m: float | None = None   # ground size of a pixel; None: lengths stay in pixels


def predicted_network(probability: np.ndarray, t: float, pixel_m: float | None = None) -> PredictedNetwork:
    """The road graph of ``probability`` (uint8 0..255 as predicted, or float 0..1) at threshold ``t``,
    with the bridging stage of ``trainer.roadgraph.connect`` (gaps closed along the likely path)."""
    from trainer.roadgraph.build import mask_to_graph

    probability = np.asarray(probability)
    as_uint8 = probability if probability.dtype == np.uint8 else \
        (np.clip(np.nan_to_num(probability.astype(np.float32)), 0, 1) * 255).round().astype(np.uint8)
    road = without_specks(threshold(as_uint8, t))
    edges: list[PredictedEdge] = []
    if road.any():
        graph = mask_to_graph(road, bridge=True, probability=as_uint8)
        for _u, _v, data in graph.edges(data=True):
            pts = np.asarray(data["pts"], int).reshape(-1, 2)
            if len(pts) < 2:
                continue
            values = as_uint8[pts[:, 0], pts[:, 1]].astype(np.float32) / 255.0
            edges.append(PredictedEdge(len(edges), pts, float(data.get("width", 1.0)), values,
                                       bool(data.get("bridge"))))
    _preload_accept()
    return PredictedNetwork(road.shape, float(t), edges, pixel_m)


def without_specks(road: np.ndarray, area_px: int = 64) -> np.ndarray:
    """The predicted mask with pinholes filled and specks removed (both under ``area_px``): a hole in a
    road splits its centre line into a loop of short edges, which would be proposed as many roads."""
    from skimage.morphology import remove_small_holes, remove_small_objects

    return remove_small_objects(remove_small_holes(road, max_size=area_px - 1), max_size=area_px - 1)


def _preload_accept() -> None:
    """Import what accepting needs here, off the UI thread: the first accept then answers at once."""
    from scipy import ndimage
    from scipy.spatial import cKDTree
    from skimage.draw import line
    from skimage.measure import approximate_polygon   # imports scipy.signal (~2 s on a busy machine)

    cKDTree(np.zeros((1, 2)))
    ndimage.label(np.zeros((2, 2), bool))
    line(0, 0, 1, 1)
    approximate_polygon(np.zeros((3, 2)), 1.0)
