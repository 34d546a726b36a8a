"""Child process for the throughput crash test: two clicks 0.5 s apart, 1.6 s for the debounce's
write, then "ready"; the parent kills it with SIGKILL (no quit, no flush).

Usage: python crash_child.py WORKSPACE
"""

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ui"))

from PySide6.QtWidgets import QApplication  # noqa: E402

from roadseg_gui.core.workspace import Workspace  # noqa: E402
from roadseg_gui.ui.main_window import MainWindow  # noqa: E402
from ui_helpers import click, fixed_view  # noqa: E402


def pump(app, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main(root):
    app = QApplication([])
    window = MainWindow(predict=False, side_panels=False)
    window.show()
    window.set_workspace(Workspace.open(root))
    deadline = time.monotonic() + 20
    while window.editor.document is None and time.monotonic() < deadline:
        pump(app, 0.05)
    fixed_view(window.canvas)
    print("stem", window.editor.stem, flush=True)
    click(window.canvas, 30.5, 30.5)
    pump(app, 0.5)
    click(window.canvas, 50.5, 50.5)
    pump(app, 1.6)
    print("ready", flush=True)
    pump(app, 60)


if __name__ == "__main__":
    main(sys.argv[1])
