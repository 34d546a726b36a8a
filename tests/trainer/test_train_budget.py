"""Training for a wall-clock budget (--minutes), the progress-based LR schedule and the evaluation plan:
real training steps on tiny synthetic data; the schedule and throttle also alone, with a fake clock."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
import torch

from trainer.errors import RoadsegError
from trainer.evaluate import evaluate
from trainer.jobs.metrics import MetricsTracker
from trainer.metrics import rounded
from trainer.synthetic import write_dataset
from trainer.train import TrainConfig, config_from_args, fit
from trainer.train_schedule import Throttle, TrainingClock, lr_at_progress


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("ROADSEG_PRETRAINED", "0")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _run(config: TrainConfig, on_epoch=None) -> tuple[dict, list[str]]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = fit(config, on_epoch)
    return result, buffer.getvalue().splitlines()


def _epochs(lines: list[str]) -> list[dict]:
    tracker = MetricsTracker()  # the app's parser reads the lines the budget run prints
    tracker.feed(lines)
    return tracker.epochs


@pytest.mark.parametrize("schedule", ["cosine", "onecycle", "poly"])
def test_lr_schedules_warm_up_peak_and_end_with_the_run(schedule):
    base = 1e-3
    lrs = [lr_at_progress(p / 100, base, schedule, warmup=0.1) for p in range(101)]
    assert lrs[0] == pytest.approx(base / 25)  # warm-up starts low, not at 0 (the first steps still move)
    assert max(lrs) == pytest.approx(base) and lrs.index(max(lrs)) == 10
    assert all(a <= b for a, b in zip(lrs[:11], lrs[1:11]))  # rises through the warm-up
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # then only decays
    assert lrs[-1] == pytest.approx({"cosine": base * 0.01, "onecycle": base * 1e-4, "poly": 0.0}[schedule])
    assert lr_at_progress(1.7, base, schedule) == lrs[-1]  # past the end: stays at the end
    assert lr_at_progress(0.3, base, "onecycle") == pytest.approx(base)  # onecycle's default rise: 30 %


def test_clock_counts_steps_or_budget_seconds_including_a_resumed_runs_time():
    now = [100.0]
    steps = TrainingClock(total_steps=40, now=lambda: now[0])
    assert steps.progress(10) == 0.25 and steps.remaining() == math.inf and not steps.timed
    timed = TrainingClock(budget_seconds=60, spent_seconds=15, now=lambda: now[0])
    assert timed.progress(0) == pytest.approx(0.25)  # a resume starts where the earlier process stopped
    now[0] += 15
    assert timed.elapsed() == pytest.approx(30) and timed.progress(999) == pytest.approx(0.5)
    timed.reserve(10)  # the final test pass must fit as well: training ends 10 s early
    assert timed.progress(0) == pytest.approx(30 / 50) and timed.remaining() == pytest.approx(20)
    timed.reserve(1000)
    assert timed.reserved == 15  # never more than a quarter of the budget
    with pytest.raises(ValueError):
        TrainingClock()


def test_throttle_keeps_evaluation_within_its_share():
    planner = Throttle(share=0.1)
    elapsed, evaluated = 0.0, []
    for epoch in range(1, 41):
        elapsed += 10.0  # an epoch of training
        if planner.due(elapsed, force=epoch == 40):
            planner.record(6.0)  # a test pass costing 60 % of an epoch
            elapsed += 6.0
            evaluated.append(epoch)
    assert evaluated[0] == 1 and evaluated[1] > 2 and evaluated[-1] == 40 and 3 < len(evaluated) < 20
    assert planner.spent / elapsed <= 0.1 + 6.0 / elapsed  # within the share, give or take the forced last one
    assert Throttle(share=1).due(1.0)
    # a cold first run (CUDA start-up, cuDNN autotuning) is re-measured, not taken as the cost
    cold = Throttle(share=0.1, cold_start=True)
    cold.record(40.0)
    assert cold.due(50.0) and not cold.measured and cold.spent == 0
    cold.record(1.0)
    assert cold.measured and cold.spent == 1.0 and cold.due(60.0) and not cold.due(5.0)


def test_minutes_trains_to_the_budget_and_decays_the_lr_with_it(tmp_path):
    data = write_dataset(tmp_path / "data", train=8, test=2, size=32, seed=2)
    budget = 0.25  # minutes
    config = TrainConfig(out=str(tmp_path / "model"), data=str(data), epochs=1, minutes=budget, batch_size=4,
                         lr=1e-3, image_size=32, workers=0, seed=0, pretrained=False, precise_bn_batches=1)
    result, lines = _run(config)
    epochs = _epochs(lines)
    assert len(epochs) > 1  # --epochs 1 is ignored: the budget decides
    train_seconds = sum(e["seconds"] for e in epochs)
    assert 0.75 * budget * 60 < train_seconds < budget * 60 + 2 * max(e["seconds"] for e in epochs)
    assert epochs[-1]["progress"] > 0.8 and epochs[-1]["lr"] < 0.2e-3  # the decay ended with the budget
    assert all(0.0 <= e["overhead"] < 1.0 for e in epochs)
    assert epochs[0]["metrics_epoch"] == 1 and epochs[-1]["metrics_epoch"] == epochs[-1]["epoch"]
    assert all(e["metrics_epoch"] <= e["epoch"] for e in epochs)
    final = lines[-1]
    assert final.startswith("final ") and f"epochs={len(epochs)} minutes=0.25 " in final
    # the model written is the best tested state (issue 19): the last epoch's, or an earlier one that beat it
    tested = {e["epoch"]: e for e in epochs if e["metrics_epoch"] == e["epoch"]}
    kept = tested[result["kept_epoch"]]
    assert f" kept_epoch={result['kept_epoch']} " in final and result["iou"] >= epochs[-1]["test_iou"] - 1e-4
    assert kept["test_iou"] == pytest.approx(result["iou"], abs=1e-4)
    assert result["iou"] == pytest.approx(max(e["test_iou"] for e in tested.values()), abs=1e-4)
    # road connectivity: clDice on every epoch line, APLS on the final one, both as `roadseg eval` scores them
    assert all(0.0 <= e["test_cldice"] <= 1.0 for e in epochs) and "test_apls=" in final
    scored = rounded(evaluate(tmp_path / "model", data, connectivity=True))
    assert (scored["cldice"], scored["apls"]) == (result["cldice"], result["apls"])
    assert kept["test_cldice"] == pytest.approx(result["cldice"], abs=1e-4)
    saved = torch.load(tmp_path / "model" / "checkpoints" / "last.pth", weights_only=True)
    assert saved["budget_done"] and saved["elapsed_seconds"] == pytest.approx(train_seconds, rel=0.25)

    # a rerun finds the budget spent: no more training, the same model metrics
    again, lines = _run(config)
    assert [line.split()[0] for line in lines] == ["final"] and again["iou"] == result["iou"]
    assert again["kept_epoch"] == result["kept_epoch"]  # the best tested state, remembered in best.pth
    # a checkpoint counted in minutes is not continued as a run counted in epochs
    config.minutes = None
    with pytest.raises(RoadsegError, match="counted in 0.25 minutes, now epochs"):
        fit(config)


def test_a_resumed_budget_run_only_trains_for_what_is_left(tmp_path):
    data = write_dataset(tmp_path / "data", train=8, test=1, size=32, seed=4)
    config = TrainConfig(out=str(tmp_path / "model"), data=str(data), minutes=0.2, batch_size=4, lr=1e-3,
                         image_size=32, workers=0, seed=1, pretrained=False, precise_bn_batches=1)

    class Interrupted(Exception):
        pass

    def stop_after_first(record):
        if record["epoch"] == 1:
            raise Interrupted  # as a spot interruption would, after the epoch's checkpoint

    with pytest.raises(Interrupted):
        _run(config, stop_after_first)
    checkpoint = tmp_path / "model" / "checkpoints" / "last.pth"
    spent = torch.load(checkpoint, weights_only=True)["elapsed_seconds"]
    assert 0 < spent < 12
    _, lines = _run(config)
    epochs = _epochs(lines)
    assert epochs[0]["epoch"] == 2 and epochs[0]["progress"] > spent / 12 * 0.9
    resumed_seconds = sum(e["seconds"] for e in epochs)
    total = torch.load(checkpoint, weights_only=True)["elapsed_seconds"]
    # the budget covers both processes: the resumed one trained only for what was left
    assert total == pytest.approx(spent + resumed_seconds, rel=0.2, abs=1.0)
    assert total < 12 + 2 * max(e["seconds"] for e in epochs)
    config.minutes = 0.1
    with pytest.raises(RoadsegError, match="minutes was 0.2, now 0.1"):
        fit(config)


def test_a_budget_epoch_of_a_small_set_is_at_least_16_steps(tmp_path):
    """One-batch epochs (4 tiles at batch 4) spent their time waiting for the first batch, printing and
    checkpointing; a --minutes epoch repeats the tiles up to 16 steps, an --epochs epoch stays one pass."""
    from trainer.train import MIN_TIMED_EPOCH_STEPS

    data = write_dataset(tmp_path / "data", train=4, test=1, size=32, seed=9)

    class FirstEpochDone(Exception):
        pass

    def stop(record):
        raise FirstEpochDone  # after the first epoch's checkpoint

    steps = {}
    for name, minutes, epochs in (("timed", 1.0, 1), ("counted", None, 3)):
        config = TrainConfig(out=str(tmp_path / name), data=str(data), epochs=epochs, minutes=minutes,
                             batch_size=4, image_size=32, workers=0, pretrained=False, precise_bn_batches=1)
        with pytest.raises(FirstEpochDone):
            _run(config, stop)
        steps[name] = torch.load(tmp_path / name / "checkpoints" / "last.pth", weights_only=True)["step"]
    assert steps == {"timed": MIN_TIMED_EPOCH_STEPS, "counted": 1}


def test_evaluation_is_skipped_between_epochs_when_it_would_dominate(tmp_path):
    """Four 32-px training crops per epoch against test tiles 8x larger: testing every epoch would take most
    of the time, so the middle epochs repeat the last metrics, marked with the epoch they came from."""
    data = write_dataset(tmp_path / "data", train=4, test=3, size=32, seed=5)
    big = write_dataset(tmp_path / "big", train=1, test=3, size=256, seed=6)
    for kind in ("images", "masks"):
        for path in (big / "test" / kind).iterdir():
            path.replace(data / "test" / kind / f"big_{path.name}")
    config = TrainConfig(out=str(tmp_path / "model"), data=str(data), epochs=6, batch_size=4, lr=1e-3,
                         image_size=32, workers=0, seed=0, pretrained=False, precise_bn_batches=4)
    _, lines = _run(config)
    epochs = _epochs(lines)
    measured = [e["epoch"] for e in epochs if e["metrics_epoch"] == e["epoch"]]
    assert measured[0] == 1 and measured[-1] == 6 and len(measured) < 6, lines
    skipped = [e for e in epochs if e["metrics_epoch"] != e["epoch"]]
    for e in skipped:  # a skipped epoch carries the metrics of the last measured one, unchanged
        source = next(s for s in epochs if s["epoch"] == e["metrics_epoch"])
        assert e["test_iou"] == source["test_iou"] and e["test_loss"] == source["test_loss"]
    config.eval_share = 1.0  # the old behaviour on request: every epoch tested
    config.out = str(tmp_path / "every")
    _, lines = _run(config)
    assert all(e["metrics_epoch"] == e["epoch"] for e in _epochs(lines))


def test_roadseg_train_takes_a_budget(tmp_path, capsys):
    from roadseg_gui.cli.main import main as roadseg

    data = write_dataset(tmp_path / "data", train=4, test=1, size=32, seed=8)
    assert roadseg(["train", "--data", str(data), "--out", str(tmp_path / "m"), "--minutes", "0.05",
                    "--batch-size", "4", "--image-size", "32", "--workers", "0", "--pretrained", "false",
                    "--schedule", "onecycle"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert _epochs(lines)[-1]["progress"] > 0.5 and " minutes=0.05 " in lines[-1]


def test_minutes_flag_and_bad_values():
    config = config_from_args(["--out", "o", "--minutes", "20", "--schedule", "onecycle", "--warmup", "0.2"])
    assert (config.minutes, config.schedule, config.warmup) == (20.0, "onecycle", 0.2)
    with pytest.raises(SystemExit):
        config_from_args(["--out", "o", "--minutes", "0"])
    with pytest.raises(RoadsegError, match="--eval-share must be in"):
        fit(TrainConfig(out="o", eval_share=0))
