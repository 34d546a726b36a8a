"""PredictionService: a real 'spawn' child with a tiny random model; crashes are survived."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
from PIL import Image

from roadseg_gui.core.prediction_service import (Cancelled, Failed, ModelLoaded, PredictionService,
                                                 Succeeded)
from roadseg_gui.core.statedb import TileStatus
from roadseg_gui.core.workspace import Workspace


def next_result(service, kinds=(Succeeded, Failed, Cancelled), timeout=60.0):
    """The next result of one of ``kinds`` (ModelLoaded notices in between are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        result = service.results.get(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(result, kinds):
            return result


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import torch

    from trainer.artifact import ModelMeta, save_model_dir
    from trainer.model import build_model

    torch.manual_seed(0)
    return save_model_dir(build_model(), ModelMeta(image_size=64), tmp_path_factory.mktemp("m") / "model")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("img")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 80, 3), np.uint8)).save(d / "small.png")
    Image.fromarray(rng.integers(0, 255, (2048, 2048, 3), np.uint8)).save(d / "big.png", compress_level=0)
    (d / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return d


@pytest.fixture(scope="module")
def service(tiny_model):
    with PredictionService(tiny_model, device="cpu", engine="torch", threads=1) as svc:
        loaded = svc.results.get(timeout=120)
        assert isinstance(loaded, ModelLoaded), loaded
        yield svc


def test_model_loads_and_reports_version_and_device(service, tiny_model):
    assert service.model_version and len(service.model_version) >= 8
    assert "CPU" in service.device_description
    assert service.worker_pid not in (None, os.getpid())


def test_predicts_a_tile_in_the_child_process(service, files):
    service.request("small", files / "small.png")
    result = next_result(service)
    assert isinstance(result, Succeeded) and result.stem == "small", result
    assert result.probability.shape == (64, 80) and result.probability.dtype == np.uint8
    assert result.mask.dtype == bool and np.array_equal(result.mask, result.probability >= 128)
    assert 0.0 <= result.uncertainty <= 1.0 and result.model_version == service.model_version


def test_a_bad_image_is_a_failed_result(service, files):
    service.request("broken", files / "broken.jpg")
    result = next_result(service)
    assert isinstance(result, Failed) and result.stem == "broken" and result.stage == "input"
    assert "broken.jpg" in result.reason and "Traceback" not in result.message


def test_cancel_of_a_running_prediction(service, files):
    service.request("big", files / "big.png")
    deadline = time.monotonic() + 30
    while service.in_flight_stem != "big" and time.monotonic() < deadline:
        time.sleep(0.01)
    service.cancel("big")
    result = next_result(service)
    assert isinstance(result, Cancelled) and result.stem == "big", result
    assert not service.busy


def test_a_killed_worker_is_restarted_and_the_tile_fails(service, files):
    service.request("big", files / "big.png")
    deadline = time.monotonic() + 30
    while service.in_flight_stem != "big" and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    old_pid = service.worker_pid
    os.kill(old_pid, signal.SIGKILL)
    result = next_result(service)
    assert isinstance(result, Failed) and result.stem == "big" and result.stage == "crash", result
    assert "exit code -9" in result.reason
    service.request("small", files / "small.png")  # the next request starts a new worker
    result = next_result(service)
    assert isinstance(result, Succeeded) and result.stem == "small", result
    assert service.worker_pid not in (None, old_pid) and service.restarts >= 1


def test_workspace_gets_predictions_prefetch_and_cache(service, tiny_model, files, tmp_path):
    root = tmp_path / "ws"
    (root / "unlabeled").mkdir(parents=True)
    for name in ("t1", "t2", "t3"):
        (root / "unlabeled" / f"{name}.png").write_bytes((files / "small.png").read_bytes())
    (root / "unlabeled" / "bad.jpg").write_bytes(b"garbage")
    ws = Workspace.open(root)
    seen = []
    service.workspace, service.on_result, service.prefetch_count = ws, seen.append, 2
    service.request("t1", ws.image_path("t1"))
    service.prefetch([(s, ws.image_path(s)) for s in ("t2", "t3", "bad")])  # "bad" is beyond N=2
    first = next_result(service)
    assert isinstance(first, Succeeded) and first.stem == "t1" and not first.cached and not first.prefetched
    ahead = [next_result(service), next_result(service)]
    assert {r.stem for r in ahead} == {"t2", "t3"} and all(r.prefetched for r in ahead)
    assert [r.status for r in ws.tiles()] == [TileStatus.NEW] + [TileStatus.PREDICTED] * 3
    assert ws.tile("t2").model_version == service.model_version and ws.prediction("t3").shape == (64, 80)
    service.request("t2", ws.image_path("t2"))  # predicted ahead: answered from the cache
    again = next_result(service)
    assert isinstance(again, Succeeded) and again.cached and again.stem == "t2"
    assert np.array_equal(again.probability, ahead[[r.stem for r in ahead].index("t2")].probability)
    service.request("bad", ws.image_path("bad"))
    assert isinstance(next_result(service), Failed)
    assert ws.tile("bad").status == TileStatus.ERROR
    assert len(seen) == 5


def test_reload_of_a_bad_model_is_a_failed_result_and_a_good_one_recovers(service, tmp_path, files,
                                                                         tiny_model):
    service.reload(tmp_path / "no-such-model")
    failed = next_result(service, (Failed, ModelLoaded))
    assert isinstance(failed, Failed) and failed.stem is None and failed.stage == "load"
    service.request("small", files / "small.png")
    assert isinstance(next_result(service), Failed)
    service.reload(tmp_path / "another-missing-model")
    service.reload(tiny_model)  # only the newest choice is reported
    loaded = next_result(service, (Failed, ModelLoaded))
    assert isinstance(loaded, ModelLoaded) and loaded.version == service.model_version
    service.request("small", files / "small.png")
    assert isinstance(next_result(service), Succeeded)


def test_without_a_model_requests_fail_plainly(tmp_path):
    with PredictionService(None) as svc:
        svc.request("x", tmp_path / "x.png")
        result = next_result(svc, timeout=5)
        assert isinstance(result, Failed) and "no model" in result.reason and svc.worker_pid is None
