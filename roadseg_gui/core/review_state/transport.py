"""Review records through S3: one JSON per pair at PREFIX/review/{train,test}/STEM.json,
outside {split}/{images,masks} so training never reads it.

Writes are conditional like the pairs': ``If-None-Match: *`` for a new record, ``If-Match``
with the ETag last seen for an update. A 412 means someone else decided meanwhile: the tile's
record becomes a conflict (theirs is kept beside ours for the person to choose), nothing is
overwritten, and ours stays until the person chooses (``roadseg review --keep-mine|--take-theirs``).
"""

from __future__ import annotations

import json
import sqlite3

from ..layout import SPLITS
from ..sync.errors import describe, error_code, is_precondition_failed
from ..sync.keys import UnsafeKeyError, check_name, normalize_prefix, object_key
from .decisions import keep_snapshot, mask_path, sha256_of
from .store import ACCEPTED, BadReviewRecord, ReviewRecord, all_records, delete_record, get_record, save_record

REVIEW_DIR = "review"
QUEUE = "review-queue"   # require_review: pairs waiting for approval, PREFIX/review-queue/{split}/{images,masks}/
MAX_RECORD_BYTES = 1 << 20   # a record with a thousand notes is ~200 KB; more is not one roadseg wrote


def record_key(prefix: str, split: str, stem: str) -> str:
    return object_key(prefix, f"{REVIEW_DIR}/{split}/{stem}.json")


def parse_record_key(prefix: str, key: str) -> tuple[str, str] | None:
    """(split, stem) of a review record key; None for anything else; UnsafeKeyError for a hostile name."""
    head = object_key(prefix, REVIEW_DIR) + "/"
    if not key.startswith(head):
        return None
    parts = key[len(head):].split("/")
    if len(parts) != 2 or parts[0] not in SPLITS or not parts[1].endswith(".json"):
        return None
    check_name(parts[1])
    return parts[0], parts[1][:-len(".json")]


def push_records(client, conn: sqlite3.Connection, dest, report, states: tuple[str, ...]) -> set[str]:
    """Send the local decisions in ``states`` that S3 does not hold yet; returns the stems refused."""
    refused = set()
    for rec in all_records(conn):
        if not rec.dirty or rec.state not in states:
            continue
        if rec.conflict:
            refused.add(rec.stem)
            report.conflicts += 1
            report.errors.append(f"conflict: the review of {rec.stem} is still in conflict ({rec.conflict}); "
                                 f"choose with `roadseg review WORKSPACE --keep-mine|--take-theirs {rec.stem}`")
            continue
        key = record_key(dest.prefix, rec.split, rec.stem)
        condition = {"IfMatch": rec.remote_etag} if rec.remote_etag else {"IfNoneMatch": "*"}
        try:
            response = client.put_object(Bucket=dest.bucket, Key=key, Body=rec.to_json().encode("utf-8"),
                                         ContentType="application/json", **condition)
        except Exception as exc:
            if not (is_precondition_failed(exc) or error_code(exc) in ("ConditionalRequestConflict", "NoSuchKey")):
                report.failed += 1
                report.errors.append(f"{key}: {describe(exc, bucket=dest.bucket)}")
                continue
            if _mark_conflict(client, conn, dest, rec, key, report):
                refused.add(rec.stem)
            continue
        rec.remote_etag, rec.dirty = response["ETag"], False
        save_record(conn, rec)
    return refused


def _mark_conflict(client, conn, dest, rec: ReviewRecord, key: str, report) -> bool:
    try:
        theirs, unreadable = _fetch(client, dest.bucket, key), ""
    except BadReviewRecord as exc:   # someone wrote something else there: still not ours to overwrite
        theirs, unreadable = None, str(exc)
    if theirs is not None and theirs[0].to_json() == rec.to_json():
        rec.remote_etag, rec.dirty = theirs[1], False   # ours already (a run killed before recording it)
        save_record(conn, rec)
        return False
    if unreadable:
        who = f"S3 holds a record roadseg cannot read: {unreadable}"
    else:
        who = "deleted it" if theirs is None else \
            f"{theirs[0].reviewer or theirs[0].annotator} made it {theirs[0].state}"
    _record_conflict(conn, rec, who, theirs, report, " was not sent: ")
    return True


def _record_conflict(conn, rec: ReviewRecord, who: str, theirs: tuple[ReviewRecord, str] | None, report,
                     what: str) -> None:
    """Keep our decision, theirs beside it, and tell the user how to choose (never overwrite either)."""
    rec.conflict = f"someone else changed it on S3 meanwhile ({who})"
    rec.theirs_json = json.dumps({"etag": theirs[1], "record": theirs[0].to_json()}) if theirs else ""
    save_record(conn, rec)
    report.conflicts += 1
    report.conflict_stems.append(rec.stem)
    report.errors.append(f"conflict: the review of {rec.stem}{what}{rec.conflict}; your decision ({rec.state}) "
                         f"is kept here; choose with `roadseg review WORKSPACE --keep-mine|--take-theirs "
                         f"{rec.stem}`")


def _fetch(client, bucket: str, key: str) -> tuple[ReviewRecord, str] | None:
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return None
        raise
    split, stem = key.rsplit("/", 2)[-2], key.rsplit("/", 1)[-1][:-len(".json")]
    body = response["Body"].read(MAX_RECORD_BYTES + 1)
    if len(body) > MAX_RECORD_BYTES:
        raise BadReviewRecord(f"it is larger than {MAX_RECORD_BYTES} bytes")
    return ReviewRecord.from_json(body, stem, split), response["ETag"]


def pull_records(client, conn: sqlite3.Connection, dest, report) -> dict[str, str]:
    """Bring others' decisions and notes in; returns stem -> the state S3 holds."""
    head = object_key(dest.prefix, REVIEW_DIR) + "/"
    remote_states: dict[str, str] = {}
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=dest.bucket, Prefix=head)
    for obj in (o for page in pages for o in page.get("Contents", [])):
        try:
            parsed = parse_record_key(dest.prefix, obj["Key"])
        except UnsafeKeyError as exc:
            report.refused += 1
            report.errors.append(f"refused: {exc.what}")
            continue
        if parsed is None:
            continue
        stem = parsed[1]
        local = get_record(conn, stem)
        if local and local.remote_etag.strip('"') == obj["ETag"].strip('"'):
            if not local.dirty:
                remote_states[stem] = local.state
            continue
        try:
            fetched = _fetch(client, dest.bucket, obj["Key"])
        except BadReviewRecord as exc:
            report.refused += 1
            report.errors.append(f"refused: {obj['Key']}: {exc}")
            continue
        if fetched is None:
            continue
        theirs, etag = fetched
        remote_states[stem] = theirs.state
        if local and local.dirty and theirs.to_json() != local.to_json():
            if local.theirs_json and json.loads(local.theirs_json)["etag"] == etag:
                continue   # the same conflict, already shown
            _mark_conflict_from(conn, local, theirs, etag, report)
            continue
        theirs.remote_etag = etag
        save_record(conn, theirs)
        if local is None or (local.state, len(local.notes)) != (theirs.state, len(theirs.notes)):
            report.notices.append(describe_change(theirs))
    return remote_states


def describe_change(rec: ReviewRecord) -> str:
    """One line for the pull report: what a reviewer or annotator decided."""
    who = rec.reviewer if rec.state != ACCEPTED else rec.annotator
    line = f"review: {rec.stem} {rec.state}" + (f" by {who}" if who else "")
    if rec.state == "returned" and rec.notes:
        note = rec.notes[-1]
        line += f": \"{note.text}\" at ({note.x:g}, {note.y:g})" + (f" (+{len(rec.notes) - 1} more notes)"
                                                                     if len(rec.notes) > 1 else "")
    return line


def _mark_conflict_from(conn, local: ReviewRecord, theirs: ReviewRecord, etag: str, report) -> None:
    _record_conflict(conn, local, f"{theirs.reviewer or theirs.annotator} made it {theirs.state}", (theirs, etag),
                     report, ": ")


def keep_snapshots(root, conn: sqlite3.Connection) -> None:
    """Keep the annotator's accepted mask of tiles waiting for review (agreement is measured against it)."""
    for rec in all_records(conn):
        if rec.state != ACCEPTED or rec.dirty or not rec.accepted_sha:
            continue
        mask = mask_path(root, rec.stem)
        if mask is not None and sha256_of(mask) == rec.accepted_sha:
            keep_snapshot(root, rec.stem, mask)


def keep_mine(conn: sqlite3.Connection, stem: str) -> ReviewRecord:
    """Resolve a review conflict for this workspace's decision: the next sync replaces theirs."""
    rec = _in_conflict(conn, stem)
    rec.remote_etag = json.loads(rec.theirs_json)["etag"] if rec.theirs_json else ""
    rec.conflict, rec.theirs_json = "", ""
    save_record(conn, rec)
    return rec


def take_theirs(conn: sqlite3.Connection, stem: str) -> ReviewRecord:
    """Resolve a review conflict for S3's decision: this workspace's is dropped."""
    rec = _in_conflict(conn, stem)
    if not rec.theirs_json:   # S3 deleted the record: there is no decision there to take
        delete_record(conn, stem)
        rec.state, rec.conflict = "(none)", ""
        return rec
    theirs = json.loads(rec.theirs_json)
    taken = ReviewRecord.from_json(theirs["record"], rec.stem, rec.split)
    taken.remote_etag = theirs["etag"]
    save_record(conn, taken)
    return taken


def _in_conflict(conn, stem: str) -> ReviewRecord:
    from trainer.errors import BadInputError

    rec = get_record(conn, stem)
    if rec is None or not rec.conflict:
        raise BadInputError(f"the review of '{stem}' is not in conflict", "Nothing to choose; sync as usual")
    return rec


def queue_prefix(prefix: str) -> str:
    return object_key(normalize_prefix(prefix), QUEUE)
