"""Fine-tuning keeps what the start model knew (issue 19 item 4): a run returns its best tested state, the start
model included, and a short fine-tune does not throw away the start model's BatchNorm statistics.
Real training steps on small data: synthetic tiles, and the shipped starter model on the demo's chips."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from pathlib import Path

import pytest
import torch

from torch.utils.data import DataLoader

from trainer.artifact import ModelMeta, load_model, save_model_dir
from trainer.data import RoadDataset, list_pairs
from trainer.evaluate import evaluate
from trainer.model import build_model
from trainer.synthetic import write_dataset
from trainer.train import TrainConfig, fit
from trainer.train_best import is_better
from trainer.train_dist import Runtime
from trainer.train_loop import train_epoch

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "resources" / "models" / "starter"
DEMO = ROOT / "resources" / "demo"


pytestmark = pytest.mark.usefixtures("offline_training")   # tests/trainer/conftest.py


def _fit(config: TrainConfig) -> tuple[dict, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fit(config)
    return result, out.getvalue()


def _all_road_model(folder: Path) -> Path:
    """A model that calls every pixel road: its test IoU is the road share, more than nothing."""
    torch.manual_seed(0)
    model = build_model("mobilenet_v3_large")
    with torch.no_grad():
        model.net.classifier[4].bias.fill_(8.0)
        model.net.classifier[4].weight.zero_()
    return save_model_dir(model.eval(), ModelMeta(image_size=64), folder)


def test_the_better_state_is_higher_iou_then_higher_apls_and_a_tie_keeps_the_earlier():
    assert is_better({"iou": 0.5}, None)
    assert is_better({"iou": 0.51, "apls": 0.1}, {"iou": 0.5, "apls": 0.9})
    assert not is_better({"iou": 0.49, "apls": 0.9}, {"iou": 0.5, "apls": 0.1})
    assert is_better({"iou": 0.5, "apls": 0.6}, {"iou": 0.5, "apls": 0.5})
    assert not is_better({"iou": 0.5}, {"iou": 0.5, "apls": 0.5})  # no APLS to break the tie: the earlier stays
    assert not is_better({"iou": 0.5, "apls": 0.5}, {"iou": 0.5, "apls": 0.5})
    # two models that find no road: the lower test loss is the better one; a full tie keeps the earlier
    assert is_better({"iou": 0.0, "apls": 0.0}, {"iou": 0.0, "apls": 0.0}, 1.18, 1.19)
    assert not is_better({"iou": 0.0}, {"iou": 0.0}, 1.19, 1.19)
    assert not is_better({"iou": 0.0}, {"iou": 0.0}, None, 1.0)
    assert not is_better({"iou": 0.0}, {"iou": 0.0}, float("nan"), 1.19)


def test_a_fine_tune_that_makes_the_model_worse_returns_the_start_model_and_says_so(tmp_path, caplog):
    data = write_dataset(tmp_path / "data", train=4, test=2, size=64, seed=3)
    start = _all_road_model(tmp_path / "start")
    before = evaluate(start, data, connectivity=True)
    assert before["iou"] > 0.05
    # a learning rate no model survives: the weights after the last step find no road at all
    config = TrainConfig(out=str(tmp_path / "out"), data=str(data), steps=2, batch_size=2, image_size=64, workers=0,
                         pretrained=False, lr=50.0, init_model=str(start))
    with caplog.at_level(logging.INFO, logger="trainer.train"):
        result, log = _fit(config)

    meta = json.loads((tmp_path / "out" / "model.json").read_text())
    assert meta["lineage"]["history"][-1]["test_iou"] < before["iou"]  # the trained state is worse ...
    assert result["kept_epoch"] == 0 and meta["lineage"]["kept"]["from"] == "start"  # ... so the start is kept
    assert result["start_iou"] == pytest.approx(before["iou"], abs=1e-4)
    assert result["iou"] == pytest.approx(before["iou"], abs=1e-4) and meta["metrics"]["iou"] == result["iou"]
    assert "kept the start model, unchanged" in caplog.text and "nothing this run trained beat it" in caplog.text
    assert f"start model test_iou={before['iou']:.4f}" in log and " kept_epoch=0 " in log
    after = evaluate(tmp_path / "out", data, connectivity=True)  # the model written is the start model
    assert after["iou"] == pytest.approx(before["iou"], abs=1e-6)
    assert after["apls"] == pytest.approx(before["apls"], abs=1e-6)


def test_a_fine_tune_freezes_batchnorm_statistics_and_a_fresh_run_learns_them(tmp_path):
    data = write_dataset(tmp_path / "data", train=4, test=1, size=64, seed=5)
    start = _all_road_model(tmp_path / "start")
    common = dict(data=str(data), steps=1, batch_size=2, image_size=64, workers=0, pretrained=False, lr=1e-3)
    _fit(TrainConfig(out=str(tmp_path / "tuned"), init_model=str(start), **common))
    _fit(TrainConfig(out=str(tmp_path / "fresh"), **common))
    settings = {name: json.loads((tmp_path / name / "model.json").read_text())["hyperparameters"]["freeze_bn"]
                for name in ("tuned", "fresh")}
    assert settings == {"tuned": True, "fresh": False}

    # what freezing means in the training loop: the statistics the model came with stay, bit for bit
    loaded = load_model(start).model
    loader = DataLoader(RoadDataset(list_pairs(data / "train").pairs, 64, augment=True), batch_size=2)
    optimizer = torch.optim.AdamW(loaded.parameters(), lr=1e-3)

    def statistics() -> dict:
        return {k: v.clone() for k, v in loaded.net.state_dict().items() if k.endswith(("running_mean", "running_var"))}

    original, cpu = statistics(), Runtime(torch.device("cpu"))
    train_epoch(loaded, loader, optimizer, None, cpu, step=0, total_steps=2, base_lr=1e-3, frozen_bn=True)
    assert original and all(torch.equal(original[k], v) for k, v in statistics().items())
    train_epoch(loaded, loader, optimizer, None, cpu, step=2, total_steps=4, base_lr=1e-3, frozen_bn=False)
    assert not all(torch.equal(original[k], v) for k, v in statistics().items())


@pytest.mark.skipif(not (STARTER / "model.pth").is_file(), reason="this installation ships no starter model")
def test_the_starter_model_survives_a_step_at_a_crop_larger_than_its_tiles(tmp_path):
    """The collapse of issue 19: a 512-px crop of the demo's 432-px chips is 29 % black padding, and
    BatchNorm statistics re-estimated from such crops took the starter from IoU 0.50 to 0.11 with no
    learning at all (bench/RESULTS.md, "Short fine-tunes"). A fine-tune keeps the statistics it was trained with."""
    config = TrainConfig(out=str(tmp_path / "out"), data=str(DEMO), steps=1, batch_size=2, image_size=512,
                         workers=0, pretrained=False, lr=1e-9, init_model=str(STARTER))
    result, _ = _fit(config)
    history = json.loads((tmp_path / "out" / "model.json").read_text())["lineage"]["history"]
    assert history[-1]["test_iou"] == pytest.approx(result["start_iou"], abs=0.01), (history[-1], result)
    assert result["start_iou"] > 0.4


@pytest.mark.skipif(not (STARTER / "model.pth").is_file(), reason="this installation ships no starter model")
def test_a_few_fine_tuning_steps_at_the_default_learning_rate_keep_the_starters_roads(tmp_path):
    """At the from-scratch peak (3e-3) 4 steps took the starter from IoU 0.50 to 0.26 and 16 steps to 0.00 on
    the demo's chips, BatchNorm frozen; a fine-tune trains at a tenth of --lr (0.47 after 4 and after 16 steps)."""
    config = TrainConfig(out=str(tmp_path / "out"), data=str(DEMO), steps=4, batch_size=4, image_size=256,
                         workers=0, pretrained=False, init_model=str(STARTER))
    result, _ = _fit(config)
    meta = json.loads((tmp_path / "out" / "model.json").read_text())
    assert meta["hyperparameters"]["lr"] == 3e-3 and meta["hyperparameters"]["peak_lr"] == pytest.approx(3e-4)
    assert meta["lineage"]["history"][-1]["test_iou"] > result["start_iou"] - 0.1, (meta["lineage"], result)
