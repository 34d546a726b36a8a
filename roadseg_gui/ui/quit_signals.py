"""SIGTERM and SIGINT end the app the way Ctrl+Q does: autosave, stop the workers, reap children.

Python runs signal handlers only between bytecodes, and Qt's event loop is C++, so a handler alone
would wait for the next Python callback. ``signal.set_wakeup_fd`` writes the signal number to a
socket that a QSocketNotifier watches; the quit then runs on the UI thread like any other event.
"""

from __future__ import annotations

import logging
import signal
import socket
from typing import Callable

from PySide6.QtCore import QObject, QSocketNotifier

log = logging.getLogger(__name__)
QUIT_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class QuitOnSignal(QObject):
    def __init__(self, quit_now: Callable[[int], None], parent=None):
        super().__init__(parent)
        self._quit_now = quit_now
        self._read, self._write = socket.socketpair()
        for end in (self._read, self._write):
            end.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        # A Python handler (doing nothing) replaces the default one that would end the process at once;
        # the C part of it writes the wake-up byte.
        self._previous = {s: signal.signal(s, lambda *_: None) for s in QUIT_SIGNALS}
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Read, self)
        self._notifier.activated.connect(self._received)

    def _received(self, *_args) -> None:
        try:
            data = self._read.recv(64)
        except OSError:
            return
        for signum in data:
            if signum in [int(s) for s in QUIT_SIGNALS]:
                log.info("%s received: saving and quitting", signal.Signals(signum).name)
                self._quit_now(signum)
                return

    def uninstall(self) -> None:
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._read.close()
        self._write.close()


def quit_on_signals(app, window) -> QuitOnSignal:
    """Install the handlers; the window closes without asking (nobody is there to answer)."""
    def quit_now(_signum: int) -> None:
        window.ask_on_quit = False
        window.close()
        app.quit()
    return QuitOnSignal(quit_now, app)
