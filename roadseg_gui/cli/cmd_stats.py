"""``roadseg stats WORKSPACE [--csv] [--by annotator|day|tile]``: annotator throughput from the state DB."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "stats", help="annotator throughput: tiles per hour, km per hour, actions per km",
        description="Print what labeling has cost in WORKSPACE, as the app recorded it: accepted tiles, active "
                    "hours (time with input, idle gaps over 30 s cut), km of accepted road (centre lines; tiles "
                    "without a CRS at an assumed 0.5 m per pixel, which the output says), actions (a click, a key, "
                    "a stroke), and from them tiles per hour, km per hour and actions per km.")
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace folder")
    parser.add_argument("--by", choices=("annotator", "day", "tile"), default="annotator",
                        help="one row per annotator (default), day or tile")
    parser.add_argument("--csv", action="store_true", help="CSV on stdout, for a spreadsheet")
    parser.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from trainer.errors import RoadsegError

    from ..core import statedb
    from ..core.layout import state_dir
    from ..core.review_state import quality, store as review_store
    from ..core.throughput import report, store

    root = Path(args.workspace).expanduser()
    if not (state_dir(root) / statedb.DB_NAME).is_file():
        raise RoadsegError("is not a roadseg workspace (no .roadseg/state.sqlite)",
                           "Give the folder the app opened as its workspace.", root)
    conn = statedb.connect(root)
    try:
        records = store.load_records(conn)
        reviews = review_store.all_records(conn)
    finally:
        conn.close()
    rows = report.summarize(records, args.by)
    if args.csv:
        sys.stdout.write(report.format_csv(rows, args.by))
    elif not records:
        print(f"No throughput recorded in {root} yet: it is recorded while tiles are labeled in the app.")
    else:
        print(report.format_table(rows, report.total(records), args.by))
    if reviews and args.by == "annotator" and not args.csv:   # from review decisions (issue 23)
        print("\nReview quality per annotator (approved at first review, returned, mean agreement):")
        print(quality.format_table(quality.by_annotator(reviews)))
    return 0
