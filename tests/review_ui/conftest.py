"""A workspace of tiles alice accepted (train/), opened by bob, the reviewer."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "ui"))   # ui_helpers

from ui_helpers import open_window  # noqa: E402

from trainer.synthetic import make_tile  # noqa: E402

pytest.importorskip("pytestqt")
STEMS = ("tile_000", "tile_001", "tile_002")


@pytest.fixture(autouse=True)
def isolated_config(isolated_config):
    """tests/conftest.py's, for every test here."""
    return isolated_config


def write_accepted(root: Path, size: int = 96) -> None:
    """Three labeled pairs in train/ and one unlabeled tile; alice accepted tile_000 and tile_001,
    bob (the reviewer) accepted tile_002 himself."""
    from roadseg_gui.core.review_state import decisions, store
    from roadseg_gui.core.settings import WorkspaceSettings

    for folder in ("train/images", "train/masks", "unlabeled"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for i, stem in enumerate(STEMS):
        image, mask = make_tile(size, seed=i)
        Image.fromarray(image).save(root / "train" / "images" / f"{stem}.png")
        Image.fromarray((mask * 255).astype(np.uint8)).save(root / "train" / "masks" / f"{stem}.png")
    Image.fromarray(make_tile(size, seed=9)[0]).save(root / "unlabeled" / "tile_009.png")
    conn = store.connect(root)
    for stem, who in zip(STEMS, ("alice", "alice", "bob")):
        decisions.accept(conn, root, stem, who)
    conn.close()
    settings = WorkspaceSettings.load(root)
    settings.annotator = "bob"
    settings.save(root)


@pytest.fixture
def review_root(tmp_path) -> Path:
    root = tmp_path / "ws"
    write_accepted(root)
    return root


@pytest.fixture
def window(qtbot, review_root):
    win = open_window(qtbot, review_root)
    yield win
    win.close()
