"""Small georeferenced scenes and a model for the scene-job tests (no downloads, no training)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.conftest import calibrated_deeplab  # the same tiny model builder
from trainer.artifact import ModelMeta, pack_model, save_model_dir


def write_scene(path, width=300, height=200, seed=0, epsg=32618, origin=(500000.0, 4100000.0)):
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    data = rng.integers(0, 255, (3, height, width), dtype=np.uint8)
    data[:, height // 2 - 4:height // 2 + 4, :] = 200  # a bright road across the scene
    path.parent.mkdir(parents=True, exist_ok=True)
    transform = from_origin(origin[0], origin[1], 0.5, 0.5)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=3, dtype="uint8",
                       crs=f"EPSG:{epsg}", transform=transform) as dst:
        dst.write(data)
    return path, transform


@pytest.fixture(scope="session")
def model_archive(tmp_path_factory):
    """A model.tar.gz as a job's model input holds it."""
    root = tmp_path_factory.mktemp("scenejob-model")
    model_dir = save_model_dir(calibrated_deeplab(), ModelMeta(), root / "model")
    return pack_model(model_dir, root / "model.tar.gz")


@pytest.fixture
def processing_tree(tmp_path, model_archive):
    """A fake /opt/ml/processing: two scenes (one in a sub-folder) and a broken one, and the model."""
    import shutil

    root = tmp_path / "opt" / "ml" / "processing"
    scenes = root / "input" / "scenes"
    _, transform = write_scene(scenes / "city" / "north.tif", seed=1)
    write_scene(scenes / "south.tif", seed=2, width=260, height=240)
    (scenes / "broken.tif").write_bytes(b"II*\x00" + b"\x00garbage" * 20)
    (root / "input" / "model").mkdir(parents=True)
    shutil.copy(model_archive, root / "input" / "model" / "model.tar.gz")
    return root, transform


def sagemaker_workspace(root, bucket: str):
    """A workspace whose S3 and SageMaker settings name ``bucket`` and a role (as the app saves them)."""
    from roadseg_gui.core.settings import WorkspaceSettings
    from roadseg_gui.core.workspace import Workspace

    Workspace.open(root).close()
    settings = WorkspaceSettings.load(root)
    settings.s3.bucket, settings.s3.region = bucket, "us-east-1"
    settings.sagemaker.role_arn = "arn:aws:iam::123456789012:role/Roadseg"
    settings.save(root)
    return settings


LAUNCH_ROLE = "arn:aws:iam::123456789012:role/RoadsegSageMaker"


def scenes_on_a_fresh_server(s3_server, monkeypatch, tmp_path, bucket: str, keys, **config):
    """moto reset, ``bucket`` holding a small scene at each of ``keys``, and the SageMaker settings of a launch
    there (the SDK's own role check off: the app checks the role itself, tests/retrain/test_*_role.py)."""
    import urllib.request

    import boto3

    from trainer.jobs.sagemaker_backend import SageMakerConfig

    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    urllib.request.urlopen(urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    path, _ = write_scene(tmp_path / "scene.tif", width=64, height=64)
    for key in keys:
        s3.upload_file(str(path), bucket, key)
    return SageMakerConfig(role_arn=LAUNCH_ROLE, bucket=bucket, prefix="team", region="us-east-1",
                           s3_endpoint_url=s3_server, endpoint_url=s3_server, use_spot=False, **config)
