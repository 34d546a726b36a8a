"""Geometry checks of a road as it is accepted (RapiD's validators): self-intersections, spikes (sharp
reversals) and lone pieces shorter than QA's minimum fragment. They are reported, never refused."""

from __future__ import annotations

import math

import numpy as np

from ..connectivity_qa import Issue

SPIKE_DEGREES = 150.0   # a turn sharper than this at one vertex is a reversal, not a bend

REVIEW_KINDS = ("self_intersection", "spike", "short_piece")


def geometry_issues(line: np.ndarray, *, connected: bool, fragment_px: float, width: float = 1.0) -> list[Issue]:
    """Issues of a road's (simplified) centre line ``line`` ((N, 2) float row/col) ``width`` px wide;
    ``connected``: it touches labeled road, so a short one is a spur or link, not a fragment."""
    line = np.asarray(line, float).reshape(-1, 2)
    coarse = _without_short_links(line, max(2.0, width))   # a reversal over a short link is one turn
    issues = [Issue("self_intersection", c + 0.5, r + 0.5, "the road crosses itself")
              for r, c in self_crossings(line)]
    issues += [Issue("spike", c + 0.5, r + 0.5, "the road turns back on itself (a spike)")
               for r, c in spikes(coarse)]
    length = float(np.hypot(*np.diff(line, axis=0).T).sum()) if len(line) > 1 else 0.0
    if not connected and length < fragment_px:
        r, c = _halfway(line)
        issues.append(Issue("short_piece", c + 0.5, r + 0.5,
                            f"accepted piece of {length:.0f} px on its own (shorter than {fragment_px:.0f} px)"))
    return issues


def _halfway(line: np.ndarray) -> np.ndarray:
    """The point half the line's length along it."""
    steps = np.hypot(*np.diff(line, axis=0).T)
    if len(line) < 2 or not steps.sum():
        return line[0]
    along = np.concatenate([[0.0], np.cumsum(steps)])
    half = along[-1] / 2
    i = min(int(np.searchsorted(along, half)), len(line) - 1)
    t = (half - along[i - 1]) / max(steps[i - 1], 1e-9)
    return line[i - 1] + t * (line[i] - line[i - 1])


def _without_short_links(line: np.ndarray, shortest: float) -> np.ndarray:
    kept = [line[0]]
    for point in line[1:-1]:
        if np.hypot(*(point - kept[-1])) >= shortest:
            kept.append(point)
    return np.array(kept + [line[-1]]) if len(line) > 1 else line


def spikes(line: np.ndarray) -> list[tuple[float, float]]:
    """Vertices where the line turns by more than ``SPIKE_DEGREES``."""
    found = []
    limit = math.cos(math.radians(SPIKE_DEGREES))
    for i in range(1, len(line) - 1):
        a, b = line[i] - line[i - 1], line[i + 1] - line[i]
        na, nb = np.hypot(*a), np.hypot(*b)
        if na and nb and float(np.dot(a, b)) / (na * nb) < limit:
            found.append((float(line[i][0]), float(line[i][1])))
    return found


def self_crossings(line: np.ndarray) -> list[tuple[float, float]]:
    """Points where two segments of the line that do not share a vertex cross."""
    found = []
    segments = len(line) - 1
    for i in range(segments):
        for j in range(i + 2, segments):
            if i == 0 and j == segments - 1 and np.allclose(line[0], line[-1]):
                continue          # a closed ring meets itself at its start by design
            point = _crossing(line[i], line[i + 1], line[j], line[j + 1])
            if point is not None:
                found.append(point)
    return found


def _crossing(p, p2, q, q2):
    r, s = p2 - p, q2 - q
    denominator = r[0] * s[1] - r[1] * s[0]
    if abs(denominator) < 1e-12:
        return None                       # parallel: an overlap is a spike's business
    t = ((q - p)[0] * s[1] - (q - p)[1] * s[0]) / denominator
    u = ((q - p)[0] * r[1] - (q - p)[1] * r[0]) / denominator
    if 0 <= t <= 1 and 0 <= u <= 1:
        point = p + t * r
        return float(point[0]), float(point[1])
    return None
