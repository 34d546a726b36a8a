"""Child process for the crash-recovery test: paint, wait past the autosave, then wait to be killed.

Usage: python crash_child.py WORKSPACE
Prints "saved-edit-done" after the first edit has had 1.6 s to autosave, then makes a
second edit and prints "ready"; the parent kills it with SIGKILL right after.
"""

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(__file__))

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
    window = MainWindow(side_panels=False)
    window.show()
    window.set_workspace(Workspace.open(root))
    deadline = time.monotonic() + 20
    while window.editor.document is None and time.monotonic() < deadline:
        pump(app, 0.05)
    window.set_tool("brush")
    window.panel.brush_size.setValue(10)
    fixed_view(window.canvas)
    click(window.canvas, 30.5, 30.5)
    print("stem", window.editor.stem, flush=True)
    pump(app, 1.6)
    print("saved-edit-done", flush=True)
    click(window.canvas, 70.5, 70.5)  # made just before the kill: may or may not survive
    print("ready", flush=True)
    pump(app, 60)


if __name__ == "__main__":
    main(sys.argv[1])
