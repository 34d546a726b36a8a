"""The ONNX export check: a trained model gets ONNX Runtime, export bugs are caught, verdicts are cached."""

from __future__ import annotations

import numpy as np
import pytest

from trainer import onnx_cache, onnx_engine
from trainer.artifact import LoadedModel, load_model
from trainer.onnx_engine import OnnxDisagreement, check_agreement, load_or_export
from trainer.predict import Predictor
from trainer.synthetic import make_tile
from trainer.torch_engine import ImageToProbability


def _never(*args, **kwargs):
    raise AssertionError("exported or checked again")


def test_a_trained_model_runs_on_onnx_runtime_and_agrees_with_torch(trained_dir, monkeypatch):
    image, _ = make_tile((112, 128), 5)
    onnx = Predictor(trained_dir, device="cpu", tile=128, overlap=16)
    assert onnx.engine_name == "onnx", onnx.notes
    exports = [onnx.engine.path]
    assert exports[0].exists() and not list(exports[0].parent.glob("*.unchecked"))
    assert not list(trained_dir.parent.glob("*.onnx"))
    torch_ = Predictor(trained_dir, device="cpu", tile=128, overlap=16, engine="torch")
    a, b = onnx.predict_probability(image), torch_.predict_probability(image)
    assert a.std() > 1e-2  # the model's output follows the image
    assert np.abs(a - b).mean() < 1e-4
    assert ((a >= 0.5) == (b >= 0.5)).mean() >= 0.999
    # The next start reuses the checked export as it is.
    monkeypatch.setattr(onnx_engine, "export_onnx", _never)
    monkeypatch.setattr(onnx_engine, "check_agreement", _never)
    again = Predictor(trained_dir, device="cpu", tile=128, overlap=16)
    assert again.engine_name == "onnx" and again.engine.path == exports[0]


def test_the_check_rejects_export_bugs_on_a_trained_model(trained_dir):
    loaded = load_model(trained_dir)
    module = ImageToProbability(loaded.model, loaded.meta.mean, loaded.meta.std).eval()
    good = load_or_export(loaded.model, loaded.meta.mean, loaded.meta.std, trained_dir)
    figures = check_agreement(good, module)
    assert figures["mean_difference"] < 1e-4 and figures["mask_agreement"] >= 0.999
    with pytest.raises(OnnxDisagreement, match="masks agree on"):
        check_agreement(lambda batch: good(np.ascontiguousarray(batch[..., ::-1])), module)  # BGR
    with pytest.raises(OnnxDisagreement, match="masks agree on"):  # output misaligned, as by a padding bug
        check_agreement(lambda batch: np.roll(good(batch), 8, axis=2), module)


def test_a_cached_disagreement_goes_straight_to_torch_on_the_next_start(local_model, tmp_path, monkeypatch):
    model = LoadedModel(local_model.model, local_model.meta, tmp_path / "m", [])
    monkeypatch.setenv(onnx_cache.CACHE_ENV, str(tmp_path / "cache"))
    strict = onnx_engine.MIN_MASK_AGREEMENT
    monkeypatch.setattr(onnx_engine, "MIN_MASK_AGREEMENT", 1.01)  # nothing passes: every export disagrees
    first = Predictor(model, device="cpu", tile=128, overlap=16)
    assert first.engine_name == "torch" and "disagrees with torch" in first.notes[-1]
    cache = tmp_path / "cache"
    verdicts = list(cache.glob("*.verdict.json"))
    assert len(verdicts) == 1 and not list(cache.glob("*.onnx")) and not list(cache.glob("*.unchecked"))

    # Next start: the verdict stands (even though the check would pass now); nothing is exported.
    monkeypatch.setattr(onnx_engine, "MIN_MASK_AGREEMENT", strict)
    real_export = onnx_engine.export_onnx
    monkeypatch.setattr(onnx_engine, "export_onnx", _never)
    second = Predictor(model, device="cpu", tile=128, overlap=16)
    assert second.engine_name == "torch" and "verdict cached" in second.notes[-1]
    with pytest.raises(Exception, match="verdict cached"):
        Predictor(model, device="cpu", tile=128, overlap=16, engine="onnx")

    # A new check (or onnxruntime, or torch) judges again.
    monkeypatch.setattr(onnx_engine, "export_onnx", real_export)
    monkeypatch.setattr(onnx_engine, "CHECK_VERSION", onnx_engine.CHECK_VERSION + 1)
    third = Predictor(model, device="cpu", tile=128, overlap=16)
    assert third.engine_name == "onnx" and len(list(cache.glob("*.onnx"))) == 1
    assert not list(cache.glob("*.verdict.json"))
