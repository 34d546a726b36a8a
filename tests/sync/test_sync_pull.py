"""pull(): pairs in, unlabeled images in, hostile keys refused, local edits never overwritten."""

from __future__ import annotations

import numpy as np

from roadseg_gui.core import statedb
from roadseg_gui.core.settings import WorkspaceSettings
from roadseg_gui.core.sync import make_s3_client, pull, push
from roadseg_gui.core.workspace import Workspace, split_for

from sync_helpers import BUCKET, PREFIX, URI, RequestCounter, edit_mask, local_files, make_workspace, remote_objects

HOSTILE = [
    f"{PREFIX}/train/images/../../evil.jpg",
    f"{PREFIX}/train/images/../../../evil2.jpg",
    f"{PREFIX}/train/images//x.jpg",
    f"{PREFIX}/train/images/..\\..\\evil3.jpg",
    f"{PREFIX}/train\\images\\evil4.jpg",
    f"{PREFIX}//etc/passwd",
    f"{PREFIX}/train/masks/./evil5.png",
    f"{PREFIX}/train/images/..",
]


def test_pull_brings_pairs_and_unlabeled_images_and_refuses_hostile_keys(tmp_path, s3_server, s3_client):
    source = make_workspace(tmp_path / "source", s3_server)
    push(source, URI)
    for key in HOSTILE:
        s3_client.put_object(Bucket=BUCKET, Key=key, Body=b"not yours")
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/train/images/lonely.jpg",
                         Body=(source / "train/images/tile_00000.jpg").read_bytes())
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/test/masks/orphan.png", Body=b"mask only")
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/README.txt", Body=b"not part of the layout")

    target = tmp_path / "sandbox" / "target"
    report = pull(URI, target, endpoint_url=s3_server)

    assert report.summary("downloaded") == "downloaded=9 unchanged=0 conflicts=0 failed=0 refused=9"
    assert report.exit_code == 1
    refused = "\n".join(report.errors)
    for key in HOSTILE:
        assert repr(key) in refused
    assert "orphan.png is a mask without its image" in refused
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert not any("evil" in p or "passwd" in p or p.endswith("/x.jpg") for p in written)
    assert local_files(target) == local_files(source)
    for rel in local_files(source):
        assert (target / rel).read_bytes() == (source / rel).read_bytes()
    assert (target / "unlabeled/lonely.jpg").exists()
    conn = statedb.connect(target)
    rows = {r["stem"]: r["status"] for r in conn.execute("SELECT stem, status FROM tiles")}
    assert rows.pop("lonely") == "new" and set(rows.values()) == {"synced"} and len(rows) == 8
    assert WorkspaceSettings.load(target).s3.uri == URI   # the first pull names the push destination

    again = pull(URI, target)
    assert (again.uploaded, again.unchanged) == (0, 9)

    # the ETags recorded by the pull make the next push an If-Match update
    edit_mask(target, "tile_00002", value=4)
    pulled_etag = s3_client.head_object(Bucket=BUCKET, Key=f"{PREFIX}/train/masks/tile_00002.png")["ETag"]
    client = make_s3_client(WorkspaceSettings.load(target).s3)
    counter = RequestCounter(client)
    assert push(target, client=client).summary() == "uploaded=1 unchanged=7 conflicts=0 failed=0"
    puts = [h for url, h in counter.headers if url.endswith("tile_00002.png")]
    assert len(puts) == 1 and puts[0].get("If-Match") == pulled_etag


def test_pull_takes_remote_changes_but_never_overwrites_unsynced_local_edits(tmp_path, s3_server, s3_client):
    alice = make_workspace(tmp_path / "alice", s3_server)
    push(alice, URI)
    bob = tmp_path / "bob"
    pull(URI, bob, endpoint_url=s3_server)

    edit_mask(alice, "tile_00001", value=2)    # both edit tile 1
    edit_mask(alice, "tile_00003", value=6)    # only alice edits tile 3
    push(alice)
    bobs = edit_mask(bob, "tile_00001", value=9).read_bytes()

    report = pull(URI, bob)
    assert report.summary("downloaded") == "downloaded=1 unchanged=6 conflicts=1 failed=0"
    assert (bob / "train/masks/tile_00001.png").read_bytes() == bobs
    assert (bob / "train/masks/tile_00003.png").read_bytes() == (alice / "train/masks/tile_00003.png").read_bytes()
    statuses = {r["stem"]: r["status"] for r in statedb.connect(bob).execute("SELECT stem, status FROM tiles")}
    assert statuses["tile_00001"] == "conflict" and statuses["tile_00003"] == "synced"
    assert push(bob).conflicts == 1           # still reported, still not sent
    remote = s3_client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/train/masks/tile_00001.png")["Body"].read()
    assert remote == (alice / "train/masks/tile_00001.png").read_bytes()


def test_a_pulled_unlabeled_image_is_accepted_into_its_remote_split(tmp_path, s3_server, s3_client):
    source = make_workspace(tmp_path / "source", s3_server, train=1, test=1)
    push(source, URI)
    stem = next(f"lonely_{i}" for i in range(1000) if split_for(f"lonely_{i}", 0.1) == "test")
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/train/images/{stem}.jpg",
                         Body=(source / "train/images/tile_00000.jpg").read_bytes())
    target = tmp_path / "target"
    pull(URI, target, endpoint_url=s3_server)
    assert (target / "unlabeled" / f"{stem}.jpg").exists()

    ws = Workspace.open(target)
    ws.scan()   # a rescan sees it in unlabeled/ and must not forget where S3 keeps it
    assert ws.tile(stem).split is None and ws.tile(stem).remote_split == "train"
    assert ws.accept(stem, np.ones((32, 32), bool)) == "train"
    ws.close()
    report = push(target)
    assert report.failed == 0 and report.conflicts == 0
    remote = remote_objects(s3_client)
    assert f"train/masks/{stem}.png" in remote and f"train/images/{stem}.jpg" in remote
    assert not any(key.startswith("test/") and stem in key for key in remote)
