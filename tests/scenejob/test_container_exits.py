"""The Processing entry point's exits, run as SageMaker runs it: a real process under a
fake /opt/ml (``ROADSEG_PROCESSING_ROOT`` moves /opt/ml/processing; resourceconfig.json lies beside it)."""

from __future__ import annotations

import json
import shutil

import pytest

from .conftest import write_scene
from .test_entry_point import run_entry


def _hosts(root, current: str, count: int) -> None:
    """SageMaker's /opt/ml/config/resourceconfig.json for a job of ``count`` instances."""
    config = root.parent / "config" / "resourceconfig.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"current_host": current, "hosts": [f"algo-{i + 1}" for i in range(count)]}))


def _tree(tmp_path, model_archive):
    root = tmp_path / "opt" / "ml" / "processing"
    (root / "input" / "model").mkdir(parents=True)
    shutil.copy(model_archive, root / "input" / "model" / "model.tar.gz")
    return root


@pytest.mark.parametrize("created", [True, False])
def test_an_empty_shard_of_a_multi_instance_job_is_success(tmp_path, model_archive, created):
    """Three instances, two scenes: ShardedByS3Key gives algo-3 nothing, and one failed container fails the job."""
    root = _tree(tmp_path, model_archive)
    if created:
        (root / "input" / "scenes").mkdir(parents=True)
    _hosts(root, "algo-3", 3)
    proc = run_entry(root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "shard holds no scene" in proc.stdout
    # its own (empty) failures file replaces whatever an earlier run of algo-3 left there
    assert json.loads((root / "output" / "predictions" / "failures-algo-3.json").read_text()) == []


def test_an_empty_input_of_a_single_instance_job_still_cannot_start(tmp_path, model_archive):
    root = _tree(tmp_path, model_archive)
    (root / "input" / "scenes").mkdir(parents=True)
    _hosts(root, "algo-1", 1)
    proc = run_entry(root)
    assert proc.returncode == 2 and "holds no scene" in proc.stderr


def test_a_broken_model_is_nothing_could_start(tmp_path):
    root = tmp_path / "processing"
    write_scene(root / "input" / "scenes" / "a.tif")
    (root / "input" / "model").mkdir(parents=True)
    (root / "input" / "model" / "model.tar.gz").write_bytes(b"not a tar")
    proc = run_entry(root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "error:" in proc.stderr and "Traceback" not in proc.stderr


def test_the_container_takes_no_sse_arguments():
    """Processing uploads the outputs itself, with the job's output KMS key: --sse was dead in the container."""
    from trainer.scenejob.__main__ import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--sse", "AES256"])
    assert "--kms-key-id" not in build_parser().format_help()
