"""Child process for the quit-on-a-full-disk test: the real app (``roadseg_gui.app.main``) on WORKSPACE,
where every save of an edit into the workspace fails with ENOSPC (the full disk, made deterministic).
It paints one dab, prints "edited STEM" while the dab is only in memory, and waits for the parent's
SIGTERM or SIGINT.

Usage: python diskfull_child.py WORKSPACE
"""

import errno
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(__file__))

from PySide6.QtCore import QTimer  # noqa: E402

from roadseg_gui import app as app_module  # noqa: E402
from roadseg_gui.core.workspace import Workspace  # noqa: E402
from ui_helpers import click, fixed_view  # noqa: E402


def disk_full(self, stem, _mask):
    raise OSError(errno.ENOSPC, "No space left on device", str(self.edit_path(stem)))


def main(root):
    Workspace.save_working_mask = disk_full
    real_start = app_module.start

    def start(argv):
        app, window = real_start(argv)

        def edit_when_ready():
            if window.editor.document is None:
                QTimer.singleShot(50, edit_when_ready)
                return
            window.set_tool("brush")
            window.panel.brush_size.setValue(10)
            fixed_view(window.canvas)
            click(window.canvas, 30.5, 30.5)
            print("edited", window.editor.stem, flush=True)
        QTimer.singleShot(0, edit_when_ready)
        return app, window

    app_module.start = start
    sys.exit(app_module.main([root]))


if __name__ == "__main__":
    main(sys.argv[1])
