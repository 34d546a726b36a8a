"""CLI wording: plurals, no progress escape codes in logs, a first line from predict, help for every
option, a README table that lists every command, and `roadseg-gui --help` without a display."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

from roadseg_gui.cli.main import build_parser
from roadseg_gui.cli.wording import count, progress_disabled
from trainer.synthetic import make_tile

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **extra}
    return env


def test_counts_are_pluralised():
    assert count(1, "road polygon") == "1 road polygon"
    assert count(0, "road polygon") == "0 road polygons"
    assert count(2, "centre line") == "2 centre lines"
    assert count(1, "chip") == "1 chip" and count(3, "chip") == "3 chips"


def test_progress_is_off_when_stderr_is_not_a_terminal(tmp_path):
    with open(tmp_path / "log", "w") as not_a_tty:
        assert progress_disabled(False, not_a_tty) and progress_disabled(True, not_a_tty)
    leader, follower = os.openpty()  # a terminal: bars are drawn unless --no-progress
    try:
        with os.fdopen(follower, "w") as terminal:
            assert not progress_disabled(False, terminal) and progress_disabled(True, terminal)
    finally:
        os.close(leader)


def _subcommands(parser: argparse.ArgumentParser) -> dict:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_train_and_retrain_option_has_help_text():
    commands = _subcommands(build_parser())
    missing = [f"{name} {'/'.join(a.option_strings) or a.dest}" for name in ("train", "retrain")
               for a in commands[name]._actions
               if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert missing == []


def test_readme_command_table_lists_every_command():
    readme = (ROOT / "README.md").read_text("utf-8")
    table = re.findall(r"^\| `roadseg ([a-z-]+)", readme, flags=re.M)
    assert set(_subcommands(build_parser())) <= set(table), "commands missing from the README table"
    assert "demo-workspace" in table


def test_predict_says_loading_model_first_and_writes_no_escape_codes(tmp_path):
    from trainer.artifact import ModelMeta, save_model_dir
    from trainer.model import build_model

    model = save_model_dir(build_model("mobilenet_v3_large"), ModelMeta(), tmp_path / "model")
    Image.fromarray(make_tile(64, 1)[0]).save(tmp_path / "a.png")
    run = subprocess.run([sys.executable, "-m", "roadseg_gui.cli.main", "predict", "--model", str(model),
                          str(tmp_path / "a.png"), "--out", str(tmp_path / "out"), "--tile", "64",
                          "--overlap", "16", "--engine", "torch"],
                         env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith("loading model ")
    assert "\r" not in run.stderr and "\x1b[" not in run.stderr and "\r" not in run.stdout


def test_gui_help_needs_no_display():
    env = _env()
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    run = subprocess.run([sys.executable, "-m", "roadseg_gui.app", "--help"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.startswith("usage: roadseg-gui"), run.stderr
    assert "display" not in run.stderr
