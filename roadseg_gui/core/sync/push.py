"""push(): send the workspace's changed pairs to S3, image before mask, with conditional writes.

Concurrency is per pair (a ThreadPoolExecutor); inside a pair the image goes first
and the mask only after the image is on S3, so the remote never holds a mask
without its image; a pair whose image is not sent has it HEADed first, and sent
again if S3 lost it. Deletions mirror this: mask before image, each conditional on
the ETag last seen, and the image stays when its mask could not be deleted.
Every run asks S3 something (HeadBucket, then one HeadObject of an unchanged synced
object), so an emptied or recreated bucket is noticed rather than trusted away.
Workers only talk to S3; the calling thread alone writes the state DB, after each pair finishes. A run killed anywhere leaves either the old
record or the new one, and the next run's conditional writes adopt objects that
already hold our bytes, so it converges.
"""

from __future__ import annotations

import logging
import random
import shlex
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..settings import WorkspaceSettings
from ..statedb import TileStatus, set_status
from . import state
from .client import DEFAULT_WORKERS, Destination, destination_of, make_s3_client, parse_s3_uri, sse_arguments
from .errors import SyncError, describe, error_code, http_status, is_fatal, is_precondition_failed
from .keys import object_key
from .plan import FileUpload, PairUpload, SyncPlan, build_plan
from .report import ProgressCallback, ProgressMeter, SyncReport
from .transfer import MULTIPART_THRESHOLD, FileChangedError, head, upload

log = logging.getLogger(__name__)
RECORD_BATCH = 200      # outcomes per state-DB write
RECORD_SECONDS = 0.5    # ...or this often, so a killed run loses little (and re-adopts that little)


def resolve_hint(root: Path, stem: str) -> str:
    """How to resolve, as a command that can be pasted as it is (names with spaces are quoted)."""
    return (f"resolve it with `roadseg sync {shlex.quote(str(root))} --resolve keep-mine|take-theirs "
            f"{shlex.quote(stem)}` or in the app")


@dataclass
class _PairOutcome:
    pair: PairUpload
    sent: list[tuple[str, str, str]] = field(default_factory=list)   # (relpath, sha, etag)
    bytes: int = 0
    conflict: tuple[str, str] | None = None                           # (relpath, reason)
    error: str = ""
    fatal: bool = False
    skipped: bool = False
    adopted: int = 0          # files S3 already held byte for byte (a resumed or duplicate push)


def resolve_destination(root: Path, destination: str | Destination | None,
                        settings: WorkspaceSettings, remember: bool = True) -> Destination:
    """The destination given now (remembered in the settings), else the remembered one."""
    if isinstance(destination, str):
        destination = parse_s3_uri(destination)
    if destination is not None:
        if remember and (settings.s3.bucket, settings.s3.prefix) != (destination.bucket, destination.prefix):
            settings.s3.bucket, settings.s3.prefix = destination.bucket, destination.prefix
            settings.save(root)
        return destination
    remembered = destination_of(settings.s3)
    if remembered is None:
        raise SyncError("this workspace has no S3 destination yet", "Give one with --to s3://BUCKET/PREFIX")
    return remembered


def push(root, destination: str | Destination | None = None, *, dry_run: bool = False,
         progress: ProgressCallback | None = None, cancel: Callable[[], bool] | None = None,
         delete: bool = False, workers: int = DEFAULT_WORKERS, client=None,
         settings: WorkspaceSettings | None = None, verify: bool = False,
         multipart_threshold: int = MULTIPART_THRESHOLD) -> SyncReport:
    """Send pairs changed since their last successful sync. Raises SyncError when S3
    cannot be used at all (credentials, bucket, region, access); per-file problems
    are counted in the report instead. ``verify`` hashes every local file afresh, lists
    the prefix once and sends again whatever the remote lost (a recreated bucket, a
    lifecycle rule...), clearing "deleted remotely" conflicts whose object S3 still lacks."""
    root = Path(root)
    started = time.monotonic()
    settings = settings or WorkspaceSettings.load(root)
    dest = resolve_destination(root, destination, settings, remember=False)
    conn = state.connect(root)
    try:
        remote = None
        if verify:
            client = client or make_s3_client(settings.s3, max_pool_connections=max(workers, 10))
            _check_bucket(client, dest, settings)
            remote = list_remote(client, dest, settings)
        plan = build_plan(root, conn, dest, delete=delete, remote=remote)
        report = SyncReport(unchanged=len(plan.unchanged), conflicts=len(plan.conflicts),
                            conflict_stems=list(plan.conflicts), destination=dest.uri, dry_run=dry_run)
        report.failed = len(plan.invalid)
        report.errors += [f"{path}: {reason}" for path, reason in plan.invalid]
        report.errors += [_unresolved(root, stem, plan.conflict_reasons.get(stem, "")) for stem in plan.conflicts]
        if dry_run:
            from ..review_state.sync_hooks import dry_run_lines   # require_review: what goes to the queue
            queued, queue_lines = dry_run_lines(conn, root, dest, settings, plan)
            report.planned = len(plan.uploads) + queued
            report.plan = plan.describe() + queue_lines
            report.seconds = time.monotonic() - started
            return report
        report.planned = len(plan.uploads)
        client = client or make_s3_client(settings.s3, max_pool_connections=max(workers, 10))
        _check_bucket(client, dest, settings)
        _remember(root, settings, dest)   # only a destination that answered is remembered
        if plan.cleared:   # --verify found their pairs gone from S3: send them again as new
            state.clear_conflicts(conn, dest.state_key, plan.cleared)
            set_status(conn, plan.cleared, TileStatus.ACCEPTED)
        if not verify:
            _check_for_loss(client, dest, plan, report, settings)
        from ..review_state.sync_hooks import ReviewPush   # review decisions and the review queue
        review = ReviewPush(client, conn, root, dest, settings, report, sse_arguments(settings.s3))
        review.before(plan)
        if plan.uploads:
            _run_uploads(client, conn, root, dest, plan, report, settings, progress, cancel, workers,
                         multipart_threshold)
        review.after(plan)
        if delete and plan.deletions and not report.cancelled and not report.failed:
            _run_deletions(client, conn, root, dest, plan, report)
        report.seconds = time.monotonic() - started
        log.debug("push to %s: %s in %.1f s", dest.uri, report.summary(), report.seconds)
        return report
    finally:
        conn.close()


def list_remote(client, dest: Destination, settings: WorkspaceSettings) -> dict[str, str]:
    """relpath -> ETag of every object under the prefix (keys outside the layout ignored)."""
    head = object_key(dest.prefix, "")
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=dest.bucket, Prefix=head)
        return {obj["Key"][len(head):]: obj["ETag"] for page in pages for obj in page.get("Contents", [])}
    except Exception as exc:
        raise describe(exc, bucket=dest.bucket, profile=settings.s3.profile, region=settings.s3.region,
                       endpoint=settings.s3.endpoint_url) from None


def _unresolved(root: Path, stem: str, reason: str) -> str:
    why = f" ({reason})" if reason else ""
    return f"conflict: {stem} is still in conflict{why}; {resolve_hint(root, stem)}"


def _check_for_loss(client, dest: Destination, plan: SyncPlan, report: SyncReport,
                    settings: WorkspaceSettings) -> None:
    """HEAD one synced object of an unchanged pair (a different one each run); if S3 lost it,
    list the prefix once and say how much this workspace's records overstate what S3 holds."""
    if not plan.sentinels:
        return
    sentinel = random.choice(plan.sentinels)
    try:
        if head(client, dest.bucket, object_key(dest.prefix, sentinel)) is not None:
            return
    except Exception as exc:
        raise describe(exc, bucket=dest.bucket, profile=settings.s3.profile, region=settings.s3.region,
                       endpoint=settings.s3.endpoint_url) from None
    remote = list_remote(client, dest, settings)
    lost = sorted(rel for rel in plan.sentinels if rel not in remote)
    report.lost = len(lost)
    report.errors.append(
        f"{dest.uri} no longer holds {len(lost)} of the {len(plan.sentinels)} unchanged objects this workspace "
        f"synced there (e.g. {lost[0]}): the bucket was emptied or recreated, or someone deleted them; "
        f"run `roadseg sync --verify` to send them again")


def _remember(root: Path, settings: WorkspaceSettings, dest: Destination) -> None:
    resolve_destination(root, dest, settings, remember=True)


def _check_bucket(client, dest: Destination, settings: WorkspaceSettings) -> None:
    """One request that turns bad credentials, region, bucket or access into one sentence."""
    try:
        client.head_bucket(Bucket=dest.bucket)
    except Exception as exc:
        raise describe(exc, bucket=dest.bucket, profile=settings.s3.profile, region=settings.s3.region,
                       endpoint=settings.s3.endpoint_url) from None


def _run_uploads(client, conn, root, dest, plan, report, settings, progress, cancel, workers, threshold) -> None:
    extra = sse_arguments(settings.s3)
    abort = threading.Event()
    meter = ProgressMeter(plan.files_total, plan.bytes_total, progress)
    meter.advance(0, 0, force=True)

    def failed(outcome: _PairOutcome, exc: Exception) -> _PairOutcome:
        outcome.fatal = is_fatal(exc)
        if outcome.fatal:   # credentials, bucket, access: stop the other pairs too
            abort.set()
        outcome.error = str(describe(exc, bucket=dest.bucket, profile=settings.s3.profile,
                                     region=settings.s3.region, endpoint=settings.s3.endpoint_url))
        return outcome

    def send_pair(pair: PairUpload) -> _PairOutcome:
        outcome = _PairOutcome(pair)
        if abort.is_set() or (cancel and cancel()):
            outcome.skipped = True
            return outcome
        files = pair.files
        if pair.image_check is not None:   # the image is not being sent: is it still on S3?
            try:
                found = head(client, dest.bucket, object_key(dest.prefix, pair.image_check.relpath))
            except Exception as exc:
                return failed(outcome, exc)
            if found is None:   # lost: send it again, as new, before its mask
                lost = pair.image_check
                files = (FileUpload(lost.relpath, lost.sha256, lost.size, None), *files)
                outcome.pair = pair = PairUpload(pair.stem, pair.split, pair.image, files)
        for f in files:  # image first: its mask only goes up once the image is there
            try:
                key = object_key(dest.prefix, f.relpath)
                result = upload(client, dest.bucket, key, root / f.relpath, f.sha256, f.etag,
                                extra, threshold)
            except FileChangedError as exc:
                outcome.error = f"{f.relpath}: {exc}; sync again"
                return outcome
            except OSError as exc:
                outcome.error = f"{f.relpath}: cannot read ({exc.strerror or exc})"
                return outcome
            except Exception as exc:
                return failed(outcome, exc)
            if result.conflict:
                outcome.conflict = (f.relpath, result.conflict)
                return outcome
            outcome.sent.append((f.relpath, result.sha256, result.etag))
            outcome.adopted += result.adopted
            outcome.bytes += 0 if result.adopted else f.size
        return outcome

    fatal_messages: set[str] = set()
    batch: list[_PairOutcome] = []
    flushed = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="roadseg-push") as pool:
        futures = [pool.submit(send_pair, pair) for pair in plan.uploads]
        # as_completed waits on all futures at once (wait() in a loop is O(n) per call);
        # the DB is written in batches, each a few transactions, not one per file.
        for future in as_completed(futures):
            outcome = future.result()
            batch.append(outcome)
            _count(outcome, report, fatal_messages, abort.is_set())
            done = outcome.pair.files[:len(outcome.sent)]   # adopted files count as done too
            meter.advance(len(done), sum(f.size for f in done), current=outcome.pair.stem)
            if len(batch) >= RECORD_BATCH or time.monotonic() - flushed > RECORD_SECONDS:
                _record(conn, dest, batch)
                batch, flushed = [], time.monotonic()
        _record(conn, dest, batch)
    if cancel and cancel():
        report.cancelled = True
    report.errors += sorted(fatal_messages)


def _record(conn, dest: Destination, outcomes: list[_PairOutcome]) -> None:
    """Persist what reached S3 (even from a pair that then failed) before anything else."""
    rows = [row for o in outcomes for row in o.sent]
    if rows:
        state.record_objects(conn, dest.state_key, rows)
    finished = [(o.pair.stem, o.pair.image, o.pair.split) for o in outcomes
                if len(o.sent) == len(o.pair.files)]
    state.mark_synced(conn, finished)
    state.clear_conflicts(conn, dest.state_key, [stem for stem, _, _ in finished])
    for o in outcomes:
        if o.conflict:
            state.record_conflict(conn, dest.state_key, o.pair.stem, *o.conflict, image=o.pair.image)


def _count(outcome: _PairOutcome, report: SyncReport, fatal_messages: set[str], aborted: bool) -> None:
    report.files += len(outcome.sent) - outcome.adopted
    report.bytes += outcome.bytes
    if outcome.conflict:
        report.conflicts += 1
        report.conflict_stems.append(outcome.pair.stem)
        report.errors.append(f"conflict: {outcome.conflict[1]}")
    elif outcome.skipped:  # not attempted: the run was cancelled, or S3 became unusable
        if aborted:
            report.failed += 1
        else:
            report.cancelled = True
    elif outcome.error:
        report.failed += 1
        if outcome.fatal:
            fatal_messages.add(outcome.error)
        else:
            report.errors.append(outcome.error)
    elif outcome.adopted == len(outcome.pair.files):
        report.unchanged += 1     # S3 already held this pair exactly; now recorded
    else:
        report.uploaded += 1


def _run_deletions(client, conn, root, dest, plan, report) -> None:
    """--delete: remove remote pairs this workspace synced and no longer has, mask first.

    Each delete is conditional: a HEAD compares the ETag last seen, then DeleteObject
    carries If-Match (AWS S3 and moto 5 enforce it; on an S3-compatible store that ignores
    it, a write landing between the HEAD and the delete would still be lost: a window of
    one request, not a guarantee). A stale ETag is a conflict, and the image of a pair whose
    mask could not be deleted stays, so S3 never holds a mask without its image.
    """
    for pair in plan.deletions:
        for relpath, etag in pair.files:
            result = _delete(client, dest, relpath, etag)
            if result in ("deleted", "gone"):
                state.forget_objects(conn, dest.state_key, [relpath])
                report.deleted += result == "deleted"
                continue
            if result == "conflict":
                reason = (f"{object_key(dest.prefix, relpath)} was changed remotely since this workspace last "
                          f"saw it; not deleted")
                state.record_conflict(conn, dest.state_key, pair.stem, relpath, reason,
                                      image=pair.files[-1][0], mark_tile=False)
                report.conflicts += 1
                report.conflict_stems.append(pair.stem)
                report.errors.append(f"conflict: {pair.stem}: {reason}; {resolve_hint(root, pair.stem)}")
                break
            report.failed += 1
            report.errors.append(f"{relpath}: not deleted: {result.what}")
            if result.fatal:
                return
            break   # the rest of the pair (its image) stays


class _DeleteFailed:
    def __init__(self, what: str, fatal: bool):
        self.what, self.fatal = what, fatal


def _delete(client, dest: Destination, relpath: str, etag: str):
    """"deleted", "gone" (already not there), "conflict", or a _DeleteFailed."""
    key = object_key(dest.prefix, relpath)
    try:
        found = head(client, dest.bucket, key)
        if found is None:
            return "gone"
        if found["ETag"].strip('"') != etag.strip('"'):
            return "conflict"
        client.delete_object(Bucket=dest.bucket, Key=key, IfMatch=etag)
        return "deleted"
    except Exception as exc:
        if is_precondition_failed(exc) or error_code(exc) == "ConditionalRequestConflict":
            return "conflict"   # 412: it moved; 409: a concurrent write or delete is in flight
        if error_code(exc) in ("NoSuchKey", "404") or http_status(exc) == 404:
            return "gone"   # deleted between the HEAD and the delete: what we wanted
        return _DeleteFailed(str(describe(exc, bucket=dest.bucket)), is_fatal(exc))
