"""Throughput records in the workspace state DB (WAL, like edits), one row per tile, annotator and day.

Additive tables, created the first time they are used. Active seconds and actions are added to
(a flush writes what was done since the last one); the accepted road is set at accept, on the row
of that day only, so a tile accepted again is counted once, with its latest mask.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field

from ..statedb import ensure_schema, transaction
from .activity import TileWork
from .road_length import RoadLength

THROUGHPUT_SCHEMA = """
CREATE TABLE IF NOT EXISTS throughput (
    stem          TEXT NOT NULL,             -- the tile (tiles.stem)
    annotator     TEXT NOT NULL,
    day           TEXT NOT NULL,             -- local date of the work, YYYY-MM-DD
    active_s      REAL NOT NULL DEFAULT 0,   -- time with input events, idle gaps over 30 s cut
    accepted      INTEGER NOT NULL DEFAULT 0,
    accepted_at   REAL,
    road_px       REAL,                      -- centre-line length of the accepted mask's roads
    road_m        REAL,
    road_measured TEXT,                      -- 'crs', or 'assumed_gsd' (no CRS: pixels x default GSD)
    PRIMARY KEY (stem, annotator, day)
);
CREATE TABLE IF NOT EXISTS throughput_actions (
    stem      TEXT NOT NULL,
    annotator TEXT NOT NULL,
    day       TEXT NOT NULL,
    tool      TEXT NOT NULL,
    count     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stem, annotator, day, tool)
);
"""


def today(now: float | None = None) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(time.time() if now is None else now))


def _ready(conn: sqlite3.Connection) -> sqlite3.Connection:
    ensure_schema(conn, THROUGHPUT_SCHEMA)
    return conn


def _row(conn, stem: str, annotator: str, day: str) -> None:
    conn.execute("INSERT OR IGNORE INTO throughput(stem, annotator, day) VALUES (?, ?, ?)", (stem, annotator, day))


def add_work(conn: sqlite3.Connection, annotator: str, day: str, work: dict[str, TileWork]) -> None:
    """Add what was done on each tile since the last write (one transaction: all or nothing)."""
    with transaction(_ready(conn)):
        for stem, tile in work.items():
            _row(conn, stem, annotator, day)
            conn.execute("UPDATE throughput SET active_s = active_s + ? WHERE stem=? AND annotator=? AND day=?",
                         (tile.active_s, stem, annotator, day))
            for tool, count in tile.actions.items():
                conn.execute("INSERT INTO throughput_actions(stem, annotator, day, tool, count) VALUES (?, ?, ?, ?, ?) "
                             "ON CONFLICT(stem, annotator, day, tool) DO UPDATE SET count = count + excluded.count",
                             (stem, annotator, day, tool, count))


def record_accept(conn: sqlite3.Connection, stem: str, annotator: str, day: str,
                  road: RoadLength | None, at: float | None = None) -> None:
    """The tile was accepted (again): only this day's row counts it, with ``road`` (None: measured later)."""
    with transaction(_ready(conn)):
        conn.execute("UPDATE throughput SET accepted=0, road_px=NULL, road_m=NULL, road_measured=NULL "
                     "WHERE stem=? AND annotator=? AND day<>?", (stem, annotator, day))
        _row(conn, stem, annotator, day)
        conn.execute("UPDATE throughput SET accepted=1, accepted_at=? WHERE stem=? AND annotator=? AND day=?",
                     (time.time() if at is None else at, stem, annotator, day))
        if road is not None:
            _set_road(conn, stem, annotator, day, road)


def set_road(conn: sqlite3.Connection, stem: str, annotator: str, day: str, road: RoadLength) -> None:
    """The accepted mask's road, measured after the accept (off the UI thread)."""
    _set_road(_ready(conn), stem, annotator, day, road)


def _set_road(conn, stem: str, annotator: str, day: str, road: RoadLength) -> None:
    # No ensure_schema here: executescript would commit the caller's open transaction.
    conn.execute("UPDATE throughput SET road_px=?, road_m=?, road_measured=? "
                         "WHERE stem=? AND annotator=? AND day=? AND accepted=1",
                         (road.px, road.m, road.measured, stem, annotator, day))


@dataclass
class Record:
    stem: str
    annotator: str
    day: str
    active_s: float
    accepted: bool
    road_m: float
    road_measured: str | None
    actions: dict[str, int] = field(default_factory=dict)

    @property
    def action_count(self) -> int:
        return sum(self.actions.values())


def load_records(conn: sqlite3.Connection, day: str | None = None) -> list[Record]:
    """Every record (or one day's), with its actions by tool."""
    where, args = ("WHERE day=?", (day,)) if day else ("", ())
    records = {}
    for row in _ready(conn).execute(f"SELECT stem, annotator, day, active_s, accepted, road_m, road_measured "
                                    f"FROM throughput {where} ORDER BY day, annotator, stem", args):
        key = (row[0], row[1], row[2])
        records[key] = Record(*key, float(row[3] or 0), bool(row[4]), float(row[5] or 0), row[6])
    for stem, annotator, day_, tool, count in conn.execute(
            f"SELECT stem, annotator, day, tool, count FROM throughput_actions {where}", args):
        record = records.get((stem, annotator, day_))
        if record is None:   # actions written without their row (never by add_work): still counted
            record = records[(stem, annotator, day_)] = Record(stem, annotator, day_, 0.0, False, 0.0, None)
        record.actions[tool] = record.actions.get(tool, 0) + int(count)
    return list(records.values())
