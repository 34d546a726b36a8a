"""Predictor: engines, tiling against whole-image prediction, ONNX cache, pickling, bad inputs."""

from __future__ import annotations

import copy
import multiprocessing
import os
import pickle

import numpy as np
import pytest
import torch

from trainer.artifact import ModelMeta, save_model_dir
from trainer import onnx_cache
from trainer.onnx_engine import load_or_export
from trainer.torch_engine import ImageToProbability
from trainer.devices import DeviceError, select_device
from trainer.errors import BadInputError, ModelLoadError
from trainer.predict import Cancelled, Prediction, Predictor, uncertainty
from trainer.synthetic import make_tile


def test_tiled_prediction_matches_whole_image_away_from_window_edges(local_model):
    image, _ = make_tile((150, 230), 5)
    whole = Predictor(local_model, tile=256, overlap=0, engine="torch").predict_probability(image)
    tiled = Predictor(local_model, tile=64, overlap=16, engine="torch").predict_probability(image)
    assert whole.std() > 0.02  # the model really responds to the image
    inner = (slice(8, -8), slice(8, -8))
    diff = np.abs(whole - tiled)[inner]
    assert diff.mean() < 2e-3 and diff.max() < 0.03
    # and the tiling is not trivially right: no blending shows the window edges
    stitched = Predictor(local_model, tile=64, overlap=0, engine="torch").predict_probability(image)
    assert np.abs(whole - stitched)[inner].max() > 5 * diff.max()


def test_no_seams_on_a_constant_image(deeplab_model):
    image = np.full((200, 200, 3), 120, np.uint8)
    blended = Predictor(deeplab_model, tile=64, overlap=16).predict_probability(image)
    stitched = Predictor(deeplab_model, tile=64, overlap=0).predict_probability(image)
    jump = max(np.abs(np.diff(blended, axis=a)).max() for a in (0, 1))
    assert max(np.abs(np.diff(stitched, axis=a)).max() for a in (0, 1)) > 4 * jump
    assert jump < 0.01


def test_onnx_agrees_with_torch(deeplab_model):
    image, _ = make_tile((100, 150), 2)
    onnx = Predictor(deeplab_model, tile=96, overlap=16, engine="onnx")
    torch_ = Predictor(deeplab_model, tile=96, overlap=16, engine="torch")
    assert (onnx.engine_name, torch_.engine_name) == ("onnx", "torch")
    a, b = onnx.predict_probability(image), torch_.predict_probability(image)
    assert a.std() > 1e-3
    assert np.abs(a - b).max() < 1e-3


def test_onnx_export_is_cached_by_content_and_redone_when_it_changes(tmp_path, local_model):
    source = tmp_path / "v1"
    source.mkdir()
    cache = onnx_cache.cache_dir()
    net, mean, std = local_model.model, local_model.meta.mean, local_model.meta.std
    first = load_or_export(net, mean, std, source)
    assert first.path.parent == cache and first.path.exists()
    assert not list(tmp_path.rglob("*.onnx")) and not list(source.iterdir())  # nothing beside the model
    stamp = first.path.stat().st_mtime_ns
    assert load_or_export(net, mean, std, source).path == first.path
    assert first.path.stat().st_mtime_ns >= stamp and first.path.read_bytes()  # reused, not exported again
    changed = copy.deepcopy(net)
    with torch.no_grad():
        changed.body[-1].bias += 0.25
    engine = load_or_export(changed, mean, std, source)
    assert engine.path != first.path  # new weights, new key
    image = np.random.default_rng(0).integers(0, 256, (1, 40, 56, 3), dtype=np.uint8)
    expected = ImageToProbability(changed, mean, std)(torch.from_numpy(image)).detach().numpy()
    assert np.abs(engine(image) - expected).max() < 1e-4


def test_a_model_folder_predicts_on_the_cpu_with_onnx_runtime(deeplab_dir):
    predictor = Predictor(deeplab_dir, tile=64, overlap=16)
    assert predictor.device == "cpu" or torch.cuda.is_available()
    if predictor.device == "cpu":
        assert predictor.engine_name == "onnx" and "ONNX Runtime" in predictor.describe()
        assert predictor.engine.path.parent == onnx_cache.cache_dir() and predictor.engine.path.exists()
        assert not list(deeplab_dir.parent.glob("*.onnx"))


def test_prediction_fields_and_threshold(deeplab_model):
    image, _ = make_tile(64, 1)
    result = Predictor(deeplab_model, tile=64, overlap=16).predict(image)
    assert isinstance(result, Prediction)
    assert result.probability.dtype == np.uint8 and result.probability.shape == (64, 64)
    assert result.mask.dtype == bool and 0.0 <= result.uncertainty <= 1.0
    cut = int(np.median(result.probability))
    strict = Predictor(deeplab_model, tile=64, overlap=16, threshold=(cut + 0.5) / 255).predict(image)
    assert strict.mask.sum() == (result.probability > cut).sum()


def test_uncertainty_is_mean_binary_entropy():
    assert uncertainty(np.zeros((8, 8), np.uint8)) == 0.0
    assert uncertainty(np.full((8, 8), 255, np.uint8)) == 0.0
    assert uncertainty(np.full((8, 8), 128, np.uint8)) == pytest.approx(1.0, abs=1e-4)
    half = np.zeros((8, 8), np.uint8)
    half[:4] = 128
    assert uncertainty(half) == pytest.approx(0.5, abs=1e-4)


def _worker_predict(predictor, image):
    return predictor.predict(image).probability


def test_predictor_works_in_a_spawned_worker_process(local_model):
    predictor = Predictor(local_model, tile=64, overlap=16)
    image, _ = make_tile(64, 4)
    assert pickle.loads(pickle.dumps(predictor)).describe() == predictor.describe()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        remote = pool.apply(_worker_predict, (predictor, image))
    np.testing.assert_array_equal(remote, predictor.predict(image).probability)


def test_cancel(deeplab_model):
    predictor = Predictor(deeplab_model, tile=64, overlap=16, engine="torch")
    with pytest.raises(Cancelled):
        predictor.predict(np.zeros((300, 300, 3), np.uint8), cancel=lambda: True)


def test_device_choice_says_why():
    assert select_device("cpu").device == "cpu"
    auto = select_device("auto")
    if not torch.cuda.is_available():
        assert auto.device in ("cpu", "mps") and "CUDA" in auto.description or auto.device == "mps"
        with pytest.raises(DeviceError, match="CUDA was requested"):
            select_device("cuda")
    with pytest.raises(DeviceError, match="unknown device"):
        select_device("tpu")


@pytest.mark.parametrize("content", [b"", b"not a model at all", os.urandom(4096)])
def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path, content):
    path = tmp_path / "model.pth"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError) as info:
        Predictor(path)
    assert str(path) in str(info.value)


def test_bad_arrays_are_refused(deeplab_model):
    predictor = Predictor(deeplab_model, tile=64, overlap=16, engine="torch")
    for bad in (np.zeros((0, 5, 3), np.uint8), np.zeros((4,), np.uint8)):
        with pytest.raises(BadInputError):
            predictor.predict(bad)
    with pytest.raises(BadInputError):
        Predictor(deeplab_model, tile=64, overlap=40)


@pytest.mark.parametrize("engine", ["onnx", "torch"])  # torch finishes whole-window batches on its device
def test_predict_paths_reports_bad_files_and_goes_on(tmp_path, deeplab_model, engine):
    from PIL import Image
    good = []
    for i in range(3):
        good.append(tmp_path / f"ok{i}.png")
        Image.fromarray(make_tile(64, i)[0]).save(good[-1])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    predictor = Predictor(deeplab_model, tile=64, overlap=16, batch_size=2, engine=engine)
    results = dict(predictor.predict_paths([good[0], empty, good[1], good[2]]))
    assert isinstance(results[empty], BadInputError) and "empty" in str(results[empty])
    for path in good:
        expected = predictor.predict(np.asarray(Image.open(path))).probability
        assert np.abs(results[path].probability.astype(int) - expected).max() <= 1
        assert results[path].mask.shape == (64, 64) and 0 <= results[path].uncertainty <= 1


def test_on_device_finishing_matches_the_host_path(deeplab_model):
    """The GPU fast path (uint8, mask and entropy on the device) gives what the host path gives."""
    predictor = Predictor(deeplab_model, tile=64, overlap=16, engine="torch")
    images = np.stack([make_tile(64, i)[0] for i in range(3)])
    probs, masks, scores = predictor.engine.predict_finished(images, predictor.threshold)
    for i, image in enumerate(images):
        expected = predictor.predict(image)
        assert np.abs(probs[i].astype(int) - expected.probability).max() <= 1
        assert (masks[i] != expected.mask).mean() < 0.01
        assert scores[i] == pytest.approx(expected.uncertainty, abs=1e-3)
