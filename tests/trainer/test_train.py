"""Real training on tiny synthetic data: it learns, it resumes, it runs as SageMaker runs it, the CLIs work."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from roadseg_gui.cli.main import main as roadseg
from trainer.artifact import LoadedModel, ModelMeta, load_model
from trainer.errors import RoadsegError
from trainer.evaluate import evaluate
from trainer.metrics import METRIC_KEYS, rounded
from trainer.model import build_model
from trainer.synthetic import make_tile, write_dataset
from trainer.train import TrainConfig, config_from_args, fit

ROOT = Path(__file__).resolve().parents[2]
EPOCH_LINE = re.compile(r"^epoch=(\d+) train_loss=([0-9.]+) test_loss=([0-9.]+) test_iou=([0-9.]+) "
                        r"test_f1=([0-9.]+) test_precision=([0-9.]+) test_recall=([0-9.]+) "
                        r"test_accuracy=([0-9.]+) test_background_accuracy=([0-9.]+) test_cldice=([0-9.]+) "
                        r"(?:test_apls=([0-9.]+) test_apls_raw=([0-9.]+) )?lr=(\S+) "
                        r"seconds=([0-9.]+) "
                        r"overhead=([0-9.]+) metrics_epoch=(\d+) progress=([0-9.]+)$")
# What the learning test trains on: enough steps for a from-scratch MobileNet to find grey roads.
LEARN = dict(tiles=64, size=96, epochs=8, batch_size=8, lr=3e-3)


pytestmark = pytest.mark.usefixtures("offline_training")   # tests/trainer/conftest.py


def _run(config: TrainConfig, on_epoch=None) -> tuple[dict, list[str]]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = fit(config, on_epoch)
    return result, buffer.getvalue().splitlines()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small model trained for a few seconds, shared by the tests below."""
    os.environ["ROADSEG_PRETRAINED"] = "0"
    root = tmp_path_factory.mktemp("train")
    data = write_dataset(root / "data", train=LEARN["tiles"], test=4, size=LEARN["size"], seed=7)
    config = TrainConfig(out=str(root / "model"), data=str(data), epochs=LEARN["epochs"],
                         batch_size=LEARN["batch_size"], lr=LEARN["lr"], image_size=LEARN["size"], workers=0,
                         seed=0, pretrained=False, precise_bn_batches=2)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    result, lines = _run(config)
    return data, root / "model", result, lines


def test_training_learns_roads(trained):
    data, out, result, lines = trained
    torch.manual_seed(0)
    untrained = LoadedModel(build_model().eval(), ModelMeta(), source=Path("untrained"))
    before = evaluate(untrained, data)
    after = evaluate(out, data)
    assert after["iou"] > max(0.12, before["iou"] + 0.1), (before, after)
    assert after["tiles"] == 4 and set(after) == set(METRIC_KEYS)
    # the metrics written at training time are the ones evaluation finds (same windows, same padding)
    # on the CPU both are the same fp32 arithmetic, so they agree to the 4 digits model.json keeps
    assert rounded(after) == {k: result[k] for k in after}, (after, result)
    meta = json.loads((out / "model.json").read_text())
    assert meta["metrics"]["iou"] == result["iou"] and meta["version"] == result["version"]
    assert meta["data"]["train"]["pairs"] == LEARN["tiles"] and meta["hyperparameters"]["epochs"] == LEARN["epochs"]


def test_epoch_lines_are_machine_readable(trained):
    _, _, result, lines = trained
    epochs = [EPOCH_LINE.match(line) for line in lines[:-1]]
    assert all(epochs), lines
    assert [int(m.group(1)) for m in epochs] == list(range(1, LEARN["epochs"] + 1))
    final = dict(item.split("=") for item in lines[-1].split()[1:])
    assert lines[-1].startswith("final ") and float(final["test_iou"]) == pytest.approx(result["iou"], abs=1e-4)
    assert float(final["test_background_accuracy"]) > 0.8  # roads are a minority: accuracy alone says nothing
    # the model kept is the best tested epoch's (not always the last: thread counts change the float sums)
    assert float(epochs[result["kept_epoch"] - 1].group(4)) == pytest.approx(result["iou"], abs=1e-4)
    # APLS (graphs, shortest paths) on the last epoch only: of the delivered (bridged) network and the raw skeleton
    assert epochs[-1].group(11) and epochs[-1].group(12) and not any(m.group(11) for m in epochs[:-1])
    assert float(final["test_apls"]) == pytest.approx(result["apls"], abs=1e-4)
    assert float(final["test_apls_raw"]) == pytest.approx(result["apls_raw"], abs=1e-4)


def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path):
    data = write_dataset(tmp_path / "data", train=4, test=1, size=32, seed=3)

    def config(name):
        return TrainConfig(out=str(tmp_path / name), data=str(data), epochs=2, batch_size=4, lr=1e-3,
                           image_size=32, workers=0, seed=1, pretrained=False, precise_bn_batches=1)

    straight, _ = _run(config("straight"))

    class Interrupted(Exception):
        pass

    def stop_after_first(record):
        if record["epoch"] == 1:
            raise Interrupted  # as a spot interruption would, after the epoch's checkpoint

    with pytest.raises(Interrupted):
        _run(config("resumed"), stop_after_first)
    assert (tmp_path / "resumed" / "checkpoints" / "last.pth").is_file()
    assert not (tmp_path / "resumed" / "model.pth").exists()
    resumed, lines = _run(config("resumed"))
    assert [line.split()[0] for line in lines] == ["epoch=2", "final"]
    assert resumed["kept_epoch"] == straight["kept_epoch"]  # the best tested state is the same one (issue 19)
    a = torch.load(tmp_path / "straight" / "model.pth", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "model.pth", weights_only=True)
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)
    assert resumed["iou"] == pytest.approx(straight["iou"], abs=1e-6)

    other = config("resumed")
    other.backbone = "resnet50"
    with pytest.raises(RoadsegError, match="backbone was mobilenet_v3_large, now resnet50"):
        fit(other)


def test_a_checkpoint_of_other_settings_is_refused_and_epochs_may_grow(tmp_path):
    data = write_dataset(tmp_path / "data", train=2, test=1, size=32, seed=5)
    out = tmp_path / "m2"

    def config(**changes):
        values = dict(out=str(out), data=str(data), epochs=1, batch_size=2, lr=1e-3, image_size=32, workers=0,
                      seed=1, pretrained=False, precise_bn_batches=0)
        return TrainConfig(**{**values, **changes})

    _run(config())
    before = (out / "model.json").read_text()
    with pytest.raises(RoadsegError) as info:
        _run(config(image_size=64, lr=0.1))
    message = str(info.value)
    assert "image_size was 32, now 64" in message and "lr was 0.001, now 0.1" in message
    assert "--checkpoint-dir" in message and "delete the checkpoint" in message and "seed" not in message
    assert (out / "model.json").read_text() == before  # nothing written from a run that mixes two
    _, lines = _run(config(epochs=2))  # more epochs: the same run, continued
    assert [line.split()[0] for line in lines] == ["epoch=2", "final"]
    meta = json.loads((out / "model.json").read_text())
    assert meta["image_size"] == 32 and meta["hyperparameters"]["lr"] == 1e-3 and meta["hyperparameters"]["epochs"] == 2
    with pytest.raises(RoadsegError, match="epochs was 2, now 1"):
        _run(config(epochs=1))


def test_test_metrics_match_roadseg_eval_for_mixed_sizes_and_skip_unreadable_tiles(tmp_path, caplog):
    """Tiles of several sizes (one over a 512 window, some not multiples of 32) in batches of 3, and
    a JPEG whose header is fine but whose pixels are cut: the metrics are the ones `roadseg eval`
    finds, and the cut tile is reported once and counted nowhere (not replaced by its neighbour)."""
    data = write_dataset(tmp_path / "data", train=2, test=2, size=64, seed=6)
    test = data / "test"
    for stem, size in (("odd", (40, 72)), ("tall", (600, 40)), ("cut", (64, 64))):
        image, mask = make_tile(size, seed=len(stem))
        Image.fromarray(image).save(test / "images" / f"{stem}.jpg", quality=95)
        Image.fromarray(mask.astype(np.uint8) * 255).save(test / "masks" / f"{stem}.png")
    cut = (test / "images" / "cut.jpg").read_bytes()
    (test / "images" / "cut.jpg").write_bytes(cut[: len(cut) // 3])
    config = TrainConfig(out=str(tmp_path / "model"), data=str(data), epochs=2, batch_size=3, lr=1e-3,
                         image_size=32, workers=0, seed=0, pretrained=False, precise_bn_batches=1)
    with caplog.at_level(logging.WARNING):
        result, lines = _run(config)
    assert result["tiles"] == 4 and [line.split()[0] for line in lines] == ["epoch=1", "epoch=2", "final"]
    assert sum("cut.jpg" in r.getMessage() for r in caplog.records) == 1
    skipped: list = []
    after = evaluate(tmp_path / "model", data, skipped=skipped)
    assert rounded(after) == {k: result[k] for k in after}, (after, result)
    assert [name for name, _ in skipped] == ["cut.jpg"]
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["data"]["test"]["pairs"] == 4 and meta["data"]["test"]["skipped"][0].startswith("cut.jpg: ")


def test_sagemaker_script_mode_single_training_channel(tmp_path):
    """As SageMaker runs it: source_dir copied to /opt/ml/code, `python train.py --flags`, SM_* env."""
    data = write_dataset(tmp_path / "input" / "data" / "training", train=3, test=2, size=48, seed=4)
    code = tmp_path / "code"
    shutil.copytree(ROOT / "trainer", code, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "PYTHONPATH"))}
    env.update(SM_CHANNEL_TRAINING=str(data), SM_MODEL_DIR=str(tmp_path / "model"), SM_NUM_GPUS="0",
               SM_HOSTS='["algo-1"]', SM_CURRENT_HOST="algo-1", ROADSEG_PRETRAINED="0", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "train.py", "--epochs", "1", "--batch-size", "3", "--lr", "0.001", "--image-size", "48",
         "--workers", "0", "--seed", "2", "--backbone", "mobilenet_v3_large",
         "--checkpoint-dir", str(tmp_path / "checkpoints"), "--some-future-flag", "1"],
        cwd=code, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and EPOCH_LINE.match(lines[0]) and lines[1].startswith("final test_iou=")
    assert "starting from scratch" in proc.stderr and "Traceback" not in proc.stderr
    assert "ignoring unknown arguments: --some-future-flag 1" in proc.stderr
    loaded = load_model(tmp_path / "model")
    assert loaded.meta.hyperparameters["seed"] == 2 and (tmp_path / "checkpoints" / "last.pth").is_file()


def test_sagemaker_separate_channels_and_model_dir(tmp_path, monkeypatch):
    root = write_dataset(tmp_path / "d", train=2, test=1, size=32)
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(root / "train"))
    monkeypatch.setenv("SM_CHANNEL_TEST", str(root / "test"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.delenv("SM_CHANNEL_TRAINING", raising=False)
    config = config_from_args(["--epochs", "3", "--batch-size", "2", "--pretrained", "false"])
    assert (config.train, config.test, config.out) == (str(root / "train"), str(root / "test"),
                                                       str(tmp_path / "model"))
    assert config.epochs == 3 and config.batch_size == 2 and config.pretrained is False
    monkeypatch.delenv("SM_MODEL_DIR")
    with pytest.raises(RoadsegError, match="no output folder"):
        config_from_args([])


def test_cli_eval_prints_one_json_line(trained, tmp_path, capsys, caplog):
    data, out, result, _ = trained
    assert roadseg(["eval", "--model", str(out), "--data", str(data), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    metrics = json.loads(captured.out)
    assert set(metrics) == set(METRIC_KEYS) | {"apls", "apls_raw", "cldice"} and all(
        metrics[k] == pytest.approx(result[k], abs=6e-5) for k in METRIC_KEYS)  # 6 digits printed, 4 kept
    # DIR itself holding images/ + masks/, with one pair that cannot be used
    test_dir = tmp_path / "just_test"
    shutil.copytree(data / "test", test_dir)
    (test_dir / "images" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    (test_dir / "masks" / "broken.png").write_bytes(b"nope")
    assert roadseg(["eval", "--model", str(out), "--data", str(test_dir), "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["tiles"] == 4 and "1 pair(s) could not be used" in captured.err
    assert sum("broken.jpg" in r.getMessage() for r in caplog.records) == 1  # stderr in a real run


def test_cli_errors_are_sentences(tmp_path, capsys):
    (tmp_path / "junk.pth").write_bytes(os.urandom(1000))
    write_dataset(tmp_path / "data", train=1, test=1, size=32)
    assert roadseg(["eval", "--model", str(tmp_path / "junk.pth"), "--data", str(tmp_path / "data")]) == 1
    assert roadseg(["train", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "error: " in err and "not a PyTorch weights file" in err and "no train/images" in err
    assert "Traceback" not in err


def test_an_output_path_that_is_a_file_is_refused_before_training(tmp_path):
    from trainer.errors import DataError
    from trainer.train import fit
    from trainer.train_args import TrainConfig

    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    config = TrainConfig(data=str(tmp_path / "no-data-needed"), out=str(blocker / "model"))
    with pytest.raises(DataError, match="cannot be used as a folder"):
        fit(config)  # raised before the data is even looked at: no epoch is wasted
