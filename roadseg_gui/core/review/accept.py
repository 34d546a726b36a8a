"""Accepting a candidate: its road painted into the mask at its width, joined into the labeled network.

Conflation, as JOSM's MapWithAI plugin splices AI roads into existing ways:
- an end within ``join_widths`` road widths of labeled road is extended to the nearest labeled pixel
  (no gap), and paint that would spill past the far side of that road is dropped (no overshoot);
- pixels already labeled are never painted again (the edit holds only new road);
- a candidate that mostly runs along labeled road (``duplicate_fraction`` of its middle within one
  width of it) is refused with a sentence: it is already there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..connectivity_qa import Issue
from ..mask_diff import MaskEdit, merge_edits
from ..mask_edit import MaskDocument
from .candidates import Candidate, ReviewSettings
from .checks import geometry_issues


@dataclass
class AcceptOutcome:
    edit: MaskEdit | None = None               # already applied to the document (undo reverts it)
    accepted: int = 0
    refused: list[str] = field(default_factory=list)   # one sentence per refused candidate
    issues: list[Issue] = field(default_factory=list)  # geometry problems, with their place
    joined_ends: int = 0
    length_px: float = 0.0                     # centre-line length of what was accepted

    def message(self) -> str:
        if not self.accepted:
            return self.refused[0] if self.refused else "Nothing to accept."
        text = f"Accepted {self.accepted} road{'s' if self.accepted != 1 else ''}"
        if self.joined_ends:
            text += f", {self.joined_ends} end{'s' if self.joined_ends != 1 else ''} joined to labeled roads"
        if self.refused:
            text += f"; {len(self.refused)} refused as duplicates"
        if self.issues:
            text += f"; {len(self.issues)} geometry issue{'s' if len(self.issues) != 1 else ''} to check"
        return text + "."


def accept_candidate(document: MaskDocument, candidate: Candidate, settings: ReviewSettings,
                     width_px: float | None = None) -> AcceptOutcome:
    """Paint ``candidate`` (at ``width_px``, default its own) into ``document``, joined and checked."""
    return accept_road(document, candidate.pts, width_px if width_px is not None else candidate.width_px, settings)


def accept_many(document: MaskDocument, candidates: list[Candidate], settings: ReviewSettings,
                widths: dict | None = None) -> AcceptOutcome:
    """Accept ``candidates`` in order as one edit (each joins the ones accepted before it)."""
    total, edits = AcceptOutcome(), []
    for candidate in candidates:
        one = accept_candidate(document, candidate, settings, (widths or {}).get(candidate.key))
        if one.edit is not None:
            edits.append(one.edit)
        total.accepted += one.accepted
        total.refused += one.refused
        total.issues += one.issues
        total.joined_ends += one.joined_ends
        total.length_px += one.length_px
    total.edit = merge_edits(edits)
    return total


def accept_road(document: MaskDocument, pts: np.ndarray, width_px: float, settings: ReviewSettings) -> AcceptOutcome:
    from scipy import ndimage

    pts = np.asarray(pts, int).reshape(-1, 2)
    width = settings.clamp(width_px)
    tolerance = settings.join_widths * width
    (r0, c0), (r1, c1) = _window(pts, math.ceil(tolerance + width) + 2, document.shape)
    labeled = np.array(document.mask[r0:r1, c0:c1])
    local = pts - (r0, c0)
    distance = nearest = None
    if labeled.any():
        distance, nearest = ndimage.distance_transform_edt(~labeled, return_indices=True)
        if is_duplicate(local, distance, width, settings.duplicate_fraction):
            return AcceptOutcome(refused=["That road is already labeled (most of it lies within one road width "
                                          "of a labeled road): not added."])
    line, joined, connected, free = _joined_line(local, distance, nearest, tolerance)
    line, leaves = _to_tile_edge(line, free, (r0, c0), document.shape, tolerance, width)
    connected = connected or leaves
    keep = _new_road(labeled, line, width)
    if not keep.any():
        return AcceptOutcome(refused=["That road is already labeled: nothing new to paint."])
    connected = connected or bool((ndimage.binary_dilation(keep) & labeled).any())
    edit = MaskEdit.from_change(r0, c0, keep, True)
    document.apply(edit)
    issues = geometry_issues(line + (r0, c0), connected=connected, fragment_px=settings.fragment_px,
                             width=width)
    length = float(np.hypot(*np.diff(line, axis=0).T).sum()) if len(line) > 1 else 0.0
    return AcceptOutcome(edit, 1, [], issues, joined, length)


def is_duplicate(local: np.ndarray, distance: np.ndarray, width: float, fraction: float) -> bool:
    """Does the middle of the path (its ends' first road width left out: there it meets the roads it
    joins) lie mostly within one ``width`` of labeled road?"""
    steps = np.hypot(*np.diff(local.astype(float), axis=0).T) if len(local) > 1 else np.zeros(0)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    middle = (along >= width) & (along <= along[-1] - width)
    if middle.sum() < 3:
        return False
    near = distance[local[middle, 0], local[middle, 1]] <= width
    return float(near.mean()) >= fraction


def _window(pts: np.ndarray, margin: int, shape) -> tuple[tuple[int, int], tuple[int, int]]:
    h, w = shape
    low = np.maximum(pts.min(axis=0) - margin, 0)
    high = np.minimum(pts.max(axis=0) + margin + 1, (h, w))
    return (int(low[0]), int(low[1])), (int(high[0]), int(high[1]))


def _joined_line(local: np.ndarray, distance, nearest, tolerance: float):
    """The simplified centre line, each end within ``tolerance`` of labeled road extended onto it."""
    from skimage.measure import approximate_polygon

    line = approximate_polygon(local.astype(float), tolerance=0.75)
    joined, connected, free = 0, False, []
    for end in (0, -1):
        r, c = local[end]
        gap = float(distance[r, c]) if distance is not None else math.inf
        if gap == 0:
            connected = True          # it already starts on a labeled road
        elif gap <= tolerance:
            target = nearest[:, r, c].astype(float)[None, :]
            line = np.vstack([target, line]) if end == 0 else np.vstack([line, target])
            joined += 1
            connected = True
        else:
            free.append(end)
    return line, joined, connected, free


def _to_tile_edge(line: np.ndarray, free: list, origin, shape, tolerance: float, width: float):
    """Free ends heading out of the tile within ``tolerance`` of its edge run on to the edge: the road
    leaves the tile (the centre line of a prediction stops half a width short of it)."""
    h, w = shape
    leaves = False
    for end in free:
        tip = line[end] + origin
        inward = line[1] if end == 0 else line[-2]
        heading = tip - (inward + origin)
        norm = float(np.hypot(*heading))
        if norm == 0:
            continue
        heading /= norm
        sides = ((tip[0], (-1, 0), (0, tip[1])), (h - 1 - tip[0], (1, 0), (h - 1, tip[1])),
                 (tip[1], (0, -1), (tip[0], 0)), (w - 1 - tip[1], (0, 1), (tip[0], w - 1)))
        gap, normal, target = min(sides, key=lambda side: side[0])
        if gap > tolerance or float(np.dot(heading, normal)) < 0.7:
            continue
        target = np.asarray(target, float)[None, :] - origin
        line = np.vstack([target, line]) if end == 0 else np.vstack([line, target])
        leaves = True
    return line, leaves


def _new_road(labeled: np.ndarray, line: np.ndarray, width: float) -> np.ndarray:
    """The pixels the road line adds, less any piece cut off from the line by labeled road (the round
    cap spilling past the far side of a narrower road it joins)."""
    from scipy import ndimage
    from skimage.draw import line as draw_line

    scratch = MaskDocument(labeled)
    scratch.road_line([(c + 0.5, r + 0.5) for r, c in line], width)
    new = scratch.mask & ~labeled
    if not new.any():
        return new
    path = np.zeros_like(new)
    ends = np.rint(line).astype(int)
    for (ra, ca), (rb, cb) in zip(ends, ends[1:]) if len(ends) > 1 else [(ends[0], ends[0])]:
        rr, cc = draw_line(int(ra), int(ca), int(rb), int(cb))
        inside = (rr >= 0) & (rr < new.shape[0]) & (cc >= 0) & (cc < new.shape[1])
        path[rr[inside], cc[inside]] = True
    pieces, _count = ndimage.label(new)             # 4-connected: a thin diagonal road still separates
    on_path = np.unique(pieces[path & new])
    return np.isin(pieces, on_path[on_path > 0])
