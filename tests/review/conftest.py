import sys
from pathlib import Path

# ui_helpers (the Qt tests' mouse helpers) and review_data live beside the tests that use them.
for folder in (Path(__file__).parent, Path(__file__).parents[1] / "ui"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

