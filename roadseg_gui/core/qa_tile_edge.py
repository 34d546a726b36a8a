"""Which road ends leave the tile: an end near the tile border is a road running off it, not a
dangling end.

"Near" is the larger of QA's margin and the road's own width there: a wide road's skeleton stops
about half its width short of the border (thinning eats the flat end), so a fixed margin set by the
annotator's line width marks the ends of wide roads (an accepted 15-px road, say) as dangling.
"""

from __future__ import annotations

import numpy as np

WIDEST_ROAD_PX = 64    # ends farther than this from the border are never measured
WIDTH_ALONG_PX = 24    # the width is read along this much of the road behind the end


def border_distance(shape: tuple[int, int], r: float, c: float) -> float:
    h, w = shape
    return min(r, c, h - 1 - r, w - 1 - c)


def leaves_tile(mask: np.ndarray, graph, node, margin: float) -> bool:
    """Is this road end within ``margin`` or within the road's own width of the tile border?"""
    r, c = graph.nodes[node]["o"]
    distance = border_distance(mask.shape, r, c)
    if distance < margin:
        return True
    if distance > WIDEST_ROAD_PX:
        return False
    return distance <= own_width(mask, graph, node)


def own_width(mask: np.ndarray, graph, node) -> float:
    """The road's width in px just behind this end: twice the median distance from its centre line
    to the road's side, over the first ``WIDTH_ALONG_PX`` of the line (0 when it has no line)."""
    from scipy.ndimage import distance_transform_edt

    edges = list(graph.edges(node, data=True))
    pts = np.asarray(edges[0][2].get("pts", ()), float) if edges else np.empty((0, 2))
    if len(pts) == 0:
        return 0.0
    end = np.asarray(graph.nodes[node]["o"], float)
    if np.hypot(*(pts[0] - end)) > np.hypot(*(pts[-1] - end)):
        pts = pts[::-1]                                   # from this end inwards
    pts = np.round(pts[:WIDTH_ALONG_PX]).astype(int)
    h, w = mask.shape
    pad = WIDEST_ROAD_PX // 2 + 1
    y0, x0 = max(0, pts[:, 0].min() - pad), max(0, pts[:, 1].min() - pad)
    y1, x1 = min(h, pts[:, 0].max() + pad + 1), min(w, pts[:, 1].max() + pad + 1)
    # On a window, the tile's border is no road side: the distance is to background pixels only.
    inside = distance_transform_edt(np.asarray(mask[y0:y1, x0:x1], bool))
    half = inside[pts[:, 0] - y0, pts[:, 1] - x0]
    return float(2 * np.median(half) - 1) if half.size else 0.0
