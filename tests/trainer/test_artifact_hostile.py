"""Hostile model files: every model.json field checked by type and range, non-finite weights, and each
kind of archive refusal worded for what it is, with the archive (not a temp path) named."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
import torch

from trainer.artifact import ModelMeta, load_model, pack_model, save_model_dir, unpack_model
from trainer.errors import ModelLoadError
from trainer.model import build_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    return save_model_dir(build_model("mobilenet_v3_large").eval(), ModelMeta(image_size=64),
                          tmp_path_factory.mktemp("m") / "model")


def _copy_with_meta(model_dir, tmp_path, raw_json: str):
    target = tmp_path / "edited"
    target.mkdir()
    (target / "model.pth").symlink_to(model_dir / "model.pth")
    (target / "model.json").write_text(raw_json)
    return target


def _patched(model_dir, key, raw_value: str) -> str:
    text = (model_dir / "model.json").read_text()
    data = json.loads(text)
    data[key] = "__PLACEHOLDER__"
    return json.dumps(data).replace('"__PLACEHOLDER__"', raw_value)


@pytest.mark.parametrize("key, raw, words", [
    ("image_size", "1e400", "image_size"), ("image_size", "-512", "image_size"), ("image_size", "1e12", "image_size"),
    ("image_size", "\"big\"", "image_size"), ("image_size", "true", "image_size"), ("image_size", "64.5", "image_size"),
    ("threshold", "2.0", "threshold 2.0 is outside 0..1"), ("threshold", "NaN", "threshold"),
    ("threshold", "-Infinity", "threshold"), ("threshold", "null", "threshold"),
    ("mean", "[0.5, 0.5]", "mean"), ("mean", "[0.5, \"x\", 0.5]", "mean"), ("mean", "[1e400, 0, 0]", "mean"),
    ("std", "[0, 1, 1]", "std"), ("std", "[-1, 1, 1]", "std"), ("std", "[1e300, 1, 1]", "std"),
    ("std", "0.2", "std"), ("backbone", "\"vgg\"", "backbone"), ("backbone", "7", "backbone"),
    ("metrics", "[1]", "metrics"), ("hyperparameters", "\"x\"", "hyperparameters"), ("version", "12", "version"),
    ("created", "{}", "created"), ("lineage", "3", "lineage"), ("data", "null", "data"),
])
def test_every_model_json_field_is_checked_with_one_sentence(model_dir, tmp_path, key, raw, words):
    folder = _copy_with_meta(model_dir, tmp_path, _patched(model_dir, key, raw))
    with pytest.raises(ModelLoadError) as info:
        load_model(folder)
    message = str(info.value)
    assert "model.json" in message and words in message and "\n" not in message
    assert "Traceback" not in message and "OverflowError" not in message


def test_model_json_that_is_not_an_object_is_refused(model_dir, tmp_path):
    with pytest.raises(ModelLoadError, match="model.json.*object"):
        load_model(_copy_with_meta(model_dir, tmp_path, "[1, 2]"))


def test_non_finite_weights_are_refused(model_dir, tmp_path):
    state = torch.load(model_dir / "model.pth", weights_only=True)
    key = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 4)
    state[key].view(-1)[3] = float("nan")
    state[key].view(-1)[1] = float("inf")
    bad = tmp_path / "nan.pth"
    torch.save(state, bad)
    with pytest.raises(ModelLoadError) as info:
        load_model(bad)
    assert "2 non-finite values" in str(info.value) and key in str(info.value) and str(bad) in str(info.value)


def _archive_with(tmp_path, member: tarfile.TarInfo, data: bytes = b"") -> object:
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(member, io.BytesIO(data) if data else None)
    return path


def _member(name, kind=tarfile.REGTYPE, linkname="", size=0):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, size
    return info


@pytest.mark.parametrize("member, words", [
    (_member("fifo", tarfile.FIFOTYPE), "a FIFO (named pipe)"),
    (_member("dev", tarfile.CHRTYPE), "a character device"),
    (_member("blk", tarfile.BLKTYPE), "a block device"),
    (_member("/etc/evil", size=1), "an absolute path"),
    (_member("../evil", size=1), "outside the archive's folder"),
    (_member("link", tarfile.SYMTYPE, "/etc/passwd"), "a link to the absolute path /etc/passwd"),
    (_member("link", tarfile.SYMTYPE, "../../x"), "a link that points outside the archive's folder"),
])
def test_each_archive_refusal_says_what_it_is(tmp_path, member, words):
    path = _archive_with(tmp_path, member, b"x" * member.size)
    with pytest.raises(ModelLoadError) as info:
        unpack_model(path, tmp_path / "dest")
    message = str(info.value)
    assert words in message and member.name in message and str(path) in message
    if "outside" not in words:
        assert "outside its folder" not in message


def test_archive_over_the_size_cap_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for i in range(3):  # 3 x 4 MB of zeros: a few KB compressed
            tar.addfile(_member(f"part{i}", size=4 << 20), io.BytesIO(bytes(4 << 20)))
    monkeypatch.setattr("trainer.artifact.MAX_MODEL_BYTES", 10 << 20)
    dest = tmp_path / "dest"
    with pytest.raises(ModelLoadError) as info:
        unpack_model(path, dest)
    assert "at least 12.6 MB" in str(info.value) and "10.5 MB" in str(info.value)
    assert not dest.exists() or not any(dest.iterdir())


def test_archive_of_countless_empty_entries_is_refused_without_listing_them_all(tmp_path):
    path = tmp_path / "many.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for i in range(1500):
            tar.addfile(_member(f"e{i}"))
    with pytest.raises(ModelLoadError, match="over 1,000 entries"):
        unpack_model(path, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_errors_inside_an_archive_name_the_archive(model_dir, tmp_path):
    folder = _copy_with_meta(model_dir, tmp_path, _patched(model_dir, "threshold", "2.0"))
    (folder / "model.pth").unlink()
    (folder / "model.pth").write_bytes((model_dir / "model.pth").read_bytes())
    archive = pack_model(folder, tmp_path / "model.tar.gz")
    with pytest.raises(ModelLoadError) as info:
        load_model(archive)
    message = str(info.value)
    assert message.startswith(f"{archive}: model.json") and "threshold 2.0 is outside 0..1" in message
    assert "roadseg-model-" not in message


def test_a_threshold_out_of_range_says_where_it_came_from(model_dir):
    from trainer.artifact import LoadedModel
    from trainer.errors import BadInputError
    from trainer.predict import Predictor

    loaded = load_model(model_dir)
    odd = LoadedModel(loaded.model, ModelMeta(threshold=2.0), model_dir, [])
    with pytest.raises(BadInputError, match=r"model's threshold \(model.json\) 2.0 is outside 0..1"):
        Predictor(odd, device="cpu", engine="torch")
    with pytest.raises(BadInputError, match="--threshold 1.5 is outside 0..1"):
        Predictor(loaded, device="cpu", engine="torch", threshold=1.5)
