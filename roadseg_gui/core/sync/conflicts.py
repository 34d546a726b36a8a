"""Resolving a conflict: keep mine, take theirs, or fetch theirs to compare side by side.

keep_mine records the remote's current ETags as the ones last seen, so the next
push overwrites them with If-Match (and still conflicts if the remote moves again).
For a refused deletion (the tile is gone here) it does the same, so the next
``sync --delete`` deletes the remote pair with If-Match on its current ETags.
take_theirs downloads the remote pair over the local one (atomically) and drops
this workspace's unsaved working edit of the tile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..layout import STATE_DIR, UNLABELED
from ..settings import WorkspaceSettings
from ..statedb import TileStatus, set_status, transaction
from . import state
from .client import destination_of, make_s3_client
from .errors import SyncError, describe
from .keys import local_path, object_key, parse_key
from .plan import scan_pairs
from .transfer import download, head

THEIRS_DIR = "sync/theirs"


@dataclass(frozen=True)
class RemotePair:
    image_key: str
    mask_key: str
    image_rel: str
    mask_rel: str


def list_conflicts(root) -> list[state.Conflict]:
    root = Path(root)
    dest = destination_of(WorkspaceSettings.load(root).s3)
    if dest is None:
        return []
    conn = state.connect(root)
    try:
        return state.conflicts(conn, dest.state_key)
    finally:
        conn.close()


def keep_mine(root, stem: str, client=None) -> None:
    root, settings, dest, client = _context(root, client)
    local = {p.stem: p for p in scan_pairs(root)[0]}.get(stem)
    conn = state.connect(root)
    try:
        if local is not None:
            mine = (local.image, local.mask)
        elif stem in {c.stem for c in state.conflicts(conn, dest.state_key)}:   # keep my deletion
            mine = tuple(sorted(rel for rel in state.synced_objects(conn, dest.state_key)
                                if PurePosixPath(rel).stem == stem))
        else:
            raise SyncError(f"'{stem}' has no local image/mask pair to keep", "Accept the tile first")
        rows, gone = [], []
        for rel in mine:
            found = _head(client, dest, object_key(dest.prefix, rel))
            if found is None:
                gone.append(rel)
            else:   # an impossible hash: the next push sends ours with If-Match on theirs
                rows.append((rel, "kept-local-over-remote", found["ETag"]))
        state.record_objects(conn, dest.state_key, rows)
        state.forget_objects(conn, dest.state_key, gone)
        state.clear_conflict(conn, dest.state_key, stem)
        if local is not None:
            set_status(conn, [stem], TileStatus.ACCEPTED)
    finally:
        conn.close()


def take_theirs(root, stem: str, client=None) -> None:
    root, settings, dest, client = _context(root, client)
    remote = _remote_pair(client, dest, stem)
    conn = state.connect(root)
    try:
        rows = []
        for key, rel in ((remote.image_key, remote.image_rel), (remote.mask_key, remote.mask_rel)):
            try:
                sha, etag, _ = download(client, dest.bucket, key, local_path(root, rel))
            except Exception as exc:
                raise describe(exc, bucket=dest.bucket) from None
            rows.append((rel, sha, etag))
        state.record_objects(conn, dest.state_key, rows)
        _drop_local_copies(root, stem, keep=(remote.image_rel, remote.mask_rel))
        with transaction(conn):
            conn.execute("INSERT OR IGNORE INTO tiles(stem, image, split, status) VALUES (?, ?, ?, 'synced')",
                         (stem, remote.image_rel, remote.image_rel.split("/")[0]))
            conn.execute("UPDATE tiles SET image=?, split=? WHERE stem=?",
                         (remote.image_rel, remote.image_rel.split("/")[0], stem))
        state.clear_conflict(conn, dest.state_key, stem)
        set_status(conn, [stem], TileStatus.SYNCED)
    finally:
        conn.close()


def fetch_theirs(root, stem: str, client=None) -> tuple[Path, Path]:
    """Download the remote pair beside the workspace state for a side-by-side view."""
    root, settings, dest, client = _context(root, client)
    remote = _remote_pair(client, dest, stem)
    folder = root / STATE_DIR / THEIRS_DIR
    paths = []
    for key, rel in ((remote.image_key, remote.image_rel), (remote.mask_key, remote.mask_rel)):
        target = folder / rel   # split/kind/name: no longer than the name itself
        try:
            download(client, dest.bucket, key, target)
        except Exception as exc:
            raise describe(exc, bucket=dest.bucket) from None
        paths.append(target)
    return paths[0], paths[1]


def _context(root, client):
    root = Path(root)
    settings = WorkspaceSettings.load(root)
    dest = destination_of(settings.s3)
    if dest is None:
        raise SyncError("this workspace has no S3 destination", "Sync it once with --to s3://BUCKET/PREFIX")
    return root, settings, dest, client or make_s3_client(settings.s3)


def _head(client, dest, key):
    try:
        return head(client, dest.bucket, key)
    except Exception as exc:
        raise describe(exc, bucket=dest.bucket) from None


def _remote_pair(client, dest, stem: str) -> RemotePair:
    """Find STEM's image and mask under the prefix (either split), validating every key."""
    found: dict[str, str] = {}
    for split in ("train", "test"):
        for kind in ("images", "masks"):
            prefix = object_key(dest.prefix, f"{split}/{kind}/{stem}.")
            try:
                listing = client.list_objects_v2(Bucket=dest.bucket, Prefix=prefix)
            except Exception as exc:
                raise describe(exc, bucket=dest.bucket) from None
            for obj in listing.get("Contents", []):
                path = parse_key(dest.prefix, obj["Key"])
                if path and path.stem == stem and (kind == "images" or path.name.endswith(".png")):
                    found.setdefault(kind, obj["Key"])
        if "images" in found and "masks" in found:
            image, mask = parse_key(dest.prefix, found["images"]), parse_key(dest.prefix, found["masks"])
            return RemotePair(found["images"], found["masks"], image.relpath, mask.relpath)
        found.clear()
    raise SyncError(f"S3 holds no image/mask pair for '{stem}' under {dest.uri}",
                    "Choose keep mine to upload this workspace's version")


def _drop_local_copies(root: Path, stem: str, keep: tuple[str, ...]) -> None:
    """Remove this workspace's other copies of the tile (other split, unlabeled, working edit)."""
    for folder in ("train/images", "test/images", "train/masks", "test/masks", UNLABELED):
        directory = root / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            rel = path.relative_to(root).as_posix()
            if path.stem == stem and path.is_file() and rel not in keep:
                path.unlink(missing_ok=True)
    (root / STATE_DIR / "edits" / f"{stem}.png").unlink(missing_ok=True)
