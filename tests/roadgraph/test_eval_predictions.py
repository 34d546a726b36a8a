"""``roadseg eval --predictions DIR --data DIR``: masks made elsewhere, scored with no model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from roadseg_gui.cli.main import main
from trainer.evaluate import evaluate_predictions
from trainer.metrics import METRIC_KEYS
from trainer.synthetic import make_tile, write_dataset


def test_second_annotator_agreement(tmp_path, capsys):
    data = write_dataset(tmp_path / "data", train=0, test=3, size=96, seed=3)
    truth_dir = data / "test" / "masks"
    stems = sorted(p.stem for p in truth_dir.glob("*.png"))
    other = tmp_path / "annotator b"
    other.mkdir()
    shutil.copy(truth_dir / f"{stems[0]}.png", other / f"{stems[0]}.png")        # agrees exactly
    shutil.copy(truth_dir / f"{stems[1]}.png", other / f"{stems[1]}_mask.png")   # predict's naming
    cut = np.asarray(Image.open(truth_dir / f"{stems[2]}.png").convert("L")).copy()
    cut[:, 40:44] = 0                                                           # cuts every road across x=40
    Image.fromarray(cut).save(other / f"{stems[2]}.png")

    assert main(["eval", "--predictions", str(other), "--data", str(data), "--no-bridge"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) == set(METRIC_KEYS) | {"apls", "apls_raw", "cldice"} and metrics["tiles"] == 3
    assert metrics["iou"] > 0.9 and metrics["apls"] < 0.95 and metrics["cldice"] < 1.0
    assert metrics["apls"] == metrics["apls_raw"]        # labels are the truth: nothing bridged

    exact = evaluate_predictions(other, data, bridge=False)
    (other / f"{stems[2]}.png").unlink()
    shutil.copy(truth_dir / f"{stems[2]}.png", other / f"{stems[2]}.png")
    identical = evaluate_predictions(other, data, bridge=False)
    assert identical["iou"] == identical["apls"] == identical["cldice"] == 1.0
    assert exact["apls"] < identical["apls"]


def test_missing_and_mismatched_predictions_are_named_and_skipped(tmp_path, capsys):
    data = write_dataset(tmp_path / "data", train=0, test=3, size=64, seed=5)
    stems = sorted(p.stem for p in (data / "test" / "masks").glob("*.png"))
    preds = tmp_path / "preds"
    preds.mkdir()
    shutil.copy(data / "test" / "masks" / f"{stems[0]}.png", preds / f"{stems[0]}.png")
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(preds / f"{stems[1]}.png")   # wrong size
    assert main(["eval", "--predictions", str(preds), "--data", str(data)]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["tiles"] == 1 and "2 pair(s) could not be used" in captured.err
    skipped: list = []
    evaluate_predictions(preds, data, skipped=skipped)
    reasons = dict(skipped)
    assert "is 10x10 but the truth is 64x64" in reasons[f"{stems[1]}.jpg"]
    assert f"no prediction {stems[2]}.png" in reasons[f"{stems[2]}.jpg"]
    assert main(["eval", "--predictions", str(tmp_path / "nowhere"), "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert "nowhere: is not a folder of predicted masks" in err and "Traceback" not in err
    with pytest.raises(SystemExit):   # argparse: a model or predictions is required
        main(["eval", "--data", str(data)])
    assert "one of the arguments --model --predictions is required" in capsys.readouterr().err


def test_model_evaluation_adds_connectivity_when_asked(tmp_path):
    from trainer.artifact import LoadedModel, ModelMeta
    from trainer.evaluate import evaluate
    from trainer.model import build_model

    data = write_dataset(tmp_path / "data", train=0, test=2, size=64, seed=1)
    model = LoadedModel(build_model("mobilenet_v3_large").eval(), ModelMeta(), None, [])
    plain = evaluate(model, data)
    both = evaluate(model, data, connectivity=True)
    assert set(plain) == set(METRIC_KEYS) and set(both) == set(METRIC_KEYS) | {"apls", "apls_raw", "cldice"}
    assert {k: both[k] for k in plain} == plain and 0.0 <= both["apls"] <= 1.0 and 0.0 <= both["cldice"] <= 1.0


def test_two_folders_of_masks_with_no_images(tmp_path, capsys):
    a, b = tmp_path / "annotator a", tmp_path / "annotator b"
    a.mkdir()
    b.mkdir()
    for seed in range(2):
        truth = np.where(make_tile(96, seed, roads=3)[1], 255, 0).astype(np.uint8)
        Image.fromarray(truth).save(a / f"chip_{seed}.png")
        other = truth.copy()
        other[:, 50:53] = 0 if seed else other[:, 50:53]      # annotator b left a gap in chip_1
        Image.fromarray(other).save(b / f"chip_{seed}.png")
    assert main(["eval", "--predictions", str(b), "--data", str(a), "--no-bridge"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["tiles"] == 2 and metrics["iou"] > 0.9 and metrics["apls"] < 1.0
    assert main(["eval", "--predictions", str(b), "--data", str(tmp_path / "empty")]) == 1
    assert "no test/images/ folder" in capsys.readouterr().err
