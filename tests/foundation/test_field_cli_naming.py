"""issue 19, item 11: predict names its outputs by one documented rule and calls no 432-px chip a
"scene"; no error sentence starts in lowercase. Real roadseg processes."""

from __future__ import annotations

import ast

import numpy as np
from field_cli import ROOT, geotiff, model, roadseg  # noqa: F401  (model is a fixture)
from PIL import Image

from trainer.synthetic import make_tile


def test_predict_names_outputs_by_one_documented_rule_and_calls_no_chip_a_scene(tmp_path, model):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(make_tile(64, 1)[0]).save(inputs / "plain.jpg")
    geotiff(inputs / "chip.tif", np.moveaxis(make_tile(64, 2)[0], -1, 0))
    run = roadseg("predict", "--model", str(model), str(inputs), "--out", str(tmp_path / "out"), "--tile", "64",
                  "--overlap", "16", "--engine", "torch", "--no-progress")
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["chip_mask.tif", "plain.png"]
    assert "STEM.png for plain images" in run.stdout and "STEM_mask.tif for georeferenced rasters" in run.stdout
    assert "1 plain image, 1 raster written as GeoTIFF" in run.stdout and "scene" not in run.stdout
    help_text = roadseg("predict", "--help").stdout
    assert "STEM_mask.tif" in help_text and "STEM.png" in help_text
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "`STEM.png` (0/255) for a plain image" in readme and "`STEM_mask.tif`, a tiled GeoTIFF" in readme


def _lowercase_fixes() -> list[str]:
    """Every error raised with a literal 'what to do' that starts in lowercase: it is printed after a
    full stop ("what. fix"), so it would start a sentence in lowercase."""
    found = []
    for folder in ("trainer", "roadseg_gui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if not isinstance(node, ast.Call) or len(node.args) < 2:
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
                fix = node.args[1]
                if isinstance(fix, ast.JoinedStr) and fix.values:
                    fix = fix.values[0]
                if name.endswith("Error") and isinstance(fix, ast.Constant) and isinstance(fix.value, str) \
                        and fix.value[:1].islower():
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {fix.value!r}")
    return found


def test_no_error_sentence_starts_in_lowercase():
    assert _lowercase_fixes() == []
