"""Where a network leaves the program from a prediction it is bridged (predict --vector, the scene job);
--no-bridge turns that off; roadseg vectorize of a labeled mask bridges only with --bridge.

The model's pixels are not what is tested here: the predictor hands back a hand-made prediction (a road
with a 6-px gap), and everything after it -- rasters, vectorising, GeoJSON -- is the real code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from roadseg_gui.cli.main import main
from trainer.predict import Prediction, Predictor
from trainer.scene import SceneResult


def gap_probability(size=(96, 160)) -> np.ndarray:
    probability = np.full(size, 10, np.uint8)
    probability[45:52, 5:75] = 240
    probability[45:52, 81:155] = 240      # a 7-px road, a 6-px gap the model was unsure about
    probability[45:52, 75:81] = 90
    return probability


def edges(out: Path, stem: str) -> int:
    return len(json.loads((out / f"{stem}_network.geojson").read_text())["features"])


def write_scene(path: Path, values: np.ndarray) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
                       dtype="uint8", crs="EPSG:32633", transform=from_origin(300000, 5000000, 0.5, 0.5)) as dst:
        dst.write(values, 1)
    return path


def fake_scene(self, path, out_dir, write_mask=True, write_probability=True, **_):
    probability = gap_probability()
    out_dir = Path(out_dir)
    mask = write_scene(out_dir / f"{Path(path).stem}_mask.tif", np.where(probability >= 128, 255, 0).astype(np.uint8))
    prob = write_scene(out_dir / f"{Path(path).stem}_probability.tif", probability) if write_probability else None
    return SceneResult(Path(path), probability.shape[1], probability.shape[0], mask=mask, probability=prob)


def test_vectorize_of_a_labeled_mask_bridges_only_when_asked(tmp_path, capsys):
    Image.fromarray(np.where(gap_probability() >= 128, 255, 0).astype(np.uint8)).save(tmp_path / "label.png")
    assert main(["vectorize", str(tmp_path / "label.png"), "--out", str(tmp_path / "plain"), "--no-progress"]) == 0
    assert main(["vectorize", str(tmp_path / "label.png"), "--out", str(tmp_path / "bridged"), "--bridge",
                 "--no-progress"]) == 0
    assert edges(tmp_path / "plain", "label") == 2 and edges(tmp_path / "bridged", "label") == 1


def test_predict_vector_bridges_plain_images_and_scenes_unless_no_bridge(tmp_path, monkeypatch, capsys):
    from trainer.artifact import ModelMeta, save_model_dir
    from trainer.model import build_model

    model = save_model_dir(build_model("mobilenet_v3_large"), ModelMeta(), tmp_path / "model")
    probability = gap_probability()
    monkeypatch.setattr(Predictor, "predict", lambda self, image, cancel=None:
                        Prediction(probability, probability >= 128, 0.1))
    monkeypatch.setattr(Predictor, "predict_scene", fake_scene)
    Image.fromarray(np.zeros((96, 160, 3), np.uint8)).save(tmp_path / "a.png")
    write_scene(tmp_path / "s.tif", np.zeros((96, 160), np.uint8))
    for flags, out in (([], "on"), (["--no-bridge"], "off")):
        for name in ("a.png", "s.tif"):
            assert main(["predict", "--model", str(model), str(tmp_path / name), "--out", str(tmp_path / out),
                         "--vector", "--no-progress", *flags]) == 0, capsys.readouterr()
    assert edges(tmp_path / "on", "a") == 1 and edges(tmp_path / "off", "a") == 2
    assert edges(tmp_path / "on", "s") == 1 and edges(tmp_path / "off", "s") == 2


def test_the_scene_job_bridges_its_vector_output_unless_no_bridge(tmp_path):
    from trainer.scenejob.__main__ import build_parser
    from trainer.scenejob.runner import JobOptions, predict_scene_files

    class FakePredictor:
        predict_scene = fake_scene

    source = write_scene(tmp_path / "s.tif", np.zeros((96, 160), np.uint8))
    for bridge in (True, False):
        staging = tmp_path / f"staging-{bridge}"
        staging.mkdir()
        predict_scene_files(FakePredictor(), source, "s.tif", staging,
                            JobOptions(vector=True, probability=True, bridge=bridge))
        assert edges(staging, "s") == (1 if bridge else 2)
    assert build_parser().parse_args(["--vector"]).bridge is True
    assert build_parser().parse_args(["--vector", "--no-bridge"]).bridge is False


def test_a_sagemaker_scene_job_from_predict_gets_no_bridge_passed_on():
    from argparse import Namespace

    from roadseg_gui.cli.predict_jobs import _job_arguments

    args = Namespace(cog=True, vector=True, wgs84=False, write="mask", tile=512, overlap=64, threshold=None,
                     bridge=True)
    assert "--no-bridge" not in _job_arguments(args)
    args.bridge = False
    assert "--no-bridge" in _job_arguments(args)
