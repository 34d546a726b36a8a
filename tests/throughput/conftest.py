import sys
from pathlib import Path

# ui_helpers (the Qt tests' window and mouse helpers) live in tests/ui.
for folder in (Path(__file__).parent, Path(__file__).parents[1] / "ui"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
