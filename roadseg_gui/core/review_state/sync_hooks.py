"""Where review joins ``roadseg sync`` and ``pull`` (called from core.sync.push / pull).

push: decisions (approved, returned) go to S3 before the pairs, so an approval refused as a
conflict never lets its pair into training; with require_review, pairs not approved go to the
review queue instead of {split}/. Pairs an annotator sent (new with require_review, or fixed
after a return) become ``accepted`` by them, and those records go up after their pairs. Without
require_review a tile nobody reviewed gets no record: S3 holds exactly what it held before review.
"""

from __future__ import annotations

from pathlib import Path

from ..settings import WorkspaceSettings
from ..sync import state
from . import queue, transport
from .decisions import accept, changed_since_approval
from .store import ACCEPTED, APPROVED, RETURNED, ensure, get_record


class ReviewPush:
    def __init__(self, client, conn, root: Path, dest, settings: WorkspaceSettings, report, extra: dict):
        self.client, self.conn, self.root, self.dest = client, ensure(conn), Path(root), dest
        self.settings, self.report, self.extra = settings, report, extra
        self.require = bool(settings.review.require_review)
        self.queued: list[queue.QueuedPair] = []
        self.reopened: set[str] = set()   # approved tiles changed here since: reviewed again

    def before(self, plan) -> None:
        self.reopened = {p.stem for p in plan.uploads
                         if (rec := get_record(self.conn, p.stem)) and changed_since_approval(self.root, rec)}
        refused = transport.push_records(self.client, self.conn, self.dest, self.report, (APPROVED, RETURNED))
        if self.require:
            plan.uploads[:] = [p for p in plan.uploads if p.stem not in refused]
            self.queued = queue.divert(self.conn, self.root, self.dest, plan)

    def after(self, plan) -> None:
        sent = queue.send(self.client, self.conn, self.root, self.dest, self.queued, self.report, self.extra) \
            if self.queued else set()
        records = state.synced_objects(self.conn, self.dest.state_key)
        for pair in plan.uploads:   # fully on S3 now?
            if all(records.get(f.relpath) and records[f.relpath].sha256 == f.sha256 for f in pair.files):
                sent.add(pair.stem)
        annotator = self.settings.annotator_name()
        for stem in sorted(sent):
            rec = get_record(self.conn, stem)
            if rec is None and not self.require:
                continue   # review not required and never used on this tile: today's S3 layout, no record
            fixed = rec is not None and rec.state == RETURNED and rec.reviewer != annotator  # not her own edit
            if rec is None or fixed or stem in self.reopened or \
                    (rec.state == ACCEPTED and rec.annotator == annotator):
                accept(self.conn, self.root, stem, annotator)
        transport.push_records(self.client, self.conn, self.dest, self.report, (ACCEPTED,))


def dry_run_lines(conn, root: Path, dest, settings: WorkspaceSettings, plan) -> tuple[int, list[str]]:
    """sync --dry-run with require_review: pairs not approved leave ``plan`` for the queue, as a real sync does."""
    if not settings.review.require_review:
        return 0, []
    queued = queue.divert(ensure(conn), Path(root), dest, plan)
    return len(queued), [f"  put {queue.QUEUE}/{rel} (review queue, not approved yet; "
                         f"{'If-Match ' + etag if etag else 'If-None-Match *'})"
                         for pair in queued for rel, _, etag in pair.files]


def before_pull(client, conn, root: Path, dest, report) -> dict[str, str]:
    """Others' decisions first: a pair approved meanwhile is taken from {split}/, not seen as a conflict."""
    remote_states = transport.pull_records(client, ensure(conn), dest, report)
    queue.adopt_approved(conn, Path(root), dest, remote_states)
    return remote_states


def after_pull(client, conn, root: Path, dest, report, remote_states: dict[str, str]) -> None:
    queue.pull_queue(client, conn, Path(root), dest, report, remote_states)
    transport.keep_snapshots(Path(root), conn)
