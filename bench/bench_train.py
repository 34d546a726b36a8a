"""Training throughput (images/s) and the data-loading share of step time, on this machine's CPU.

Baseline, measured in the same run on the same tiles: the seed's loop (batch 1, no workers,
``os.listdir`` inside ``__getitem__``, PIL decode, pixels / 255, MSE on raw logits).
Figures, not a pass/fail test:  .venv/bin/python bench/bench_train.py [--tiles 32 --size 256]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ROADSEG_PRETRAINED", "0")

from trainer.data import RoadDataset, resolve_splits  # noqa: E402
from trainer.model import build_model  # noqa: E402
from trainer.synthetic import write_dataset  # noqa: E402
from trainer.train_dist import Runtime  # noqa: E402
from trainer.train_loop import train_epoch  # noqa: E402

from summary import add_summary_flag, write_summary  # noqa: E402  (bench/summary.py)


class SeedStyleDataset(Dataset):
    """What the seed did: list the folder on every item, decode with PIL, divide by 255."""

    def __init__(self, root: Path):
        self.root = root

    def __len__(self):
        return len(os.listdir(self.root / "images"))

    def __getitem__(self, index):
        name = sorted(os.listdir(self.root / "images"))[index]
        image = np.asarray(Image.open(self.root / "images" / name).convert("RGB"), np.float32) / 255.0
        mask = np.asarray(Image.open(self.root / "masks" / (Path(name).stem + ".png")).convert("L"), np.float32)
        return torch.from_numpy(image).permute(2, 0, 1), torch.from_numpy(mask / 255.0)[None]


def seed_loop(root: Path, steps: int, device: torch.device) -> tuple[float, float]:
    model = build_model().to(device)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    loader = DataLoader(SeedStyleDataset(root), batch_size=1, shuffle=True)
    data_s = compute_s = 0.0
    images = 0
    waited = time.perf_counter()
    for image, mask in loader:
        image, mask = image.to(device), mask.to(device)
        started = time.perf_counter()
        data_s += started - waited
        image = torch.cat([image, image])  # BatchNorm in ASPP pooling cannot train on one sample
        mask = torch.cat([mask, mask])
        loss = torch.nn.functional.mse_loss(model(image), mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        images += 1
        waited = time.perf_counter()
        compute_s += waited - started
        if images >= steps:
            break
    return images / (data_s + compute_s), data_s / (data_s + compute_s)


def our_loop(root: Path, size: int, batch: int, workers: int, epochs: int,
             device: torch.device) -> tuple[float, float]:
    train, _ = resolve_splits(root)
    model = build_model().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    dataset = RoadDataset(train.pairs, size, augment=True)
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True, num_workers=workers,
                        persistent_workers=workers > 0)
    runtime = Runtime(device)
    step = 0
    train_epoch(model, loader, optimizer, None, runtime, step=0, total_steps=100, base_lr=1e-3,
                schedule="cosine", warmup=0)  # warm-up epoch: worker start, allocator
    timings: dict = {}
    for _ in range(epochs):
        _, step = train_epoch(model, loader, optimizer, None, runtime, step=step, total_steps=100, base_lr=1e-3,
                              schedule="cosine", warmup=0, timings=timings)
    total = timings["data_seconds"] + timings["compute_seconds"]
    return timings["samples"] / total, timings["data_seconds"] / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=24)
    parser.add_argument("--size", type=int, default=256, help="tile and crop size")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (bench/gpu_check.sh passes cuda)")
    add_summary_flag(parser)
    args = parser.parse_args()
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    with tempfile.TemporaryDirectory() as tmp:
        root = write_dataset(Path(tmp), train=args.tiles, test=1, size=args.size, seed=0)
        print(f"device={name} cpu threads={torch.get_num_threads()} tiles={args.tiles} size={args.size} "
              f"batch={args.batch_size} workers={args.workers}")
        base_rate, base_share = seed_loop(root / "train", args.tiles, device)
        print(f"seed-style loop  : {base_rate:6.2f} images/s  data loading {base_share:5.1%} of step time")
        rate, share = our_loop(root, args.size, args.batch_size, args.workers, args.epochs, device)
        print(f"roadseg trainer  : {rate:6.2f} images/s  data loading {share:5.1%} of step time")
        print(f"throughput ratio : {rate / base_rate:.2f}x the seed-style loop")
        write_summary(args.summary_json, device=name, train_images_per_s=round(rate, 2),
                      data_loading_share=round(share, 3), seed_images_per_s=round(base_rate, 2))


if __name__ == "__main__":
    main()
