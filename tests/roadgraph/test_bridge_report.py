"""apls (the delivered, bridged network) beside apls_raw (the raw skeleton) in roadseg eval."""

import numpy as np


def test_eval_reports_apls_of_the_bridged_network_beside_apls_raw(tmp_path, capsys):
    import json

    from PIL import Image

    from roadseg_gui.cli.main import main

    truth = np.zeros((128, 128), np.uint8)
    truth[60:67, :] = 255
    truth[:, 60:67] = 255                   # a cross of two 7-px roads
    pred = truth.copy()
    pred[60:67, 30:36] = 0                  # the prediction breaks the road across, west of the crossing,
    pred[90:96, 60:67] = 0                  # the road down, south of it, and leaves a stub
    pred[54:60, 100:103] = 255
    for folder, mask in (("truth", truth), ("pred", pred)):
        (tmp_path / folder).mkdir()
        Image.fromarray(mask).save(tmp_path / folder / "chip.png")
    assert main(["eval", "--predictions", str(tmp_path / "pred"), "--data", str(tmp_path / "truth")]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["apls_raw"] < 0.8 and metrics["apls"] > 0.95      # the delivered network routes
    assert main(["eval", "--predictions", str(tmp_path / "pred"), "--data", str(tmp_path / "truth"),
                 "--no-bridge"]) == 0
    unbridged = json.loads(capsys.readouterr().out)
    assert unbridged["apls"] == unbridged["apls_raw"] == metrics["apls_raw"]
