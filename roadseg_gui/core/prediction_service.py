"""Predictions outside the app's process: a 'spawn' child holds the model.

``PredictionService`` feeds the child one tile at a time from a dispatcher
thread: explicit requests first (the tile on screen), then prefetch of the next
tiles. Results come back as plain values (``Succeeded``, ``Failed``,
``Cancelled``, ``ModelLoaded``) on ``results`` (a thread-safe queue to poll)
and through ``on_result`` (called on the dispatcher thread, so a Qt caller
re-emits it as a signal); exceptions never cross a thread or process. If the
child dies (a CUDA or driver crash, kill -9) the tile it held is reported
``Failed(stage="crash")`` and a new child is started for the rest of the queue.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import queue
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from .mask_edit import threshold as apply_threshold
from .prediction_results import Cancelled, Failed, ModelLoaded, Result, Succeeded
from .prediction_worker import worker_main

if TYPE_CHECKING:
    from .workspace import Workspace

log = logging.getLogger(__name__)
__all__ = ["PredictionService", "Succeeded", "Failed", "Cancelled", "ModelLoaded", "Result"]


@dataclass
class _Job:
    request_id: int
    stem: str
    image_path: str
    explicit: bool            # asked for (on screen) rather than prefetched
    requeue: bool = False     # cancelled only to make way; put it back


class PredictionService:
    """Runs ``trainer.predict.Predictor`` in a child process; see the module docstring."""

    def __init__(self, model_path: str | None = None, *, device: str = "auto", engine: str = "auto",
                 workspace: "Workspace | None" = None, prefetch: int = 2,
                 on_result: Callable[[Result], None] | None = None, threads: int = 0):
        self.device = device
        self.engine = engine
        self.workspace = workspace          # when set: predictions are saved, unreadable tiles marked
        self.prefetch_count = prefetch
        self.on_result = on_result
        self.threads = threads
        self.results: "queue.Queue[Result]" = queue.Queue()
        self.model_path = str(model_path) if model_path else None
        self.model_version: str | None = None
        self.device_description: str | None = None
        self.threshold = 0.5
        self.restarts = 0
        self._cond = threading.Condition()
        self._pending: deque[_Job] = deque()
        self._prefetch: deque[_Job] = deque()
        self._in_flight: _Job | None = None
        self._loading = 0         # loads sent to the worker and not answered yet
        self._load_crashed = False
        self._ids = itertools.count(1)
        self._ctx = mp.get_context("spawn")
        self._proc = None
        self._to_worker = self._from_worker = self._cancel_id = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="prediction-service", daemon=True)
        self._thread.start()

    # -- public API (any thread) -----------------------------------------------------------
    def reload(self, model_path: str) -> None:
        """Load (activate) another model; pending requests are predicted with it."""
        with self._cond:
            self.model_path = str(model_path)
            self.model_version = None
            self._load_crashed = False
            if self._in_flight is not None:
                self._in_flight.requeue = True
                self._cancel_id.value = self._in_flight.request_id
            if self._alive():
                self._to_worker.put(("load", self.model_path, self.device, self.engine, self._workspace_root()))
                self._loading += 1
            self._cond.notify_all()

    def request(self, stem: str, image_path: str) -> None:
        """Predict this tile next (ahead of prefetch)."""
        if self.model_path is None:
            self._emit(Failed(stem, "no model is loaded", "Open a model (File > Open model...).", "load"))
            return
        with self._cond:
            if self._in_flight is not None and self._in_flight.stem == stem:
                self._in_flight.explicit = True
                return
            self._drop(stem)
            self._pending.appendleft(_Job(next(self._ids), stem, str(image_path), True))
            if self._in_flight is not None and not self._in_flight.explicit:
                self._in_flight.requeue = True  # a prefetch makes way for the tile on screen
                self._cancel_id.value = self._in_flight.request_id
            self._cond.notify_all()

    def prefetch(self, items: Sequence[tuple[str, str]]) -> None:
        """Predict these tiles ahead when idle (only the first ``prefetch`` are kept)."""
        with self._cond:
            busy = {j.stem for j in self._pending} | ({self._in_flight.stem} if self._in_flight else set())
            self._prefetch = deque(_Job(next(self._ids), stem, str(path), False)
                                   for stem, path in items if stem not in busy)
            while len(self._prefetch) > self.prefetch_count:
                self._prefetch.pop()
            self._cond.notify_all()

    def cancel(self, stem: str | None = None) -> None:
        """Cancel one tile's prediction, or all of them (stem None)."""
        with self._cond:
            dropped = self._drop(stem) if stem is not None else list(self._pending) + list(self._prefetch)
            if stem is None:
                self._pending.clear()
                self._prefetch.clear()
            job = self._in_flight
            if job is not None and (stem is None or job.stem == stem):
                job.requeue = False
                job.explicit = True  # so its Cancelled is reported
                self._cancel_id.value = job.request_id
        for job in dropped:
            if job.explicit:
                self._emit(Cancelled(job.stem))

    @property
    def busy(self) -> bool:
        with self._cond:
            return bool(self._in_flight or self._pending or self._prefetch or self._loading)

    @property
    def worker_pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.is_alive() else None

    @property
    def in_flight_stem(self) -> str | None:
        job = self._in_flight
        return job.stem if job else None

    def close(self, timeout: float = 1.0) -> None:
        with self._cond:
            self._closed = True
            if self._in_flight is not None and self._cancel_id is not None:
                # The worker reads "stop" only between tiles: cut the one it holds short (quit is fast).
                self._cancel_id.value = self._in_flight.request_id
            self._cond.notify_all()
        self._thread.join(timeout)
        self._stop_worker(timeout)

    def __enter__(self) -> "PredictionService":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- dispatcher thread -------------------------------------------------------------------
    def _workspace_root(self) -> str | None:
        """Where the worker finds tiles and test pairs to make and judge a model's int8 engine."""
        root = getattr(self.workspace, "root", None)
        return str(root) if root is not None else None

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def _drop(self, stem: str) -> list[_Job]:
        dropped = [j for j in itertools.chain(self._pending, self._prefetch) if j.stem == stem]
        self._pending = deque(j for j in self._pending if j.stem != stem)
        self._prefetch = deque(j for j in self._prefetch if j.stem != stem)
        return dropped

    def _start_worker(self) -> None:
        self._to_worker, self._from_worker = self._ctx.Queue(), self._ctx.Queue()
        self._cancel_id = self._ctx.Value("q", 0, lock=False)
        self._proc = self._ctx.Process(target=worker_main, name="roadseg-predictor", daemon=True,
                                       args=(self._to_worker, self._from_worker, self._cancel_id, self.threads))
        self._proc.start()
        self._to_worker.put(("load", self.model_path, self.device, self.engine, self._workspace_root()))
        self._loading = 1

    def _stop_worker(self, timeout: float = 5.0) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.is_alive():
            try:
                self._to_worker.put(("stop",))
            except (OSError, ValueError):
                pass
            proc.join(timeout)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout)
        self._proc = None

    def _next_job(self) -> _Job | None:
        """Under the lock: the next job to send, answering cached ones on the way."""
        while self._pending or self._prefetch:
            job = (self._pending or self._prefetch).popleft()
            cached = self._cached(job)
            if cached is None:
                return job
            if job.explicit:
                self._emit(cached)
        return None

    def _run(self) -> None:
        while True:
            try:
                if not self._step():
                    return
            except Exception as exc:  # noqa: BLE001 - the dispatcher must outlive any one failure
                log.exception("prediction service step failed")
                with self._cond:
                    self._load_crashed = True
                    self._in_flight = None
                    self._loading = 0
                self._stop_worker(1.0)
                self._emit(Failed(None, f"the prediction process could not run ({exc})",
                                  "Open the model again; if this repeats, restart the app.", "crash"))
                self._fail_queue("predictions are unavailable")

    def _step(self) -> bool:
        """One round of the dispatcher; False when closed."""
        with self._cond:
            if self._closed:
                return False
            if self.model_path and not self._alive() and not self._load_crashed and \
                    (self._pending or self._prefetch or self.model_version is None):
                self._start_worker()
            if self._alive() and not self._loading and self._in_flight is None:
                job = self._next_job()
                if job is not None:
                    self._in_flight = job
                    self._to_worker.put(("predict", job.request_id, job.stem, job.image_path))
            if self._proc is None:
                self._cond.wait(0.2)
                return True
            source = self._from_worker
        try:
            message = source.get(timeout=0.05)
        except queue.Empty:
            if self._proc is not None and not self._proc.is_alive():
                self._handle_crash()
            return True
        self._handle(message)
        return True

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "engine":  # the worker switched the loaded model to int8 (its card approved it)
            log.info("%s now predicts with %s", message[1], message[2])
            return
        if kind == "loaded":
            _, version, device, thresh, source = message
            with self._cond:
                self._loading = max(0, self._loading - 1)
                if self._loading:
                    return  # a newer model is on its way: only its answer counts
                self.model_version, self.device_description, self.threshold = version, device, thresh
            self._emit(ModelLoaded(version, device, thresh, source))
            return
        if kind == "load_failed":
            with self._cond:
                self._loading = max(0, self._loading - 1)
                if self._loading:
                    return
                self._load_crashed = True  # no point restarting until another model is chosen
            self._emit(Failed(None, message[1], message[2], "load"))
            self._fail_queue("the model could not be loaded")
            return
        with self._cond:
            job, self._in_flight = self._in_flight, None
            if job is None or job.request_id != message[1]:
                return  # a late answer for a job already given up
            if kind == "cancelled" and job.requeue:
                job.requeue = False
                (self._pending if job.explicit else self._prefetch).appendleft(job)
                return
        if kind == "cancelled":
            if job.explicit:
                self._emit(Cancelled(job.stem))
        elif kind == "failed":
            _, _, stem, reason, fix, stage, detail = message
            if detail:
                log.warning("prediction of %s failed: %s\n%s", stem, reason, detail)
            if stage == "input" and self.workspace is not None:
                self._safely(self.workspace.mark_error, stem, reason)
            self._emit(Failed(stem, reason, fix, stage, detail))
        elif kind == "ok":
            _, _, stem, probability, mask, uncertainty, version, seconds = message
            if self.workspace is not None:
                self._safely(self.workspace.save_prediction, stem, probability, uncertainty, version)
            self._emit(Succeeded(stem, probability, mask, uncertainty, version, seconds,
                                 prefetched=not job.explicit))

    def _handle_crash(self) -> None:
        with self._cond:
            code = self._proc.exitcode
            job, self._in_flight = self._in_flight, None
            was_loading, self._loading = bool(self._loading), 0
            self._proc = None
            self.restarts += 1
            if was_loading:
                self._load_crashed = True
        log.warning("the prediction process stopped (exit code %s)", code)
        fix = "A new prediction process was started; if this repeats, try another device or model."
        if job is not None:
            self._emit(Failed(job.stem, f"the prediction process stopped (exit code {code}) on this tile",
                              fix, "crash"))
        elif was_loading:
            self._emit(Failed(None, f"the prediction process stopped (exit code {code}) while loading the model",
                              "Check the model file and the GPU driver, then open the model again.", "crash"))
            self._fail_queue("the model could not be loaded")

    def _fail_queue(self, reason: str) -> None:
        with self._cond:
            jobs = [j for j in self._pending if j.explicit]
            self._pending.clear()
            self._prefetch.clear()
        for job in jobs:
            self._emit(Failed(job.stem, reason, "Open another model.", "load"))

    def _cached(self, job: _Job) -> Succeeded | None:
        """A stored prediction by the current model, if the workspace has one."""
        if self.workspace is None or not self.model_version:
            return None
        try:
            record = self.workspace.tile(job.stem)
            if record is None or record.model_version != self.model_version:
                return None
            probability = self.workspace.prediction(job.stem)
        except Exception:  # noqa: BLE001 - a cache miss, never an error
            return None
        if probability is None:
            return None
        mask = apply_threshold(probability, self.threshold)
        return Succeeded(job.stem, probability, mask, record.uncertainty or 0.0, self.model_version, 0.0, True)

    def _safely(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - e.g. disk full: log it, keep serving
            log.warning("could not record the prediction of %s: %s", args[0], exc)

    def _emit(self, result: Result) -> None:
        self.results.put(result)
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop predictions
                log.exception("on_result listener failed")
