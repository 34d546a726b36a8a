"""Key validation (pure) and the `roadseg sync` / `roadseg pull` commands end to end."""

from __future__ import annotations

import pytest

from roadseg_gui.core.settings import WorkspaceSettings
from roadseg_gui.core.sync.keys import LayoutPath, UnsafeKeyError, local_path, parse_key

from sync_helpers import BUCKET, PREFIX, URI, edit_mask, make_workspace, remote_objects, run_cli


@pytest.mark.parametrize("key, expected", [
    ("p/train/images/a.jpg", LayoutPath("train", "images", "a.jpg")),
    ("p/test/masks/a b é.png", LayoutPath("test", "masks", "a b é.png")),
    ("p/train/images/", None),            # folder markers
    ("p/train/images/a.jpg/", None),
    ("p/model/model.tar.gz", None),       # outside the layout: ignored, not refused
    ("p/train/labels/a.png", None),
])
def test_layout_keys(key, expected):
    assert parse_key("p", key) == expected


@pytest.mark.parametrize("key", [
    "p/train/images/../../evil.jpg", "p/train/images//x.jpg", "p/train/images/a\\b.jpg",
    "p//train/images/a.jpg", "p/./train/images/a.jpg", "p/train/images/..", "other/train/images/a.jpg",
    "p/train/images/.hidden.jpg", "p/train/images/tab\there.jpg",
])
def test_hostile_keys_are_refused(key):
    with pytest.raises(UnsafeKeyError):
        parse_key("p", key)


def test_pairing_rule_matches_the_trainers():
    from roadseg_gui.core.sync import plan
    from trainer import imageio
    assert plan.IMAGE_SUFFIXES == imageio.IMAGE_SUFFIXES and plan.MASK_SUFFIX == imageio.MASK_SUFFIX
    for name in ("a.JPG", "b.tif", ".c.jpg", "d.txt", ".e.png.tmp", "f.jpeg"):
        assert plan.is_image_file(name) == imageio.is_image_file(name)


def test_local_path_never_leaves_the_workspace(tmp_path):
    assert local_path(tmp_path, "train/images/a.jpg") == (tmp_path / "train/images/a.jpg").resolve()
    (tmp_path / "train").mkdir()
    (tmp_path / "train/images").symlink_to(tmp_path.parent)   # a planted symlink
    with pytest.raises(UnsafeKeyError):
        local_path(tmp_path, "train/images/a.jpg")


def test_cli_sync_remembers_the_destination_and_exits_by_outcome(tmp_path, s3_server, s3_client, capsys):
    root = make_workspace(tmp_path / "ws", s3_server)
    assert run_cli(["sync", str(root), "--dry-run", "--to", URI, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "put train/images/tile_00000.jpg" in out
    assert out.rstrip().endswith("(dry run: nothing sent; 8 pairs would be)")
    assert remote_objects(s3_client) == {}

    assert run_cli(["sync", str(root), "--to", URI, "--no-progress"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "uploaded=8 unchanged=0 conflicts=0 failed=0"
    assert WorkspaceSettings.load(root).s3.uri == URI

    edit_mask(root, "tile_00002", value=7)
    assert run_cli(["sync", str(root), "--no-progress"]) == 0   # no --to: the remembered one
    assert capsys.readouterr().out.splitlines()[-1] == "uploaded=1 unchanged=7 conflicts=0 failed=0"

    other = make_workspace(tmp_path / "other", s3_server, seed=1)   # different tiles, same stems
    assert run_cli(["sync", str(other), "--to", URI, "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == "uploaded=0 unchanged=0 conflicts=8 failed=0"
    assert "conflict: " in captured.err


def test_cli_pull_reports_refused_keys_by_name(tmp_path, s3_server, s3_client, capsys):
    source = make_workspace(tmp_path / "source", s3_server, train=2, test=0)
    assert run_cli(["sync", str(source), "--to", URI, "--no-progress"]) == 0
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/train/images/../../evil.jpg", Body=b"x")
    capsys.readouterr()
    code = run_cli(["pull", URI, str(tmp_path / "target"), "--endpoint-url", s3_server, "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.splitlines()[-1] == "downloaded=2 unchanged=0 conflicts=0 failed=0 refused=1"
    assert "refused: key 'sagemaker/seg-data/train/images/../../evil.jpg'" in captured.err
    assert not (tmp_path / "evil.jpg").exists()


def test_cli_bad_destination_is_one_sentence(tmp_path, capsys):
    (tmp_path / "ws").mkdir()
    assert run_cli(["sync", str(tmp_path / "ws"), "--to", "bucket/prefix"]) == 1
    assert capsys.readouterr().err == "error: 'bucket/prefix' is not an S3 URI. Write it as s3://BUCKET/PREFIX\n"
    assert run_cli(["sync", str(tmp_path / "ws")]) == 1
    assert "has no S3 destination yet" in capsys.readouterr().err
