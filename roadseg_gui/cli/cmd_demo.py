"""``roadseg demo-workspace DIR``: a copy of the demo workspace to try the app on."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo-workspace", help="copy the demo workspace (SpaceNet and synthetic tiles) into a folder",
        description="Copy the demo workspace shipped with roadseg (SpaceNet 3 Roads chips, CC BY-SA 4.0, "
                    "and synthetic tiles) into DIR, ready to open with `roadseg-gui DIR`.")
    parser.add_argument("directory", help="new folder for the workspace")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.demo import copy_demo
    from ..core.workspace import Workspace

    path = copy_demo(args.directory)
    counts = Workspace.open(path).counts()
    print(f"demo workspace in {path}: {counts['new']} tiles to review, {counts['accepted']} labeled pairs")
    print(f"open it with: roadseg-gui {path}")
    return 0
