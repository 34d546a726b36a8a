"""Render the main window with a tile, its prediction and some edits into a PNG (for the README).

    python -m roadseg_gui.screenshot OUT.png [--workspace DIR] [--model PATH]

Runs offscreen (no display needed). Without ``--workspace`` it shows a throwaway copy of
the demo workspace (SpaceNet chips, CC BY-SA; generated tiles if the demo is missing),
opened on a labeled SpaceNet chip. With ``--model`` the prediction is the model's; without
one it is *simulated* (the tile's reference mask, blurred and dented), which the window's
status bar says. The user's settings and recent workspaces are not touched.
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
    parser.add_argument("--model", help="model to predict the tile with (default: simulated prediction)")
    parser.add_argument("--size", default="1440x900", help="window size WxH")
    return parser.parse_args(argv)


def _generated_workspace(root: Path) -> dict[str, np.ndarray]:
    """A few generated tiles; returns their reference road masks."""
    from PIL import Image

    from trainer.synthetic import make_tile

    (root / "unlabeled").mkdir(parents=True, exist_ok=True)
    truths = {}
    for i in range(12):
        image, mask = make_tile(512, seed=40 + i)
        stem = f"tile_{i:03d}"
        Image.fromarray(image).save(root / "unlabeled" / f"{stem}.jpg", quality=92)
        truths[stem] = mask
    return truths


def _demo_workspace(root: Path) -> dict[str, np.ndarray]:
    """A copy of the shipped demo; returns the reference masks of its labeled tiles."""
    from roadseg_gui.core.demo import copy_demo
    from trainer.imageio import read_mask

    copy_demo(root)
    return {p.stem: read_mask(p) for split in ("train", "test") for p in sorted((root / split / "masks").glob("*.png"))}


def _simulated_probability(mask: np.ndarray, seed: int) -> np.ndarray:
    """A stand-in for a model's output: the reference mask blurred, with a gap and a false spur."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    prob = gaussian_filter(mask.astype(np.float32), 3.0)
    h, w = mask.shape
    prob[h // 3: h // 3 + 40, :] *= 0.3                 # a missed stretch of road
    prob += gaussian_filter(rng.random((h, w)).astype(np.float32), 8) * 0.6 - 0.25
    return (np.clip(prob, 0, 1) * 255).astype(np.uint8)


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


def _edit(window) -> None:
    """A brush stroke, an erased blob, and a road line still being laid (its preview shows)."""
    from PySide6.QtCore import QEvent, QPointF, Qt

    canvas = window.canvas
    h, w = window.editor.document.shape
    window.set_tool("brush")
    window.panel.brush_size.setValue(max(6, w // 40))
    _mouse(canvas, QEvent.MouseButtonPress, w * 0.15, h * 0.75, Qt.LeftButton)
    for t in np.linspace(0, 1, 25):
        _mouse(canvas, QEvent.MouseMove, w * (0.15 + 0.3 * t), h * (0.75 - 0.1 * t), Qt.LeftButton)
    _mouse(canvas, QEvent.MouseButtonRelease, w * 0.45, h * 0.65, Qt.NoButton)
    window.set_tool("road")
    window.panel.road_width.setValue(max(6, w // 50))
    for x, y in ((0.55, 0.9), (0.62, 0.7), (0.7, 0.55)):
        _mouse(canvas, QEvent.MouseButtonPress, w * x, h * y, Qt.LeftButton)
        _mouse(canvas, QEvent.MouseButtonRelease, w * x, h * y, Qt.NoButton)
    _mouse(canvas, QEvent.MouseMove, w * 0.8, h * 0.45, Qt.NoButton)
    canvas.hover = QPointF(w * 0.8, h * 0.45)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="roadseg-screenshot-"))
    os.environ["XDG_CONFIG_HOME"] = str(scratch / "config")  # keep the user's recent list clean
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(scratch / "config"))
    from roadseg_gui.core.workspace import Workspace
    from roadseg_gui.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    truths = {}
    if not args.workspace:
        try:
            truths = _demo_workspace(scratch / "workspace")
        except Exception as exc:  # noqa: BLE001 - an installation without resources/demo
            print(f"demo workspace unavailable ({exc}); using generated tiles", file=sys.stderr)
            truths = _generated_workspace(scratch / "workspace")
    workspace = Workspace.open(args.workspace or scratch / "workspace")
    stems = [t.stem for t in workspace.tiles(order="name") if t.status != "error"]
    # Show a real (SpaceNet) labeled chip first when there is one: the most uncertain goes on screen.
    stems.sort(key=lambda s: (not s.startswith("vegas"), s not in truths, s))
    if not stems:
        print("error: the workspace has no readable tiles", file=sys.stderr)
        return 1
    note = _predict(workspace, stems[:8], truths, args.model)
    window = MainWindow(predict=False)
    window.ask_on_quit = False
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.resize(width, height)
    window.show()
    window.set_workspace(workspace)
    deadline = time.monotonic() + 30
    while window.editor.document is None and time.monotonic() < deadline:
        _pump(app, 0.05)
    window.banner.hide()
    window.status_model.setText(note)
    deadline = time.monotonic() + 60  # the sync/retrain docks import boto3/torch on a pool thread
    while (window.sync_dock is None or window.retrain_dock is None) and time.monotonic() < deadline:
        _pump(app, 0.2)
    window.layers_dock.raise_()
    _pump(app, 0.8)  # thumbnails
    window.canvas.fit_to_window()
    _edit(window)
    window.log_panel.info(f"Opened {len(stems)} tiles; {note}.")
    _pump(app, 1.3)  # the autosave fires and the status bar says so
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(args.out)):
        print(f"error: could not write {args.out}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    window.close()
    return 0


def _predict(workspace, stems, truths, model) -> str:
    if model:
        from trainer.predict import Predictor

        predictor = Predictor(model)
        for stem in stems:
            result = predictor.predict(workspace.read_image(stem))
            workspace.save_prediction(stem, result.probability, result.uncertainty, predictor.version)
        return f"Model {predictor.version[:12]} · {predictor.device_description}"
    from trainer.predict import uncertainty

    for i, stem in enumerate(stems):
        if stem in truths:
            probability = _simulated_probability(truths[stem], i)
            # The first tile gets the highest uncertainty, so it is the one the window opens on.
            workspace.save_prediction(stem, probability, 0.9 if i == 0 else uncertainty(probability), "simulated")
    return "Simulated prediction (screenshot)"


if __name__ == "__main__":
    sys.exit(main())
