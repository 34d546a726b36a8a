"""Demo workspace: license-clean content, small, copied once into the user data dir."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from roadseg_gui.cli.main import main as cli
from roadseg_gui.core.demo import DEMO_SOURCE, STARTER_MODEL, ensure_demo_workspace, model_description
from roadseg_gui.core.models import ModelRegistry
from roadseg_gui.core.statedb import TileStatus
from roadseg_gui.core.workspace import Workspace
from trainer.errors import RoadsegError


def test_demo_source_is_small_attributed_and_clean():
    files = [p for p in DEMO_SOURCE.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 3_000_000
    assert "CC BY-SA 4.0" in (DEMO_SOURCE / "ATTRIBUTION.md").read_text("utf-8")
    assert all(p.name.startswith(("vegas_", "synthetic_")) for p in files if p.suffix != ".md")
    assert not any("eth" in p.name.lower() or "satImage" in p.name for p in files)


def test_first_run_copies_the_demo_into_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = ensure_demo_workspace()
    assert path == tmp_path / "data" / "roadseg" / "demo"
    ws = Workspace.open(path, create=False)
    counts = ws.counts()
    assert counts[TileStatus.NEW] >= 9 and counts[TileStatus.ACCEPTED] >= 4 and counts[TileStatus.ERROR] == 0
    assert ws.tiles(split="test")
    chip = ws.image_path("vegas_r0_c0")
    with rasterio.open(chip) as src:
        assert src.crs is not None and src.transform.a > 0
    assert ws.read_image("vegas_r0_c0").shape == (432, 432, 3)
    mask = ws.working_mask("vegas_r1_c0")
    assert mask.shape == (432, 432) and 0.05 < mask.mean() < 0.5
    # edits persist: a second call reuses the folder rather than copying again
    ws.save_working_mask("vegas_r0_c0", np.ones((432, 432), bool))
    assert ensure_demo_workspace() == path
    assert Workspace.open(path).tile("vegas_r0_c0").status == TileStatus.EDITED


def test_cli_demo_workspace(tmp_path, capsys):
    assert cli(["demo-workspace", str(tmp_path / "demo")]) == 0
    assert "roadseg-gui" in capsys.readouterr().out
    assert cli(["demo-workspace", str(tmp_path / "demo")]) == 1  # already a workspace: a sentence, no traceback
    assert "already holds" in capsys.readouterr().err
    with pytest.raises(RoadsegError):
        from roadseg_gui.core.demo import copy_demo
        copy_demo(tmp_path / "x", source=tmp_path / "nowhere")


def test_first_run_predicts_with_the_starter_model(tmp_path):
    path = ensure_demo_workspace(tmp_path / "demo")
    registry = ModelRegistry(path)
    try:
        active = registry.active()
    finally:
        registry.close()
    assert active is not None and active.path.is_relative_to(path)  # a copy: survives moving the install
    assert "weak" in model_description(active.path)
    from trainer.predict import Predictor
    predictor = Predictor(str(active.path), device="cpu", engine="torch")
    ws = Workspace.open(path, create=False)
    prediction = predictor.predict(ws.read_image("vegas_r0_c0"))
    assert prediction.mask.shape == (432, 432) and 0.01 < prediction.mask.mean() < 0.6
    assert 0.0 < prediction.uncertainty < 1.0  # gives "most uncertain first" something to sort


def test_starter_model_is_small_and_its_card_tells_the_truth():
    import json

    from trainer.evaluate import evaluate

    assert (STARTER_MODEL / "model.pth").stat().st_size < 25_000_000  # float16 weights
    meta = json.loads((STARTER_MODEL / "model.json").read_text("utf-8"))
    measured = evaluate(STARTER_MODEL, DEMO_SOURCE)
    assert measured["iou"] == pytest.approx(meta["metrics"]["iou"], abs=1e-3)
    card = (STARTER_MODEL / "MODEL_CARD.md").read_text("utf-8")
    assert f"road IoU {measured['iou']:.3f}" in card and "CC BY-SA 4.0" in card
    assert f"IoU {measured['iou']:.2f}" in meta["description"]


def test_the_starter_models_serving_code_is_the_current_handler():
    """The shipped model folder carries trainer/serve as it is now (SageMaker serves it from code/)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for name in ("inference.py", "requirements.txt"):
        assert (root / "resources/models/starter/code" / name).read_bytes() == \
            (root / "trainer/serve" / name).read_bytes()
