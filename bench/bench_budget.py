"""What a --minutes budget buys: `roadseg train --minutes M` from scratch on a small real set, as a user runs it.

    .venv/bin/python bench/bench_budget.py --data ../shared/data/eth-roads-dev      # 20 minutes, 14 / 6 split
    .venv/bin/python bench/bench_budget.py --quick                                  # 3 minutes (demo if no data)
    .venv/bin/python bench/bench_budget.py --data ... --schedule onecycle --warmup 0.3   # other flags: the trainer's

Runs the training entry point in a child process (``python -m trainer.train``; the trainer's own defaults:
MobileNetV3 from scratch, batch 8, peak lr 3e-3, cosine with 5 % warm-up) on a split of symlinks made in a
temporary folder: a folder of images/ + masks/ is split by recipe_study's fixed shuffle (--train-count train,
the rest test), a workspace-like folder with train/ and test/ is used as it is. Prints the test metrics the
run had measured by each minute mark, the time shares (testing, the rest of the overhead), and one last line
``minutes=… test_iou=… test_f1=… test_cldice=… overhead=… test_share=… epochs=… test_apls_raw=… test_apls=…``,
ending with the APLS of the network a user gets (bridged, as predict --vector delivers it; ``test_apls_raw``:
the raw skeleton's). Figures, not a test: wall-clock time, so run it on an otherwise idle machine and say what
the load was.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from recipe_study import split_folder  # noqa: E402
from summary import add_summary_flag, write_summary  # noqa: E402
from trainer.jobs.metrics import MetricsTracker  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "eth-roads-dev"
DEMO = ROOT / "resources" / "demo"


def link_split(data: Path, train_count: int, target: Path) -> Path:
    """``target``/{train,test}/{images,masks} of symlinks; nothing of the data is copied."""
    if (data / "train").is_dir() and (data / "test").is_dir():
        return data
    train, test = split_folder(data, train_count)
    for split, pairs in (("train", train), ("test", test)):
        for kind in ("images", "masks"):
            (target / split / kind).mkdir(parents=True, exist_ok=True)
        for pair in pairs:
            (target / split / "images" / pair.image.name).symlink_to(pair.image.resolve())
            (target / split / "masks" / pair.mask.name).symlink_to(pair.mask.resolve())
    return target


def shares(epochs: list[dict]) -> tuple[float, float]:
    """(share of the time in tested epochs' overhead, share in the other epochs' overhead): testing, the rest."""
    total = sum(e["seconds"] for e in epochs) or 1e-9
    tested = sum(e["seconds"] * e["overhead"] for e in epochs if e["metrics_epoch"] == e["epoch"])
    other = sum(e["seconds"] * e["overhead"] for e in epochs if e["metrics_epoch"] != e["epoch"])
    return tested / total, other / total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None,
                        help=f"images/ + masks/ (split by --train-count) or train/ + test/ (default: {DEFAULT_DATA} "
                             "when present, else the demo's chips)")
    parser.add_argument("--train-count", type=int, default=14)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--image-size", type=int, default=256, help="training crop (the issue's CPU runs: 256)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="3 minutes instead of --minutes")
    parser.add_argument("--keep", type=Path, default=None, help="write the model here (default: a temp folder)")
    add_summary_flag(parser)
    args, trainer_flags = parser.parse_known_args()  # the rest go to the trainer: --batch-size 4, --schedule ...
    minutes = 3.0 if args.quick else args.minutes
    data = args.data or (DEFAULT_DATA if DEFAULT_DATA.is_dir() else DEMO)
    with tempfile.TemporaryDirectory(prefix="roadseg-budget-") as tmp:
        split = link_split(data, args.train_count, Path(tmp) / "data")
        out = args.keep or Path(tmp) / "model"
        command = [sys.executable, "-m", "trainer.train", "--data", str(split), "--out", str(out),
                   "--minutes", f"{minutes:g}", "--image-size", str(args.image_size), "--seed", str(args.seed),
                   "--pretrained", "false", "--checkpoint-dir", str(Path(tmp) / "checkpoints")]
        command += trainer_flags
        print(f"data {data} -> {split}; {minutes:g} min budget {' '.join(trainer_flags)}; "
              f"load {os.getloadavg()[0]:.1f}; "
              f"{os.cpu_count()} CPUs", flush=True)
        started = time.perf_counter()
        run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, "ROADSEG_PRETRAINED": "0"})
        wall = time.perf_counter() - started
    if run.returncode != 0:
        print(run.stderr[-2000:], file=sys.stderr)
        return 1
    lines = run.stdout.splitlines()
    tracker = MetricsTracker()
    tracker.feed(lines)
    epochs = tracker.epochs
    final = dict(kv.split("=", 1) for kv in lines[-1].split()[1:])
    print("\n| by minute | test IoU | F1 | clDice | epoch measured |\n|---|---|---|---|---|")
    elapsed, marks, measured = 0.0, [m for m in (1, 2, 3, 5, 10, 15, 20, 30, 60) if m < minutes], None
    for epoch in epochs:
        elapsed += epoch["seconds"]
        while marks and elapsed > marks[0] * 60 + 1:
            if measured:
                print(f"| {marks[0]:g} | {measured['test_iou']:.3f} | {measured['test_f1']:.3f} | "
                      f"{measured['test_cldice']:.3f} | {int(measured['metrics_epoch'])} |")
            marks.pop(0)
        if epoch["metrics_epoch"] == epoch["epoch"]:
            measured = epoch
    testing, other = shares(epochs)
    print(f"| {minutes:g} (final) | {float(final['test_iou']):.3f} | {float(final['test_f1']):.3f} | "
          f"{float(final['test_cldice']):.3f} | {epochs[-1]['epoch']} |")
    print(f"\nwall {wall:.0f} s with start-up and the model write; load now {os.getloadavg()[0]:.1f}")
    overhead = testing + other
    print(f"minutes={minutes:g} test_iou={final['test_iou']} test_f1={final['test_f1']} "
          f"test_cldice={final['test_cldice']} overhead={overhead:.3f} test_share={testing:.3f} epochs={len(epochs)} "
          f"test_apls_raw={final.get('test_apls_raw', 'nan')} test_apls={final.get('test_apls', 'nan')}")
    write_summary(args.summary_json, minutes=minutes, test_iou=float(final["test_iou"]),
                  test_cldice=float(final["test_cldice"]), test_apls=float(final.get("test_apls", "nan")),
                  test_apls_raw=float(final.get("test_apls_raw", "nan")), overhead=overhead, test_share=testing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
