"""trainer/requirements.txt: what SageMaker installs, and a comment that says how it gets there."""

from __future__ import annotations

from pathlib import Path

from trainer.jobs import sagemaker_backend

REQUIREMENTS = Path(sagemaker_backend.TRAINER_DIR) / "requirements.txt"


def test_requirements_comment_matches_how_the_backend_stages_the_source(tmp_path):
    text = REQUIREMENTS.read_text("utf-8")
    comment = " ".join(line for line in text.splitlines() if line.startswith("#"))
    staged = sagemaker_backend.stage_source(tmp_path / "source")
    assert (staged / sagemaker_backend.LAUNCHER).is_file() and (staged / "trainer" / "requirements.txt").is_file()
    assert sagemaker_backend.LAUNCHER in comment and "trainer/requirements.txt" in comment
    assert "entry_point = train.py" not in comment and "source_dir = trainer/" not in comment
    packages = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert packages and not any(name.startswith(("torch", "PySide", "superqt")) for name in packages)
