"""What a person has to do in review: tiles others accepted (to review) and tiles returned to them;
and notes pinned on a tile without deciding yet (they travel with the decision)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from trainer.errors import BadInputError

from .decisions import _reviewable
from .store import ACCEPTED, RETURNED, Note, ReviewRecord, ensure, save_record


@dataclass
class ReviewQueue:
    to_review: set[str] = field(default_factory=set)        # accepted by someone else, not yet reviewed
    returned_to_me: set[str] = field(default_factory=set)   # my tiles a reviewer sent back
    states: dict[str, str] = field(default_factory=dict)    # every reviewed tile's state, for the tile list


def review_queue(conn: sqlite3.Connection, me: str) -> ReviewQueue:
    """One query over the states (no notes): it runs on every tile shown."""
    queue = ReviewQueue()
    rows = ensure(conn).execute("SELECT stem, state, annotator, conflict FROM review_states").fetchall()
    for stem, state, annotator, conflict in rows:
        queue.states[stem] = "review conflict" if conflict else state
        if state == ACCEPTED and annotator and annotator != me and not conflict:
            queue.to_review.add(stem)
        elif state == RETURNED and annotator == me:
            queue.returned_to_me.add(stem)
    return queue


def pin_note(conn: sqlite3.Connection, root: Path, stem: str, author: str, text: str,
             x: float, y: float) -> ReviewRecord:
    """Add a note at pixel (x, y); the state stays as it is, and the note goes to S3 with the next decision."""
    if not text.strip():
        raise BadInputError(f"a note on '{stem}' needs a line of text", "Type what to look at, then press Enter")
    rec, _mask = _reviewable(conn, Path(root), stem)
    rec.notes.append(Note(float(x), float(y), text.strip(), author))
    rec.updated_at, rec.dirty = time.time(), True
    save_record(conn, rec)
    return rec
