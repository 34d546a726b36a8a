"""Two annotators, one bucket: a 412 is a conflict, never an overwrite; then keep mine / take theirs."""

from __future__ import annotations

from roadseg_gui.core import statedb
from roadseg_gui.core.sync import fetch_theirs, keep_mine, list_conflicts, pending_pairs, push, take_theirs

from sync_helpers import BUCKET, PREFIX, URI, edit_mask, make_workspace

MASK = "train/masks/tile_00001.png"


def remote_bytes(client, rel):
    return client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{rel}")["Body"].read()


def status(root, stem):
    return statedb.connect(root).execute("SELECT status FROM tiles WHERE stem=?", (stem,)).fetchone()[0]


def test_two_workspaces_editing_one_tile_give_one_conflict_and_no_overwrite(tmp_path, s3_server, s3_client):
    alice = make_workspace(tmp_path / "alice", s3_server)
    bob = make_workspace(tmp_path / "bob", s3_server)   # same source tiles
    edit_mask(alice, "tile_00001", value=3)
    edit_mask(bob, "tile_00001", value=5)
    bobs_mask = (bob / MASK).read_bytes()

    assert push(alice, URI).summary() == "uploaded=8 unchanged=0 conflicts=0 failed=0"
    report = push(bob, URI)
    # bob's seven identical pairs are recognised as already there; tile_00001 differs
    assert report.summary() == "uploaded=0 unchanged=7 conflicts=1 failed=0"
    assert report.conflict_stems == ["tile_00001"] and report.exit_code == 1
    assert remote_bytes(s3_client, MASK) == (alice / MASK).read_bytes()     # not overwritten
    assert (bob / MASK).read_bytes() == bobs_mask                             # not touched either
    assert status(bob, "tile_00001") == "conflict"
    assert [c.stem for c in list_conflicts(bob)] == ["tile_00001"]
    assert "tile_00001" not in pending_pairs(bob)

    again = push(bob)   # an unresolved conflict is reported again, and not retried
    assert (again.uploaded, again.conflicts) == (0, 1)

    theirs_image, theirs_mask = fetch_theirs(bob, "tile_00001")   # compare side by side
    assert theirs_mask.read_bytes() == (alice / MASK).read_bytes()
    assert theirs_image.read_bytes() == (bob / "train/images/tile_00001.jpg").read_bytes()

    keep_mine(bob, "tile_00001")
    assert push(bob).summary() == "uploaded=1 unchanged=7 conflicts=0 failed=0"
    assert remote_bytes(s3_client, MASK) == bobs_mask
    assert status(bob, "tile_00001") == "synced" and list_conflicts(bob) == []

    # alice edits again without having seen bob's version: her push conflicts, she takes his
    edit_mask(alice, "tile_00001", value=11)
    assert push(alice).conflicts == 1
    take_theirs(alice, "tile_00001")
    assert (alice / MASK).read_bytes() == bobs_mask
    assert status(alice, "tile_00001") == "synced"
    assert push(alice).summary() == "uploaded=0 unchanged=8 conflicts=0 failed=0"


def test_a_tile_deleted_remotely_is_a_conflict_not_a_silent_recreate(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=2, test=0)
    push(root, URI)
    s3_client.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{MASK}")   # If-Match on a missing key: 404
    edit_mask(root, "tile_00001", value=4)
    report = push(root)
    assert (report.uploaded, report.conflicts) == (0, 1)
    assert "was deleted remotely" in report.errors[0]
    assert "Contents" not in s3_client.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/{MASK}")
    keep_mine(root, "tile_00001")     # the person decides: put it back
    assert push(root).uploaded == 1
    assert remote_bytes(s3_client, MASK) == (root / MASK).read_bytes()
