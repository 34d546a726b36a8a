"""Scene names become output paths (job outputs, review copies): none may climb out or be shared."""

from __future__ import annotations

from pathlib import Path

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
    fake = type("P", (), {"describe": lambda s: "p", "version": "v1", "threshold": 0.5})
    monkeypatch.setattr("trainer.predict.Predictor", lambda *a, **k: fake())
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


class _FakePredictor:
    """Writes a small mask named after the scene, as Predictor.predict_scene does."""

    def predict_scene(self, source, staging, **_):
        mask = Path(staging) / f"{Path(source).stem}_mask.tif"
        mask.write_bytes(Path(source).read_bytes())
        return type("Result", (), {"mask": mask, "probability": None})()


def test_two_scenes_with_one_output_name_never_share_outputs(tmp_path):
    """a.tif and a.vrt (a VRT beside its GeoTIFF is common) both make a_mask.tif and a.done.json: the
    second is a failure with its reason, never 'already complete' on the first one's marker."""
    from trainer.scenejob.runner import JobOptions, run_scenes

    scenes = tmp_path / "in"
    scenes.mkdir()
    (scenes / "a.tif").write_bytes(b"tif")
    (scenes / "a.vrt").write_bytes(b"vrt")
    for _ in range(2):   # the rerun too
        summary = run_scenes(["a.tif", "a.vrt"], lambda rel, _f: scenes / rel, tmp_path / "out", _FakePredictor(),
                             JobOptions(vector=False))
        assert list(summary.failed) == ["a.vrt"] and "a.tif" in summary.failed["a.vrt"]
        assert (tmp_path / "out" / "a_mask.tif").read_bytes() == b"tif"


def test_a_rerun_over_s3_never_takes_a_scene_for_complete_on_another_scenes_marker():
    import json

    class _Bucket(_Listing):
        def get_object(self, Bucket, Key):  # noqa: N803
            return {"Body": type("B", (), {"read": lambda s: json.dumps({"files": {"a_mask.tif": 1}}).encode()})()}

    s3 = _Bucket(["scenes/a.tif", "scenes/a.vrt", "out/a.done.json", "out/a_mask.tif"])
    assert s3io.remaining_scenes(s3, "s3://b/scenes/", "s3://b/out/") == (["a.vrt"], ["a.tif"])


def test_a_refused_failures_upload_is_one_sentence(tmp_path):
    from boto3.exceptions import S3UploadFailedError

    from trainer.errors import RoadsegError

    class _Refusing:
        def upload_file(self, *args, **kwargs):
            raise S3UploadFailedError("Failed to upload failures.json: An error occurred (AccessDenied)")

    (tmp_path / "failures.json").write_text("[]")
    with pytest.raises(RoadsegError, match=r"cannot upload failures.json to s3://b/out/failures.json .*AccessDenied"):
        s3io.upload_file(_Refusing(), tmp_path / "failures.json", "s3://b/out/", "failures.json")
