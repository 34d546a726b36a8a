"""push() against a real moto S3 server: initial, incremental, dry run, SSE, multipart."""

from __future__ import annotations

import hashlib

import pytest

from roadseg_gui.core import statedb
from roadseg_gui.core.settings import WorkspaceSettings
from roadseg_gui.core.sync import make_s3_client, pending_pairs, push

from sync_helpers import BUCKET, PREFIX, URI, RequestCounter, edit_mask, local_files, make_workspace, remote_objects


def counted_client(root):
    client = make_s3_client(WorkspaceSettings.load(root).s3)
    return client, RequestCounter(client)


def test_initial_push_sends_every_pair_image_first_with_if_none_match(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server)
    client, counter = counted_client(root)
    report = push(root, URI, client=client, workers=4)

    assert report.summary() == "uploaded=8 unchanged=0 conflicts=0 failed=0"
    assert report.exit_code == 0
    remote = remote_objects(s3_client)
    assert set(remote) == local_files(root)
    for rel in remote:  # byte for byte, and carrying our content hash
        body = s3_client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{rel}")
        data = body["Body"].read()
        assert data == (root / rel).read_bytes()
        assert body["Metadata"]["roadseg-sha256"] == hashlib.sha256(data).hexdigest()
    puts = [(url, h) for url, h in counter.headers if "/images/" in url or "/masks/" in url]
    assert len(puts) == 16 and all(h.get("If-None-Match") == "*" for _, h in puts)
    order = [url.rsplit("/", 1)[-1] for url, _ in puts]
    for stem in {name.split(".")[0] for name in order}:
        assert order.index(f"{stem}.jpg") < order.index(f"{stem}.png"), "mask sent before its image"
    conn = statedb.connect(root)
    assert {r["status"] for r in conn.execute("SELECT status FROM tiles")} == {"synced"}
    assert WorkspaceSettings.load(root).s3.bucket == BUCKET   # destination remembered
    assert pending_pairs(root) == []


def test_repush_after_editing_k_masks_sends_exactly_those(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server)
    push(root, URI)
    before = remote_objects(s3_client)
    edited = ["tile_00001", "tile_00004", "tile_00007"]
    for i, stem in enumerate(edited):
        edit_mask(root, stem, value=i + 3)
    assert pending_pairs(root) == edited

    client, counter = counted_client(root)
    report = push(root, client=client)   # destination remembered from the first push
    assert report.summary() == "uploaded=3 unchanged=5 conflicts=0 failed=0"
    # no listing: the bucket, each touched pair's unsent image, and one unchanged object (loss check)
    assert counter.calls == {"HeadBucket": 1, "HeadObject": 4, "PutObject": 3}, counter.calls
    for url, headers in counter.puts():
        if "/masks/" in url:
            stem = url.rsplit("/", 1)[-1][:-4]
            split = "test" if stem == "tile_00007" else "train"
            assert headers["If-Match"] == before[f"{split}/masks/{stem}.png"]
    after = remote_objects(s3_client)
    changed = {rel for rel in after if after[rel] != before[rel]}
    assert changed == {f"{'test' if s == 'tile_00007' else 'train'}/masks/{s}.png" for s in edited}

    client, counter = counted_client(root)
    report = push(root, client=client)
    assert report.summary() == "uploaded=0 unchanged=8 conflicts=0 failed=0"
    assert counter.calls == {"HeadBucket": 1, "HeadObject": 1}   # nothing changed: still asks S3, cheaply


def test_dry_run_prints_the_plan_and_sends_nothing(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server)
    client, counter = counted_client(root)
    report = push(root, URI, dry_run=True, client=client)
    assert counter.calls == {}
    assert remote_objects(s3_client) == {}
    assert report.plan[0].startswith(f"plan for {URI}: 8 pairs to send (16 files")
    assert any("put train/masks/tile_00000.png" in line and "If-None-Match" in line for line in report.plan)
    assert WorkspaceSettings.load(root).s3.bucket == ""   # a dry run changes nothing, settings included


@pytest.mark.parametrize("sse, key_id", [("AES256", ""), ("aws:kms", "alias/roadseg")])
def test_server_side_encryption_is_requested_when_configured(tmp_path, s3_server, s3_client, sse, key_id):
    root = make_workspace(tmp_path / "ws", s3_server, train=1, test=0)
    settings = WorkspaceSettings.load(root)
    settings.s3.sse, settings.s3.kms_key_id = sse, key_id
    settings.save(root)
    assert push(root, URI).uploaded == 1
    for rel in remote_objects(s3_client):
        head = s3_client.head_object(Bucket=BUCKET, Key=f"{PREFIX}/{rel}")
        assert head["ServerSideEncryption"] == sse
        if key_id:
            assert head["SSEKMSKeyId"].endswith(key_id)


def test_large_files_go_multipart_and_keep_the_conditional_write(tmp_path, s3_server, s3_client):
    mine = make_workspace(tmp_path / "mine", s3_server, train=2, test=0)
    theirs = make_workspace(tmp_path / "theirs", s3_server, train=2, test=0)
    edit_mask(theirs, "tile_00001", value=9)
    client, counter = counted_client(mine)
    assert push(mine, URI, client=client, multipart_threshold=0).uploaded == 2
    assert counter.calls["CompleteMultipartUpload"] == 4 and "PutObject" not in counter.calls
    completes = [h for url, h in counter.headers if "uploadId=" in url and h.get("If-None-Match")]
    assert len(completes) == 4

    report = push(theirs, URI, multipart_threshold=0)   # same stems, one mask differs
    assert (report.unchanged, report.conflicts) == (1, 1)
    data = s3_client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/train/masks/tile_00001.png")["Body"].read()
    assert data == (mine / "train/masks/tile_00001.png").read_bytes()


def test_deletions_only_with_delete_and_only_of_what_this_workspace_synced(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=3, test=0)
    push(root, URI)
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/train/images/someone_elses.jpg", Body=b"x")
    for rel in ("train/images/tile_00001.jpg", "train/masks/tile_00001.png"):
        (root / rel).unlink()

    assert push(root).summary() == "uploaded=0 unchanged=2 conflicts=0 failed=0"
    assert "train/masks/tile_00001.png" in remote_objects(s3_client)      # never deleted unasked

    dry = push(root, dry_run=True, delete=True)
    assert dry.plan[-2:] == ["  delete train/masks/tile_00001.png", "  delete train/images/tile_00001.jpg"]
    report = push(root, delete=True)
    assert report.deleted == 2 and report.exit_code == 0
    remote = remote_objects(s3_client)
    assert "train/masks/tile_00001.png" not in remote and "train/images/tile_00001.jpg" not in remote
    assert "train/images/someone_elses.jpg" in remote and len(remote) == 5


def test_multipart_update_of_a_remotely_changed_object_is_a_conflict(tmp_path, s3_server, s3_client):
    # S3 checks If-Match on CompleteMultipartUpload; moto 5 does not, so push also HEADs first.
    root = make_workspace(tmp_path / "ws", s3_server, train=1, test=0)
    push(root, URI, multipart_threshold=0)
    key = f"{PREFIX}/train/masks/tile_00000.png"
    s3_client.put_object(Bucket=BUCKET, Key=key, Body=b"someone else's mask")
    edit_mask(root, "tile_00000", value=3)
    report = push(root, multipart_threshold=0)
    assert (report.uploaded, report.conflicts) == (0, 1)
    assert s3_client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"someone else's mask"
    assert s3_client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
