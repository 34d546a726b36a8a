"""Render the main window with a tile, its prediction and some edits into a PNG (for the README).

    python -m roadseg_gui.screenshot OUT.png [--workspace DIR] [--model PATH] [--tile STEM]
                                     [--qa | --review | --review-notes]

Runs offscreen (no display needed). Without ``--workspace`` it shows a throwaway copy of
the demo workspace (SpaceNet chips, CC BY-SA; generated tiles if the demo is missing).
The prediction is a real model's, made by the app's own prediction service: the ``--model``
given, or else the shipped starter model that a new user's demo predicts with (trained on the
demo's labeled pairs by scripts/build_starter_model.py). The window is 1366x768 by default, a
laptop's screen. The user's settings and recent workspaces are not touched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _args(argv):
    parser = argparse.ArgumentParser(prog="python -m roadseg_gui.screenshot")
    parser.add_argument("out", type=Path)
    parser.add_argument("--workspace", type=Path, help="workspace to show (default: generated tiles)")
    parser.add_argument("--model", help="model to predict with (default: the shipped starter model)")
    parser.add_argument("--tile", help=f"tile to show (default: {DEMO_TILE} when there, else the first)")
    parser.add_argument("--size", default="1366x768", help="window size WxH")
    parser.add_argument("--qa", action="store_true",
                        help="show the connectivity QA overlay (after an eraser cut across a road) instead of edits")
    parser.add_argument("--review", action="store_true",
                        help="show road review: the tile starts from what is labeled, the model's roads proposed, "
                             "the best one accepted and the next selected")
    parser.add_argument("--review-notes", action="store_true",
                        help="show a tile a reviewer returned with notes, as its annotator sees it (the workspace "
                             "shown gets that review in its state DB: use the default throwaway copy)")
    return parser.parse_args(argv)


def _generated_workspace(root: Path) -> None:
    """A few generated tiles (an installation without resources/demo)."""
    from PIL import Image

    from trainer.synthetic import make_tile

    (root / "unlabeled").mkdir(parents=True, exist_ok=True)
    for i in range(12):
        image, _ = make_tile(512, seed=40 + i)
        Image.fromarray(image).save(root / "unlabeled" / f"tile_{i:03d}.jpg", quality=92)


def _pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _mouse(canvas, kind, x, y, buttons):
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    pos = canvas.image_to_widget(QPointF(x, y))
    button = Qt.LeftButton if kind != QMouseEvent.Type.MouseMove else Qt.NoButton
    QApplication.sendEvent(canvas, QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button, buttons,
                                               Qt.NoModifier))


# The demo tile shown (a SpaceNet chip whose paved road the demo model finds), and where the scripted
# edits go, as fractions of the tile: a brush stroke along the road's edge, a road line on the dirt track.
DEMO_TILE = "vegas_r0_c2"
DEMO_EDITS = {"brush": ((0.02, 0.91), (0.97, 0.91)), "road": ((0.01, 0.52), (0.2, 0.46), (0.45, 0.45)),
              "hover": (0.7, 0.43)}
GENERIC_EDITS = {"brush": ((0.15, 0.75), (0.45, 0.65)), "road": ((0.55, 0.9), (0.62, 0.7), (0.7, 0.55)),
                 "hover": (0.8, 0.45)}


def _edit(window, edits: dict) -> None:
    """A brush stroke, and a road line still being laid (its preview shows), with the real tools."""
    from PySide6.QtCore import QEvent, QPointF, Qt

    canvas = window.canvas
    h, w = window.editor.document.shape
    (x0, y0), (x1, y1) = edits["brush"]
    window.set_tool("brush")
    window.panel.brush_size.setValue(max(6, w // 36))
    _mouse(canvas, QEvent.MouseButtonPress, w * x0, h * y0, Qt.LeftButton)
    for t in np.linspace(0, 1, 25):
        _mouse(canvas, QEvent.MouseMove, w * (x0 + (x1 - x0) * t), h * (y0 + (y1 - y0) * t), Qt.LeftButton)
    _mouse(canvas, QEvent.MouseButtonRelease, w * x1, h * y1, Qt.NoButton)
    window.set_tool("road")
    window.panel.road_width.setValue(max(6, w // 30))
    for x, y in edits["road"]:
        _mouse(canvas, QEvent.MouseButtonPress, w * x, h * y, Qt.LeftButton)
        _mouse(canvas, QEvent.MouseButtonRelease, w * x, h * y, Qt.NoButton)
    hx, hy = edits["hover"]
    _mouse(canvas, QEvent.MouseMove, w * hx, h * hy, Qt.NoButton)
    canvas.hover = QPointF(w * hx, h * hy)


QA_TILE = "vegas_r1_c0"   # a labeled SpaceNet chip: its accepted mask is a real road network


def _qa_edit(window, app) -> None:
    """Cut a small gap across the tile's longest road with the eraser, and wait for the QA overlay."""
    from PySide6.QtCore import QEvent, Qt

    from trainer.roadgraph.build import mask_to_graph

    window.panel.road_width.setValue(15)  # the SpaceNet chips' roads are about 15 px wide
    graph = mask_to_graph(window.editor.document.mask.copy())  # the document's view is read-only
    edges = [data["pts"] for _u, _v, data in graph.edges(data=True)]
    if edges:
        longest = max(edges, key=len)
        row, col = longest[len(longest) // 2]
        window.set_tool("eraser")
        window.panel.brush_size.setValue(24)
        _mouse(window.canvas, QEvent.MouseButtonPress, col + 0.5, row + 0.5, Qt.LeftButton)
        _mouse(window.canvas, QEvent.MouseButtonRelease, col + 0.5, row + 0.5, Qt.NoButton)
    qa = window.road_qa
    _pump(app, 0.1)
    _wait(app, lambda: not qa.busy, 30, "the connectivity check")
    _pump(app, 1.3)  # the autosave fires and the status bar says so
    window.set_tool("connect")


def _review_edit(window, app) -> None:
    """Accept the best proposed road (Y) and select the next (Tab), with the Road review panel in front."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    review = window.review
    _wait(app, lambda: review.candidates is not None, 60, "the proposed roads")
    window.review_dock.raise_()
    window.set_tool("review")
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key_Y)
    QTest.keyClick(window.canvas, Qt.Key_Tab)


def _review_notes_edit(window, app) -> None:
    """carol returned alice's tile with two notes pinned on its roads; alice, with Returned to me listed,
    has pressed N to the first note."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from roadseg_gui.core.review_state import decisions
    from roadseg_gui.core.review_state.inbox import pin_note
    from trainer.roadgraph.build import mask_to_graph

    workspace, stem = window.workspace, window.editor.stem
    graph = mask_to_graph(window.editor.document.mask.copy())
    edges = sorted((data["pts"] for _u, _v, data in graph.edges(data=True)), key=len, reverse=True)
    h, w = window.editor.document.shape
    (r1, c1), (r2, c2) = (edges[0][len(edges[0]) // 2], edges[-1][0]) if edges else ((h / 3, w / 3), (h / 2, w / 2))
    decisions.accept(workspace.db, workspace.root, stem, "alice")
    pin_note(workspace.db, workspace.root, stem, "carol", "This road is wider than drawn: paint its full width",
             c1 + 0.5, r1 + 0.5)
    decisions.return_tile(workspace.db, workspace.root, stem, "carol", "The track ends too early: it goes on "
                          "to the road below", c2 + 0.5, r2 + 0.5)
    workspace.settings.annotator = "alice"   # in memory: the settings file is not written
    combo = window.browser.status_filter
    combo.setCurrentIndex(combo.findData("returned_to_me"))
    window.tile_review.reload()
    window.review_notes_dock.raise_()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key_N)
    window.canvas.fit_to_window()   # the whole tile with both marks; the list shows the first note chosen
    _pump(app, 0.3)


def _wait(app, condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {seconds:.0f} s waiting for {what}")
        _pump(app, 0.05)


def _model_ready(window) -> bool:
    if window.status_model.text() == "No model":  # the bridge's answer to a model that failed to load
        raise RuntimeError("the model could not be loaded (the reason is above)")
    return window.prediction.service.model_version is not None


def _workspace(args, scratch: Path):
    from roadseg_gui.core.workspace import Workspace

    if args.workspace:
        return Workspace.open(args.workspace)
    try:
        from roadseg_gui.core.demo import copy_demo
        copy_demo(scratch / "workspace")
    except Exception as exc:  # noqa: BLE001 - an installation without resources/demo
        print(f"demo workspace unavailable ({exc}); using generated tiles", file=sys.stderr)
        _generated_workspace(scratch / "workspace")
    return Workspace.open(scratch / "workspace")


def _model(args) -> str:
    if args.model:
        return args.model
    from roadseg_gui.core.models import starter_model_path

    starter = starter_model_path()
    if starter is None:
        raise RuntimeError("this installation ships no starter model; give --model")
    return str(starter)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="roadseg-screenshot-"))
    os.environ["XDG_CONFIG_HOME"] = str(scratch / "config")  # keep the user's recent list clean
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(scratch / "config"))
    from roadseg_gui.ui.main_window import MainWindow

    try:
        model = _model(args)
    except RuntimeError as exc:  # no model to show
        print(f"error: {exc}", file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    workspace = _workspace(args, scratch)
    if args.review or args.review_notes:   # in memory only: a --workspace given keeps its settings file as it is
        workspace.settings.labeling.review_start = "labeled"
    stems = [t.stem for t in workspace.tiles(order="name") if t.status != "error"]
    if not stems:
        print("error: the workspace has no readable tiles", file=sys.stderr)
        return 1
    preferred = QA_TILE if args.qa or args.review_notes else DEMO_TILE
    stem = args.tile or (preferred if preferred in stems else stems[0])
    if stem not in stems:
        print(f"error: no tile {stem!r} in the workspace", file=sys.stderr)
        return 1
    window = MainWindow()
    window.ask_on_quit = False
    window.initial_model = model
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.resize(width, height)
    window.show()
    window.set_workspace(workspace, select_first=False)
    window.browser.select(stem)
    try:
        _wait(app, lambda: window.editor.document is not None, 30, "the tile")
        service = window.prediction.service
        _wait(app, lambda: _model_ready(window), 120, "the model to load")
        # The real service predicts every tile (the one on screen first), so the browser shows uncertainties.
        for other in stems:
            if other != stem and not (args.review or args.review_notes):   # one tile: no need to predict the rest
                service.request(other, str(workspace.image_path(other)))
        _wait(app, lambda: window.editor.stem == stem and window.editor.probability is not None, 120,
              "the tile's prediction")
        _wait(app, lambda: args.review or args.review_notes or all(workspace.tile(s).model_version == service.model_version
                                              for s in stems), 300, "the other tiles' predictions")
        window.browser.refresh(keep=stem)
        _wait(app, lambda: window.sync_dock is not None and window.retrain_dock is not None, 60, "the side docks")
    except (TimeoutError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        window.close()
        return 1
    window.layers_dock.raise_()
    _pump(app, 0.8)  # thumbnails
    window.canvas.fit_to_window()
    if args.qa:
        _qa_edit(window, app)
    elif args.review:
        _review_edit(window, app)
    elif args.review_notes:
        _review_notes_edit(window, app)
    else:
        _edit(window, DEMO_EDITS if stem == DEMO_TILE else GENERIC_EDITS)
    _pump(app, 1.3)  # the autosave fires and the status bar says so
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(args.out)):
        print(f"error: could not write {args.out}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({stem}; {window.status_model.text()})")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
