"""Tiles/s for 512^2 road prediction: roadseg's Predictor against a seed-style loop, same model, same run.

Baseline (as the seed did it): one image at a time, PIL decode, fp32 torch, batch 1.
Also measured: each engine alone on pre-decoded tiles (torch fp32, ONNX Runtime), so the
Predictor can be compared with the fastest engine seen here (target: within 1.2x of it,
and at least 2x the baseline on a CPU). On CUDA it prints the device and tiles/s with
batches, autocast and decode overlapped (target on paper: >= 1000 tiles/s on an H100).

The model is trained for one epoch by trainer.train.fit on 8 synthetic 64 px tiles
(a few seconds): an untrained model is what the ONNX check once passed while every
trained one failed it, so only a trained model measures what users get. Also printed:
Predictor start-up with each engine, cold (export + check) and warm (cached export).

int8 (CPU): the shipped starter model (trained on real demo chips) is quantized by
``trainer.int8_judge.quantize_and_judge`` on the demo workspace's own tiles; printed are int8 and
fp32 ONNX Runtime tiles/s on the same 512^2 tiles (interleaved, batch 1, ``--threads`` each), their
ratio (target >= 1.8x) by wall time and by the process's CPU time (steadier on a shared machine:
time other processes hold the core is not counted), and the road IoU difference (int8 - fp32) on real pairs: eth-roads-dev's 20 aerial
tiles when ../shared/data is there, else the starter's test pairs. The last line ends with
``int8_vs_fp32= int8_iou_delta=``.

    python bench/bench_predict.py [--tiles N] [--backbone mobilenet_v3_large] [--quick] [--untrained]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from trainer.artifact import ModelMeta, load_model, save_model_dir  # noqa: E402
from trainer.model import build_model  # noqa: E402
from trainer.predict import Predictor  # noqa: E402
from trainer.synthetic import make_tile, write_dataset  # noqa: E402
from trainer.train import TrainConfig, fit  # noqa: E402

from summary import add_summary_flag, write_summary  # noqa: E402  (bench/summary.py)

TILE = 512
ROOT = Path(__file__).resolve().parent.parent
REAL_PAIRS = ROOT.parent / "shared" / "data" / "eth-roads-dev"  # not part of the repo: used when present


def write_tiles(folder: Path, count: int) -> list[Path]:
    base = [make_tile(TILE, seed)[0] for seed in range(min(count, 8))]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        paths.append(folder / f"tile_{i:04d}.jpg")
        Image.fromarray(base[i % len(base)]).save(paths[-1], quality=90)
    return paths


def trained_model(folder: Path, backbone: str) -> Path:
    """One epoch of trainer.train.fit on 8 synthetic 64 px tiles, from scratch."""
    os.environ["ROADSEG_PRETRAINED"] = "0"
    data = write_dataset(folder / "data", train=8, test=2, size=64, seed=3)
    config = TrainConfig(out=str(folder / "model"), data=str(data), epochs=1, batch_size=4, lr=3e-3,
                         image_size=64, workers=0, seed=0, pretrained=False, precise_bn_batches=2,
                         backbone=backbone)
    with contextlib.redirect_stdout(io.StringIO()):
        fit(config)
    return folder / "model"


def start_up(model_dir: Path, engine: str) -> tuple[float, Predictor]:
    started = time.perf_counter()
    predictor = Predictor(model_dir, device="cpu", tile=TILE, engine=engine)
    return time.perf_counter() - started, predictor


def seed_style(model: torch.nn.Module, paths: list[Path], device: torch.device) -> float:
    """The seed's loop: PIL decode, /255 and ImageNet normalise, fp32, batch 1, sigmoid, threshold."""
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    started = time.perf_counter()
    with torch.no_grad():
        for path in paths:
            image = np.asarray(Image.open(path).convert("RGB"))
            x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float().to(device) / 255.0
            mask = (torch.sigmoid(model((x - mean) / std)) > 0.5).cpu().numpy()
    del mask
    return len(paths) / (time.perf_counter() - started)


def engine_alone(engine, tiles: np.ndarray, batch: int) -> float:
    engine(tiles[:batch])  # warm-up
    started = time.perf_counter()
    for start in range(0, len(tiles), batch):
        engine(tiles[start:start + batch])
    return len(tiles) / (time.perf_counter() - started)


def predictor_rate(predictor: Predictor, paths: list[Path]) -> float:
    list(predictor.predict_paths(paths[:2]))  # warm-up
    started = time.perf_counter()
    for _, result in predictor.predict_paths(paths):
        if not hasattr(result, "mask"):
            raise SystemExit(f"prediction failed: {result}")
    return len(paths) / (time.perf_counter() - started)


def engine_cpu_rate(engine, tiles: np.ndarray) -> tuple[float, float]:
    """(tiles per wall second, tiles per CPU second of this process), batch 1."""
    engine(tiles[:1])  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(len(tiles)):
        engine(tiles[start:start + 1])
    return len(tiles) / (time.perf_counter() - wall), len(tiles) / (time.process_time() - cpu)


def int8_against_fp32(tmp: Path, tiles: np.ndarray, rounds: int, threads: int | None = None) -> tuple[float, float]:
    """(int8 tiles/s / fp32 tiles/s, int8 - fp32 road IoU on real pairs) for the starter model."""
    from trainer.evaluate import evaluate
    from trainer.int8_judge import quantize_and_judge

    model = shutil.copytree(ROOT / "resources" / "models" / "starter", tmp / "starter")
    started = time.perf_counter()
    card = quantize_and_judge(model, ROOT / "resources" / "demo")
    print(f"int8: starter model quantized on the demo workspace's tiles in {time.perf_counter() - started:.1f} s "
          f"(export, calibration and judging); road IoU on its test pairs ({card['test_pairs']}): "
          f"int8 {card['road_iou']:.4f}, fp32 {card['fp32_road_iou']:.4f}; card within_tolerance="
          f"{card['within_tolerance']}")
    delta = card["road_iou"] - card["fp32_road_iou"]
    if REAL_PAIRS.is_dir():
        fp32_iou, int8_iou = (evaluate(model, REAL_PAIRS, engine=e)["iou"] for e in ("onnx", "onnx-int8"))
        delta = int8_iou - fp32_iou
        print(f"int8: road IoU on {REAL_PAIRS.name} (20 real aerial tiles): int8 {int8_iou:.4f}, "
              f"fp32 {fp32_iou:.4f}")
    fp32 = Predictor(model, device="cpu", tile=TILE, engine="onnx", batch_size=1, threads=threads).engine
    int8 = Predictor(model, device="cpu", tile=TILE, engine="onnx-int8", batch_size=1, threads=threads).engine
    best = {"fp32": [0.0, 0.0], "int8": [0.0, 0.0]}
    for _ in range(rounds):
        for name, engine in (("fp32", fp32), ("int8", int8)):
            best[name] = [max(old, new) for old, new in zip(best[name], engine_cpu_rate(engine, tiles))]
    ratio, cpu_ratio = (best["int8"][i] / best["fp32"][i] for i in (0, 1))
    print(f"int8: ONNX Runtime engine alone, pre-decoded, batch 1, {threads or 'all'} thread(s): int8 "
          f"{best['int8'][0]:.2f} tiles/s, fp32 {best['fp32'][0]:.2f} tiles/s: {ratio:.2f}x by wall time; "
          f"per CPU second int8 {best['int8'][1]:.2f}, fp32 {best['fp32'][1]:.2f}: {cpu_ratio:.2f}x "
          f"(target >= 1.8x); IoU delta {delta:+.4f} (limit -0.01)")
    return ratio, delta


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiles", type=int, default=None, help="512^2 tiles per measurement")
    parser.add_argument("--backbone", default="mobilenet_v3_large")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is kept")
    parser.add_argument("--quick", action="store_true", help="fewer tiles")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads for the int8 comparison")
    parser.add_argument("--untrained", action="store_true", help="random-init model instead of a trained one")
    add_summary_flag(parser)
    args, _ = parser.parse_known_args()
    cuda = torch.cuda.is_available()
    count = args.tiles or (1024 if cuda else (4 if args.quick else 8))
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"backbone {args.backbone}, {count} tiles of {TILE}x{TILE}, best of {args.rounds} interleaved rounds")
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        tmp = Path(tmp)
        os.environ.setdefault("ROADSEG_ONNX_CACHE", str(tmp / "onnx-cache"))  # throwaway models' exports
        int8_ratio = int8_delta = None
        torch.manual_seed(0)
        if args.untrained:
            model_dir = save_model_dir(build_model(args.backbone), ModelMeta(backbone=args.backbone), tmp / "model")
        else:
            started = time.perf_counter()
            model_dir = trained_model(tmp / "train", args.backbone)
            print(f"model: trained 1 epoch on 8 synthetic 64 px tiles in {time.perf_counter() - started:.1f} s")
        paths = write_tiles(tmp / "tiles", count)
        tiles = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
        model = load_model(model_dir).model.eval()
        device = torch.device("cuda" if cuda else "cpu")
        model.to(device)
        if cuda:
            predictor = Predictor(model_dir, device="cuda", tile=TILE)
            described = predictor.describe()
            print(f"device: {described}, batch {predictor.batch_size}")
            methods = [
                ("seed-style loop (PIL, fp32 torch, batch 1)", lambda: seed_style(model, paths[:128], device)),
                (f"torch engine alone, batch {predictor.batch_size}",
                 lambda: engine_alone(predictor.engine, tiles, predictor.batch_size)),
                ("Predictor.predict_paths (decode overlapped)", lambda: predictor_rate(predictor, paths)),
            ]
        else:
            torch_start, torch_engine = start_up(model_dir, "torch")
            cold_start, default = start_up(model_dir, "auto")  # exports and checks
            warm_start, default = start_up(model_dir, "auto")  # the cached export (or cached verdict)
            print(f"Predictor start-up: torch {torch_start:.2f} s; auto ({default.engine_name}) cold {cold_start:.2f} s, "
                  f"warm {warm_start:.2f} s" + "".join(f"\n  note: {note}" for note in default.notes))
            onnx = Predictor(model_dir, device="cpu", tile=TILE, engine="onnx", batch_size=1)
            described = default.describe()
            print(f"device: {described}, batch {default.batch_size}")
            methods = [
                ("seed-style loop (PIL, fp32 torch, batch 1)", lambda: seed_style(model, paths, device)),
                ("torch fp32 engine alone, pre-decoded, batch 1", lambda: engine_alone(torch_engine.engine, tiles, 1)),
                ("ONNX Runtime engine alone, pre-decoded, batch 1", lambda: engine_alone(onnx.engine, tiles, 1)),
                ("ONNX Runtime engine alone, pre-decoded, batch 2", lambda: engine_alone(onnx.engine, tiles, 2)),
                (f"Predictor.predict_paths default ({default.engine_name}, JPEG files, decoded ahead)",
                 lambda: predictor_rate(default, paths)),
            ]
        seed_style(model, paths[:2], device)  # warm-up
        # Shared, noisy machines: interleave the methods and keep each one's best round.
        best = {name: 0.0 for name, _ in methods}
        for _ in range(args.rounds):
            for name, measure in methods:
                best[name] = max(best[name], measure())
        rows = list(best.items())
        baseline = rows[0][1]
        if not cuda:
            int8_ratio, int8_delta = int8_against_fp32(tmp, tiles, args.rounds, args.threads)
    fastest_engine = max(rate for name, rate in rows[1:-1])
    for name, rate in rows:
        print(f"  {name:62s} {rate:8.2f} tiles/s  {rate / baseline:5.2f}x baseline")
    ours = rows[-1][1]
    print(f"Predictor vs seed-style baseline: {ours / baseline:.2f}x (target >= 2x on CPU)")
    int8 = (f"int8_vs_fp32={int8_ratio:.2f} int8_iou_delta={int8_delta:+.4f}" if int8_ratio is not None
            else "int8_vs_fp32=n/a int8_iou_delta=n/a")  # int8 is a CPU engine
    print(f"fastest engine alone / Predictor: {fastest_engine / ours:.2f} (target <= 1.2) {int8}")
    write_summary(args.summary_json, device=described, backbone=args.backbone, tiles=count,
                  predict_tiles_per_s=round(ours, 2), seed_tiles_per_s=round(baseline, 2),
                  vs_seed=round(ours / baseline, 2), fastest_engine_over_predictor=round(fastest_engine / ours, 2),
                  int8_vs_fp32=int8_ratio and round(int8_ratio, 2), int8_iou_delta=int8_delta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
