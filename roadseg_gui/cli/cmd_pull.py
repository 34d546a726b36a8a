"""``roadseg pull s3://BUCKET/PREFIX WORKSPACE``: bring remote pairs into a workspace."""

from __future__ import annotations

from pathlib import Path

from .cmd_sync import TqdmProgress, add_s3_options, print_report


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "pull", help="bring image/mask pairs from S3 into a workspace (never overwrites local edits)",
        description="Download s3://BUCKET/PREFIX/{train,test}/{images,masks}/ pairs into WORKSPACE; remote "
                    "images without a mask go to unlabeled/. Local unsynced edits are never overwritten: "
                    "those tiles become conflicts. Unsafe keys are refused and reported.")
    parser.add_argument("source", metavar="s3://BUCKET/PREFIX")
    parser.add_argument("workspace", type=Path)
    add_s3_options(parser)
    parser.add_argument("--workers", type=int, default=16, help="concurrent downloads (default 16)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..core.sync import pull  # botocore: only when this command runs

    with TqdmProgress(disable=args.no_progress, desc="pull") as bar:
        report = pull(args.source, args.workspace, profile=args.profile, endpoint_url=args.endpoint_url,
                      region=args.region, progress=bar, workers=max(1, args.workers))
    print_report(report, verb="downloaded")
    return report.exit_code
