"""Workspace: splits, accept, autosave, scan speed without decoding, errors, import."""

from __future__ import annotations

import builtins
import os
import time

import numpy as np
import pytest
from PIL import Image
from statement_counter import count_statements

from roadseg_gui.core import statedb
from roadseg_gui.core.statedb import TileStatus
from roadseg_gui.core.workspace import Workspace, split_for
from trainer import imageio
from trainer.errors import BadInputError, RoadsegError


def make_image(path, size=(24, 32), color=(90, 120, 60)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size[1], size[0]), color).save(path)
    return path


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "work space é"
    for name in ("a", "b", "road 7"):
        make_image(root / "unlabeled" / f"{name}.jpg")
    return Workspace.open(root)


def test_split_is_stable_and_matches_the_fraction():
    stems = [f"tile_{i}" for i in range(4000)]
    first = [split_for(s, 0.1) for s in stems]
    assert first == [split_for(s, 0.1) for s in stems]
    share = first.count("test") / len(stems)
    assert 0.08 < share < 0.12
    assert all(split_for(s, 0.0) == "train" for s in stems[:50])
    assert all(split_for(s, 1.0) == "test" for s in stems[:50])
    # a larger fraction only moves tiles into test, never out of it
    assert all(split_for(s, 0.3) == "test" for s, f in zip(stems, first) if f == "test")


def test_open_registers_unlabeled_tiles(ws):
    records = ws.tiles()
    assert [r.stem for r in records] == ["a", "b", "road 7"]
    assert all(r.status == TileStatus.NEW and r.split is None for r in records)
    counts = ws.counts()
    assert counts[TileStatus.NEW] == counts["new"] == 3 and counts.total == 3
    with pytest.raises(RoadsegError):
        Workspace.open(ws.root / "unlabeled", create=False)


def test_accept_writes_mask_in_split_and_moves_image(ws):
    ws.settings.labeling.test_fraction = 0.0
    mask = np.zeros((24, 32), bool)
    mask[5:9, 2:30] = True
    ws.save_working_mask("road 7", mask)
    assert ws.edit_path("road 7").exists()
    assert ws.accept("road 7", mask) == "train"
    written = ws.root / "train" / "masks" / "road 7.png"
    with Image.open(written) as im:
        assert im.mode == "L" and im.size == (32, 24)
        data = np.asarray(im)
    assert set(np.unique(data)) == {0, 255}
    assert np.array_equal(data == 255, mask)
    assert (ws.root / "train" / "images" / "road 7.jpg").exists()
    assert not (ws.root / "unlabeled" / "road 7.jpg").exists()
    assert not ws.edit_path("road 7").exists()
    record = ws.tile("road 7")
    assert record.status == TileStatus.ACCEPTED and record.split == "train"
    assert record.image == "train/images/road 7.jpg"
    assert np.array_equal(ws.working_mask("road 7"), mask)
    # the split never drifts: a changed fraction keeps an accepted tile where it is
    ws.settings.labeling.test_fraction = 1.0
    assert ws.accept("road 7", mask) == "train"


def test_accept_uses_the_test_split_by_hash(ws):
    ws.settings.labeling.test_fraction = 1.0
    assert ws.accept("a", np.ones((24, 32), bool)) == "test"
    assert (ws.root / "test" / "masks" / "a.png").exists()
    assert (ws.root / "test" / "images" / "a.jpg").exists()


def test_accept_rejects_a_mask_of_another_size(ws):
    with pytest.raises(BadInputError) as info:
        ws.accept("a", np.zeros((10, 10), bool))
    assert "10x10" in str(info.value) and "32x24" in str(info.value)
    assert not (ws.root / "train" / "masks" / "a.png").exists()
    assert ws.tile("a").status == TileStatus.NEW


def test_scan_finishes_an_interrupted_accept(ws):
    mask = np.ones((24, 32), bool)
    ws.save_working_mask("b", mask)
    split = split_for("b", ws.settings.labeling.test_fraction)
    time.sleep(0.01)
    imageio.write_mask_png(ws.root / split / "masks" / "b.png", mask)  # the crash came right after this
    ws.scan()
    record = ws.tile("b")
    assert record.status == TileStatus.ACCEPTED and record.split == split
    assert (ws.root / split / "images" / "b.jpg").exists()
    assert not (ws.root / "unlabeled" / "b.jpg").exists()
    assert not ws.edit_path("b").exists()


def test_autosave_is_atomic(ws, monkeypatch):
    first = np.zeros((24, 32), bool)
    first[1, 1] = True
    ws.save_working_mask("a", first)
    real_replace = os.replace

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        ws.save_working_mask("a", np.ones((24, 32), bool))
    monkeypatch.setattr(os, "replace", real_replace)
    assert np.array_equal(ws.working_mask("a"), first)  # the old file, whole
    assert [p.name for p in ws.edit_path("a").parent.iterdir()] == ["a.png"]  # no temp left behind
    assert ws.tile("a").status == TileStatus.EDITED and ws.tile("a").edited_at
    ws.discard_working_mask("a")
    assert ws.working_mask("a") is None and ws.tile("a").status == TileStatus.NEW


def test_predictions_and_uncertainty_order(ws):
    for stem, u in (("a", 0.1), ("b", 0.7)):
        ws.save_prediction(stem, np.full((24, 32), 200, np.uint8), u, "v1")
    assert ws.tile("a").status == TileStatus.PREDICTED and ws.tile("a").model_version == "v1"
    assert ws.prediction("a")[0, 0] == 200 and ws.prediction("road 7") is None
    assert [r.stem for r in ws.tiles(order="uncertainty")] == ["b", "a", "road 7"]
    assert [r.stem for r in ws.tiles(status=TileStatus.PREDICTED)] == ["a", "b"]
    assert [r.stem for r in ws.tiles(status=["new", "predicted"], split="unlabeled")] == ["a", "b", "road 7"]
    assert ws.tiles(split="train") == []


def test_corrupt_and_empty_images_get_error_status(ws):
    (ws.root / "unlabeled" / "empty.png").write_bytes(b"")
    (ws.root / "unlabeled" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    ws.scan()
    assert ws.tile("empty").status == TileStatus.ERROR and "empty" in ws.tile("empty").error
    with pytest.raises(BadInputError):
        ws.read_image("broken")
    record = ws.tile("broken")
    assert record.status == TileStatus.ERROR and "readable" in record.error
    assert ws.counts()["error"] == 2
    assert ws.read_image("a").shape == (24, 32, 3)


def test_opening_10000_tiles_decodes_nothing_and_costs_a_constant_number_of_queries(tmp_path, monkeypatch):
    root = tmp_path / "big"
    (root / "unlabeled").mkdir(parents=True)
    (root / "train" / "images").mkdir(parents=True)
    (root / "train" / "masks").mkdir(parents=True)
    one = tmp_path / "one byte"
    one.write_bytes(b"x")  # hard links: 11,000 files in a fraction of a second
    for i in range(9000):
        os.link(one, root / "unlabeled" / f"t{i:05d}.jpg")
    for i in range(9000, 10000):
        os.link(one, root / "train" / "images" / f"t{i:05d}.jpg")
        os.link(one, root / "train" / "masks" / f"t{i:05d}.png")

    def no_decoding(*args, **kwargs):
        raise AssertionError("scan decoded an image")

    monkeypatch.setattr(Image, "open", no_decoding)
    monkeypatch.setattr(imageio, "read_image", no_decoding)
    monkeypatch.setattr(imageio, "image_size", no_decoding)
    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda file, *a, **k: opened.append(str(file)) or real_open(file, *a, **k))
    connections = count_statements(monkeypatch)
    # Speed is bench/'s business; here the work must not grow with the tile count: no file of a tile
    # opened, no statement per tile (the 1 s open of 10,000 tiles rests on both).
    ws = Workspace.open(root)
    counts = ws.counts()
    first_page = ws.tiles(order="uncertainty")[:100]
    assert counts["new"] == 9000 and counts["accepted"] == 1000 and len(first_page) == 100
    assert not [p for p in opened if "t0" in p], "opening read tile files"
    assert len(connections) == 1 and connections[0].calls < 30, f"{connections[0].calls} SQL statements"
    before = connections[0].calls
    assert ws.scan() == 0  # a rescan finds nothing new and is as cheap
    assert connections[0].calls - before < 15
    assert not [p for p in opened if "t0" in p]


def test_scan_forgets_deleted_images_and_a_deleted_mask_reopens_the_tile(ws):
    ws.accept("a", np.ones((24, 32), bool))
    split = ws.tile("a").split
    (ws.root / split / "masks" / "a.png").unlink()
    (ws.root / "unlabeled" / "b.jpg").unlink()
    ws.scan()
    assert ws.tile("b") is None
    assert ws.tile("a").status == TileStatus.NEW and ws.working_mask("a") is None


def test_add_images_copies_files_and_folders(ws, tmp_path):
    src = tmp_path / "incoming"
    make_image(src / "straße 1.png")
    make_image(src / "nested" / "x.tif")
    make_image(src / "a.jpg")  # stem already in the workspace
    (src / "notes.txt").write_text("hi")
    report = ws.add_images([src, tmp_path / "missing.jpg", src / "notes.txt"])
    assert sorted(report.added) == ["straße 1", "x"]
    reasons = dict(report.skipped)
    assert "already in the workspace" in reasons[str(src / "a.jpg")]
    assert "no such file" in reasons[str(tmp_path / "missing.jpg")]
    assert "not an image" in reasons[str(src / "notes.txt")]
    assert ws.tile("straße 1").status == TileStatus.NEW
    assert ws.read_image("x").shape == (24, 32, 3)


def test_workspace_is_usable_from_another_thread(ws):
    import threading

    seen = []
    thread = threading.Thread(target=lambda: seen.append(len(ws.tiles())))
    thread.start()
    thread.join()
    assert seen == [3]
    statedb.set_status(ws.db, ["a"], TileStatus.SYNCED)
    assert ws.tile("a").status == TileStatus.SYNCED


def test_autosave_survives_kill_9_mid_write(ws):
    """A child autosaves in a loop and is killed with SIGKILL: the edit is the old or the new, never torn."""
    import signal
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import sys, numpy as np
        from roadseg_gui.core.workspace import Workspace
        ws = Workspace.open({str(ws.root)!r})
        mask = np.zeros((24, 32), bool)
        i = 0
        while True:
            mask[:] = False
            mask[i % 24] = True
            ws.save_working_mask("a", mask)
            if i == 3:
                print("ready", flush=True)
            i += 1
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    reopened = Workspace.open(ws.root)
    mask = reopened.working_mask("a")
    assert mask.shape == (24, 32) and mask.sum() == 32 and mask.any(axis=1).sum() == 1
    assert reopened.tile("a").status == TileStatus.EDITED
    leftovers = [p.name for p in reopened.edit_path("a").parent.iterdir() if p.name != "a.png"]
    assert all(name.endswith(".tmp") for name in leftovers)  # at most a temp file, never a torn a.png


def test_a_read_failure_keeps_an_accepted_tile_accepted_and_clears_when_the_image_reads_again(ws):
    split = ws.accept("a", np.ones((24, 32), bool))
    image = ws.image_path("a")
    good = image.read_bytes()
    image.write_bytes(good[: len(good) // 3])  # truncated
    with pytest.raises(BadInputError):
        ws.read_image("a")
    record = ws.tile("a")
    assert record.status == TileStatus.ACCEPTED and record.error
    image.write_bytes(good)
    ws.save_prediction("a", np.zeros((24, 32), np.uint8), 0.1, "v1")
    record = ws.tile("a")
    assert record.status == TileStatus.ACCEPTED and record.error is None
    assert (ws.root / split / "masks" / "a.png").exists()


def test_a_new_or_predicted_tile_becomes_error_and_comes_back_when_readable(ws):
    ws.save_prediction("b", np.zeros((24, 32), np.uint8), 0.2, "v1")
    image = ws.image_path("b")
    good = image.read_bytes()
    image.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(BadInputError):
        ws.read_image("b")
    assert ws.tile("b").status == TileStatus.ERROR
    image.write_bytes(good)
    assert ws.read_image("b").shape == (24, 32, 3)
    assert ws.tile("b").status == TileStatus.PREDICTED and ws.tile("b").error is None


def test_an_emptied_accepted_image_keeps_its_status_through_scans(ws):
    ws.accept("a", np.ones((24, 32), bool))
    image = ws.image_path("a")
    good = image.read_bytes()
    image.write_bytes(b"")
    ws.scan()
    assert ws.tile("a").status == TileStatus.ACCEPTED and "empty" in ws.tile("a").error
    image.write_bytes(good)
    ws.scan()
    assert ws.tile("a").status == TileStatus.ACCEPTED and ws.tile("a").error is None
