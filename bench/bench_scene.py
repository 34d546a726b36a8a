"""Whole-scene prediction: megapixels/s and peak RSS for generated 4k^2, 8k^2 and 16k^2 GeoTIFFs.

Each scene is predicted in its own subprocess (the default CPU engine, 512 windows,
64 overlap, mask + probability GeoTIFFs) so its peak RSS is its own. Target: peak RSS
under 1.5 GB and flat across sizes (memory must not grow with the scene).

    python bench/bench_scene.py [--sizes 4096 8192 16384] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from summary import add_summary_flag, write_summary  # noqa: E402  (bench/summary.py)


def write_scene(path: Path, size: int) -> None:
    """A tiled, compressed RGB GeoTIFF written block row by block row (never whole in memory)."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    from trainer.synthetic import make_tile

    tiles = [np.moveaxis(make_tile(512, seed)[0], -1, 0) for seed in range(4)]
    profile = dict(driver="GTiff", width=size, height=size, count=3, dtype="uint8", crs="EPSG:32618",
                   transform=from_origin(500000.0, 4000000.0, 0.5, 0.5), nodata=0, tiled=True,
                   blockxsize=512, blockysize=512, compress="deflate", BIGTIFF="IF_SAFER")
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, size, 512):
            height = min(512, size - row)
            band = np.concatenate([tiles[(row // 512 + i) % 4] for i in range(-(-size // 512))], axis=2)
            dst.write(band[:, :height, :size], window=Window(0, row, size, height))


def child(scene: str, model_dir: str, out_dir: str) -> None:
    from trainer.predict import Predictor
    from trainer.scene import predict_scene

    predictor = Predictor(model_dir)
    started = time.perf_counter()
    result = predict_scene(scene, out_dir, predictor.engine, tile=predictor.tile, overlap=predictor.overlap,
                           batch_size=predictor.batch_size, threshold=predictor.threshold)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    import torch
    gpu_mb = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    print(json.dumps({"megapixels": result.width * result.height / 1e6, "seconds": seconds, "tiles": result.tiles,
                      "peak_rss_mb": peak_mb, "peak_gpu_mb": gpu_mb, "engine": predictor.describe()}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--quick", action="store_true", help="2k^2 and 4k^2 only")
    add_summary_flag(parser)
    parser.add_argument("--child", nargs=3, metavar=("SCENE", "MODEL", "OUT"), help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.child:
        child(*args.child)
        return 0
    sizes = args.sizes or ([2048, 4096] if args.quick else [4096, 8192, 16384])
    import torch

    from trainer.artifact import ModelMeta, save_model_dir
    from trainer.model import build_model

    with tempfile.TemporaryDirectory(prefix="bench-scene-") as tmp:
        tmp = Path(tmp)
        torch.manual_seed(0)
        model_dir = save_model_dir(build_model(), ModelMeta(), tmp / "model")
        subprocess.run([sys.executable, "-c", f"from trainer.predict import Predictor; Predictor({str(model_dir)!r})"],
                       check=True, cwd=Path(__file__).resolve().parent.parent)  # export ONNX once, outside timing
        rows = []
        for size in sizes:
            scene = tmp / f"scene_{size}.tif"
            write_scene(scene, size)
            proc = subprocess.run([sys.executable, __file__, "--child", str(scene), str(model_dir), str(tmp / "out")],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stderr[-2000:])
                return 1
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append((size, row))
            print(f"  {size:6d}^2  {row['megapixels']:7.1f} MP  {row['tiles']:5d} windows  {row['seconds']:7.1f} s  "
                  f"{row['megapixels'] / row['seconds']:6.2f} MP/s  peak RSS {row['peak_rss_mb']:7.0f} MB"
                  + (f"  peak GPU memory {row['peak_gpu_mb']:.0f} MB" if row.get("peak_gpu_mb") else ""), flush=True)
            scene.unlink()
            for output in (tmp / "out").glob("*"):
                output.unlink()
    print(f"engine: {rows[0][1]['engine']}")
    peaks = [row["peak_rss_mb"] for _, row in rows]
    print(f"peak RSS {min(peaks):.0f}-{max(peaks):.0f} MB (target < 1500 MB, flat); "
          f"largest/smallest scene RSS ratio {max(peaks) / min(peaks):.2f} for a "
          f"{(sizes[-1] / sizes[0]) ** 2:.0f}x larger scene")
    largest = rows[-1][1]
    write_summary(args.summary_json, engine=largest["engine"], size=sizes[-1], peak_rss_mb=round(largest["peak_rss_mb"]),
                  peak_gpu_mb=None if largest.get("peak_gpu_mb") is None else round(largest["peak_gpu_mb"]),
                  megapixels_per_s=round(largest["megapixels"] / largest["seconds"], 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
