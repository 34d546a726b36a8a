"""Fixtures for the retrain tests: a tiny synthetic workspace and an earlier model to compare against."""

from __future__ import annotations

import pytest


@pytest.fixture
def tiny_workspace(tmp_path):
    """A workspace with 4 train and 2 test synthetic pairs (64 px), registered in the state DB."""
    from roadseg_gui.core.workspace import Workspace
    from trainer.synthetic import write_dataset

    root = tmp_path / "work space"  # a space in the path, on purpose
    write_dataset(root, train=4, test=2, size=64, seed=3)
    workspace = Workspace.open(root)
    workspace.close()
    return root


@pytest.fixture
def previous_model(tiny_workspace):
    """An untrained model, active in the workspace and known to the registry: the 'current model' to beat.

    It stays outside the workspace (registered as external), as a model the app was started with would."""
    import torch

    from roadseg_gui.core.models import ModelRegistry
    from trainer.artifact import ModelMeta, save_model_dir
    from trainer.model import build_model

    torch.manual_seed(0)
    meta = ModelMeta(image_size=64)
    model_dir = save_model_dir(build_model("mobilenet_v3_large"), meta, tiny_workspace.parent / "previous-model")
    registry = ModelRegistry(tiny_workspace)
    try:
        record = registry.add_external(model_dir, meta.version, created=meta.created)
        registry.activate(record.version)
    finally:
        registry.close()
    return record
