"""push(): send the workspace's changed pairs to S3, image before mask, with conditional writes.

Concurrency is per pair (a ThreadPoolExecutor); inside a pair the image goes first
and the mask only after the image is on S3, so the remote never holds a mask
without its image. Workers only talk to S3; the calling thread alone writes the
state DB, after each pair finishes. A run killed anywhere leaves either the old
record or the new one, and the next run's conditional writes adopt objects that
already hold our bytes, so it converges.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..settings import WorkspaceSettings
from . import state
from .client import DEFAULT_WORKERS, Destination, destination_of, make_s3_client, parse_s3_uri, sse_arguments
from .errors import SyncError, describe, is_fatal
from .keys import object_key
from .plan import PairUpload, build_plan
from .report import ProgressCallback, ProgressMeter, SyncReport
from .transfer import MULTIPART_THRESHOLD, FileChangedError, upload

log = logging.getLogger(__name__)
RECORD_BATCH = 200      # outcomes per state-DB write
RECORD_SECONDS = 0.5    # ...or this often, so a killed run loses little (and re-adopts that little)


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
    are counted in the report instead. ``verify`` lists the prefix once and sends
    again whatever the remote lost (a recreated bucket, a lifecycle rule...)."""
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
        report.planned = len(plan.uploads)
        if dry_run:
            report.plan = plan.describe()
        if dry_run or not (plan.uploads or plan.deletions):
            if not dry_run:
                _remember(root, settings, dest)
            report.seconds = time.monotonic() - started
            return report
        client = client or make_s3_client(settings.s3, max_pool_connections=max(workers, 10))
        _check_bucket(client, dest, settings)
        _remember(root, settings, dest)   # only a destination that answered is remembered
        _run_uploads(client, conn, root, dest, plan, report, settings, progress, cancel, workers,
                     multipart_threshold)
        if delete and plan.deletions and not report.cancelled and not report.failed:
            _run_deletions(client, conn, dest, plan, report, settings)
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

    def send_pair(pair: PairUpload) -> _PairOutcome:
        outcome = _PairOutcome(pair)
        if abort.is_set() or (cancel and cancel()):
            outcome.skipped = True
            return outcome
        for f in pair.files:  # image first: its mask only goes up once the image is there
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
                outcome.fatal = is_fatal(exc)
                if outcome.fatal:
                    abort.set()
                outcome.error = str(describe(exc, bucket=dest.bucket, profile=settings.s3.profile,
                                             region=settings.s3.region, endpoint=settings.s3.endpoint_url))
                return outcome
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


def _run_deletions(client, conn, dest, plan, report, settings) -> None:
    """--delete: remove remote objects this workspace synced and no longer has (masks first)."""
    for relpath, etag in plan.deletions:
        key = object_key(dest.prefix, relpath)
        try:
            client.delete_object(Bucket=dest.bucket, Key=key, IfMatch=etag)
        except Exception as exc:
            report.failed += 1
            report.errors.append(f"{relpath}: not deleted: {describe(exc, bucket=dest.bucket)}")
            if is_fatal(exc):
                return
            continue
        state.forget_objects(conn, dest.state_key, [relpath])
        report.deleted += 1

