"""Every menu/toolbar action with its shortcut, so menus show every shortcut people know."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from .toolbox import TOOL_CLASSES


def _action(parent, text: str, shortcuts=(), tip: str = "", checkable: bool = False) -> QAction:
    action = QAction(text, parent)
    keys = [QKeySequence(s) for s in shortcuts]
    if keys:
        action.setShortcuts(keys)
    shown = " or ".join(k.toString(QKeySequence.NativeText) for k in keys)
    action.setToolTip(f"{text.replace('&', '').rstrip('…')}  ({shown})" if shown else text.replace("&", ""))
    action.setStatusTip(tip or action.toolTip())
    action.setCheckable(checkable)
    action.setShortcutVisibleInContextMenu(True)
    return action


class Actions(QObject):
    def __init__(self, window):
        super().__init__(window)
        a = _action
        # File
        self.open_workspace = a(window, "&Open workspace…", [QKeySequence.Open], "Open a folder of tiles")
        self.import_images = a(window, "&Import images…", ["Ctrl+I"], "Copy image files or folders into unlabeled/")
        self.import_scene = a(window, "Import &scene…", ["Ctrl+Shift+I"],
                              "Cut a large GeoTIFF into chips in unlabeled/")
        self.open_model = a(window, "Open &model…", ["Ctrl+M"],
                            "Use a model directory, model.tar.gz or seed .pth checkpoint for predictions")
        self.quit = a(window, "&Quit", [QKeySequence.Quit])
        # Edit (undo/redo come from the QUndoGroup so they follow the active tile)
        self.use_prediction = a(window, "Use &prediction as mask", ["Ctrl+P"],
                                "Replace the mask with the model's prediction at the threshold")
        self.clear_mask = a(window, "&Clear mask", ["Ctrl+Backspace"], "Remove every road pixel of this tile")
        # Tools
        self.tool_group = QActionGroup(window)
        self.tools: dict[str, QAction] = {}
        for cls in TOOL_CLASSES:
            action = a(window, cls.label, [cls.shortcut], cls.hint, checkable=True)
            action.setData(cls.name)
            self.tool_group.addAction(action)
            self.tools[cls.name] = action
        self.tools["brush"].setChecked(True)
        self.next_issue = a(window, "&Next connectivity issue", ["N"],
                            "Show the next dangling end, gap or short fragment of the mask")
        self.show_qa = a(window, "Show connectivity &QA", ["Q"], "Mark dangling ends, gaps and fragments",
                         checkable=True)
        self.show_qa.setChecked(True)
        self.straight_segments = a(window, "&Straight segments", ["S"],
                                   "Road line and Connect draw straight segments instead of following the "
                                   "prediction (Alt+click does it for one click)", checkable=True)
        self.bigger_brush = a(window, "Bigger brush", ["]"])
        self.smaller_brush = a(window, "Smaller brush", ["["])
        # View
        self.toggle_overlays = a(window, "Show &overlays", ["Space"], "Show or hide the mask and prediction",
                                 checkable=True)
        self.toggle_overlays.setChecked(True)
        self.show_prediction = a(window, "Show p&rediction", ["H"], checkable=True)
        self.show_prediction.setChecked(True)
        self.fit = a(window, "&Fit to window", ["Ctrl+0"])
        self.zoom_in = a(window, "Zoom &in", [QKeySequence.ZoomIn, "="])
        self.zoom_out = a(window, "Zoom &out", [QKeySequence.ZoomOut, "-"])
        # Tile
        self.previous_tile = a(window, "&Previous tile", [Qt.Key_Left, "A"])
        self.next_tile = a(window, "&Next tile", [Qt.Key_Right, "D"])
        self.accept = a(window, "&Accept and next", [Qt.Key_Return, Qt.Key_Enter],
                        "Save the mask into train/ or test/ and go to the next tile still to do")
        self.shortcuts_help = a(window, "&Keyboard shortcuts", [QKeySequence.HelpContents])
        for action in self.all():
            window.addAction(action)  # shortcuts work even when the menu bar is hidden

    def all(self) -> list[QAction]:
        return [v for v in vars(self).values() if isinstance(v, QAction)] + list(self.tools.values())
