"""Small things every command says the same way: counts with the right plural, and when to draw progress."""

from __future__ import annotations

import sys
from typing import TextIO


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 road polygon', '3 road polygons'."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def progress_disabled(no_progress: bool = False, stream: TextIO | None = None) -> bool:
    """Progress bars only for a person at a terminal: in a log file or a pipe their carriage returns and
    escape codes are noise (tqdm writes to stderr)."""
    stream = sys.stderr if stream is None else stream
    try:
        return no_progress or not stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return True
