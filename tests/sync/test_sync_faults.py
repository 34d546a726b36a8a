"""Faults: the server vanishing mid-push, and the sync process killed with SIGKILL mid-push.

"Converges" is checked honestly: right after the fault the remote holds no mask
without its image and no object whose bytes differ from the local file; after one
more ordinary run the remote holds exactly the local pairs, byte for byte, every
tile is synced, and nothing was flagged as a conflict.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import boto3

from roadseg_gui.core import statedb
from roadseg_gui.core.sync import pending_pairs, push

from sync_helpers import BUCKET, PREFIX, URI, local_files, make_bucket, make_workspace, remote_objects


def assert_no_orphans_or_torn_objects(client, root):
    remote = remote_objects(client)
    for rel in remote:
        data = client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{rel}")["Body"].read()
        assert data == (root / rel).read_bytes(), f"torn or foreign object {rel}"
        if "/masks/" in rel:
            split, _, name = rel.split("/")
            stem = name[:-4]
            assert any(r.startswith(f"{split}/images/{stem}.") for r in remote), f"orphan mask {rel}"
    return remote


def assert_converged(client, root):
    remote = assert_no_orphans_or_torn_objects(client, root)
    assert set(remote) == local_files(root)
    assert pending_pairs(root) == []
    statuses = {r[0] for r in statedb.connect(root).execute("SELECT status FROM tiles")}
    assert statuses == {"synced"}


def test_server_vanishing_mid_push_then_rerun_converges(tmp_path, restartable_server, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")   # keep the doomed retries short
    server = restartable_server
    make_bucket(server.endpoint)
    root = make_workspace(tmp_path / "ws", server.endpoint, train=24, test=6)
    cut_at = []

    def progress(p):
        if p.files_done >= 12 and not cut_at:
            cut_at.append(p.files_done)
            server.stop()

    first = push(root, URI, progress=progress, workers=3)
    assert cut_at, "the server was never stopped"
    assert first.failed > 0 and first.uploaded < 30
    assert any("cannot reach S3" in e for e in first.errors), first.errors
    assert first.exit_code == 1

    server.start()
    client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")
    assert_no_orphans_or_torn_objects(client, root)
    second = push(root)
    assert (second.failed, second.conflicts) == (0, 0), second.errors
    assert second.uploaded + second.unchanged == 30
    assert second.uploaded <= 30 - first.uploaded   # finished pairs are not sent again
    assert_converged(client, root)


def test_sync_killed_mid_push_then_rerun_converges_without_false_conflicts(tmp_path, s3_server, s3_client):
    root = make_workspace(tmp_path / "ws", s3_server, train=64, test=16)
    command = [sys.executable, "-c", "import sys; from roadseg_gui.core.sync import push; "
               "push(sys.argv[1], sys.argv[2], workers=1)", str(root), URI]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            count = s3_client.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("KeyCount", 0)
            if count >= 30 or proc.poll() is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sync finished before it could be killed; use more tiles"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    remote_at_kill = assert_no_orphans_or_torn_objects(s3_client, root)
    assert 0 < len(remote_at_kill) < 160

    report = push(root)
    assert (report.failed, report.conflicts) == (0, 0), report.errors
    assert report.uploaded + report.unchanged == 80
    assert_converged(s3_client, root)


def test_a_server_that_lost_its_data_is_refilled_by_verify(tmp_path, s3_server, s3_client):
    """A restart *without* durable storage: the incremental push trusts its records and sends
    nothing (it never lists); --verify lists once and converges the remote again."""
    from sync_helpers import make_bucket

    root = make_workspace(tmp_path / "ws", s3_server, train=3, test=1)
    push(root, URI)
    client = make_bucket(s3_server)   # moto reset: every object gone, the bucket recreated empty
    assert push(root).uploaded == 0
    report = push(root, verify=True)
    assert report.summary() == "uploaded=4 unchanged=0 conflicts=0 failed=0"
    assert_converged(client, root)
