"""Test-time flips (``Predictor(tta=True)``, ``roadseg eval --tta``): the probability is the average of the
model's predictions of the flipped tile, each flipped back, exactly; and eval runs with them end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from roadseg_gui.cli.main import main
from trainer.predict import Predictor
from trainer.synthetic import make_tile, write_dataset


def _flips(image: np.ndarray) -> list[tuple[np.ndarray, callable]]:
    return [(image, lambda p: p), (image[:, ::-1], lambda p: p[:, ::-1]), (image[::-1], lambda p: p[::-1]),
            (image[::-1, ::-1], lambda p: p[::-1, ::-1])]


def test_flipped_predictions_average_to_the_tta_prediction(deeplab_model):
    image = make_tile(96, 4)[0]
    plain = Predictor(deeplab_model, device="cpu", engine="torch")
    flipped = Predictor(deeplab_model, device="cpu", engine="torch", tta=True)
    views = [undo(plain.predict_probability(np.ascontiguousarray(view))) for view, undo in _flips(image)]
    expected = np.mean(views, axis=0)
    assert not np.allclose(views[0], views[1], atol=1e-3)    # the model is not flip-symmetric: a real average
    np.testing.assert_allclose(flipped.predict_probability(image), expected, rtol=0, atol=1e-6)
    prediction = flipped.predict(image)
    np.testing.assert_array_equal(prediction.mask, expected >= flipped.threshold)
    assert "4 flips averaged" in flipped.describe()


def test_batched_and_tiled_paths_flip_too(deeplab_model, tmp_path):
    from PIL import Image

    flipped = Predictor(deeplab_model, device="cpu", engine="torch", tta=True, tile=64, overlap=16)
    plain = Predictor(deeplab_model, device="cpu", engine="torch", tile=64, overlap=16)
    paths = []
    for seed in range(2):
        paths.append(tmp_path / f"t{seed}.png")
        Image.fromarray(make_tile(64, seed)[0]).save(paths[-1])
    for path, prediction in flipped.predict_paths(paths):   # two same-size tiles: one batched engine call
        image = np.asarray(Image.open(path))
        np.testing.assert_array_equal(prediction.probability, flipped.predict(image).probability)
        assert not np.array_equal(prediction.probability, plain.predict(image).probability)
    large = make_tile(150, 7)[0]   # several windows, each flip-averaged before blending
    probability = flipped.predict_probability(large)
    assert probability.shape == (150, 150) and not np.allclose(probability, plain.predict_probability(large))


@pytest.mark.parametrize("tta", [False, True])
def test_eval_with_tta_runs_end_to_end(deeplab_dir, tmp_path, capsys, tta):
    data = write_dataset(tmp_path / "data", train=1, test=2, size=96, seed=5)
    code = main(["eval", "--model", str(deeplab_dir), "--data", str(data), "--device", "cpu",
                 *(["--tta"] if tta else [])])
    out = capsys.readouterr().out
    assert code == 0
    metrics = json.loads(out)
    for key in ("iou", "f1", "cldice", "apls", "apls_raw"):
        assert 0.0 <= metrics[key] <= 1.0

