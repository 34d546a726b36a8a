"""Review flow helpers: people (annotators, reviewers) each with their own workspace and `roadseg` processes."""

from __future__ import annotations

import json
from pathlib import Path

from roadseg_gui.core.settings import WorkspaceSettings
from sync_helpers import BUCKET, PREFIX, URI, make_workspace, run_process


def configure(root: Path, endpoint: str, name: str, require_review: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    settings = WorkspaceSettings.load(root)
    settings.annotator, settings.review.require_review = name, require_review
    settings.s3.endpoint_url = endpoint
    settings.save(root)
    return root


def annotator_workspace(root: Path, endpoint: str, name: str, require_review: bool) -> tuple[Path, str]:
    make_workspace(root, endpoint, train=1, test=0)
    configure(root, endpoint, name, require_review)
    return root, next((root / "train" / "masks").glob("*.png")).stem


def roadseg(*argv, ok: bool = True):
    result = run_process([str(a) for a in argv])
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def sync(root: Path, ok: bool = True):
    return roadseg("sync", root, "--to", URI, "--no-progress", ok=ok)


def pull(root: Path, endpoint: str, ok: bool = True):
    return roadseg("pull", URI, root, "--endpoint-url", endpoint, "--no-progress", ok=ok)


def remote_record(client, stem: str, split: str = "train") -> dict:
    body = client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/review/{split}/{stem}.json")["Body"].read()
    return json.loads(body)


def remote_bytes(client, relpath: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{relpath}")["Body"].read()
