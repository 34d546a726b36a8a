"""``roadseg sync WORKSPACE --to s3://BUCKET/PREFIX``: push changed pairs to S3."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from trainer.errors import BadInputError, RoadsegError

from ..core.settings import WorkspaceSettings, validate_s3_settings
from .wording import progress_disabled

if TYPE_CHECKING:  # core.sync imports botocore: only when a command runs, not for every `roadseg`
    from ..core.sync.report import SyncProgress, SyncReport


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sync", help="push accepted image/mask pairs to S3 (only what changed, conflict-safe)",
        description="Send the workspace's image/mask pairs changed since their last sync to "
                    "s3://BUCKET/PREFIX/{train,test}/{images,masks}/. The destination, profile and endpoint "
                    "given once are remembered in the workspace settings.")
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--to", metavar="s3://BUCKET/PREFIX", help="destination (remembered)")
    add_s3_options(parser)
    parser.add_argument("--sse", choices=["none", "AES256", "aws:kms"], help="server-side encryption (remembered)")
    parser.add_argument("--kms-key-id", help="KMS key for --sse aws:kms (remembered)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and send nothing")
    parser.add_argument("--delete", action="store_true",
                        help="also delete remote objects this workspace synced and has since removed (per pair, "
                             "mask before image, only if S3 still holds the version last seen)")
    parser.add_argument("--verify", action="store_true",
                        help="hash every local file afresh, list the remote once and re-send whatever changed "
                             "here or whatever S3 lost (e.g. a recreated bucket)")
    parser.add_argument("--resolve", nargs="+", metavar=("keep-mine|take-theirs", "TILE"),
                        help="first resolve the conflicts of these tiles (all when none is named): keep-mine "
                             "sends this workspace's version (or, with --delete, its deletion), take-theirs "
                             "downloads S3's; then sync")
    parser.add_argument("--workers", type=int, default=16, help="concurrent uploads (default 16)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def add_s3_options(parser) -> None:
    parser.add_argument("--profile", help="AWS profile from the standard chain (remembered)")
    parser.add_argument("--region", help="AWS region of the bucket (remembered)")
    parser.add_argument("--endpoint-url", help="S3-compatible endpoint, e.g. http://127.0.0.1:9000 (remembered)")


def remember_options(settings: WorkspaceSettings, args) -> bool:
    changed = False
    for name in ("profile", "region", "endpoint_url", "sse", "kms_key_id"):
        value = getattr(args, name, None)
        if value is None:
            continue
        value = "" if value == "none" else value
        if getattr(settings.s3, name) != value:
            setattr(settings.s3, name, value)
            changed = True
    return changed


def run(args) -> int:
    from ..core.sync import push

    root = args.workspace
    if not root.is_dir():
        raise BadInputError("the workspace folder does not exist", "Give the folder that holds train/ and test/",
                            path=root)
    if args.resolve and args.dry_run:
        raise BadInputError("--resolve downloads or records versions, so it cannot be part of a --dry-run",
                            "Run the dry run without --resolve")
    settings = WorkspaceSettings.load(root)
    changed = remember_options(settings, args)
    validate_s3_settings(settings.s3)   # a bad profile is refused before it is remembered
    if changed and not args.dry_run:
        settings.save(root)
    unresolved = resolve_conflicts(root, args.resolve) if args.resolve else 0
    with TqdmProgress(disable=args.no_progress or args.dry_run) as bar:
        report = push(root, args.to, dry_run=args.dry_run, progress=bar, delete=args.delete, verify=args.verify,
                      workers=max(1, args.workers), settings=settings)
    print_report(report)
    return report.exit_code or (1 if unresolved else 0)


RESOLUTIONS = {"keep-mine": "keep_mine", "take-theirs": "take_theirs"}  # functions of core.sync


def resolve_conflicts(root: Path, words: list[str]) -> int:
    """``--resolve keep-mine|take-theirs [TILE...]``; returns how many could not be resolved."""
    from ..core import sync

    how, tiles = words[0], words[1:]
    if how not in RESOLUTIONS:
        raise BadInputError(f"--resolve takes keep-mine or take-theirs first, not '{how}'",
                            "Write e.g. --resolve keep-mine TILE")
    in_conflict = [c.stem for c in sync.list_conflicts(root)]
    failed = 0
    for stem in tiles or in_conflict:
        if stem not in in_conflict:
            print(f"{stem}: not in conflict; nothing to resolve", file=sys.stderr)
            failed += 1
            continue
        try:
            getattr(sync, RESOLUTIONS[how])(root, stem)
        except RoadsegError as exc:
            print(f"{stem}: not resolved: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{stem}: resolved ({how})")
    return failed


def print_report(report: SyncReport, verb: str = "uploaded") -> None:
    for line in report.plan + report.notices:
        print(line)
    for line in report.errors:
        print(line, file=sys.stderr)
    note = f" (dry run: nothing sent; {report.planned} pairs would be)" if report.dry_run else ""
    print(report.summary(verb) + note)


class TqdmProgress:
    def __init__(self, disable: bool = False, desc: str = "sync"):
        self.disable, self.desc = progress_disabled(disable), desc  # no bar (escape codes) in a log file
        self.bar = None  # a tqdm bar once there is something to show

    def __enter__(self) -> "TqdmProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def __call__(self, progress: SyncProgress) -> None:
        if self.disable or not progress.files_total:
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=progress.files_total, desc=self.desc, unit="file", file=sys.stderr,
                            dynamic_ncols=True, mininterval=0.2)
        self.bar.n = progress.files_done
        done, total = (tqdm.format_sizeof(n, "B", 1024) for n in (progress.bytes_done, progress.bytes_total))
        self.bar.set_postfix_str(f"{done}/{total}", refresh=False)
        self.bar.refresh()
