"""``eval`` and ``predict`` on folders holding link loops, dangling links and sub-folders: each is named once."""

from __future__ import annotations

import json
import os

from PIL import Image

from roadseg_gui.cli.main import main
from trainer.synthetic import make_tile, write_dataset


def test_eval_reports_a_symlink_loop_once_and_scores_the_rest(tmp_path, deeplab_dir, capsys, caplog):
    data = write_dataset(tmp_path / "data", train=0, test=2, size=64)
    os.symlink("loop.jpg", data / "test" / "images" / "loop.jpg")
    code = main(["eval", "--model", str(deeplab_dir), "--data", str(data), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err and "Too many levels" not in captured.err
    reported = captured.err + caplog.text  # the warning goes through logging (stderr outside pytest)
    assert reported.count("symbolic link loop") == 1 and "loop.jpg" in reported
    assert json.loads(captured.out)["tiles"] == 2


def test_predict_folder_names_each_link_and_folder_it_skips(tmp_path, deeplab_dir, capsys):
    inputs = tmp_path / "in"
    (inputs / "nested").mkdir(parents=True)
    Image.fromarray(make_tile(64, 1)[0]).save(inputs / "a.png")
    Image.fromarray(make_tile(64, 2)[0]).save(inputs / "nested" / "b.png")
    os.symlink("loop.png", inputs / "loop.png")
    os.symlink("missing.jpg", inputs / "dangling.jpg")
    os.symlink("..", inputs / "nested" / "back")
    (inputs / ".cache").mkdir()
    code = main(["predict", "--model", str(deeplab_dir), str(inputs), "--out", str(inputs / "out"),
                 "--tile", "64", "--overlap", "16", "--no-progress"])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert code == 1 and "Traceback" not in text
    assert (inputs / "out" / "a.png").exists() and (inputs / "out" / "b.png").exists()
    assert "loop.png: symbolic link loop" in text and "dangling.jpg: dangling symbolic link" in text
    assert "back: a link to a folder already read" in text and ".cache: a hidden folder" in text
    assert "predicted 2 of 4 inputs" in text
