"""``--summary-json PATH``: each benchmark can leave its headline figures for bench/gpu_check.sh to gather."""

from __future__ import annotations

import json
from pathlib import Path


def add_summary_flag(parser) -> None:
    parser.add_argument("--summary-json", type=Path, default=None, help="also write the headline figures here")


def write_summary(path: Path | None, **figures) -> None:
    if path is not None:
        Path(path).write_text(json.dumps(figures, indent=1) + "\n", "utf-8")
