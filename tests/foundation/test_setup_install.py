"""Set-up: `make run` installs the app alone, `make test` adds the test packages; installs go through
uv (from the same package index as pip) when it can be had, else pip."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_ONLY = ("pytest", "pytest-qt", "pytest-xdist", "moto", "awscli", "sagemaker-inference", "pyogrio")


def _make_dry_run(target: str, venv: Path) -> str:
    """The commands `make TARGET` would run for a checkout with no .venv yet (make -n: nothing runs)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), f"VENV={venv}", target],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_run_installs_the_app_without_the_test_packages(tmp_path):
    commands = _make_dry_run("run", tmp_path / "venv")
    assert f"venv-install.sh {tmp_path / 'venv'} -c constraints.txt -e .\n" in commands
    assert ".[test]" not in commands and "-m pytest" not in commands
    assert "roadseg-gui" in commands


def test_make_test_adds_the_test_extra_with_its_own_stamp(tmp_path):
    commands = _make_dry_run("test", tmp_path / "venv")
    assert '-c constraints.txt -e ".[test]"' in commands
    assert f"touch {tmp_path / 'venv'}/.installed-test" in commands and "-m pytest" in commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_the_test_packages_are_only_in_the_test_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(d) for d in project["dependencies"]}
    extra = {_name(d) for d in project["optional-dependencies"]["test"]}
    assert not names & set(TEST_ONLY)
    assert set(TEST_ONLY) <= extra


def _name(requirement: str) -> str:
    for stop in "<>=[; ":
        requirement = requirement.split(stop)[0]
    return requirement.strip().lower()


def _venv() -> Path:
    return Path(sys.executable).parent.parent


def test_uv_gets_pips_index_settings(tmp_path):
    """uv does not read pip's config: the script hands it pip's indexes, links and constraints."""
    record = tmp_path / "uv-args"
    fake = tmp_path / "bin" / "uv"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "$a"; done > {record}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f"{fake.parent}{os.pathsep}{os.environ['PATH']}",
               PIP_EXTRA_INDEX_URL="file:///srv/a/simple file:///srv/b/simple", PIP_FIND_LINKS="/srv/wheels",
               PIP_INDEX_URL="https://pypi.org/simple")
    env.pop("ROADSEG_NO_UV", None)
    done = subprocess.run(["bash", str(ROOT / "scripts" / "venv-install.sh"), str(_venv()), "-e", "."],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    args = record.read_text().split("\n")
    assert args[:4] == ["pip", "install", "--python", f"{_venv()}/bin/python"]
    pairs = set(zip(args, args[1:]))
    for pair in [("--index-url", "https://pypi.org/simple"), ("--extra-index-url", "file:///srv/a/simple"),
                 ("--extra-index-url", "file:///srv/b/simple"), ("--find-links", "/srv/wheels"),
                 ("--index-strategy", "unsafe-best-match"), ("-e", ".")]:
        assert pair in pairs, pair


def test_pip_is_the_fallback_when_uv_cannot_be_had():
    env = dict(os.environ, ROADSEG_NO_UV="1")
    done = subprocess.run(["bash", str(ROOT / "scripts" / "venv-install.sh"), str(_venv()), "--help"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "installing with pip" in done.stdout and "pip install [options]" in done.stdout  # pip's own usage
