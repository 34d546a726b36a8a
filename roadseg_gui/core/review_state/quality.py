"""Quality per annotator, from the review records: how often a first review approved their tiles,
how many were returned, and their mean agreement with the reviewer (road IoU and APLS)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .store import APPROVED, RETURNED, ReviewRecord


@dataclass
class AnnotatorQuality:
    annotator: str
    reviewed: int = 0               # tiles with a reviewer's decision
    approved_first: int = 0         # approved without ever being returned
    returned: int = 0               # tiles returned at least once
    ious: list[float] = field(default_factory=list)
    apls: list[float] = field(default_factory=list)

    @property
    def approved_first_pct(self) -> float | None:
        return 100.0 * self.approved_first / self.reviewed if self.reviewed else None

    @property
    def mean_iou(self) -> float | None:
        return sum(self.ious) / len(self.ious) if self.ious else None

    @property
    def mean_apls(self) -> float | None:
        return sum(self.apls) / len(self.apls) if self.apls else None


def by_annotator(records: list[ReviewRecord]) -> list[AnnotatorQuality]:
    table: dict[str, AnnotatorQuality] = {}
    for rec in records:
        row = table.setdefault(rec.annotator or "-", AnnotatorQuality(rec.annotator or "-"))
        if rec.state in (APPROVED, RETURNED):
            row.reviewed += 1
        if not rec.first_review or rec.state == RETURNED:
            row.returned += 1
        if rec.state == APPROVED:
            row.approved_first += int(rec.first_review)
            if rec.iou is not None:
                row.ious.append(rec.iou)
            if rec.apls is not None:
                row.apls.append(rec.apls)
    return sorted(table.values(), key=lambda q: q.annotator)


def format_table(rows: list[AnnotatorQuality]) -> str:
    def num(value, spec):
        return "-" if value is None else format(value, spec)
    lines = [f"{'annotator':<16} {'reviewed':>8} {'approved 1st':>12} {'returned':>8} {'IoU':>6} {'APLS':>6}"]
    for q in rows:
        lines.append(f"{q.annotator:<16} {q.reviewed:>8} {num(q.approved_first_pct, '.0f') + ' %':>12} "
                     f"{q.returned:>8} {num(q.mean_iou, '.3f'):>6} {num(q.mean_apls, '.3f'):>6}")
    return "\n".join(lines)
