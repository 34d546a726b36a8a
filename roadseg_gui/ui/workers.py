"""Run work off the UI thread and get a result *value* back through a signal.

Exceptions never cross threads: a job's outcome is ``Succeeded(value)``,
``Failed(what, fix)`` or ``Cancelled()``, delivered on the UI thread.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from trainer.errors import RoadsegError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Succeeded:
    value: Any


@dataclass(frozen=True)
class Failed:
    what: str
    fix: str = ""
    path: str | None = None

    def sentence(self) -> str:
        return str(RoadsegError(self.what, self.fix, self.path))  # one wording for every error sentence


@dataclass(frozen=True)
class Cancelled:
    pass


Outcome = Succeeded | Failed | Cancelled


class CancelToken:
    """A flag a job polls; ``cancel()`` is safe from any thread."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()


def failure_from(exc: BaseException) -> Failed:
    """A person-readable failure from an exception (never a traceback)."""
    if isinstance(exc, RoadsegError):
        return Failed(exc.what, exc.fix, exc.path)
    if isinstance(exc, MemoryError):
        return Failed("out of memory", "Close other programs or use smaller tiles.")
    if isinstance(exc, OSError):
        where = getattr(exc, "filename", None)
        reason = exc.strerror or str(exc)
        fix = "Free some disk space." if exc.errno == 28 else "Check the file and folder permissions."
        return Failed(reason, fix, str(where) if where else None)
    return Failed(f"unexpected {type(exc).__name__}: {exc}", "See the log file for details.")


def run_outcome(fn: Callable[..., Any], *args, cancel: CancelToken | None = None, **kwargs) -> Outcome:
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - turned into a value on purpose
        log.debug("job %s failed", getattr(fn, "__name__", fn), exc_info=True)
        return failure_from(exc)
    if cancel is not None and cancel():
        return Cancelled()
    return Succeeded(value)


class _Relay(QObject):
    """Created on the UI thread, so the emit from a pool thread is queued to the UI thread."""

    done = Signal(object)
    delivered = Signal(object)

    def __init__(self, context: QObject | None = None) -> None:
        super().__init__(context)  # deleted with its context: then nothing is delivered
        self.done.connect(self._deliver)

    @Slot(object)
    def _deliver(self, outcome: object) -> None:
        _keep_alive.discard(self)
        self.delivered.emit(outcome)


class Job(QRunnable):
    """A QRunnable whose outcome arrives on the UI thread via ``done``."""

    def __init__(self, fn: Callable[..., Any], *args, cancel: CancelToken | None = None,
                 context: QObject | None = None, **kwargs):
        super().__init__()
        self.setAutoDelete(True)
        self.relay = _Relay(context)
        self.cancel = cancel or CancelToken()
        self._call = (fn, args, kwargs)

    def run(self) -> None:
        fn, args, kwargs = self._call
        outcome = Cancelled() if self.cancel() else run_outcome(fn, *args, cancel=self.cancel, **kwargs)
        try:
            self.relay.done.emit(outcome)
        except RuntimeError:  # the app is quitting and the receiver is gone
            pass


def submit(fn: Callable[..., Any], *args, on_done: Callable[[Outcome], None] | None = None,
           pool: QThreadPool | None = None, cancel: CancelToken | None = None, priority: int = 0,
           context: QObject | None = None, **kwargs) -> CancelToken:
    """Run ``fn(*args, **kwargs)`` on a pool thread; ``on_done(outcome)`` runs on the UI thread.
    Queued jobs of higher ``priority`` start first. If ``context`` (a QObject) is deleted before the
    job ends, ``on_done`` is not called."""
    job = Job(fn, *args, cancel=cancel, context=context, **kwargs)
    if on_done is not None:
        job.relay.delivered.connect(on_done)
    _keep_alive.add(job.relay)
    (pool or QThreadPool.globalInstance()).start(job, priority)
    return job.cancel


_keep_alive: set[_Relay] = set()
