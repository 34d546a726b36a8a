"""sync --delete is the mirror of the upload rule: mask before image, both conditional on the
ETags last seen, so S3 never holds a mask without its image. Two annotators, each running the
real `roadseg` CLI in its own process, one real moto server."""

from __future__ import annotations

from roadseg_gui.core.sync import list_conflicts, make_s3_client, pull, push, take_theirs
from roadseg_gui.core.settings import WorkspaceSettings

from sync_helpers import (BUCKET, PREFIX, URI, RequestCounter, edit_mask, make_workspace, remote_objects,
                          run_process)

IMAGE, MASK = "train/images/tile_00001.jpg", "train/masks/tile_00001.png"


def remote_bytes(client, rel):
    return client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{rel}")["Body"].read()


def test_a_stale_delete_is_a_conflict_and_leaves_the_pair_whole(tmp_path, s3_server, s3_client):
    alice = make_workspace(tmp_path / "alice", s3_server, train=3, test=0)
    assert push(alice, URI).uploaded == 3
    bob = tmp_path / "bob"
    assert pull(URI, bob, endpoint_url=s3_server).uploaded == 3

    edit_mask(alice, "tile_00001", value=5)               # alice edits and syncs ...
    assert push(alice).uploaded == 1
    for rel in (IMAGE, MASK):                             # ... bob, on the old version, deletes the tile
        (bob / rel).unlink()
    stale = run_process(["sync", str(bob), "--delete", "--no-progress"])
    assert stale.returncode == 1, stale.stderr
    assert "tile_00001" in stale.stderr and "changed remotely" in stale.stderr
    assert "Traceback" not in stale.stderr
    remote = remote_objects(s3_client)
    assert IMAGE in remote and MASK in remote                         # the image stays with its mask
    assert remote_bytes(s3_client, MASK) == (alice / MASK).read_bytes()
    assert [c.stem for c in list_conflicts(bob)] == ["tile_00001"]

    again = push(bob, delete=True)        # still in conflict: named again, nothing deleted
    assert again.conflict_stems == ["tile_00001"] and again.deleted == 0
    assert IMAGE in remote_objects(s3_client)

    plain = run_process(["sync", str(alice), "--no-progress"])   # alice's S3 is whole: nothing to do
    assert plain.returncode == 0 and plain.stdout.splitlines()[-1] == "uploaded=0 unchanged=3 conflicts=0 failed=0"
    client = make_s3_client(WorkspaceSettings.load(alice).s3)
    counter = RequestCounter(client)
    assert push(alice, client=client).exit_code == 0
    assert counter.calls["HeadBucket"] == 1 and counter.calls["HeadObject"] == 1   # asked S3, not its records

    # bob resolves by keeping his deletion: the pair goes, mask first
    resolved = run_process(["sync", str(bob), "--delete", "--resolve", "keep-mine", "tile_00001", "--no-progress"])
    assert resolved.returncode == 0, resolved.stderr
    remote = remote_objects(s3_client)
    assert IMAGE not in remote and MASK not in remote and len(remote) == 4
    assert list_conflicts(bob) == []


def test_deleting_only_the_local_image_deletes_the_remote_pair_mask_first(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=2, test=0)
    push(root, URI)
    (root / IMAGE).unlink()                        # the mask file is left behind locally
    client = make_s3_client(WorkspaceSettings.load(root).s3)
    counter = RequestCounter(client)
    report = push(root, delete=True, client=client)
    assert report.deleted == 2 and report.exit_code == 0
    remote = remote_objects(s3_client)
    assert IMAGE not in remote and MASK not in remote
    deletes = [url.rsplit("/", 1)[-1] for url, h in counter.headers if h.get("If-Match")]
    assert deletes == ["tile_00001.png", "tile_00001.jpg"]   # mask first, both conditional


def test_a_mask_delete_that_fails_keeps_the_image(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=2, test=0)
    push(root, URI)
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{MASK}", Body=b"someone else's mask")
    for rel in (IMAGE, MASK):
        (root / rel).unlink()
    report = push(root, delete=True)
    assert (report.deleted, report.conflicts) == (0, 1)
    assert remote_bytes(s3_client, MASK) == b"someone else's mask"
    assert IMAGE in remote_objects(s3_client)


def test_plain_sync_puts_back_a_missing_remote_image_of_a_pair_it_touches(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=2, test=0)
    push(root, URI)
    s3_client.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{IMAGE}")   # S3 now holds the mask alone
    edit_mask(root, "tile_00001", value=6)
    report = push(root)
    assert report.summary() == "uploaded=1 unchanged=1 conflicts=0 failed=0"
    assert remote_bytes(s3_client, IMAGE) == (root / IMAGE).read_bytes()
    assert remote_bytes(s3_client, MASK) == (root / MASK).read_bytes()


def test_a_refused_deletion_can_be_undone_by_taking_theirs(tmp_path, s3_server, s3_client):
    alice = make_workspace(tmp_path / "alice", s3_server, train=2, test=0)
    push(alice, URI)
    bob = tmp_path / "bob"
    pull(URI, bob, endpoint_url=s3_server)
    edit_mask(alice, "tile_00001", value=5)
    push(alice)
    for rel in (IMAGE, MASK):
        (bob / rel).unlink()
    assert push(bob, delete=True).conflict_stems == ["tile_00001"]
    take_theirs(bob, "tile_00001")                  # bob changes his mind: alice's version comes back
    assert (bob / MASK).read_bytes() == (alice / MASK).read_bytes()
    assert (bob / IMAGE).read_bytes() == (alice / IMAGE).read_bytes()
    assert list_conflicts(bob) == []
    report = push(bob, delete=True)
    assert report.summary() == "uploaded=0 unchanged=2 conflicts=0 failed=0" and report.deleted == 0


def test_an_image_saved_under_another_extension_keeps_its_remote_mask(tmp_path, s3_server, s3_client):
    """tile.jpg replaced by tile.png keeps the same mask key: --delete removes the old image only,
    and the mask the new pair uses is neither deleted nor a conflict."""
    from PIL import Image

    root = make_workspace(tmp_path / "ws", s3_server, train=2, test=0)
    push(root, URI)
    new_image = "train/images/tile_00001.png"
    Image.open(root / IMAGE).save(root / new_image)
    (root / IMAGE).unlink()
    report = push(root, delete=True)
    assert report.exit_code == 0 and report.conflicts == 0, report.errors
    assert report.deleted == 1
    remote = remote_objects(s3_client)
    assert IMAGE not in remote and new_image in remote and MASK in remote
    assert remote_bytes(s3_client, MASK) == (root / MASK).read_bytes()
    assert push(root, delete=True).summary() == "uploaded=0 unchanged=2 conflicts=0 failed=0"


def test_the_resolve_hint_is_a_command_that_pastes_as_it_is():
    from pathlib import Path

    from roadseg_gui.core.sync.push import resolve_hint

    hint = resolve_hint(Path("/data/my workspace"), "tile 7 (copy)")
    assert "`roadseg sync '/data/my workspace' --resolve keep-mine|take-theirs 'tile 7 (copy)'`" in hint
