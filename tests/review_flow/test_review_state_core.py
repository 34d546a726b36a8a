"""review_state core: records, their JSON, decisions, agreement and quality per annotator."""

from __future__ import annotations

import numpy as np
import pytest

from roadseg_gui.core.review_state import decisions, quality, store, transport
from roadseg_gui.core.review_state.store import BadReviewRecord, Note, ReviewRecord
from roadseg_gui.core.settings import WorkspaceSettings
from trainer.errors import BadInputError
from trainer.imageio import write_mask_png
from trainer.metrics import Confusion


def workspace(tmp_path, mask: np.ndarray, stem: str = "tile_a"):
    (tmp_path / "train" / "masks").mkdir(parents=True)
    (tmp_path / "train" / "images").mkdir(parents=True)
    write_mask_png(tmp_path / "train" / "masks" / f"{stem}.png", mask)
    return tmp_path, store.connect(tmp_path)


def road(rows=slice(28, 36), cols=slice(None)) -> np.ndarray:
    mask = np.zeros((64, 64), bool)
    mask[rows, cols] = True
    return mask


def test_record_json_round_trip_keeps_decision_and_notes_not_bookkeeping():
    rec = ReviewRecord("t", "test", "returned", "alice", "rita", "ab" * 32, None, None, False, 12.5,
                       [Note(3.0, 4.5, "gap here – fix", "rita", 11.0)], remote_etag='"e"', dirty=True,
                       conflict="x", theirs_json="{}")
    back = ReviewRecord.from_json(rec.to_json(), "t", "test")
    assert (back.state, back.annotator, back.reviewer, back.first_review) == ("returned", "alice", "rita", False)
    assert back.notes == rec.notes
    assert (back.remote_etag, back.dirty, back.conflict) == ("", False, "")
    assert "remote_etag" not in rec.to_json()


@pytest.mark.parametrize("text", [b"not json", b'{"state": "merged"}', b'["accepted"]',
                                  b'{"state": "approved", "notes": [{"x": 1}]}',
                                  b'{"state": "approved", "iou": "high"}'])
def test_a_review_json_roadseg_did_not_write_is_refused(text):
    with pytest.raises(BadReviewRecord):
        ReviewRecord.from_json(text, "t", "train")


def test_agreement_is_road_iou_and_apls_of_the_accepted_mask_against_the_approved(tmp_path):
    accepted = road()
    root, conn = workspace(tmp_path, accepted)
    decisions.accept(conn, root, "tile_a", "alice")
    approved = road() | road(rows=slice(None), cols=slice(30, 36))   # the reviewer adds a crossing road
    write_mask_png(root / "train/masks/tile_a.png", approved)
    rec = decisions.approve(conn, root, "tile_a", "rita")
    expected_iou = Confusion().add(accepted, approved).as_dict()["iou"]
    assert rec.iou == pytest.approx(expected_iou) and rec.iou < 0.9
    assert 0.0 <= rec.apls < 1.0          # a whole road missing costs connectivity
    stored = store.get_record(conn, "tile_a")
    assert (stored.state, stored.reviewer, stored.annotator, stored.dirty) == ("approved", "rita", "alice", True)


def test_approving_the_mask_as_accepted_agrees_fully(tmp_path):
    root, conn = workspace(tmp_path, road())
    decisions.accept(conn, root, "tile_a", "alice")
    rec = decisions.approve(conn, root, "tile_a", "rita")
    assert (rec.iou, rec.apls) == (1.0, 1.0)


def test_a_tile_edited_before_its_first_record_is_not_counted_as_full_agreement(tmp_path):
    from roadseg_gui.core.sync import state

    root, conn = workspace(tmp_path, road())
    pulled = decisions.sha256_of(root / "train/masks/tile_a.png")
    state.record_objects(state.connect(root), "bucket/prefix", [("train/masks/tile_a.png", pulled, '"e"')])
    write_mask_png(root / "train/masks/tile_a.png", road(rows=slice(0, 8)))   # the reviewer edits first
    rec = decisions.approve(conn, root, "tile_a", "rita")
    assert rec.accepted_sha == pulled
    assert (rec.iou, rec.apls) == (None, None)    # the annotator's mask is not here: unknown, not 1.0


def test_a_snapshot_kept_before_the_first_edit_gives_the_agreement(tmp_path):
    from roadseg_gui.core.sync import state

    root, conn = workspace(tmp_path, road())
    pulled = decisions.sha256_of(root / "train/masks/tile_a.png")
    state.record_objects(state.connect(root), "bucket/prefix", [("train/masks/tile_a.png", pulled, '"e"')])
    decisions.before_review_edit(conn, root, "tile_a")       # the app, as the reviewer starts editing
    write_mask_png(root / "train/masks/tile_a.png", road(rows=slice(26, 36)))
    rec = decisions.approve(conn, root, "tile_a", "rita")
    assert rec.iou == pytest.approx(8 / 10)


def test_return_needs_a_note_and_keeps_every_note(tmp_path):
    root, conn = workspace(tmp_path, road())
    with pytest.raises(BadInputError, match="needs a note"):
        decisions.return_tile(conn, root, "tile_a", "rita", "  ")
    decisions.return_tile(conn, root, "tile_a", "rita", "missing road", 4, 5)
    decisions.accept(conn, root, "tile_a", "alice")
    rec = decisions.return_tile(conn, root, "tile_a", "rita", "still missing", 6, 7)
    assert [(n.x, n.y, n.text) for n in rec.notes] == [(4, 5, "missing road"), (6, 7, "still missing")]
    assert rec.state == "returned" and rec.first_review is False


def test_a_tile_without_a_mask_cannot_be_reviewed(tmp_path):
    root, conn = workspace(tmp_path, road())
    with pytest.raises(BadInputError, match="'nope' has no accepted mask"):
        decisions.approve(conn, root, "nope", "rita")


def test_a_decision_in_conflict_is_refused_until_chosen(tmp_path):
    root, conn = workspace(tmp_path, road())
    rec = decisions.approve(conn, root, "tile_a", "rita")
    theirs = ReviewRecord("tile_a", "train", "returned", "alice", "rob", notes=[Note(1, 1, "no", "rob")])
    rec.conflict = "rob made it returned"
    rec.theirs_json = '{"etag": "\\"e2\\"", "record": %s}' % __import__("json").dumps(theirs.to_json())
    store.save_record(conn, rec)
    with pytest.raises(BadInputError, match="in conflict"):
        decisions.return_tile(conn, root, "tile_a", "rita", "x")
    kept = transport.keep_mine(conn, "tile_a")
    assert (kept.state, kept.remote_etag, kept.dirty, kept.conflict) == ("approved", '"e2"', True, "")


def test_quality_per_annotator(tmp_path):
    records = [ReviewRecord("a", "train", "approved", "alice", "rita", iou=0.8, apls=0.6),
               ReviewRecord("b", "train", "approved", "alice", "rita", first_review=False, iou=1.0, apls=1.0),
               ReviewRecord("c", "train", "returned", "alice", "rita", first_review=False),
               ReviewRecord("d", "train", "accepted", "bob")]
    alice, bob = quality.by_annotator(records)
    assert (alice.reviewed, alice.approved_first, alice.returned) == (3, 1, 2)
    assert alice.approved_first_pct == pytest.approx(100 / 3)
    assert (alice.mean_iou, alice.mean_apls) == (pytest.approx(0.9), pytest.approx(0.8))
    assert (bob.reviewed, bob.approved_first_pct, bob.mean_iou) == (0, None, None)
    assert "alice" in quality.format_table([alice, bob]) and "33 %" in quality.format_table([alice, bob])


def test_require_review_is_off_by_default_and_remembered(tmp_path):
    assert WorkspaceSettings.load(tmp_path).review.require_review is False
    settings = WorkspaceSettings()
    settings.review.require_review = True
    settings.save(tmp_path)
    assert WorkspaceSettings.load(tmp_path).review.require_review is True
