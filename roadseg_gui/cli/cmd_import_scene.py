"""``roadseg import-scene SCENE.tif WORKSPACE --chip 512 [--overlap N]``: cut a scene into chips."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import-scene", help="cut a big GeoTIFF into GeoTIFF chips in a workspace's unlabeled/ folder",
        description="Cut a big GeoTIFF (or any GDAL raster) into chips that keep its CRS, each with its own "
                    "shifted transform, in WORKSPACE/unlabeled/. All-nodata chips are skipped; chips already "
                    "there are kept, so a cancelled import can simply be run again.")
    parser.add_argument("scene", nargs="+", help="scene file(s)")
    parser.add_argument("workspace", help="workspace folder (created if missing)")
    parser.add_argument("--chip", type=int, default=512, help="chip size in pixels (default 512)")
    parser.add_argument("--overlap", type=int, default=0, help="overlap between chips in pixels (default 0)")
    parser.add_argument("--max-gigapixels", type=_gigapixels, default=None,
                        help="refuse scenes larger than this (default: predict's limit, 20 GP); a header that "
                             "claims more is more often corrupt or hostile than real")
    parser.set_defaults(func=run)


def _gigapixels(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of gigapixels (e.g. 50)")
    return value


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from trainer.errors import RoadsegError

    from ..core.scene_import import import_scene, plan_scene
    from ..core.workspace import Workspace
    from .wording import count, progress_disabled

    failed = 0
    max_pixels = None if args.max_gigapixels is None else int(args.max_gigapixels * 1e9)
    for scene in args.scene:
        try:  # the size and chip count come from the header: say them before writing anything
            plan = plan_scene(scene, chip=args.chip, overlap=args.overlap, max_pixels=max_pixels)
        except RoadsegError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{scene}: {plan.width}x{plan.height} pixels, {count(plan.total, 'chip')} of {args.chip} px to cut",
              flush=True)
        with tqdm(desc=Path(scene).name, unit="chip", disable=progress_disabled()) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                report = import_scene(scene, args.workspace, chip=args.chip, overlap=args.overlap,
                                      progress=progress, max_pixels=max_pixels)
            except RoadsegError as exc:
                bar.close()
                print(f"error: {exc}", file=sys.stderr)
                failed += 1
                continue
        print(f"{scene}: {count(len(report.written), 'chip')} written, {report.existing} already there, "
              f"{report.skipped_nodata} all-nodata skipped (of {report.total})")
    Workspace.open(args.workspace).close()  # opening scans: the chips are registered now
    return 1 if failed else 0
