"""Active time and actions of the tile being worked on, held in memory until they are written.

Active time is the sum of the gaps between consecutive input events; a gap longer than
``IDLE_CUT_S`` (a coffee, a meeting) counts nothing. A gap belongs to the tile on screen when the
later event arrives, so the time spent looking at a tile before the first stroke is that tile's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

IDLE_CUT_S = 30.0


@dataclass
class TileWork:
    active_s: float = 0.0
    actions: Counter = field(default_factory=Counter)   # tool name -> actions (a click, a key, a stroke)

    def merge(self, other: "TileWork") -> None:
        self.active_s += other.active_s
        self.actions.update(other.actions)

    @property
    def empty(self) -> bool:
        return self.active_s == 0 and not self.actions


class ActivityLog:
    """Input events in, per-tile ``TileWork`` out (``take``). Times are monotonic seconds."""

    def __init__(self, idle_cut_s: float = IDLE_CUT_S):
        self.idle_cut_s = idle_cut_s
        self.stem: str | None = None
        self._last: float | None = None
        self._pending: dict[str, TileWork] = {}

    def switch(self, stem: str | None) -> None:
        self.stem = stem

    def input(self, t: float) -> None:
        """Any input event at time ``t`` (a mouse move, a wheel turn, a key)."""
        if self.stem is not None and self._last is not None:
            gap = t - self._last
            if 0 < gap <= self.idle_cut_s:
                self._work(self.stem).active_s += gap
        self._last = t if self._last is None else max(self._last, t)

    def action(self, tool: str, t: float) -> None:
        """One action (a click, a key, a stroke) with ``tool`` in hand at time ``t``."""
        self.input(t)
        if self.stem is not None:
            self._work(self.stem).actions[tool] += 1

    def take(self) -> dict[str, TileWork]:
        """What was recorded since the last take; it is no longer held here."""
        pending, self._pending = self._pending, {}
        return {stem: work for stem, work in pending.items() if not work.empty}

    def put_back(self, pending: dict[str, TileWork]) -> None:
        """A write failed: keep the work for the next one (nothing lost)."""
        for stem, work in pending.items():
            self._work(stem).merge(work)

    def has_pending(self) -> bool:
        return any(not work.empty for work in self._pending.values())

    def _work(self, stem: str) -> TileWork:
        return self._pending.setdefault(stem, TileWork())
