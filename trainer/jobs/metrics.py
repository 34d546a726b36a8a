"""Per-epoch metrics read back from the training log.

``trainer.train`` prints one line per epoch, ``epoch=3 train_loss=0.21 test_iou=0.48 ...``, and a
last ``final test_iou=...`` line. The same lines reach us from a local subprocess and from
CloudWatch Logs, possibly with a prefix (timestamp, host), so they are searched, not matched.
"""

from __future__ import annotations

import re

_EPOCH = re.compile(r"(?:^|\s)epoch=(\d+)(?=\s|$)")
_FINAL = re.compile(r"(?:^|\s)final(?=\s)")
_PAIR = re.compile(r"([A-Za-z_][\w.]*)=(\S+)")


def _value(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def parse_metrics_line(line: str) -> tuple[str, dict] | None:
    """("epoch", {"epoch": 3, "train_loss": 0.21, ...}) or ("final", {...}) or None."""
    match = _EPOCH.search(line)
    if match:
        values = {key: _value(raw) for key, raw in _PAIR.findall(line[match.start():])}
        values["epoch"] = int(match.group(1))
        return "epoch", values
    match = _FINAL.search(line)
    if match:
        values = {key: _value(raw) for key, raw in _PAIR.findall(line[match.end():])}
        if values:
            return "final", values
    return None


class MetricsTracker:
    """Collects epochs (a repeated epoch, e.g. after a spot restart, replaces the earlier one)."""

    def __init__(self) -> None:
        self._epochs: dict[int, dict] = {}
        self.final: dict = {}

    def feed(self, lines) -> list[dict]:
        """Parse lines; return the epoch dicts they contained."""
        if isinstance(lines, str):
            lines = [lines]
        found = []
        for line in lines:
            parsed = parse_metrics_line(line)
            if parsed is None:
                continue
            kind, values = parsed
            if kind == "epoch":
                self._epochs[values["epoch"]] = values
                found.append(values)
            else:
                self.final = values
        return found

    @property
    def epochs(self) -> list[dict]:
        return [self._epochs[k] for k in sorted(self._epochs)]

    def series(self, key: str) -> list[tuple[int, float]]:
        return [(e["epoch"], e[key]) for e in self.epochs if isinstance(e.get(key), float)]
