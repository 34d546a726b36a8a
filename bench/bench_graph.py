"""Road graph + APLS + clDice on 1024 x 1024 tiles: seconds per tile, per stage. Target <= 1 s on this CPU.

The truth is a 1024^2 mosaic of real road masks (../shared/data/eth-roads-dev when present,
else the demo's SpaceNet chips, else synthetic tiles); the proposal is the truth as a model
would get it wrong: a pixel thinner or thicker, a few gaps cut across roads, and blobs.

    python bench/bench_graph.py [--repeats 5] [--scenes 4096 8192] [--quick] [--summary-json PATH]

``--scenes`` vectorises generated scene masks in a child process each and prints its peak RSS,
which should stay flat with the scene size (blocks of 4096 px, stitched).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from summary import add_summary_flag, write_summary  # noqa: E402  (bench/summary.py)

SIZE = 1024


def mask_sources() -> tuple[str, list[Path]]:
    shared = ROOT.parent / "shared" / "data" / "eth-roads-dev" / "masks"
    if shared.is_dir() and any(shared.glob("*.png")):
        return "eth-roads-dev masks (../shared/data)", sorted(shared.glob("*.png"))
    demo = sorted((ROOT / "resources" / "demo").glob("*/masks/vegas_*.png"))
    return ("demo SpaceNet chips", demo) if demo else ("synthetic tiles", [])


def mosaic(paths: list[Path], seed: int) -> np.ndarray:
    from trainer.imageio import read_mask
    from trainer.synthetic import make_tile

    if not paths:
        return make_tile(SIZE, seed, roads=8)[1]
    rng = np.random.default_rng(seed)
    rows = []
    while sum(r.shape[0] for r in rows) < SIZE:
        row = []
        while sum(m.shape[1] for m in row) < SIZE:
            row.append(read_mask(paths[int(rng.integers(len(paths)))]))
        height = min(m.shape[0] for m in row)
        rows.append(np.concatenate([m[:height] for m in row], axis=1)[:, :SIZE])
    return np.concatenate(rows)[:SIZE]


def corrupt(truth: np.ndarray, seed: int) -> np.ndarray:
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    pred = ndimage.binary_erosion(truth) if seed % 2 else ndimage.binary_dilation(truth)
    rows, cols = np.nonzero(truth)
    for i in rng.choice(len(rows), size=min(12, len(rows)), replace=False):
        r, c = rows[i], cols[i]
        pred[max(0, r - 6):r + 6, max(0, c - 6):c + 6] = False          # a gap
    for r, c in rng.integers(0, SIZE, size=(20, 2)):
        pred[r:r + 9, c:c + 9] = True                                  # a blob
    return pred


def write_scene_mask(path: Path, size: int, tile: np.ndarray) -> None:
    """A size^2 0/255 GeoTIFF mask: ``tile`` repeated, with a road along every tile seam so that
    roads cross the 4096-px vectorising blocks; written block row by block row."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    band = np.where(tile, 255, 0).astype(np.uint8)
    band[:, :9] = band[:9, :] = 255
    row = np.tile(band, (1, size // band.shape[1]))
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="uint8", crs="EPSG:32618",
                   transform=from_origin(500000.0, 4000000.0, 0.5, 0.5), tiled=True, blockxsize=512,
                   blockysize=512, compress="deflate")
    with rasterio.open(path, "w", **profile) as dst:
        for y in range(0, size, band.shape[0]):
            dst.write(row, 1, window=Window(0, y, size, band.shape[0]))


def vectorize_scene(size: int, tile: np.ndarray) -> dict:
    """Vectorise a size^2 scene mask in a child process: seconds, edges and the child's peak RSS."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        mask = Path(tmp) / "scene_mask.tif"
        write_scene_mask(mask, size, tile)
        code = ("import json, sys, time, resource; sys.path.insert(0, %r)\n"
                "from trainer.roadgraph.vectorize import vectorize_raster\n"
                "t = time.perf_counter(); r = vectorize_raster(%r, %r, polygons=False)\n"
                "print(json.dumps({'seconds': time.perf_counter() - t, 'edges': r.line_count, 'nodes': r.node_count,"
                " 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))") % (str(ROOT), str(mask), tmp)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        figures = json.loads(out.splitlines()[-1])
    print(f"vectorize {size}x{size} scene mask: {figures['seconds']:.1f} s, {figures['edges']} edges, "
          f"{figures['nodes']} nodes, peak RSS {figures['rss_mb']:.0f} MB")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scenes", type=int, nargs="*", default=[4096, 8192],
                        help="vectorise generated scene masks of these sizes for peak RSS (default 4096 8192)")
    parser.add_argument("--quick", action="store_true", help="2 tiles, no scenes")
    add_summary_flag(parser)
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.scenes = 2, []

    from trainer.roadgraph.apls import apls_between
    from trainer.roadgraph.build import graph_from_skeleton
    from trainer.roadgraph.metrics import _cldice, road_metrics
    from trainer.roadgraph.skeleton import skeletonize_mask
    from trainer.roadgraph.stats import network_stats

    source, paths = mask_sources()
    print(f"truth: {SIZE}x{SIZE} mosaics of {source}; proposal: truth thinned/thickened, 12 gaps, 20 blobs")
    totals, stages = [], {"skeletons": [], "graphs": [], "apls": [], "cldice": []}
    road_metrics(np.zeros((64, 64), bool), np.zeros((64, 64), bool))   # imports outside the timing
    for seed in range(args.repeats):
        truth = mosaic(paths, seed)
        pred = corrupt(truth, seed)
        started = time.perf_counter()
        result = road_metrics(pred, truth)
        totals.append(time.perf_counter() - started)
        # the same work again, stage by stage
        t0 = time.perf_counter()
        ps, ts = skeletonize_mask(pred), skeletonize_mask(truth)
        t1 = time.perf_counter()
        pg, tg = graph_from_skeleton(pred, ps), graph_from_skeleton(truth, ts)
        t2 = time.perf_counter()
        apls_between(tg, pg, spacing=40.0, buffer=10.0)
        t3 = time.perf_counter()
        _cldice(pred, truth, ps, ts)
        t4 = time.perf_counter()
        for key, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            stages[key].append(value)
        stats = network_stats(tg)
        print(f"tile {seed}: {totals[-1]:.3f} s  apls={result['apls']:.3f} cldice={result['cldice']:.3f}  "
              f"truth graph: {stats['edges']} edges, {stats['junctions']} junctions, "
              f"{stats['dangling_ends']} ends, {stats['fragments']} fragments, road {truth.mean():.1%}")
    print("median per stage: " + ", ".join(f"{k} {statistics.median(v):.3f} s" for k, v in stages.items()))
    grid = np.zeros((SIZE, SIZE), bool)     # worst case: a 21 x 21 grid of 3-px streets, 441 junctions
    for k in range(16, SIZE, 48):
        grid[k:k + 3, :] = grid[:, k:k + 3] = True
    cut = grid.copy()
    cut[::97, :] = False
    started = time.perf_counter()
    dense = road_metrics(cut, grid)
    print(f"dense street grid (441 junctions, cut every 97 rows): {time.perf_counter() - started:.3f} s, "
          f"apls={dense['apls']:.3f} cldice={dense['cldice']:.3f}")
    seconds = statistics.median(totals)
    print(f"graph_apls_cldice_s={seconds:.3f} target<=1.0 {'OK' if seconds <= 1.0 else 'SLOW'}")
    scenes = {size: vectorize_scene(size, mosaic(paths, 0)) for size in args.scenes}
    write_summary(args.summary_json, graph_apls_cldice_s=round(seconds, 4),
                  **{f"vectorize_{size}_rss_mb": round(f["rss_mb"]) for size, f in scenes.items()})


if __name__ == "__main__":
    main()
