"""The workspace model registry: safe unpacking, activation, rollback, lineage.

The registry never loads weights (versions are content hashes), so these use small stand-in
model.pth files; the end-to-end test in test_retrain_local.py registers a real trained model.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from roadseg_gui.core.models import ModelRegistry
from roadseg_gui.core.settings import WorkspaceSettings
from trainer.artifact import pack_model
from trainer.errors import ModelLoadError, RoadsegError


def stand_in_archive(folder: Path, weights: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.pth").write_bytes(weights)
    (folder / "model.json").write_text(json.dumps({"backbone": "mobilenet_v3_large", "created": "2026-01-01",
                                                   "hyperparameters": {"epochs": 3}}))
    return pack_model(folder, folder.with_suffix(".tar.gz"))


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "ws"
    (root / ".roadseg").mkdir(parents=True)
    return root


def test_an_archive_escaping_its_folder_is_refused(workspace, tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        payload = b"owned"
        info = tarfile.TarInfo("../../outside.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    registry = ModelRegistry(workspace)
    try:
        with pytest.raises(ModelLoadError, match="refused"):
            registry.add_archive(evil)
        assert registry.records() == []
    finally:
        registry.close()
    assert not list(tmp_path.rglob("outside.txt"))
    assert list((workspace / ".roadseg" / "models").iterdir()) == []  # no leftovers


def test_activate_rollback_and_lineage(workspace, tmp_path):
    registry = ModelRegistry(workspace)
    try:
        first = registry.add_archive(stand_in_archive(tmp_path / "a", b"weights-1"), job_name="job-1",
                                     backend="local")
        assert first.hyperparameters == {"epochs": 3} and first.created == "2026-01-01"  # from model.json
        registry.activate(first.version)
        second = registry.add_archive(stand_in_archive(tmp_path / "b", b"weights-2"), job_name="job-2",
                                      backend="sagemaker", data={"train_pairs": 4}, parent=first.version)
        again = registry.add_archive(stand_in_archive(tmp_path / "c", b"weights-2"), parent=first.version)
        assert again.version == second.version and len(registry.records()) == 2  # same content, same version
        assert again.job_name == "job-2" and again.backend == "sagemaker"
        assert second.path == workspace / ".roadseg" / "models" / second.version

        registry.activate(second.version)
        assert Path(WorkspaceSettings.load(workspace).active_model) == second.path
        assert registry.active().version == second.version
        assert [r.version for r in registry.lineage(second.version)] == [second.version, first.version]
        assert registry.rollback().version == first.version
        assert Path(WorkspaceSettings.load(workspace).active_model) == first.path
        assert registry.rollback().version == second.version  # rolling back a rollback goes forward again
        with pytest.raises(RoadsegError, match="no model version"):
            registry.activate("nope")
    finally:
        registry.close()


def test_a_model_from_outside_the_workspace_can_be_rolled_back_to(workspace, tmp_path):
    registry = ModelRegistry(workspace)
    try:
        new = registry.add_archive(stand_in_archive(tmp_path / "a", b"weights-1"), backend="local")
        outside = tmp_path / "seed.pth"
        outside.write_bytes(b"seed weights")
        settings = WorkspaceSettings.load(workspace)
        settings.active_model = str(outside)  # the app started with a model the registry did not make
        settings.save(workspace)
        external = registry.add_external(outside, "seed-v1")
        assert registry.active().version == "seed-v1" and external.backend == "external"
        registry.activate(new.version)
        assert registry.rollback().version == "seed-v1"
        assert Path(WorkspaceSettings.load(workspace).active_model) == outside.resolve()
    finally:
        registry.close()
