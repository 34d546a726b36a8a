"""Where things live in a workspace. The workspace mirrors the S3 layout.

    WORKSPACE/
      train/images/NAME.jpg   train/masks/NAME.png
      test/images/NAME.jpg    test/masks/NAME.png
      unlabeled/NAME.jpg      tiles awaiting review
      .roadseg/               app state: state.sqlite, settings.toml, edits, predictions, models
"""

from __future__ import annotations

from pathlib import Path

SPLITS = ("train", "test")
UNLABELED = "unlabeled"
STATE_DIR = ".roadseg"


def images_dir(root: Path, split: str) -> Path:
    return Path(root) / split / "images"


def masks_dir(root: Path, split: str) -> Path:
    return Path(root) / split / "masks"


def state_dir(root: Path) -> Path:
    return Path(root) / STATE_DIR


def ensure_layout(root: Path) -> None:
    root = Path(root)
    for split in SPLITS:
        images_dir(root, split).mkdir(parents=True, exist_ok=True)
        masks_dir(root, split).mkdir(parents=True, exist_ok=True)
    (root / UNLABELED).mkdir(parents=True, exist_ok=True)
    state_dir(root).mkdir(parents=True, exist_ok=True)
