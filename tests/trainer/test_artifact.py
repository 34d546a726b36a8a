"""Model artifacts: round trips, model.tar.gz, the seed checkpoint, and files that are not models."""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torchvision import models
from torchvision.models import segmentation

from trainer.artifact import (LoadedModel, ModelMeta, load_model, pack_model, save_model_dir, unpack_model)
from trainer.errors import ModelLoadError
from trainer.model import IMAGENET_MEAN, build_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(1)
    model = build_model("mobilenet_v3_large").eval()
    meta = ModelMeta(image_size=96, threshold=0.4, metrics={"iou": 0.5}, data={"train_tiles": 3},
                     hyperparameters={"epochs": 1}, lineage={"parent": None})
    out = save_model_dir(model, meta, tmp_path_factory.mktemp("m") / "model")
    return model, meta, out


def _same_output(a: nn.Module, b: nn.Module) -> bool:
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return torch.allclose(a.eval()(x), b.eval()(x), atol=1e-5)


def test_model_dir_round_trip(saved):
    model, meta, out = saved
    assert {p.name for p in out.iterdir()} >= {"model.pth", "model.json", "code"}
    assert (out / "code" / "inference.py").is_file() and (out / "code" / "requirements.txt").is_file()
    state = torch.load(out / "model.pth", weights_only=True)
    assert not any(k.startswith(("module.", "net.", "aux")) for k in state)
    on_disk = json.loads((out / "model.json").read_text())
    assert on_disk["mean"] == list(IMAGENET_MEAN) and on_disk["version"] == meta.version != ""
    loaded = load_model(out)
    assert isinstance(loaded, LoadedModel) and not loaded.model.training
    assert loaded.meta.threshold == 0.4 and loaded.meta.image_size == 96 and loaded.meta.metrics == {"iou": 0.5}
    assert loaded.version == meta.version and loaded.notes == []
    assert _same_output(model, loaded.model)


def test_tar_round_trip_and_bare_pth(saved, tmp_path):
    model, meta, out = saved
    tar = pack_model(out, tmp_path / "model.tar.gz")
    with tarfile.open(tar) as fh:
        assert {"model.pth", "model.json", "code/inference.py"} <= set(fh.getnames())
    loaded = load_model(tar)
    assert loaded.source == tar and loaded.version == meta.version and _same_output(model, loaded.model)
    assert (unpack_model(tar, tmp_path / "x") / "model.json").is_file()
    bare = load_model(out / "model.pth")
    assert bare.meta.backbone == "mobilenet_v3_large" and bare.meta.mean == list(IMAGENET_MEAN)
    assert bare.version == meta.version and _same_output(model, bare.model)


def test_tar_with_escaping_member_is_refused(tmp_path):
    tar_path = tmp_path / "evil.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        data = b"owned"
        info = tarfile.TarInfo("../escaped.txt"); info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    dest = tmp_path / "dest"
    with pytest.raises(ModelLoadError, match="outside"):
        unpack_model(tar_path, dest)
    with pytest.raises(ModelLoadError):
        load_model(tar_path)
    assert not (tmp_path / "escaped.txt").exists()


def test_serving_handler_returns_mask_not_dict(saved):
    import importlib.util
    _, meta, out = saved
    spec = importlib.util.spec_from_file_location("served_inference", out / "code" / "inference.py")
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    served = handler.model_fn(str(out))
    image = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO(); np.save(buf, image)
    prediction = handler.predict_fn(handler.input_fn(buf.getvalue(), "application/x-npy"), served)
    png, content_type = handler.output_fn(prediction, "image/png")
    assert content_type == "image/png" and png.startswith(b"\x89PNG")
    npy, _ = handler.output_fn(prediction, "application/x-npy")
    probability = np.load(io.BytesIO(npy))
    assert probability.shape == (70, 90) and probability.dtype == np.uint8
    body, _ = handler.output_fn(prediction, "application/json")
    assert json.loads(body)["model_version"] == meta.version


@pytest.fixture(scope="module")
def seed_checkpoint(tmp_path_factory):
    """What the seed saved: nn.DataParallel(deeplabv3_resnet101) with a 1-channel classifier[4], 21-class aux."""
    net = segmentation.deeplabv3_resnet101(weights=None, weights_backbone=None, aux_loss=True, num_classes=21)
    net.classifier[4] = nn.Conv2d(256, 1, 1)
    path = tmp_path_factory.mktemp("seed") / "seed.pth"
    torch.save(nn.DataParallel(net).state_dict(), path)
    return net, path


def test_seed_checkpoint_loads_with_aux_head_dropped(seed_checkpoint):
    net, path = seed_checkpoint
    loaded = load_model(path)
    assert loaded.meta.backbone == "resnet101"
    assert any("module." in n for n in loaded.notes) and any("21-class auxiliary head" in n for n in loaded.notes)
    assert loaded.meta.mean == [0.0, 0.0, 0.0] and loaded.meta.std == [1.0, 1.0, 1.0]
    assert torch.equal(loaded.model.net.classifier[4].weight, net.classifier[4].weight)


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo owned > owned-marker",))


@pytest.mark.parametrize("kind", ["random", "empty_dict", "pickle_code", "torch_pickle_code", "resnet18",
                                  "21_classes", "truncated", "json_list"])
def test_files_that_are_not_models_are_refused(kind, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "thing.pth"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "empty_dict":
        torch.save({}, path)
    elif kind == "pickle_code":
        path.write_bytes(pickle.dumps(_Payload(), protocol=2))
    elif kind == "torch_pickle_code":
        torch.save({"weights": _Payload()}, path)
    elif kind == "resnet18":
        torch.save(models.resnet18(weights=None).state_dict(), path)
    elif kind == "21_classes":
        torch.save(segmentation.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                             num_classes=21).state_dict(), path)
    elif kind == "truncated":
        torch.save(build_model().net.state_dict(), path)
        path.write_bytes(path.read_bytes()[:50_000])
    elif kind == "json_list":
        path = tmp_path / "model"
        path.mkdir()
        torch.save(build_model().net.state_dict(), path / "model.pth")
        (path / "model.json").write_text("[1, 2]")
    with pytest.raises(ModelLoadError) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message and "Traceback" not in message
    if "code" in kind:
        assert "refused for safety" in message
    elif kind == "random":
        assert "not a PyTorch weights file" in message
    if kind in ("resnet18", "21_classes"):
        assert "not a roadseg model" in message
    assert not (tmp_path / "owned-marker").exists()


def test_protocol_4_pickle_is_refused_without_torch_warnings(tmp_path):
    path = tmp_path / "p4.pth"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ModelLoadError, match="not a PyTorch weights file|not a state_dict"):
            load_model(path)
    assert [str(w.message) for w in caught] == []


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        load_model(tmp_path / "nope.pth")
