"""The road tools and connectivity QA, driven by mouse and key events on a real SpaceNet chip.

The tile's 'prediction' is its ground-truth road mask blurred and corrupted with noise (no trained
model needed); the tools must follow it, undo and redo as one step, and autosave.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from ui_helpers import click, double_click, open_window

from roadseg_gui.core.mask_edit import MaskDocument
from roadseg_gui.core.workspace import Workspace
from roadseg_gui.ui.tile_loader import prepare_prediction

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"
STEM = "vegas_r1_c0"
WIDTH = 15          # the demo masks are SpaceNet centre lines drawn 15 px wide


def ground_truth() -> np.ndarray:
    mask = np.asarray(Image.open(DEMO / "train" / "masks" / f"{STEM}.png"))
    return (mask[..., 0] if mask.ndim == 3 else mask) >= 128


def noisy_probability(truth: np.ndarray, seed: int = 0) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    p = gaussian_filter(truth.astype(np.float32), 3) * 0.9 + rng.normal(0, 0.08, truth.shape)
    return (np.clip(p, 0, 1) * 255).astype(np.uint8)


@pytest.fixture
def spacenet(qtbot, tmp_path):
    if not (DEMO / "train" / "images" / f"{STEM}.jpg").exists():
        pytest.skip("the demo workspace is not in this checkout")
    root = tmp_path / "ws"
    (root / "unlabeled").mkdir(parents=True)
    shutil.copy(DEMO / "train" / "images" / f"{STEM}.jpg", root / "unlabeled")
    window = open_window(qtbot, root)
    truth = ground_truth()
    window.editor.set_prediction(STEM, prepare_prediction(noisy_probability(truth), 0.5))
    window.panel.road_width.setValue(WIDTH)
    window.canvas.fit_to_window()
    yield window, truth
    window.close()


def start(window, tool, mask):
    window.set_tool(tool)
    window.editor.document.replace(mask)
    window.editor.undo.active.clear()
    return window.editor.document


def bend(pts) -> float:
    """How far the middle of a path lies from the straight line between its ends (px)."""
    a, b, middle = pts[0], pts[-1], pts[len(pts) // 2]
    chord = b - a
    return abs(chord[0] * (middle[1] - a[1]) - chord[1] * (middle[0] - a[0])) / max(1.0, np.hypot(*chord))


def most_curved_edge(truth):
    from trainer.roadgraph.build import mask_to_graph

    graph = mask_to_graph(truth)
    edges = [d["pts"] for _u, _v, d in graph.edges(data=True) if len(d["pts"]) > 60]
    assert edges, "the chip has long roads"
    return max(edges, key=bend)


def test_road_line_follows_the_prediction_and_alt_makes_it_straight(spacenet, qtbot):
    window, truth = spacenet
    pts = most_curved_edge(truth)
    assert bend(pts) > 20
    clicks = [(c + 0.5, r + 0.5) for r, c in (pts[0], pts[-1])]   # only its two ends
    document = start(window, "road", np.zeros(truth.shape, bool))
    for x, y in clicks[:-1]:
        click(window.canvas, x, y)
    tool = window.canvas.tool
    qtbot.mouseMove(window.canvas, window.canvas.image_to_widget(QPointF(*clicks[-1])).toPoint())
    qtbot.waitUntil(lambda: len(tool._hover_line) > 2, timeout=5000)   # the preview snaps once the mouse rests
    hover = np.array(tool._hover_line, int)
    assert truth[hover[:, 1], hover[:, 0]].mean() > 0.9
    double_click(window.canvas, *clicks[-1])
    snapped = document.mask.copy()
    assert snapped.any() and window.editor.undo.active.count() == 1
    on_road = (snapped & truth).sum() / snapped.sum()
    assert on_road > 0.85
    window.undo_action.trigger()
    assert not document.mask.any()
    window.redo_action.trigger()
    assert np.array_equal(document.mask, snapped)
    saved = Workspace.open(window.workspace.root)
    # autosaved like every edit; an earlier save of the start mask may already be on disk, so wait for this one
    qtbot.waitUntil(lambda: np.array_equal(saved.working_mask(STEM), snapped), timeout=15000)
    saved.close()

    document = start(window, "road", np.zeros(truth.shape, bool))
    for x, y in clicks[:-1]:
        click(window.canvas, x, y, Qt.AltModifier)
    double_click(window.canvas, *clicks[-1], Qt.AltModifier)
    straight = MaskDocument(truth.shape)
    straight.road_line(clicks + [clicks[-1]], WIDTH)
    assert np.array_equal(document.mask, straight.mask)
    assert (straight.mask & truth).sum() < 0.8 * (snapped & truth).sum()


def test_ctrl_click_and_the_take_tool_copy_one_connected_predicted_road(spacenet, qtbot):
    window, truth = spacenet
    predicted = window.editor.roads.predicted_mask()
    from scipy.ndimage import label

    labels, _ = label(predicted, structure=np.ones((3, 3)))
    biggest = np.argmax(np.bincount(labels.ravel())[1:]) + 1
    rows, cols = np.nonzero(labels == biggest)
    x, y = cols[len(cols) // 2] + 0.5, rows[len(rows) // 2] + 0.5
    document = start(window, "road", np.zeros(truth.shape, bool))
    click(window.canvas, x, y, Qt.ControlModifier)
    assert np.array_equal(document.mask, labels == biggest)
    assert window.editor.undo.active.count() == 1
    assert window.undo_action.text().endswith("Take predicted road")
    qtbot.waitUntil(window.workspace.edit_path(STEM).exists, timeout=15000)   # autosaved
    window.undo_action.trigger()
    assert not document.mask.any()

    window.actions.tools["take"].trigger()                 # the toolbar/menu action (T)
    assert window.canvas.tool.name == "take"
    click(window.canvas, x, y)
    assert np.array_equal(document.mask, labels == biggest)
    window.undo_action.trigger()
    from scipy.ndimage import distance_transform_edt

    far_rows, far_cols = np.nonzero(distance_transform_edt(~predicted) > 20)   # no predicted road near
    click(window.canvas, far_cols[0] + 0.5, far_rows[0] + 0.5)
    assert not document.mask.any() and window.editor.undo.active.index() == 0
    assert "No predicted road" in window.statusBar().currentMessage()


def test_connect_joins_two_road_ends_at_the_road_width(spacenet, qtbot):
    window, truth = spacenet
    pts = most_curved_edge(truth)
    r, c = pts[len(pts) // 2]
    cut = truth.copy()
    cut[max(0, r - 12):r + 12, max(0, c - 12):c + 12] = False     # a 24-px hole across the road
    document = start(window, "connect", cut)
    before = window.editor.undo.active.count()
    # click a little beside each cut end: the tool finds the ends itself
    side_a, side_b = pts[len(pts) // 2 - 16], pts[len(pts) // 2 + 16]
    click(window.canvas, side_a[1] + 3.5, side_a[0] + 2.5)
    click(window.canvas, side_b[1] - 2.5, side_b[0] - 3.5)
    assert window.editor.undo.active.count() == before + 1
    joined = document.mask
    assert joined[r, c] and (joined & ~cut).sum() > 10 * WIDTH
    from scipy.ndimage import label

    assert label(joined[max(0, r - 30):r + 30, max(0, c - 30):c + 30], np.ones((3, 3)))[1] \
        < label(cut[max(0, r - 30):r + 30, max(0, c - 30):c + 30], np.ones((3, 3)))[1]
    qtbot.waitUntil(window.workspace.edit_path(STEM).exists, timeout=15000)   # autosaved
    assert np.array_equal(Workspace.open(window.workspace.root).working_mask(STEM), joined)
    window.undo_action.trigger()
    assert np.array_equal(document.mask, cut)


def test_qa_counts_issues_jumps_to_the_next_and_accept_warns_once(spacenet, qtbot):
    window, truth = spacenet
    qa = window.road_qa
    pts = most_curved_edge(truth)
    r, c = pts[len(pts) // 2]
    cut = truth.copy()
    yy, xx = np.mgrid[:cut.shape[0], :cut.shape[1]]
    cut[np.hypot(yy - r, xx - c) <= 9] = False                     # a small gap: IoU barely moves
    start(window, "brush", cut)
    qtbot.waitUntil(lambda: any(i.kind == "gap" and math.dist(i.centre, (c + .5, r + .5)) < 12
                                for i in qa.issues), timeout=15000)
    count = len(qa.issues)
    assert qa.count_label.text().startswith(f"{count} connectivity issue")
    window.canvas.setFocus()
    gap = next(i for i, issue in enumerate(qa.issues) if issue.kind == "gap")
    for _ in range(gap + 1):
        qtbot.keyClick(window.canvas, Qt.Key_N)
    assert qa.current == gap
    centre = window.canvas.widget_to_image(QPointF(window.canvas.width() / 2, window.canvas.height() / 2))
    assert math.dist((centre.x(), centre.y()), qa.issues[gap].centre) < 3
    assert window.canvas.scale >= 2.0

    qtbot.keyClick(window.canvas, Qt.Key_Return)                       # accepting is allowed...
    qtbot.waitUntil(lambda: window.workspace.tile(STEM).status == "accepted", timeout=15000)
    qtbot.waitUntil(qa.banner.isVisible, timeout=5000)                   # ...with a warning
    assert f"{count} connectivity issue" in qa.banner.label.text()
    qtbot.keyClick(window.canvas, Qt.Key_Escape)                         # one press dismisses it
    assert not qa.banner.isVisible()
    assert not qa._dismiss_key.isEnabled()                               # and Esc is free again


def test_qa_sizes_come_from_the_workspace_labeling_settings(spacenet):
    window, _truth = spacenet
    labeling = window.workspace.settings.labeling
    assert window.road_qa.settings().gap_px == 4 * WIDTH and window.road_qa.settings().fragment_px == 8 * WIDTH
    labeling.qa_gap_widths, labeling.qa_min_fragment_px = 2.0, 500
    assert window.road_qa.settings().gap_px == 2 * WIDTH and window.road_qa.settings().fragment_px == 500


def test_each_road_tool_and_qa_key_is_in_the_toolbar_the_menus_and_f1(window):
    from PySide6.QtWidgets import QToolBar

    from roadseg_gui.ui import dialogs

    toolbar = window.findChild(QToolBar, "tools_toolbar").actions()
    menus = [a for m in window.menuBar().actions() if m.menu() for a in m.menu().actions()]
    f1 = dict((what, keys) for keys, what in dialogs.shortcut_rows(window))
    for name, key in (("road", "L"), ("take", "T"), ("connect", "C")):
        action = window.actions.tools[name]
        assert action in toolbar and action in menus and f1[action.text()] == key
    for action, key in ((window.actions.next_issue, "N"), (window.actions.show_qa, "Q")):
        assert action in menus and f1[action.text().replace("&", "")] == key
    html = dialogs.shortcuts_html(window)
    assert "Ctrl + click (road line)" in html and "Alt + click" in html
