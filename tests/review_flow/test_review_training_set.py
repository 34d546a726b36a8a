"""require_review and a local retrain: only approved pairs train, as only they reach {train,test}/ on S3."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from roadseg_gui.core import retrain
from roadseg_gui.core.review_state import decisions, store
from roadseg_gui.core.review_state.training_set import stage_approved
from roadseg_gui.core.settings import WorkspaceSettings
from trainer.errors import DataError
from trainer.imageio import write_mask_png
from trainer.jobs.base import Hyperparameters


def _pair(root, split: str, stem: str, rows=slice(28, 36)) -> None:
    for folder in ("images", "masks"):
        (root / split / folder).mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(root / split / "images" / f"{stem}.jpg")
    mask = np.zeros((64, 64), bool)
    mask[rows] = True
    write_mask_png(root / split / "masks" / f"{stem}.png", mask)


@pytest.fixture
def reviewed(tmp_path):
    root = tmp_path / "ws [1]"   # a bracket in the path must not act as a glob
    for split, stem in (("train", "a"), ("train", "b"), ("train", "c"), ("test", "t1"), ("test", "t2")):
        _pair(root, split, stem)
    settings = WorkspaceSettings.load(root)
    settings.review.require_review = True
    settings.save(root)
    conn = store.connect(root)
    for stem in ("a", "b", "c", "t1", "t2"):
        decisions.accept(conn, root, stem, "alice")
    return root, conn


def test_only_approved_pairs_unchanged_since_approval_are_staged_for_a_local_retrain(reviewed):
    root, conn = reviewed
    for stem in ("a", "b", "t1"):
        decisions.approve(conn, root, stem, "rita")
    _pair(root, "train", "b", rows=slice(10, 20))   # edited after its approval: back to review
    staged, held = stage_approved(root)
    assert sorted(p.name for p in (staged / "train" / "images").iterdir()) == ["a.jpg"]
    assert sorted(p.name for p in (staged / "train" / "masks").iterdir()) == ["a.png"]
    assert sorted(p.name for p in (staged / "test" / "masks").iterdir()) == ["t1.png"]
    assert held == {"train": 2, "test": 1}
    # built anew each time: a pair no longer approved leaves the folder
    decisions.return_tile(conn, root, "a", "rita", "the road runs on to the east")
    staged, held = stage_approved(root)
    assert list((staged / "train" / "masks").iterdir()) == [] and held["train"] == 3


def test_a_local_retrain_with_nothing_approved_is_refused_with_what_to_do(reviewed):
    root, conn = reviewed
    decisions.approve(conn, root, "t1", "rita")
    with pytest.raises(DataError, match=r"review is required and only 0 train and 1 test pairs are approved "
                                        r"\(4 await review\)") as caught:
        retrain.start(root, "local", Hyperparameters(epochs=1))
    assert "roadseg review --approve" in caught.value.fix
