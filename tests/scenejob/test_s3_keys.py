"""Scene keys listed from S3 become local paths (job outputs, review copies): none may climb out."""

from __future__ import annotations

import pytest

from trainer.errors import BadInputError
from trainer.scenejob import s3io


class _Listing:
    """Just enough of an S3 client for list_objects_v2 pagination."""

    def __init__(self, keys):
        self.keys = keys

    def get_paginator(self, _name):
        return self

    def paginate(self, Bucket, Prefix):  # noqa: N803 - boto3's names
        return [{"Contents": [{"Key": k, "Size": 1} for k in self.keys if k.startswith(Prefix)]}]


def test_scene_keys_leave_out_keys_that_climb_out_of_the_prefix():
    s3 = _Listing(["scenes/a.tif", "scenes/city/b.tif", "scenes/../../etc/c.tif", "scenes/x/../../d.tif",
                   "scenes//e.tif", "scenes/./f.tif", "scenes/notes.txt"])
    assert s3io.scene_keys(s3, "s3://bucket/scenes") == ["a.tif", "city/b.tif"]


def test_only_unsafe_keys_is_no_scene():
    with pytest.raises(BadInputError, match="holds no scene"):
        s3io.scene_keys(_Listing(["scenes/../up.tif"]), "s3://bucket/scenes/")


def test_remote_input_with_a_local_output_never_predicts_a_climbing_key(tmp_path, monkeypatch):
    """``python -m trainer.scenejob --input s3://… --output DIR`` lists through scene_keys too."""
    from trainer.scenejob import __main__ as entry

    seen = []
    monkeypatch.setattr(entry, "run_scenes", lambda scenes, *a, **k: seen.extend(scenes) or entry.JobSummary())
    monkeypatch.setattr("trainer.predict.Predictor", lambda *a, **k: type("P", (), {"describe": lambda s: "p"})())
    entry.run("s3://bucket/scenes/", str(tmp_path / "model"), str(tmp_path / "out"), entry.JobOptions(),
              s3=_Listing(["scenes/ok.tif", "scenes/../../../../tmp/evil.tif"]))
    assert seen == ["ok.tif"]


def test_output_inside_input_for_prefixes_and_folders(tmp_path):
    from trainer.scenejob.contract import output_inside_input

    assert output_inside_input("s3://b/scenes", "s3://b/scenes/out/")
    assert output_inside_input("s3://b/scenes/", "s3://b/scenes")
    assert not output_inside_input("s3://b/scenes", "s3://b/scenes2/")
    assert not output_inside_input("s3://b/scenes", "s3://c/scenes/")
    assert not output_inside_input("s3://b/scenes", str(tmp_path / "scenes"))
    assert output_inside_input(str(tmp_path / "a"), str(tmp_path / "a" / "out"))
    assert output_inside_input(str(tmp_path / "a"), str(tmp_path / "a" / "x" / ".."))
    assert not output_inside_input(str(tmp_path / "a"), str(tmp_path / "ab"))
