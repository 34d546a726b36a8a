"""Candidate roads: the predicted network minus what the mask labels and minus what was rejected.

Each graph edge gives the runs of its centre line that the mask does not cover (usually one run: the
whole edge, or the part beyond a labeled road). After an edit only the edges near the changed box
are looked at again, so an accept or reject updates the list in milliseconds, not a graph rebuild.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .network import PredictedEdge, PredictedNetwork

Rect = tuple[int, int, int, int]   # x, y, w, h (as MaskDocument listeners receive it)


@dataclass(frozen=True)
class ReviewSettings:
    min_width_px: float = 3.0       # candidate widths are clamped to the workspace's range
    max_width_px: float = 40.0
    join_widths: float = 2.0        # an end this many road widths from a labeled road is joined to it
    duplicate_fraction: float = 0.8  # this much of a candidate within one width of labeled road: a duplicate
    fragment_px: float = 80.0       # QA's minimum fragment: a lone accepted piece shorter than this is an issue

    @classmethod
    def from_labeling(cls, labeling, road_width: float) -> "ReviewSettings":
        """From the workspace's ``[labeling]`` settings; QA's minimum fragment as QA computes it."""
        low = _positive(getattr(labeling, "review_min_width_px", 3), 3.0)
        high = max(low, _positive(getattr(labeling, "review_max_width_px", 40), 40.0))
        fragment = _positive(getattr(labeling, "qa_min_fragment_px", 0), 8 * road_width)
        return cls(low, high, _positive(getattr(labeling, "review_join_widths", 2.0), 2.0), 0.8, fragment)

    def clamp(self, width: float) -> float:
        return float(min(self.max_width_px, max(self.min_width_px, width)))


def _positive(value, default: float) -> float:
    """A hand-edited setting that is not a positive number ("", "wide", -1) means its default."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float(default)
    return number if number > 0 and math.isfinite(number) else float(default)


@dataclass(frozen=True, eq=False)
class Candidate:
    key: tuple[int, int]            # (edge index, first pixel of the run): stable while the network is
    pts: np.ndarray                 # (N, 2) int row/col centre line
    width_px: float                 # measured from the prediction, clamped
    confidence: float               # mean road probability along it, 0..1
    length_px: float
    pixel_m: float | None = None

    @property
    def length(self) -> float:
        """In metres on a georeferenced tile, else in pixels (see ``units``)."""
        return self.length_px * self.pixel_m if self.pixel_m else self.length_px

    @property
    def units(self) -> str:
        return "m" if self.pixel_m else "px"

    @property
    def score(self) -> float:
        return self.length_px * self.confidence

    @property
    def middle(self) -> tuple[float, float]:
        """(x, y) image coordinates of the middle of the centre line."""
        r, c = self.pts[len(self.pts) // 2]
        return c + 0.5, r + 0.5

    def distance_to(self, x: float, y: float) -> float:
        """Pixels from image point (x, y) to the nearest centre-line pixel."""
        return float(np.hypot(self.pts[:, 1] + 0.5 - x, self.pts[:, 0] + 0.5 - y).min())

    def describe(self) -> str:
        return f"{self.length:.0f} {self.units}, {self.confidence:.0%} confident, {self.width_px:.0f} px wide"


def path_length(pts: np.ndarray) -> float:
    return float(np.hypot(*np.diff(np.asarray(pts, float), axis=0).T).sum()) if len(pts) > 1 else 0.0


class CandidateList:
    """The candidates of one tile, best first (longest and most confident), kept up to date."""

    def __init__(self, network: PredictedNetwork, mask: np.ndarray, settings: ReviewSettings = ReviewSettings(),
                 rejected: list[np.ndarray] | None = None):
        self.network, self.settings = network, settings
        self._rejected: list[np.ndarray] = [np.asarray(r, float).reshape(-1, 2) for r in (rejected or [])]
        self._tree = None
        self._by_edge: dict[int, list[Candidate]] = {}
        self._ordered: list[Candidate] | None = None
        self._boxes = np.array([e.box for e in network.edges], int).reshape(-1, 4)
        self._reach = np.array([e.width_px for e in network.edges], float) + 2
        self.update(mask)

    # ---- the list ----------------------------------------------------------
    @property
    def items(self) -> list[Candidate]:
        if self._ordered is None:
            every = [c for runs in self._by_edge.values() for c in runs]
            self._ordered = sorted(every, key=lambda c: (-c.score, c.key))
        return self._ordered

    def __len__(self) -> int:
        return len(self.items)

    def find(self, key) -> Candidate | None:
        return next((c for c in self.items if c.key == key), None)

    def at(self, x: float, y: float, reach: float = 6.0) -> Candidate | None:
        """The candidate whose centre line passes nearest (x, y), within its half width or ``reach``."""
        best, best_d = None, math.inf
        for c in self.items:
            r0, c0, r1, c1 = c.pts.min(axis=0).tolist() + c.pts.max(axis=0).tolist()
            margin = max(reach, c.width_px / 2)
            if not (c0 - margin <= x <= c1 + 1 + margin and r0 - margin <= y <= r1 + 1 + margin):
                continue
            d = c.distance_to(x, y)
            if d <= margin and d < best_d:
                best, best_d = c, d
        return best

    def above(self, min_confidence: float, area: tuple[float, float, float, float] | None = None) -> list[Candidate]:
        """Candidates at least ``min_confidence`` confident whose middle lies in ``area`` (x0, y0, x1, y1;
        None: the whole tile), best first."""
        chosen = []
        for c in self.items:
            if c.confidence < min_confidence:
                continue
            if area is not None:
                x, y = c.middle
                x0, y0, x1, y1 = area
                if not (min(x0, x1) <= x <= max(x0, x1) and min(y0, y1) <= y <= max(y0, y1)):
                    continue
            chosen.append(c)
        return chosen

    # ---- updates -------------------------------------------------------------
    def update(self, mask: np.ndarray, rect: Rect | None = None) -> None:
        """The mask changed (inside ``rect``, or anywhere): look again at the edges near the change."""
        mask = np.asarray(mask, bool)
        for edge in self._edges_near(rect):
            runs = self._uncovered_runs(edge, mask)
            if runs:
                self._by_edge[edge.index] = runs
            else:
                self._by_edge.pop(edge.index, None)
        self._ordered = None

    def reject(self, candidate: Candidate) -> np.ndarray:
        """Hide ``candidate`` (and any candidate running along it); returns the line to keep."""
        line = candidate.pts[:: max(1, int(candidate.width_px // 2))].astype(float)
        line = np.vstack([line, candidate.pts[-1:]])
        self._rejected.append(line)
        self._tree = None                 # rebuilt when an edit next needs it
        from scipy.spatial import cKDTree

        just_this = cKDTree(line)         # only roads near this one can run along it
        (r0, c0), (r1, c1) = candidate.pts.min(axis=0), candidate.pts.max(axis=0)
        x, y = c0 - candidate.width_px, r0 - candidate.width_px
        for edge in self._edges_near((x, y, c1 - c0 + 2 * candidate.width_px, r1 - r0 + 2 * candidate.width_px)):
            runs = self._by_edge.get(edge.index, [])
            kept = [c for c in runs if c is not candidate and not self._along(c, just_this)]
            if kept:
                self._by_edge[edge.index] = kept
            else:
                self._by_edge.pop(edge.index, None)
        self._ordered = None
        return line

    @property
    def rejected(self) -> list[np.ndarray]:
        return list(self._rejected)

    # ---- internals -------------------------------------------------------------
    def _edges_near(self, rect: Rect | None) -> list[PredictedEdge]:
        edges = self.network.edges
        if rect is None or not edges:
            return list(edges)
        x, y, w, h = rect
        b, m = self._boxes, self._reach
        hit = (b[:, 0] - m <= y + h) & (b[:, 2] + m >= y) & (b[:, 1] - m <= x + w) & (b[:, 3] + m >= x)
        return [edges[i] for i in np.flatnonzero(hit)]

    def _uncovered_runs(self, edge: PredictedEdge, mask: np.ndarray) -> list[Candidate]:
        covered = mask[edge.pts[:, 0], edge.pts[:, 1]]
        width = self.settings.clamp(round(edge.width_px))   # whole pixels, as the road width slider and , .
        runs = []
        free = np.flatnonzero(~covered)
        if not free.size:
            return runs
        breaks = np.flatnonzero(np.diff(free) > 1)
        starts = np.concatenate([[free[0]], free[breaks + 1]])
        ends = np.concatenate([free[breaks], [free[-1]]])
        for i, j in zip(starts, ends):
            i0, j1 = max(0, i - 1), min(len(edge.pts), j + 2)   # one labeled pixel each side: it touches
            pts = edge.pts[i0:j1]
            length = path_length(pts)
            if length < max(3.0, 2 * width):  # a sliver beside a labeled road or a knot of noise, not a road
                continue
            candidate = Candidate((edge.index, int(i)), pts, width, float(edge.probability[i:j + 1].mean()),
                                  length, self.network.pixel_m)
            if not self._is_rejected(candidate):
                runs.append(candidate)
        return runs

    def _is_rejected(self, candidate: Candidate) -> bool:
        if not self._rejected:
            return False
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(np.vstack(self._rejected))
        return self._along(candidate, self._tree)

    def _along(self, candidate: Candidate, tree) -> bool:
        """Does ``candidate`` run along the rejected line(s) in ``tree`` for most of its length?"""
        reach = max(3.0, candidate.width_px)
        distance, _ = tree.query(candidate.pts.astype(float), distance_upper_bound=reach)
        return float(np.mean(distance <= reach)) >= self.settings.duplicate_fraction
