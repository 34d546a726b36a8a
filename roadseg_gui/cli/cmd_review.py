"""``roadseg review WORKSPACE --approve STEM… | --return STEM… --note TEXT | --list``: scripted review.

Decisions are saved in the workspace and travel to S3 with the next ``roadseg sync``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from trainer.errors import BadInputError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "review", help="approve accepted tiles or return them with a note; list review states",
        description="Review accepted tiles: approve them, or return them to their annotator with a note. "
                    "Decisions are sent with the next `roadseg sync`; with [review] require_review = true in "
                    "the workspace settings a pair reaches train/ or test/ on S3 only once approved.")
    parser.add_argument("workspace", type=Path)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--approve", nargs="+", metavar="STEM", help="approve these tiles")
    action.add_argument("--return", dest="return_", nargs="+", metavar="STEM",
                        help="return these tiles to their annotator (needs --note)")
    action.add_argument("--list", action="store_true", help="print each tile's state, annotator, reviewer, "
                                                            "agreement and notes")
    action.add_argument("--keep-mine", nargs="+", metavar="STEM", help="resolve review conflicts for your decision")
    action.add_argument("--take-theirs", nargs="+", metavar="STEM",
                        help="resolve review conflicts for the decision on S3")
    parser.add_argument("--note", default="", help="what to fix (with --return)")
    parser.add_argument("--at", default="", metavar="X,Y", help="pixel the note points at (default 0,0)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..core.review_state import decisions, queue_conflicts, store, transport
    from ..core.settings import WorkspaceSettings

    root = args.workspace
    if not root.is_dir():
        raise BadInputError("the workspace folder does not exist", "Give the folder that holds train/ and test/",
                            path=root)
    me = WorkspaceSettings.load(root).annotator_name()
    conn = store.connect(root)
    try:
        if args.list:
            return print_list(store.all_records(conn), queue_conflicts.reasons(conn))
        if args.note and not args.return_:
            raise BadInputError("--note goes with --return", "Write --return STEM --note \"TEXT\"")
        x, y = parse_point(args.at)
        failed = 0
        for stem in args.approve or args.return_ or args.keep_mine or args.take_theirs:
            try:
                if args.approve:
                    rec = decisions.approve(conn, root, stem, me)
                    print(f"{stem}: approved by {me}{agreement_text(rec)}")
                elif args.return_:
                    decisions.return_tile(conn, root, stem, me, args.note, x, y)
                    print(f"{stem}: returned by {me} with a note")
                elif stem in queue_conflicts.reasons(conn):   # the queued pair itself
                    queue_conflicts.resolve(root, conn, stem, keep_mine=bool(args.keep_mine))
                    print(f"{stem}: " + ("keeping your pair; sync to send it to the review queue" if args.keep_mine
                                         else "took the review queue's pair (yours is in .roadseg/review/mine/)"))
                elif args.keep_mine:
                    print(f"{stem}: keeping your decision ({transport.keep_mine(conn, stem).state}); "
                          f"sync to send it")
                else:
                    print(f"{stem}: took the decision on S3 ({transport.take_theirs(conn, stem).state})")
            except BadInputError as exc:
                if len(args.approve or args.return_ or args.keep_mine or args.take_theirs) == 1:
                    raise
                print(f"error: {exc}", file=sys.stderr)
                failed += 1
        return 1 if failed else 0
    finally:
        conn.close()


def parse_point(text: str) -> tuple[float, float]:
    if not text:
        return 0.0, 0.0
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise BadInputError(f"--at '{text}' is not a pixel position", "Write it as X,Y, e.g. --at 120,48") from None
    return x, y


def agreement_text(rec) -> str:
    if rec.iou is None:
        return ""
    return f" (agreement with the annotator: IoU {rec.iou:.3f}, APLS {rec.apls:.3f})"


def print_list(records, queue_conflicts: dict[str, str]) -> int:
    if not records:
        print("no tile has a review state yet (tiles get one when their annotator syncs them)")
        return 0
    print(f"{'tile':<24} {'state':<9} {'annotator':<14} {'reviewer':<14} {'IoU':>6} {'APLS':>6}  pending")
    for rec in records:
        iou = "-" if rec.iou is None else f"{rec.iou:.3f}"
        apls = "-" if rec.apls is None else f"{rec.apls:.3f}"
        pending = "conflict" if rec.conflict or rec.stem in queue_conflicts else "not synced" if rec.dirty else ""
        print(f"{rec.stem:<24} {rec.state:<9} {rec.annotator or '-':<14} {rec.reviewer or '-':<14} "
              f"{iou:>6} {apls:>6}  {pending}")
        for note in rec.notes:
            print(f"    note at ({note.x:g}, {note.y:g}) by {note.author}: {note.text}")
        for reason in filter(None, (rec.conflict, queue_conflicts.get(rec.stem))):
            print(f"    conflict: {reason}")
    from ..core.review_state import quality

    print("\n" + quality.format_table(quality.by_annotator(records)))
    return 0
