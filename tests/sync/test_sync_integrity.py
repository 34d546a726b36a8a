"""What a plain sync must not trust away: a same-size edit with its mtime put back, and an
emptied or deleted bucket. --verify hashes afresh and repairs; conflicts are named every run."""

from __future__ import annotations

import os

import pytest

from roadseg_gui.core.sync import SyncError, list_conflicts, push

from sync_helpers import BUCKET, PREFIX, URI, edit_mask, make_workspace, remote_objects, reset_moto, run_cli

MASK = "train/masks/tile_00001.png"


def remote_bytes(client, rel):
    return client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{rel}")["Body"].read()


def edit_in_place_keeping_timestamps(path):
    """A same-size edit written into the same inode, then its atime/mtime put back (touch -r)."""
    before = os.stat(path)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    with open(path, "r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    return bytes(data)


def test_a_same_size_edit_with_its_mtime_restored_is_still_sent(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=2, test=0)
    push(root, URI)
    data = edit_in_place_keeping_timestamps(root / MASK)   # ctime moved; size, mtime and inode did not
    assert push(root).summary() == "uploaded=1 unchanged=1 conflicts=0 failed=0"
    assert remote_bytes(s3_client, MASK) == data


def test_verify_compares_content_hashes_not_the_cache(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=2, test=0)
    push(root, URI)
    data = edit_in_place_keeping_timestamps(root / MASK)
    # a cache entry that matches on every stat field (as after a copy that kept all of them)
    from roadseg_gui.core.sync import state
    conn = state.connect(root)
    st = os.stat(root / MASK)
    conn.execute("UPDATE sync_hashes SET ctime_ns=?, inode=? WHERE relpath=?", (st.st_ctime_ns, st.st_ino, MASK))
    conn.close()
    assert push(root).uploaded == 0                # the plain check trusts a full stat match
    assert push(root, verify=True).summary() == "uploaded=1 unchanged=1 conflicts=0 failed=0"
    assert remote_bytes(s3_client, MASK) == data


def test_an_emptied_bucket_is_noticed_and_verify_repairs_it(tmp_path, s3_server, s3_client, capsys):
    root = make_workspace(tmp_path / "ws", s3_server, train=3, test=1)
    assert push(root, URI).uploaded == 4
    for key in list(remote_objects(s3_client)):
        s3_client.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}")

    assert run_cli(["sync", str(root), "--no-progress"]) == 1        # not "unchanged" with exit 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == "uploaded=0 unchanged=4 conflicts=0 failed=0 lost=8"
    assert "no longer holds 8 of the 8" in captured.err and "--verify" in captured.err

    edit_mask(root, "tile_00001", value=5)      # an edit made after the loss ...
    report = push(root)
    assert report.conflict_stems == ["tile_00001"]   # ... meets a missing key: "deleted remotely"
    assert any("deleted remotely" in e for e in report.errors)

    for _ in range(2):   # named on every run, with how to resolve it
        assert run_cli(["sync", str(root), "--no-progress"]) == 1
        err = capsys.readouterr().err
        assert "conflict: tile_00001 is still in conflict" in err and "--resolve keep-mine|take-theirs" in err

    assert run_cli(["sync", str(root), "--verify", "--no-progress"]) == 0   # clears it, sends all again
    assert capsys.readouterr().out.splitlines()[-1] == "uploaded=4 unchanged=0 conflicts=0 failed=0"
    assert list_conflicts(root) == []
    assert remote_bytes(s3_client, MASK) == (root / MASK).read_bytes()
    assert len(remote_objects(s3_client)) == 8
    assert push(root).summary() == "uploaded=0 unchanged=4 conflicts=0 failed=0"


def test_a_lost_bucket_is_an_error_even_with_nothing_to_send(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=1, test=0)
    push(root, URI)
    reset_moto(s3_server)     # the bucket itself is gone
    with pytest.raises(SyncError, match=f"the bucket s3://{BUCKET} does not exist"):
        push(root)


def test_a_verify_keeps_a_real_remote_change_in_conflict(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=2, test=0)
    push(root, URI)
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{MASK}", Body=b"someone else's mask")
    edit_mask(root, "tile_00001", value=5)
    assert push(root).conflicts == 1
    report = push(root, verify=True)
    assert report.conflict_stems == ["tile_00001"] and report.uploaded == 0
    assert remote_bytes(s3_client, MASK) == b"someone else's mask"


def test_resolve_take_theirs_from_the_cli(tmp_path, s3_server, s3_client, capsys):
    root = make_workspace(tmp_path / "ws", s3_server, train=2, test=0)
    push(root, URI)
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{MASK}", Body=b"their mask")
    edit_mask(root, "tile_00001", value=5)
    assert push(root).conflicts == 1
    assert run_cli(["sync", str(root), "--resolve", "take-theirs", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "tile_00001: resolved (take-theirs)" in out
    assert (root / MASK).read_bytes() == b"their mask" and list_conflicts(root) == []
    assert run_cli(["sync", str(root), "--resolve", "keep-all", "--no-progress"]) == 1
    assert "--resolve takes keep-mine or take-theirs first" in capsys.readouterr().err
    assert run_cli(["sync", str(root), "--resolve", "keep-mine", "--dry-run"]) == 1
    assert "cannot be part of a --dry-run" in capsys.readouterr().err
    assert run_cli(["sync", str(root), "--resolve", "keep-mine", "tile_00000", "--no-progress"]) == 1
    assert "tile_00000: not in conflict" in capsys.readouterr().err
