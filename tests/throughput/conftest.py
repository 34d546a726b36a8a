import sys
from pathlib import Path

# ui_helpers (the Qt tests' window and mouse helpers) live in tests/ui.
for folder in (Path(__file__).parent, Path(__file__).parents[1] / "ui"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import pytest  # noqa: E402


@pytest.fixture
def workspace_root(tmp_path, isolated_config):
    from ui_helpers import write_tiles

    root = tmp_path / "ws"
    write_tiles(root, 4)
    return root
