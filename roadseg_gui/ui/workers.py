"""Run work off the UI thread and get a result *value* back through a signal.

Exceptions never cross threads: a job's outcome is ``Succeeded(value)``,
``Failed(what, fix)`` or ``Cancelled()``, delivered on the UI thread.
"""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from shiboken6 import isValid

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


@dataclass
class _Ticket:
    """One submitted job. Kept in ``_Dispatcher.tickets`` (touched on the UI thread at submit and at
    delivery), so the callable, its arguments and the outcome are released on the UI thread: a QObject
    among them (a progress relay, a dialog) destroyed on a pool thread crashed the app."""
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict
    cancel: CancelToken
    on_done: Callable[[Outcome], None] | None
    context: Any = None        # weakref to the QObject whose deletion cancels delivery
    outcome: Outcome | None = None


class _Dispatcher(QObject):
    """Lives for the whole session on the UI thread and is never deleted, so a pool thread always
    emits on a live object (a per-job relay could be deleted with its context mid-emit: a segfault)."""

    finished = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.tickets: dict[int, _Ticket] = {}
        self.finished.connect(self._deliver, Qt.QueuedConnection)

    @Slot(int)
    def _deliver(self, number: int) -> None:
        ticket = self.tickets.pop(number, None)
        if ticket is None or ticket.on_done is None:
            return
        if ticket.context is not None:
            context = ticket.context()
            if context is None or not isValid(context):
                return  # its receiver is gone
        ticket.on_done(ticket.outcome)


class Job(QRunnable):
    """Runs one ticket on a pool thread. It holds only the ticket's number: every Python reference
    the job used is dropped before it reports, so nothing of it is released on the pool thread."""

    def __init__(self, number: int):
        super().__init__()
        self.setAutoDelete(True)
        self.number = number

    def run(self) -> None:
        ticket = _dispatcher().tickets.get(self.number)
        if ticket is None:
            return
        if ticket.cancel():
            outcome = Cancelled()
        else:
            outcome = run_outcome(ticket.fn, *ticket.args, cancel=ticket.cancel, **ticket.kwargs)
        ticket.outcome = outcome
        del ticket, outcome
        try:
            _dispatcher().finished.emit(self.number)
        except RuntimeError:  # the app is quitting
            pass


def submit(fn: Callable[..., Any], *args, on_done: Callable[[Outcome], None] | None = None,
           pool: QThreadPool | None = None, cancel: CancelToken | None = None, priority: int = 0,
           context: QObject | None = None, **kwargs) -> CancelToken:
    """Run ``fn(*args, **kwargs)`` on a pool thread; ``on_done(outcome)`` runs on the UI thread.
    Queued jobs of higher ``priority`` start first. If ``context`` (a QObject) is deleted before the
    job ends, ``on_done`` is not called. Call it on the UI thread."""
    token = cancel or CancelToken()
    number = next(_numbers)
    _dispatcher().tickets[number] = _Ticket(fn, args, kwargs, token, on_done,
                                            weakref.ref(context) if context is not None else None)
    (pool or QThreadPool.globalInstance()).start(Job(number), priority)
    return token


_numbers = itertools.count(1)
_the_dispatcher: _Dispatcher | None = None


def _dispatcher() -> _Dispatcher:
    global _the_dispatcher
    if _the_dispatcher is None:
        _the_dispatcher = _Dispatcher()
        app = QCoreApplication.instance()
        if app is not None and _the_dispatcher.thread() is not app.thread():
            _the_dispatcher.moveToThread(app.thread())
    return _the_dispatcher
