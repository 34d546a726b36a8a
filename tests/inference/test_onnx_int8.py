"""The int8 ONNX engine: quantized on the workspace's tiles, judged on the model's test pairs, recorded in
the model card, cached and verified like the fp32 export, and used by default only when the card approves."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil

import numpy as np
import pytest

from roadseg_gui.cli.main import main
from trainer import onnx_cache
from trainer.artifact import load_model
from trainer.errors import RoadsegError
from trainer.predict import Predictor
from trainer.synthetic import make_tile


@pytest.fixture(scope="module")
def quantized(trained_dir, tmp_path_factory):
    """A copy of the one-epoch model, quantized twice in one fresh cache (about 20 s each on 2 cores):
    first by ``--engine onnx-int8`` with calibration tiles and nothing cached, then by `roadseg quantize`
    on its own synthetic workspace. Yields (model, workspace, quantize's output, the first Predictor)."""
    root = tmp_path_factory.mktemp("int8")
    previous = os.environ.get(onnx_cache.CACHE_ENV)
    os.environ[onnx_cache.CACHE_ENV] = str(root / "cache")
    try:
        model = shutil.copytree(trained_dir, root / "model")
        workspace = trained_dir.parent / "data"
        tiles = sorted((workspace / "train" / "images").iterdir())
        on_demand = Predictor(model, device="cpu", tile=64, overlap=16, engine="onnx-int8", calibration=tiles)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["quantize", str(model), str(workspace)]) == 0
        yield model, workspace, out.getvalue(), on_demand
    finally:
        if previous is None:
            os.environ.pop(onnx_cache.CACHE_ENV, None)
        else:
            os.environ[onnx_cache.CACHE_ENV] = previous


@pytest.fixture
def card_restored(quantized):
    model = quantized[0]
    original = (model / "model.json").read_text()
    yield
    (model / "model.json").write_text(original)


def _card(model) -> dict:
    return json.loads((model / "model.json").read_text())["int8"]


def _set_card(model, **changes) -> None:
    data = json.loads((model / "model.json").read_text())
    data["int8"].update(changes)
    (model / "model.json").write_text(json.dumps(data))


def test_quantize_records_the_measured_iou_in_the_card_and_caches_a_verified_export(quantized):
    model, workspace, out, _ = quantized
    card = _card(model)
    assert card["test_pairs"] == str(workspace / "test")  # the pairs the model's card names
    assert 0.0 < card["fp32_road_iou"] <= 1.0 and 0.0 <= card["road_iou"] <= 1.0
    assert card["iou_drop"] == pytest.approx(card["fp32_road_iou"] - card["road_iou"], abs=2e-4)
    assert card["within_tolerance"] == (card["iou_drop"] <= 0.01)
    assert card["calibration_tiles"] == 8  # the workspace's 8 train tiles, not its test pairs
    assert f"int8 road IoU {card['road_iou']:.4f}, fp32 {card['fp32_road_iou']:.4f}" in out
    load_model(model)  # the card is still a valid model.json

    int8 = Predictor(model, device="cpu", tile=64, overlap=16, engine="onnx-int8")
    fp32 = Predictor(model, device="cpu", tile=64, overlap=16, engine="onnx")
    assert int8.engine_name == "onnx-int8" and int8.engine.path.parent == onnx_cache.cache_dir()
    assert int8.engine.path.stat().st_size < fp32.engine.path.stat().st_size / 2  # int8 weights
    image = make_tile((96, 128), 9)[0]
    a, b = int8.predict_probability(image), fp32.predict_probability(image)
    assert not np.array_equal(a, b)  # really another engine
    assert ((a >= 0.5) == (b >= 0.5)).mean() > 0.95


def test_the_default_engine_uses_int8_only_when_the_card_approves_these_weights(quantized, card_restored):
    model = quantized[0]
    _set_card(model, within_tolerance=True)
    assert Predictor(model, device="cpu", tile=64, overlap=16).engine_name == "onnx-int8"
    _set_card(model, within_tolerance=False)
    assert Predictor(model, device="cpu", tile=64, overlap=16).engine_name == "onnx"
    _set_card(model, within_tolerance=True, fingerprint="0" * 32)  # measured for other weights
    assert Predictor(model, device="cpu", tile=64, overlap=16).engine_name == "onnx"


def test_a_tampered_int8_export_is_not_used(quantized, card_restored, caplog):
    model = quantized[0]
    _set_card(model, within_tolerance=True)
    export = Predictor(model, device="cpu", tile=64, overlap=16, engine="onnx-int8").engine.path
    honest = export.read_bytes()
    export.write_bytes(honest[:-64] + bytes(64))
    auto = Predictor(model, device="cpu", tile=64, overlap=16)
    assert auto.engine_name == "onnx" and "not in this machine's cache" in auto.notes[-1]
    assert "does not match the hash recorded" in caplog.text
    with pytest.raises(RoadsegError, match="no int8 export"):
        Predictor(model, device="cpu", tile=64, overlap=16, engine="onnx-int8")
    export.write_bytes(honest)  # for the other tests of this module


def test_onnx_int8_calibrates_on_the_given_tiles_when_nothing_is_cached(quantized):
    predictor = quantized[3]
    assert predictor.engine_name == "onnx-int8"
    assert "not measured" in predictor.notes[-1]
    record = json.loads(predictor.engine.path.with_name(predictor.engine.path.name + ".json").read_text())
    assert record["kind"] == "int8" and record["calibration_tiles"] == 8
