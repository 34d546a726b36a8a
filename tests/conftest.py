"""Shared fixtures. Qt runs offscreen; S3 tests talk to a real moto server on loopback."""

from __future__ import annotations

import os
import socket
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch a developer's real AWS config or credentials from a test.
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)
# Under pytest-xdist each worker gets its share of the cores for torch/OpenMP (and so do the processes it starts):
# two workers with a thread per core each on 2 cores spend their time contending, not computing.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    _threads = str(max(1, len(os.sched_getaffinity(0)) // _workers) if hasattr(os, "sched_getaffinity") else 1)
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, _threads)

import pytest  # noqa: E402

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials in the environment, as the standard chain would find them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield


@pytest.fixture(scope="session")
def moto_endpoint():
    """One moto server per test process: its stop() alone takes 0.5 s (werkzeug's poll interval)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_server(aws_env, moto_endpoint):
    """A real S3 API server (moto server mode) on loopback, emptied for this test; yields its endpoint URL.

    moto keeps its state in process-wide backends, so the reset (not a new server) is what isolates tests."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"), timeout=10)
    yield moto_endpoint


@pytest.fixture
def isolated_config(tmp_path, monkeypatch):
    """The Qt tests' recent workspaces, last model, window geometry and recovered edits go to a temp dir, not the
    user's (folders whose tests all open windows make it autouse in their conftest)."""
    from PySide6.QtCore import QSettings

    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))   # recovered edits, the demo workspace
    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(config))
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(config))
    return config


@pytest.fixture(scope="session")
def built_once(tmp_path_factory):
    """``built_once(name, build)``: the folder ``build(folder)`` fills, built by one process of the test run
    and shared by the others (pytest-xdist runs a session per worker; a file lock keeps the rest waiting)."""
    from filelock import FileLock  # comes with torch

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base   # the run's folder, above the workers'

    def get(name: str, build) -> Path:
        import shutil

        target, built = shared / name, shared / f"{name}.built"
        with FileLock(str(shared / f"{name}.lock")):
            if not built.exists():   # built in place (model cards record their data's path), marked when whole
                shutil.rmtree(target, ignore_errors=True)
                build(target)
                built.touch()
        return target

    return get


@pytest.fixture
def shared_data():
    """../shared/data beside the project; absent in a user's clone, so tests skip."""
    path = os.path.abspath(SHARED_DATA)
    if not os.path.isdir(path):
        pytest.skip("../shared/data is not present")
    return path
