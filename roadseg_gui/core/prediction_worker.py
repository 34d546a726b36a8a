"""The child process that holds the model (started with multiprocessing 'spawn').

A CUDA or driver crash here kills only this process; the app's
``PredictionService`` sees it die, reports the tile as failed and starts a new one.
Messages in: ("load", path, device, engine) | ("predict", request_id, stem, image_path) | ("stop",).
Messages out: plain tuples (see ``PredictionService._handle``); nothing raises across.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback


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
    while True:
        message = requests.get()
        kind = message[0]
        if kind == "stop":
            return
        if kind == "load":
            _, path, device, engine = message
            try:
                predictor = Predictor(path, device=device, engine=engine, threads=threads or None)
                results.put(("loaded", str(predictor.version), str(predictor.device_description),
                             float(predictor.threshold), str(path)))
            except BaseException as exc:
                predictor = None
                results.put(("load_failed", *_reason(exc)))
            continue
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
