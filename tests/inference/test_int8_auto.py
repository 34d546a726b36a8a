"""The int8 engine is made and judged without anyone running `roadseg quantize`: the app's prediction
process does it once a model it loaded runs on fp32 ONNX Runtime and the card has no int8 figures; and
the int8 graph keeps the input normalisation with the stem Conv and the output Resize/Sigmoid in float."""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time

import onnx
import pytest

from roadseg_gui.core import prediction_worker
from trainer.int8_judge import int8_due
from trainer.onnx_int8 import INT8_FORMAT
from trainer.predict import Predictor


class _Cancel:
    value = 0


def _serve(messages: list[tuple], stop_when, timeout: float = 600.0) -> list[tuple]:
    """Run the worker loop here with ``messages``; ("stop",) once ``stop_when(replies)`` or after ``timeout``."""
    requests, results, replies = queue.Queue(), queue.Queue(), []
    for message in messages:
        requests.put(message)

    def collect() -> None:
        done = threading.Event()
        timer = threading.Timer(timeout, done.set)
        timer.start()
        while not done.is_set():
            try:
                replies.append(results.get(timeout=0.2))
            except queue.Empty:
                continue
            if stop_when(replies):
                break
        timer.cancel()
        requests.put(("stop",))

    collector = threading.Thread(target=collect)
    collector.start()
    _worker_here(requests, results)
    collector.join()
    return replies


def _worker_here(requests, results) -> None:
    """worker_main in this process; it ignores SIGINT (the app stops it), which must not outlive it here:
    every process this pytest worker starts later would inherit the ignored Ctrl+C."""
    previous = signal.getsignal(signal.SIGINT)
    try:
        prediction_worker.worker_main(requests, results, _Cancel(), threads=1)
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="module")
def judged(trained_dir, tmp_path_factory):
    """A workspace holding a copy of the one-epoch model (where the app keeps its models), loaded by the
    worker with that workspace and left idle until it judged int8."""
    workspace = shutil.copytree(trained_dir.parent / "data", tmp_path_factory.mktemp("auto") / "workspace")
    model = shutil.copytree(trained_dir, workspace / ".roadseg" / "models" / "v1")
    assert int8_due(model)  # nothing measured yet
    with pytest.MonkeyPatch.context() as patch:  # at the suite's own priority: a busy CI runner would starve it
        patch.setattr(prediction_worker, "INT8_NICE", 0)
        replies = _serve([("load", str(model), "cpu", "auto", str(workspace))],
                         stop_when=lambda replies: "int8" in json.loads((model / "model.json").read_text())
                         and (len(replies) > 1 or not json.loads((model / "model.json").read_text())["int8"]
                              ["within_tolerance"]))
    return model, workspace, replies


def test_an_idle_worker_judges_int8_by_itself_and_switches_when_the_card_approves(judged):
    model, _, replies = judged
    assert replies[0][0] == "loaded"
    card = json.loads((model / "model.json").read_text())["int8"]
    assert card["format"] == INT8_FORMAT and card["test_pairs"].endswith("test")
    assert card["iou_drop"] == pytest.approx(card["fp32_road_iou"] - card["road_iou"], abs=2e-4)
    switched = [reply for reply in replies if reply[0] == "engine"]
    assert bool(switched) == card["within_tolerance"]
    if switched:
        assert switched[0][1] == str(model) and "int8" in switched[0][2]
        assert Predictor(model, device="cpu", tile=64, overlap=16).engine_name == "onnx-int8"
    assert not int8_due(model)  # measured once: the next load does not quantize again


def test_no_workspace_a_forced_engine_or_a_model_from_elsewhere_leaves_the_card_alone(trained_dir, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.setattr(prediction_worker, "INT8_IDLE_SECONDS", 0.1)
    judges = []
    monkeypatch.setattr(prediction_worker.Int8Judge, "__init__",
                        lambda self, *args: judges.append(args) or setattr(self, "proc", None))
    workspace = shutil.copytree(trained_dir.parent / "data", tmp_path / "workspace")
    model = shutil.copytree(trained_dir, workspace / ".roadseg" / "models" / "v1")
    outside = shutil.copytree(trained_dir, tmp_path / "elsewhere")
    replies = _serve([("load", str(model), "cpu", "auto", None), ("load", str(model), "cpu", "onnx", str(workspace)),
                      ("load", str(model), "cpu", "auto"), ("load", str(outside), "cpu", "auto", str(workspace))],
                     stop_when=lambda replies: len(replies) >= 4, timeout=120)
    assert [reply[0] for reply in replies] == ["loaded"] * 4
    assert judges == []   # no judge was even started for any of them
    assert "int8" not in json.loads((outside / "model.json").read_text())
    assert "int8" not in json.loads((model / "model.json").read_text())


def test_a_tile_asked_for_while_int8_is_judged_is_predicted_at_once(trained_dir, tmp_path, monkeypatch):
    """The judge runs in its own low-priority process: the worker answers tiles meanwhile, and a stop ends it."""
    monkeypatch.setattr(prediction_worker, "INT8_IDLE_SECONDS", 0.1)
    judges = []
    real_step = prediction_worker.Int8Judge.step

    def slow_judge(self):   # a real child that takes as long as a big model's judging
        judges.append(self)
        return [sys.executable, "-c", "import time; time.sleep(120)"]

    def started_step(self):
        finished = real_step(self)
        if self.proc is not None and not asked:
            asked.append(True)
            requests.put(("predict", 7, "tile", str(image)))
        return finished

    asked: list = []
    monkeypatch.setattr(prediction_worker.Int8Judge, "command", slow_judge)
    monkeypatch.setattr(prediction_worker.Int8Judge, "step", started_step)
    workspace = shutil.copytree(trained_dir.parent / "data", tmp_path / "workspace")
    model = shutil.copytree(trained_dir, workspace / ".roadseg" / "models" / "v1")
    image = next(p for p in (workspace / "test" / "images").iterdir())
    requests, results, replies = queue.Queue(), queue.Queue(), []
    requests.put(("load", str(model), "cpu", "auto", str(workspace)))

    def collect() -> None:
        while not any(reply[0] in ("ok", "failed") for reply in replies):
            try:
                replies.append(results.get(timeout=60))
            except queue.Empty:
                break
        requests.put(("stop",))

    collector = threading.Thread(target=collect)
    collector.start()
    _worker_here(requests, results)
    collector.join()
    assert [reply[0] for reply in replies] == ["loaded", "ok"]
    assert replies[1][1] == 7 and judges
    child = judges[0].proc
    assert child.poll() is not None    # the stop ended the judge; the prediction came while it ran


def test_a_judge_whose_prediction_process_is_gone_stops(trained_dir, tmp_path):
    """kill -9 of the app ends its prediction process; the judge it started must not run on alone."""
    workspace = shutil.copytree(trained_dir.parent / "data", tmp_path / "workspace")
    model = shutil.copytree(trained_dir, workspace / ".roadseg" / "models" / "v1")
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, os, time\n"
        f"child = subprocess.Popen([sys.executable, '-m', 'trainer.int8_judge', {str(model)!r}, {str(workspace)!r},"
        " '--parent', str(os.getpid())])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.2)
    assert not _running(child)
    assert "int8" not in json.loads((model / "model.json").read_text())   # stopped before it judged


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_int8_graph_keeps_the_stem_and_the_head_in_float(judged):
    model = judged[0]
    graph = onnx.load(str(Predictor(model, device="cpu", tile=64, overlap=16, engine="onnx-int8").engine.path)).graph
    producer = {name: node for node in graph.node for name in node.output}

    def fed_by(node, index=0):
        source = producer.get(node.input[index])
        return source.op_type if source is not None else "input"

    convs = [node for node in graph.node if node.op_type == "Conv"]
    stem = [conv for conv in convs if fed_by(conv) != "DequantizeLinear"]
    assert len(stem) == 1 and fed_by(stem[0]) == "Sub"  # normalised in float, not folded
    assert fed_by(stem[0], 1) != "DequantizeLinear"  # float weights
    assert len(convs) > 20 and all(fed_by(conv, 1) == "DequantizeLinear" for conv in convs if conv not in stem)
    sigmoid = next(node for node in graph.node if node.op_type == "Sigmoid")
    assert fed_by(sigmoid) == "Resize"  # no QuantizeLinear/DequantizeLinear pair around the head
    resize = producer[sigmoid.input[0]]
    assert fed_by(resize) == "DequantizeLinear"
