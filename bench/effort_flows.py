"""The simulated annotator of bench_effort.py: three flows that take one tile's mask to its ground truth
with the app's own core operations (no Qt), counting actions (a click, a key or an eraser stroke is 1).

An annotator with perfect knowledge of the truth: it never misjudges a road, so the counts are the
floor of each flow's effort. A flow stops when the mask reaches the targets or the action budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from roadseg_gui.core.connectivity_qa import QASettings, find_issues
from roadseg_gui.core.mask_edit import MaskDocument, threshold
from roadseg_gui.core.review.accept import accept_candidate, accept_many
from roadseg_gui.core.review.candidates import CandidateList, ReviewSettings
from roadseg_gui.core.review.network import predicted_network
from roadseg_gui.core.road_pick import predicted_road_at
from roadseg_gui.core.snapping import SnapCost, snapped_polyline
from trainer.roadgraph.metrics import road_metrics

CLICK_EVERY_PX = 150       # a middle click every 150 px of road, as bench_snap.py
TARGET_APLS, TARGET_IOU = 0.9, 0.85
MATCH_FRACTION = 0.8       # a candidate is a true road when this much of it lies within a width of the truth


@dataclass
class Tile:
    name: str
    truth: np.ndarray        # bool H x W
    probability: np.ndarray  # uint8 H x W
    width: float             # the truth's median road width, px
    edges: list              # the truth's centre lines, (N, 2) row/col, longest first
    threshold: float = 0.5


@dataclass
class Result:
    actions: int
    apls: float
    iou: float


class Session:
    """A mask, the actions spent on it, and whether it is done (metrics checked at most every few actions)."""

    def __init__(self, tile: Tile, mask: np.ndarray, budget: int):
        self.tile, self.budget = tile, budget
        self.document = MaskDocument(mask)
        self.actions = 0
        self._checked_at, self._scores = -1, (0.0, 0.0)

    def spend(self, n: int) -> bool:
        """Count ``n`` actions; True when the budget is spent."""
        self.actions += n
        return self.actions >= self.budget

    def scores(self) -> tuple[float, float]:
        if self._checked_at != self.actions:
            mask, truth = self.document.mask, self.tile.truth
            union = np.logical_or(mask, truth).sum()
            iou = float(np.logical_and(mask, truth).sum() / union) if union else 1.0
            apls = float(road_metrics(np.array(mask), truth)["apls"]) if mask.any() and truth.any() else \
                float(mask.any() == truth.any())
            self._checked_at, self._scores = self.actions, (apls, iou)
        return self._scores

    def done(self) -> bool:
        apls, iou = self.scores()
        return self.actions >= self.budget or (apls >= TARGET_APLS and iou >= TARGET_IOU)

    def result(self) -> Result:
        apls, iou = self.scores()
        return Result(min(self.actions, self.budget), apls, iou)


def clicks_along(pts: np.ndarray) -> list[tuple[float, float]]:
    """(x, y) clicks at both ends of a centre line and one every CLICK_EVERY_PX along it."""
    steps = np.hypot(*np.diff(pts.astype(float), axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    n = max(1, math.ceil(along[-1] / CLICK_EVERY_PX))
    index = np.searchsorted(along, np.linspace(0, along[-1], n + 1))
    index = np.clip(index, 0, len(pts) - 1)
    return [(pts[i, 1] + 0.5, pts[i, 0] + 0.5) for i in index]


def draw_missing(session: Session, cost: SnapCost | None, covered: float = 0.7,
                 taker: RoadTaker | None = None) -> None:
    """Draw every truth road the mask does not yet cover with the road line (snapping when ``cost``),
    or take the predicted road there where ``taker`` finds that cheaper."""
    for pts in session.tile.edges:
        if session.done():
            return
        if session.document.mask[pts[:, 0], pts[:, 1]].mean() >= covered:
            continue
        clicks = clicks_along(pts)
        if taker is not None and taker.take(session, pts, covered, fewer_than=len(clicks)):
            if session.done():
                return
            continue
        session.document.road_line(snapped_polyline(cost, clicks, road_width=session.tile.width), session.tile.width)
        if session.spend(len(clicks)):
            return


class RoadTaker:
    """The road line's Ctrl+click, "take the connected predicted road under the click" (core.road_pick,
    as ui.road_assist), at the threshold slider's level. Taking a road costs the click, a drag of the
    slider when the road shows only at another level, and an eraser stroke per false piece it brings in.
    """

    LEVEL_STEP = 0.1

    def __init__(self, tile: Tile, allowed: np.ndarray):
        self.tile, self.allowed = tile, allowed
        self.level = tile.threshold              # where the slider is
        self.levels = [level for level in (round(tile.threshold - k * self.LEVEL_STEP, 2) for k in range(10))
                       if level >= 0.05]
        self._predicted: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def predicted(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """(the prediction at ``level``, its 8-connected pieces' labels)."""
        if level not in self._predicted:
            from scipy import ndimage

            predicted = threshold(self.tile.probability, level)
            self._predicted[level] = predicted, ndimage.label(predicted, structure=np.ones((3, 3)))[0]
        return self._predicted[level]

    def take(self, session: Session, pts: np.ndarray, covered: float, fewer_than: int) -> bool:
        """Take the predicted road over the truth line ``pts`` if that covers it for fewer than
        ``fewer_than`` actions (the cheapest level and piece); True when taken."""
        mask = np.array(session.document.mask)
        best = None
        for level in self.levels:
            predicted, labels = self.predicted(level)
            under = labels[pts[:, 0], pts[:, 1]]
            for piece in np.unique(under[under > 0]):
                r, c = pts[np.argmax(under == piece)]
                road = predicted_road_at(predicted, (c + 0.5, r + 0.5))
                if road is None or (mask | (road & self.allowed))[pts[:, 0], pts[:, 1]].mean() < covered:
                    continue
                brought_in = list(false_pieces(road & ~mask & ~self.allowed, self.tile.width))
                cost = 1 + (level != self.level) + sum(strokes for *_piece, strokes in brought_in)
                if cost >= fewer_than or (best is not None and cost >= best[0]):
                    continue
                taken = mask | road
                for box, piece, _strokes in brought_in:       # the eraser strokes after the take
                    taken[box] &= ~piece
                if _joins_end_to_end(taken, pts):
                    best = (cost, level, taken)
        if best is None:
            return False
        cost, self.level, taken = best
        session.document.replace(taken)
        session.spend(cost)
        return True


def _joins_end_to_end(mask: np.ndarray, pts: np.ndarray) -> bool:
    """Does road run from one end of the line ``pts`` to the other? The road line joins what it draws to
    the roads at its ends; a predicted piece with a break or stopping short of them does not, and a
    taken road that needs connecting afterwards is no cheaper than drawing it."""
    from skimage.segmentation import flood

    (r0, c0), (r1, c1) = pts[0], pts[-1]
    if not (mask[r0, c0] and mask[r1, c1]):
        return False
    return bool(flood(mask, (int(r0), int(c0)), connectivity=2)[r1, c1])


def connect_gaps(session: Session) -> None:
    """The connect tool on each gap QA finds: two clicks, joined at the road width."""
    settings = QASettings(road_width=session.tile.width)
    for issue in find_issues(np.array(session.document.mask), None, settings):
        if session.done():
            return
        if issue.kind == "gap" and issue.x2 is not None:
            session.document.road_line([(issue.x, issue.y), (issue.x2, issue.y2)], session.tile.width)
            if session.spend(2):
                return


def near_truth(tile: Tile) -> np.ndarray:
    from scipy import ndimage

    return ndimage.distance_transform_edt(~tile.truth) <= tile.width


def false_pieces(false: np.ndarray, width: float):
    """(box, piece within the box, eraser strokes) of each piece of ``false`` an annotator would erase:
    one stroke, plus one per 150 px of its extent; specks under ``width`` px nobody sees at the tile's zoom."""
    from scipy import ndimage

    labels, _count = ndimage.label(false, structure=np.ones((3, 3)))
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        piece = labels[box] == index
        if piece.sum() < width:
            continue
        extent = math.hypot(box[0].stop - box[0].start, box[1].stop - box[1].start)
        yield box, piece, 1 + int(extent // CLICK_EVERY_PX)


def erase_false(session: Session, allowed: np.ndarray) -> None:
    """Erase each false piece: road pixels away from any truth road."""
    for box, piece, strokes in false_pieces(np.array(session.document.mask) & ~allowed, session.tile.width):
        if session.done():
            return
        mask = np.array(session.document.mask)
        mask[box] &= ~piece
        session.document.replace(mask)
        if session.spend(strokes):
            return


def draw_flow(tile: Tile, budget: int) -> Result:
    session = Session(tile, np.zeros(tile.truth.shape, bool), budget)
    draw_missing(session, None, covered=1.01)
    connect_gaps(session)
    return session.result()


def fix_flow(tile: Tile, budget: int) -> Result:
    session = Session(tile, threshold(tile.probability, tile.threshold), budget)
    allowed = near_truth(tile)
    erase_false(session, allowed)
    draw_missing(session, SnapCost(tile.probability, tile.width), taker=RoadTaker(tile, allowed))
    connect_gaps(session)
    return session.result()


def review_flow(tile: Tile, budget: int, settings: ReviewSettings) -> Result:
    session = Session(tile, np.zeros(tile.truth.shape, bool), budget)
    allowed = near_truth(tile)
    network = predicted_network(tile.probability, tile.threshold)
    candidates = CandidateList(network, session.document.mask, settings)
    true = {c.key for c in candidates.items if allowed[c.pts[:, 0], c.pts[:, 1]].mean() >= MATCH_FRACTION}
    bulk_at = _bulk_confidence(candidates, true)
    if bulk_at is not None:                             # one key; the false ones it took are erased after
        accept_many(session.document, candidates.above(bulk_at), settings)
        candidates.update(session.document.mask)
        session.spend(1)
        erase_false(session, allowed)
        candidates.update(session.document.mask)
    order = list(candidates.items)
    last_true = max((i for i, c in enumerate(order) if c.key in true), default=-1)
    for candidate in order[:last_true + 1]:            # Y on a true road, X on a false one shown before it
        if session.done():
            break
        if candidates.find(candidate.key) is None:      # joined away by an earlier accept
            continue
        if candidate.key in true:
            outcome = accept_candidate(session.document, candidate, settings)
            if outcome.edit is not None:
                candidates.update(session.document.mask, outcome.edit.rect)
        else:
            candidates.reject(candidate)
        if session.spend(1):
            break
    draw_missing(session, SnapCost(tile.probability, tile.width))
    connect_gaps(session)
    return session.result()


def _bulk_confidence(candidates: CandidateList, true: set) -> float | None:
    """The lowest confidence whose bulk accept takes at least 3 roads, 90 % of them true, if any."""
    for level in (0.6, 0.7, 0.8, 0.9):
        chosen = candidates.above(level)
        if len(chosen) >= 3 and sum(c.key in true for c in chosen) >= 0.9 * len(chosen):
            return level
    return None
