"""issue 19, item 9: the README says how to run ``roadseg`` after ``make run`` and where the demo is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_says_how_to_run_roadseg_from_the_venv_and_where_the_demo_is(tmp_path):
    readme = (ROOT / "README.md").read_text("utf-8")
    assert ".venv/bin/roadseg --help" in readme and "source .venv/bin/activate" in readme
    # what the README tells a user to type works: the console script sits beside the venv's python
    run = subprocess.run([str(Path(sys.executable).parent / "roadseg"), "--version"], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.startswith("roadseg ")
    # the demo folder the README names is the one the app copies the demo into
    where = "from roadseg_gui.core.demo import default_demo_dir; print(default_demo_dir())"
    env = {k: v for k, v in os.environ.items() if k != "XDG_DATA_HOME"}
    plain = subprocess.run([sys.executable, "-c", where], env={**env, "HOME": str(tmp_path)}, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert "~/.local/share/roadseg/demo" in readme
    assert plain.stdout.strip() == str(tmp_path / ".local/share/roadseg/demo")
    xdg = subprocess.run([sys.executable, "-c", where], env={**env, "XDG_DATA_HOME": str(tmp_path / "x")},
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "$XDG_DATA_HOME/roadseg/demo" in readme and xdg.stdout.strip() == str(tmp_path / "x/roadseg/demo")
