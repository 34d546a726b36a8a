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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from trainer.errors import RoadsegError

    from ..core.scene_import import import_scene
    from ..core.workspace import Workspace
    from .wording import count, progress_disabled

    failed = 0
    for scene in args.scene:
        with tqdm(desc=Path(scene).name, unit="chip", disable=progress_disabled()) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                report = import_scene(scene, args.workspace, chip=args.chip, overlap=args.overlap,
                                      progress=progress)
            except RoadsegError as exc:
                bar.close()
                print(f"error: {exc}", file=sys.stderr)
                failed += 1
                continue
        print(f"{scene}: {count(len(report.written), 'chip')} written, {report.existing} already there, "
              f"{report.skipped_nodata} all-nodata skipped (of {report.total})")
    Workspace.open(args.workspace).close()  # opening scans: the chips are registered now
    return 1 if failed else 0
