"""The child process that holds the model (started with multiprocessing 'spawn').

A CUDA or driver crash here kills only this process; the app's
``PredictionService`` sees it die, reports the tile as failed and starts a new one.
Messages in: ("load", path, device, engine[, workspace]) | ("predict", request_id, stem, image_path) | ("stop",).
Messages out: plain tuples (see ``PredictionService._handle``); nothing raises across.

int8: when a model of the workspace (one inside its folder) runs on fp32 ONNX Runtime and its card
has no int8 figures for these weights, a child process at low priority makes and judges the int8 engine
on the workspace's tiles and test pairs (``python -m trainer.int8_judge``: about a minute on one core)
once no request has come for INT8_IDLE_SECONDS; tiles asked for meanwhile are predicted at once. When
it is done and the card approves int8, this process reloads the model and says so with
("engine", path, description).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

INT8_IDLE_SECONDS = 2.0  # quantizing and judging take about a minute on one core: not while tiles stream in
INT8_POLL_SECONDS = 0.5
INT8_NICE = 10  # the judge yields to the app and to tiles being predicted


def _reason(exc: BaseException) -> tuple[str, str]:
    what = getattr(exc, "what", None)
    if what is not None:  # a RoadsegError: its sentence is meant for a person
        text = f"{exc.path}: {what}" if getattr(exc, "path", None) else what
        return text, getattr(exc, "fix", "")
    return f"{exc.__class__.__name__}: {exc}", ""


def _exit_with_parent() -> None:
    """End this process when the app's process ends, even by kill -9: the request queue never
    reports EOF (this process holds its write end too), so waiting on it alone would keep ~1 GB alive."""
    import multiprocessing
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def worker_main(requests, results, cancel_id, threads: int = 0) -> None:
    """Serve requests until ("stop",) or the parent goes away."""
    # Ctrl+C in a terminal reaches the whole process group: the app saves and stops this process
    # itself, so a KeyboardInterrupt traceback here would only be noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    if threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    predictor = None
    try:
        from trainer.errors import BadInputError
        from trainer.imageio import read_image
        from trainer.predict import Predictor
        import torch

        if threads:
            torch.set_num_threads(threads)
    except BaseException as exc:  # an install problem: say so on every request
        results.put(("load_failed", *_reason(exc)))
        return
    int8 = None  # the int8 judge of the loaded fp32 ONNX model, until it is done
    while True:
        try:
            message = requests.get(timeout=int8.wait()) if int8 else requests.get()
        except queue.Empty:
            if int8.step():
                predictor = int8.switched(predictor, results, threads) or predictor
                int8 = None
            continue
        kind = message[0]
        if kind == "stop":
            if int8:
                int8.stop()
            return
        if kind == "load":
            _, path, device, engine, *rest = message
            if int8:
                int8.stop()
            int8 = None
            try:
                predictor = Predictor(path, device=device, engine=engine, threads=threads or None)
                results.put(("loaded", str(predictor.version), str(predictor.device_description),
                             float(predictor.threshold), str(path)))
                if rest and _own_model(path, rest[0]) and engine == "auto" and predictor.engine_name == "onnx":
                    int8 = Int8Judge(path, device, engine, rest[0])
            except BaseException as exc:
                predictor = None
                results.put(("load_failed", *_reason(exc)))
            continue
        if int8:
            int8.busy()
        _, request_id, stem, image_path = message
        if predictor is None:
            results.put(("failed", request_id, stem, "no model is loaded", "Open a model first.", "load", ""))
            continue
        cancelled = lambda: cancel_id.value == request_id  # noqa: E731
        start = time.perf_counter()
        try:
            image = read_image(image_path)
            if cancelled():
                results.put(("cancelled", request_id, stem))
                continue
            prediction = predictor.predict(image, cancel=cancelled)
        except BadInputError as exc:
            results.put(("failed", request_id, stem, *_reason(exc), "input", ""))
            continue
        except BaseException as exc:
            if cancelled():
                results.put(("cancelled", request_id, stem))
            else:
                results.put(("failed", request_id, stem, *_reason(exc), "predict", traceback.format_exc(limit=5)))
            continue
        if cancelled() or prediction is None:
            results.put(("cancelled", request_id, stem))
            continue
        results.put(("ok", request_id, stem, prediction.probability, prediction.mask,
                     float(prediction.uncertainty), str(predictor.version), time.perf_counter() - start))


def _own_model(path: str, workspace: str | None) -> bool:
    """A model the workspace holds (trained or imported there): its card is the workspace's to write.
    Models opened from elsewhere (the shipped starter, a colleague's folder) are left as they are."""
    if not workspace:
        return False
    try:
        return Path(path).resolve().is_relative_to(Path(workspace).resolve())
    except (OSError, ValueError):
        return False


def _int8_due(path: str) -> bool:
    try:
        from trainer.int8_judge import int8_due

        return int8_due(path)
    except Exception:  # noqa: BLE001 - an optimisation only: fp32 stays
        traceback.print_exc()
        return False


class Int8Judge:
    """Makes and judges a loaded model's int8 engine in a child process at low priority, started once no
    tile was asked for during INT8_IDLE_SECONDS, so a tile asked for meanwhile is not kept waiting."""

    def __init__(self, path: str, device: str, engine: str, workspace: str):
        self.path, self.device, self.engine, self.workspace = path, device, engine, workspace
        self.proc: subprocess.Popen | None = None
        self.idle_since = time.monotonic()

    def busy(self) -> None:
        self.idle_since = time.monotonic()

    def wait(self) -> float:
        if self.proc is not None:
            return INT8_POLL_SECONDS
        return max(0.01, self.idle_since + INT8_IDLE_SECONDS - time.monotonic())

    def command(self) -> list[str]:
        nice = INT8_NICE if os.name == "posix" else 0
        return [sys.executable, "-m", "trainer.int8_judge", self.path, self.workspace, "--threads", "1",
                "--nice", str(nice), "--parent", str(os.getpid())]

    def step(self) -> bool:
        """Start the child when due; True once it has finished (whatever it did)."""
        if self.proc is None:
            if time.monotonic() - self.idle_since >= INT8_IDLE_SECONDS:
                if not _int8_due(self.path):
                    return True   # judged before (over tolerance, or int8 already cached): no child
                # ONNX Runtime's calibration prints its tables to stdout: not the user's terminal
                self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            return False
        return self.proc.poll() is not None

    def switched(self, predictor, results, threads: int):
        """The reloaded Predictor when the card now approves int8 for these weights, else None (the fp32
        engine stays). Never raises: fp32 keeps working whatever happened."""
        if self.proc is None:
            return None   # nothing was due
        try:
            from trainer.predict import Predictor

            reloaded = Predictor(self.path, device=self.device, engine=self.engine, threads=threads or None)
            if reloaded.engine_name != "onnx-int8" or reloaded.version != predictor.version:
                return None
        except Exception:  # noqa: BLE001 - an optimisation only
            traceback.print_exc()
            return None
        results.put(("engine", str(self.path), reloaded.describe()))
        return reloaded

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()   # the card is written atomically: nothing half-written is left
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

