"""Symbolic-link loops, dangling links and pipes in a split: each is reported once and the rest is used."""

from __future__ import annotations

import logging
import os

import numpy as np
from PIL import Image

from trainer.data import list_pairs
from trainer.listing import list_folder, walk_folder
from trainer.synthetic import write_dataset


def _hostile_split(root):
    split = write_dataset(root, train=0, test=3, size=32) / "test"
    images, masks = split / "images", split / "masks"
    os.symlink("loop_img.jpg", images / "loop_img.jpg")           # a link to itself
    os.symlink("nowhere.jpg", images / "dangling.jpg")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(images / "loop_mask.jpg")
    os.symlink("loop_mask.png", masks / "loop_mask.png")
    os.mkfifo(images / "pipe.jpg")
    (images / "sub").mkdir()
    return split


def test_list_pairs_reports_each_link_problem_once_and_pairs_the_rest(tmp_path, caplog):
    split = _hostile_split(tmp_path)
    with caplog.at_level(logging.WARNING):
        found = list_pairs(split, "test")
    assert [p.stem for p in found.pairs] == ["tile_00000", "tile_00001", "tile_00002"]
    reasons = dict(found.skipped)
    assert set(reasons) == {"loop_img.jpg", "dangling.jpg", "loop_mask.jpg", "pipe.jpg"}
    assert "symbolic link loop" in reasons["loop_img.jpg"]
    assert "dangling symbolic link" in reasons["dangling.jpg"] and "nowhere.jpg" in reasons["dangling.jpg"]
    assert "masks/loop_mask.png" in reasons["loop_mask.jpg"] and "loop" in reasons["loop_mask.jpg"]
    assert "not a regular file" in reasons["pipe.jpg"]
    for name in reasons:
        assert sum(name in r.getMessage() for r in caplog.records) == 1


def test_walk_folder_follows_linked_folders_once_and_names_what_it_skips(tmp_path):
    (tmp_path / "a" / ".hidden").mkdir(parents=True)
    (tmp_path / "a" / "x.jpg").write_bytes(b"x")
    os.symlink("..", tmp_path / "a" / "up")              # back to the root: a loop
    os.symlink("gone.png", tmp_path / "a" / "gone.png")   # a link to itself
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "y.jpg").write_bytes(b"y")
    listing, notes = walk_folder(tmp_path, lambda n: n.endswith((".jpg", ".png")), exclude=tmp_path / "out")
    assert listing.files == [tmp_path / "a" / "x.jpg"]
    assert [(p.name, "loop" in r) for p, r in listing.skipped] == [("gone.png", True)]
    named = {p.name: r for p, r in notes}
    assert "already read" in named["up"] and "output folder" in named["out"] and "hidden" in named[".hidden"]
    assert list_folder(tmp_path / "a", lambda n: True).folders == [tmp_path / "a" / "up"]


def test_a_workspace_with_a_symlink_loop_opens_and_names_it(tmp_path, caplog):
    from roadseg_gui.core.workspace import Workspace

    root = write_dataset(tmp_path / "ws", train=2, test=1, size=32)
    (root / "unlabeled").mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "unlabeled" / "new.png")
    os.symlink("loop.png", root / "unlabeled" / "loop.png")
    os.symlink("loop.jpg", root / "train" / "images" / "loop.jpg")
    with caplog.at_level(logging.WARNING):
        workspace = Workspace.open(root)
    try:
        counts = workspace.counts()
    finally:
        workspace.close()
    assert counts["new"] == 1 and counts["accepted"] == 3
    assert "loop.png" in caplog.text and "loop.jpg" in caplog.text and "symbolic link" in caplog.text


def test_walk_folder_names_a_sub_folder_it_cannot_read_and_lists_the_rest(tmp_path, monkeypatch):
    """A sub-folder without read permission (or gone mid-walk) is a note, not the end of the walk
    (chmod 000 does not stop root, so scandir is made to refuse it)."""
    (tmp_path / "locked").mkdir()
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "x.jpg").write_bytes(b"x")
    (tmp_path / "y.jpg").write_bytes(b"y")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.path.basename(os.fspath(path)) == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    listing, notes = walk_folder(tmp_path, lambda n: n.endswith(".jpg"))
    assert sorted(p.name for p in listing.files) == ["x.jpg", "y.jpg"]
    assert [(p.name, "cannot be read" in r and "Permission denied" in r) for p, r in notes] == [("locked", True)]
