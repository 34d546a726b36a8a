"""Child process for the autosave max-wait test: one brush dab every 0.2 s for up to 6 s, each at its
own place, until the parent kills it with SIGKILL.

Usage: python editing_child.py WORKSPACE
Prints "stem NAME", then "edit I X Y T" after dab I at (X, Y) was made (T: time.monotonic()).
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

INTERVAL, DURATION, BRUSH = 0.2, 6.0, 6


def dab_centres():
    """30 places 14 px apart on a 96-px tile: dabs of 6 px never touch each other."""
    return [(8.5 + 14 * (i % 6), 8.5 + 14 * (i // 6)) for i in range(int(DURATION / INTERVAL))]


def pump_until(app, moment):
    while time.monotonic() < moment:
        app.processEvents()
        time.sleep(0.005)


def main(root):
    app = QApplication([])
    window = MainWindow(predict=False, side_panels=False)
    window.show()
    window.set_workspace(Workspace.open(root))
    deadline = time.monotonic() + 30
    while window.editor.document is None and time.monotonic() < deadline:
        pump_until(app, time.monotonic() + 0.05)
    window.set_tool("brush")
    window.panel.brush_size.setValue(BRUSH)
    fixed_view(window.canvas)
    print("stem", window.editor.stem, flush=True)
    start = time.monotonic()
    for i, (x, y) in enumerate(dab_centres()):
        pump_until(app, start + i * INTERVAL)
        click(window.canvas, x, y)
        print("edit", i, x, y, time.monotonic(), flush=True)
    pump_until(app, time.monotonic() + 60)


if __name__ == "__main__":
    main(sys.argv[1])
