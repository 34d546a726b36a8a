"""The ONNX export cache: in the user's cache folder, keyed by the weights, verified by hash before every load."""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from trainer import onnx_cache
from trainer.artifact import LoadedModel, ModelMeta
from trainer.onnx_engine import export_onnx, model_fingerprint
from trainer.predict import Predictor
from trainer.synthetic import make_tile
from trainer.torch_engine import ImageToProbability

from .conftest import LocalNet


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(onnx_cache.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _all_road_export(tmp_path: Path) -> bytes:
    """An attacker's export: every pixel road, whatever the image."""
    net = LocalNet().eval()
    with torch.no_grad():
        net.body[-1].bias += 100.0
    path = tmp_path / "planted.onnx"
    export_onnx(ImageToProbability(net, ModelMeta().mean, ModelMeta().std).eval(), path)
    return path.read_bytes()


def _model(folder: Path) -> LoadedModel:
    """LocalNet as loaded from ``folder`` (a model folder's weights; exports in a second or two)."""
    folder.mkdir(parents=True, exist_ok=True)
    return LoadedModel(LocalNet().eval(), ModelMeta(version="v1"), folder, [])


def _predict(model_dir: LoadedModel, engine: str) -> tuple[Predictor, np.ndarray]:
    predictor = Predictor(model_dir, device="cpu", tile=64, overlap=16, engine=engine)
    return predictor, predictor.predict(make_tile((80, 96), 3)[0]).probability


def test_a_planted_export_is_detected_and_not_used(tmp_path, cache, caplog):
    model_dir = _model(tmp_path / "models" / "m")
    first, _ = _predict(model_dir, "onnx")
    export = first.engine.path
    assert export.parent == cache and export.exists()
    assert not [p for p in (tmp_path / "models").iterdir() if p.name != "m"]  # nothing hidden beside the model

    planted = _all_road_export(tmp_path)
    export.write_bytes(planted)  # the sidecar still holds the honest export's hash
    with caplog.at_level(logging.WARNING, logger="trainer.onnx_cache"):
        onnx, got = _predict(model_dir, "onnx")
    _, expected = _predict(model_dir, "torch")
    assert onnx.engine_name == "onnx"
    assert "does not match the hash recorded" in caplog.text and str(export) in caplog.text
    assert (got >= 128).mean() < 0.9  # not the planted all-road output
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1  # torch's prediction
    assert export.read_bytes() != planted  # exported again over the planted file


def test_an_export_planted_beside_the_model_is_ignored_and_removed(tmp_path, cache):
    model_dir = _model(tmp_path / "m")
    fingerprint = model_fingerprint(LocalNet().eval(), ModelMeta().mean, ModelMeta().std)
    legacy = tmp_path / f".m.{fingerprint[:16]}.onnx"  # where earlier versions looked first
    legacy.write_bytes(_all_road_export(tmp_path))
    onnx, got = _predict(model_dir, "onnx")
    _, expected = _predict(model_dir, "torch")
    assert onnx.engine_name == "onnx" and onnx.engine.path.parent == cache
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    assert not legacy.exists()


def test_a_torn_export_or_a_lost_record_is_exported_again(tmp_path, cache):
    model_dir = _model(tmp_path / "m")
    export = _predict(model_dir, "onnx")[0].engine.path
    honest = export.read_bytes()
    export.write_bytes(honest[: len(honest) // 2])
    assert _predict(model_dir, "onnx")[0].engine_name == "onnx"
    assert export.read_bytes() == honest
    entry = onnx_cache.CacheEntry(cache, export.name[: -len(".onnx")])
    entry.sidecar.unlink()
    assert entry.read_verified() is None
    _predict(model_dir, "onnx")
    assert entry.read_verified() is not None


def test_the_cache_key_changes_when_the_weights_change():
    net, mean, std = LocalNet().eval(), ModelMeta().mean, ModelMeta().std
    key = model_fingerprint(net, mean, std)
    assert model_fingerprint(copy.deepcopy(net), mean, std) == key  # content, not identity
    changed = copy.deepcopy(net)
    with torch.no_grad():
        changed.body[0].weight[0, 0, 0, 0] += 1e-3
    assert model_fingerprint(changed, mean, std) != key
    assert model_fingerprint(net, mean, [0.2, 0.2, 0.2]) != key  # normalisation is part of the model


def test_the_cache_is_the_users_and_private(monkeypatch, tmp_path):
    from platformdirs import user_cache_dir

    monkeypatch.delenv(onnx_cache.CACHE_ENV, raising=False)
    assert onnx_cache.cache_dir() == Path(user_cache_dir("roadseg")) / "onnx"
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    monkeypatch.setenv(onnx_cache.CACHE_ENV, str(shared))
    assert onnx_cache.private_cache_dir() == shared
    assert shared.stat().st_mode & 0o777 == 0o700


def test_least_recently_used_exports_are_pruned(tmp_path):
    for i in range(4):
        entry = onnx_cache.CacheEntry(tmp_path, f"k{i}")
        entry.store(b"export %d" % i)
        os.utime(entry.path, (1000 + i, 1000 + i))
    onnx_cache.prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k2.onnx", "k2.onnx.json", "k3.onnx", "k3.onnx.json"]
