"""trainer/requirements.txt against the AWS PyTorch training image, and an install that needs no network.

REAL: the SDK's own install_requirements.py (what runproc.sh runs) with pip, against an index that cannot be
reached. The image's versions come from its Dockerfile (aws/deep-learning-containers, pytorch/training/docker/
2.5/py3/cu124): torch 2.5.1, numpy pinned below 2, tqdm >= 4.66.3; scipy, pillow and networkx (a dependency of
torch) are unpinned there, so the oldest a 2.5.1 image can plausibly hold is used, as it is for the packages
the image holds as dependencies of its awscli, requests and fastai (click, attrs, certifi, pyparsing)."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version


ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    """A loopback port nothing listens on (pip's index there must never be reached)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


REQUIREMENTS = ROOT / "trainer" / "requirements.txt"
IMAGE_PYTHON = "3.11.10"
IMAGE = {"torch": "2.5.1", "torchvision": "0.20.1", "numpy": "1.26.4", "scipy": "1.13.1", "pillow": "10.4.0",
         "networkx": "3.3", "tqdm": "4.66.3", "packaging": "23.2", "click": "8.1.7", "attrs": "23.2.0",
         "certifi": "2024.8.30", "pyparsing": "3.1.2"}


def _requirements() -> list[Requirement]:
    lines = [line.split("#")[0].strip() for line in REQUIREMENTS.read_text("utf-8").splitlines()]
    return [Requirement(line) for line in lines if line]


def _name(text: str) -> str:
    return text.lower().replace("_", "-")


def test_what_the_image_has_is_kept_and_what_it_lacks_is_pinned():
    for requirement in _requirements():
        name = _name(requirement.name)
        if name in IMAGE:   # a floor the image meets: pip keeps the image's copy
            assert requirement.specifier.contains(IMAGE[name]), f"{requirement} would change the image's {name}"
        else:
            assert [s.operator for s in requirement.specifier] == ["=="], f"{requirement} is not pinned"


def test_no_pinned_package_asks_the_image_for_a_newer_numpy_scipy_or_python():
    """scikit-image, rasterio and the rest, as pinned, accept the image's numpy, scipy, pillow, networkx..."""
    pinned = {_name(r.name): next(iter(r.specifier)).version for r in _requirements() if _name(r.name) not in IMAGE}
    for name, version in pinned.items():
        meta = importlib.metadata.metadata(name)
        assert meta["Version"] == version, f"the tested .venv has {name} {meta['Version']}, not the pinned {version}"
        python = meta.get("Requires-Python")
        assert not python or Requirement(f"python{python}").specifier.contains(IMAGE_PYTHON), (name, python)
        for text in meta.get_all("Requires-Dist") or []:
            needed = Requirement(text)
            if needed.marker is not None and not needed.marker.evaluate({"extra": "", "python_version": "3.11"}):
                continue
            dependency = _name(needed.name)
            if dependency in IMAGE:
                assert needed.specifier.contains(IMAGE[dependency]), f"{name} {version} needs {needed}"
            else:
                assert dependency in pinned, f"{name} {version} needs {dependency}: neither pinned nor in the image"
                assert needed.specifier.contains(pinned[dependency]), f"{name} {version} needs {needed}"


def _install(tmp_path, requirements_text: str) -> subprocess.CompletedProcess:
    """runproc.sh's step: the SDK's install_requirements.py from the code folder, with no reachable index."""
    from sagemaker.core.utils import install_requirements

    code = tmp_path / "code"
    (code / "trainer").mkdir(parents=True)
    (code / "trainer" / "requirements.txt").write_text(requirements_text)
    shutil.copy(install_requirements.__file__, code / "install_requirements.py")
    env = dict(os.environ, PIP_INDEX_URL=f"http://127.0.0.1:{_free_port()}/simple", PIP_RETRIES="0",
               PIP_TIMEOUT="2", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    env.pop("CA_REPOSITORY_ARN", None)
    return subprocess.run([sys.executable, "install_requirements.py", "trainer/requirements.txt"], cwd=code, env=env,
                          capture_output=True, text=True, timeout=240)


def test_an_image_that_already_holds_the_requirements_installs_nothing_and_needs_no_index(tmp_path):
    """A derived image (or this .venv, which holds the same pins) starts a job without a network."""
    proc = _install(tmp_path, REQUIREMENTS.read_text("utf-8"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Requirement already satisfied: rasterio==1.4.4" in proc.stdout
    assert "Downloading" not in proc.stdout and "Successfully installed" not in proc.stdout


def test_a_requirement_the_image_lacks_does_reach_for_the_index(tmp_path):
    """The check above can fail: a version nobody has installed needs the (unreachable) index."""
    proc = _install(tmp_path, "tqdm==4.0.0\n")
    assert proc.returncode != 0
    assert Version(importlib.metadata.version("tqdm")) != Version("4.0.0")
