"""`roadseg-gui [WORKSPACE]`: the desktop app. Without a workspace it opens the demo workspace."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from platformdirs import user_log_dir


def _setup_logging() -> Path | None:
    """Details (tracebacks included) go to a log file; people see sentences in the log panel."""
    from roadseg_gui.core import log_redaction
    log_redaction.install()  # no AWS secret in the log file, stderr or the log panel, whatever the logger
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    try:
        directory = Path(user_log_dir("roadseg", appauthor=False))
        directory.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(directory / "roadseg-gui.log", encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return directory / "roadseg-gui.log"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="roadseg-gui", description="Label roads on satellite tiles.")
    parser.add_argument("workspace", nargs="?", help="workspace folder (default: the demo workspace)")
    parser.add_argument("--model", help="model folder, model.tar.gz or .pth to predict with")
    return parser.parse_args(argv)


def demo_workspace() -> Path:
    from roadseg_gui.core.demo import ensure_demo_workspace

    return Path(ensure_demo_workspace())


def start(argv: list[str] | None = None):
    """Create the application and the main window, and begin opening the workspace (or the demo)."""
    args = parse_args(argv)
    _setup_logging()
    from PySide6.QtWidgets import QApplication

    from roadseg_gui.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("roadseg")
    app.setOrganizationName("roadseg")
    window = MainWindow()
    window.initial_model = args.model
    window.show()
    app.processEvents()   # paint the window now: until the event loop runs, it is a black rectangle
    # What flood fill needs, imported on the main thread rather than on a background thread later;
    # after the first paint, so the window does not wait for it.
    from roadseg_gui.core import mask_edit
    if hasattr(mask_edit, "preload"):
        mask_edit.preload()
    if args.workspace:
        window.open_workspace(args.workspace)
    else:
        open_demo(window)
    return app, window


def open_demo(window) -> None:
    """Build the demo workspace (first launch: seconds) on a pool thread, then open it."""
    from roadseg_gui.ui.workers import Succeeded, submit

    window.statusBar().showMessage("Preparing the demo workspace…")
    placeholder, window.canvas.placeholder = window.canvas.placeholder, "Preparing the demo workspace…"

    def done(outcome) -> None:
        window.canvas.placeholder = placeholder
        window.canvas.update()
        if isinstance(outcome, Succeeded):
            window.open_workspace(outcome.value)
            return
        window.statusBar().clearMessage()
        reason = outcome.sentence() if hasattr(outcome, "sentence") else "cancelled"
        window.log_panel.error(f"The demo workspace could not be created: {reason} "
                               "Use File > Open workspace… to open a folder of tiles.")
    submit(demo_workspace, on_done=done, context=window)


def missing_display() -> str | None:
    """A sentence when Linux has no screen to open a window on (Qt would only print a plugin error)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("roadseg-gui needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set. "
            "Run it in a desktop session, over `ssh -X`, or on a virtual screen: `xvfb-run -a roadseg-gui`.")


def main(argv: list[str] | None = None) -> int:
    parse_args(argv)  # --help and argument errors answer (and exit) without needing a display
    problem = missing_display()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    app, window = start(argv)
    from roadseg_gui.ui.quit_signals import quit_on_signals

    handlers = quit_on_signals(app, window)
    code = app.exec()
    handlers.uninstall()
    if window.rescue is not None:   # edits not saved in the workspace: kept elsewhere (or lost), and said
        from roadseg_gui.ui.recovery_ui import EXIT_EDITS_NOT_SAVED
        code = code or EXIT_EDITS_NOT_SAVED
    # Destroy the window while Qt is still fully alive, not during interpreter shutdown.
    window.deleteLater()
    from PySide6.QtCore import QCoreApplication, QEvent
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    _end_background_work(code)
    return code


def _end_background_work(code: int, wait_ms: int = 2000) -> None:
    """Edits are saved and the prediction worker is stopped by now. Pool threads still reading tiles
    or importing the side panels' libraries (torch: many seconds) would hold the process open, and
    Python tearing down under them fails noisily, so give them a moment, then end without them."""
    from PySide6.QtCore import QThreadPool

    pool = QThreadPool.globalInstance()
    if pool.waitForDone(wait_ms):
        return
    logging.getLogger("roadseg.app").info("Quitting without waiting for %d background task(s).",
                                          pool.activeThreadCount())
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
