"""CLI start-up: a subcommand's heavy dependencies load only when that subcommand runs.

Checked in a real process, from sys.modules after ``roadseg_gui.cli.main.main`` returns:
``roadseg --help`` and every ``roadseg COMMAND --help`` load none of torch, rasterio, boto3 or
the SageMaker SDK, and a real ``roadseg sync`` / ``roadseg pull`` against a moto server load botocore
but never torch; a sync alone loads neither numpy, PIL, tqdm nor boto3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sync_helpers import URI, make_workspace

SCRIPT = r"""
import contextlib, io, json, sys
from roadseg_gui.cli.main import build_parser, main

runs = json.loads(sys.argv[1])
if runs == "every --help":
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    runs = [["--help"]] + [[name, "--help"] for name in sorted(commands)]
codes = []
for argv in runs:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            codes.append(main(argv))
        except SystemExit as exc:
            codes.append(exc.code)
print(json.dumps({"runs": runs, "codes": codes, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""
HEAVY = {"torch", "torchvision", "rasterio", "boto3", "botocore", "s3transfer", "sagemaker", "onnxruntime",
         "scipy", "skimage", "PySide6"}


def _roadseg_in_process(runs) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(runs)], capture_output=True, text=True,
                          timeout=300, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_of_roadseg_and_of_every_command_imports_no_heavy_library():
    result = _roadseg_in_process("every --help")
    assert ["sync", "--help"] in result["runs"] and ["predict", "--help"] in result["runs"]
    assert len(result["runs"]) >= 10 and set(result["codes"]) == {0}
    assert HEAVY.isdisjoint(result["modules"]), sorted(HEAVY & set(result["modules"]))


def test_sync_and_pull_run_without_torch(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server)
    result = _roadseg_in_process([
        ["sync", str(root), "--to", URI, "--no-progress"],
        ["pull", URI, str(tmp_path / "copy"), "--endpoint-url", s3_server, "--no-progress"],
    ])
    assert result["codes"] == [0, 0]
    assert sorted(p.name for p in (tmp_path / "copy/train/masks").iterdir()) == \
        sorted(p.name for p in (root / "train/masks").iterdir())
    assert "botocore" in result["modules"]  # it really talked to S3
    for library in ("torch", "torchvision", "rasterio", "sagemaker", "onnxruntime", "PySide6"):
        assert library not in result["modules"], library


def test_a_sync_process_imports_only_what_a_push_needs(tmp_path, s3_server, s3_client):
    """`roadseg sync` registers only its own parser and talks to S3 through a plain botocore client:
    numpy, PIL, tqdm (other subcommands' modules) and boto3/s3transfer cost CPU at every run."""
    root = make_workspace(tmp_path / "ws", s3_server)
    result = _roadseg_in_process([["sync", str(root), "--to", URI, "--no-progress"]])
    assert result["codes"] == [0]
    assert "botocore" in result["modules"]
    loaded = {"numpy", "PIL", "tqdm", "boto3", "s3transfer", "torch", "rasterio"} & set(result["modules"])
    assert not loaded, sorted(loaded)
