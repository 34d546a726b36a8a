"""Throughput records summed per annotator, day or tile: tiles per hour, km per hour, actions per km.

Hours are active hours (idle gaps over 30 s cut); tiles and km count accepted tiles only; actions
count every recorded action in the group, so work on tiles not accepted yet raises actions per km.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from .road_length import DEFAULT_GSD_M, MEASURED_BY_ASSUMED_GSD
from .store import Record

GROUPINGS = ("annotator", "day", "tile")
COLUMNS = ("tiles", "hours", "km", "actions", "tiles_per_hour", "km_per_hour", "actions_per_km")


@dataclass
class Summary:
    key: str
    tiles: int = 0
    active_s: float = 0.0
    km: float = 0.0
    actions: int = 0
    assumed_gsd_tiles: int = 0   # accepted tiles without a CRS, measured at DEFAULT_GSD_M

    def add(self, record: Record) -> None:
        self.active_s += record.active_s
        self.actions += record.action_count
        if record.accepted:
            self.tiles += 1
            self.km += record.road_m / 1000
            self.assumed_gsd_tiles += record.road_measured == MEASURED_BY_ASSUMED_GSD

    @property
    def hours(self) -> float:
        return self.active_s / 3600

    @property
    def tiles_per_hour(self) -> float | None:
        return self.tiles / self.hours if self.active_s > 0 else None

    @property
    def km_per_hour(self) -> float | None:
        return self.km / self.hours if self.active_s > 0 else None

    @property
    def actions_per_km(self) -> float | None:
        return self.actions / self.km if self.km > 0 else None

    def values(self) -> dict:
        return {"tiles": self.tiles, "hours": self.hours, "km": self.km, "actions": self.actions,
                "tiles_per_hour": self.tiles_per_hour, "km_per_hour": self.km_per_hour,
                "actions_per_km": self.actions_per_km}


def summarize(records: list[Record], by: str = "annotator") -> list[Summary]:
    """One Summary per annotator, day or tile, in key order."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}, not {by!r}")
    groups: dict[str, Summary] = {}
    for record in records:
        key = {"annotator": record.annotator, "day": record.day, "tile": record.stem}[by]
        groups.setdefault(key, Summary(key)).add(record)
    return [groups[key] for key in sorted(groups)]


def total(records: list[Record], key: str = "total") -> Summary:
    summary = Summary(key)
    for record in records:
        summary.add(record)
    return summary


def _cell(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def format_table(rows: list[Summary], overall: Summary, by: str) -> str:
    header = (by, *COLUMNS)
    lines = [header] + [(row.key, *(_cell(v) for v in row.values().values())) for row in [*rows, overall]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
            for line in lines]
    if overall.assumed_gsd_tiles:
        text.append(f"km: {overall.assumed_gsd_tiles} accepted tile(s) without a CRS are measured at an assumed "
                    f"{DEFAULT_GSD_M} m per pixel.")
    return "\n".join(text)


def format_csv(rows: list[Summary], by: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((by, *COLUMNS, "assumed_gsd_tiles"))
    for row in rows:
        values = ["" if v is None else (round(v, 6) if isinstance(v, float) else v) for v in row.values().values()]
        writer.writerow((row.key, *values, row.assumed_gsd_tiles))
    return out.getvalue()
