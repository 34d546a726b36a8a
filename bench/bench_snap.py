"""How much of a road the snapping road line paints from a few clicks, against a straight line.

Real pairs: the demo's labeled SpaceNet chips (resources/demo/{train,test}) and, when present,
../shared/data (spacenet-vegas, eth-roads-dev). For every ground-truth road edge (from
trainer.roadgraph's mask_to_graph) the tool gets only the edge's two end points, plus its middle
point when the edge is long. The probability it snaps to is the ground truth blurred, with noise
and gaps cut into it, so no trained model is needed. Coverage = the share of the edge's own road
pixels that the painted line (at the edge's width) covers; the straight line between the same
clicks is the baseline. Target: snapping >= 1.3x straight on curved roads.

Also printed: the time of one 500-px snapping segment on a 4096^2 tile (target <= 50 ms; the
cost map is made once per tile, and timed separately).

    python bench/bench_snap.py [--seed 0] [--long-px 150] [--quick]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from roadseg_gui.core.mask_edit import MaskDocument  # noqa: E402
from roadseg_gui.core.snapping import SnapCost, snapped_polyline  # noqa: E402
from trainer.roadgraph.build import mask_to_graph  # noqa: E402

from summary import add_summary_flag, write_summary  # noqa: E402  (bench/summary.py)

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "resources" / "demo"
SHARED = ROOT.parent / "shared" / "data"
MIN_EDGE_PX = 30          # shorter edges are junction stubs, not roads one would draw
CURVED_BEND = 1.0         # an edge is curved when its middle strays > this many road widths from the chord


def pairs():
    """(name, bool mask, metres per pixel or None) for every real labeled pair at hand."""
    vegas_m = _pixel_size_m(next(iter(sorted((DEMO / "unlabeled").glob("vegas_*.tif"))), None))
    for split in ("train", "test"):
        for path in sorted((DEMO / split / "masks").glob("vegas_*.png")):
            yield f"demo/{path.stem}", _binary(path), vegas_m
    if (SHARED / "spacenet-vegas").is_dir():
        image = next(iter(sorted((SHARED / "spacenet-vegas" / "images").glob("*.tif"))), None)
        for path in sorted((SHARED / "spacenet-vegas" / "masks").glob("*.png")):
            yield f"shared/spacenet-vegas/{path.stem}", _binary(path), _pixel_size_m(image)
    if (SHARED / "eth-roads-dev").is_dir():
        for path in sorted((SHARED / "eth-roads-dev" / "masks").glob("*.png")):
            yield f"shared/eth-roads-dev/{path.stem}", _binary(path), None   # no georeferencing


def _binary(path: Path) -> np.ndarray:
    mask = np.asarray(Image.open(path))
    mask = mask[..., 0] if mask.ndim == 3 else mask
    return mask >= (1 if mask.max() == 1 else 128)


def _pixel_size_m(path: Path | None) -> float | None:
    if path is None:
        return None
    import rasterio

    with rasterio.open(path) as src:
        if src.crs is None:
            return None
        res_x, res_y = src.res
        if src.crs.is_geographic:
            latitude = math.radians((src.bounds.top + src.bounds.bottom) / 2)
            return (res_x * 111_320 * math.cos(latitude) + res_y * 111_320) / 2
        return (res_x + res_y) / 2 * src.crs.linear_units_factor[1]


def corrupted_probability(truth: np.ndarray, width: float, rng) -> np.ndarray:
    """Ground truth blurred, with Gaussian noise, and a gap of about one road width every ~100 px of road."""
    from scipy.ndimage import gaussian_filter
    from skimage.morphology import skeletonize

    p = gaussian_filter(truth.astype(np.float32), max(1.0, width / 4)) * 0.9
    rows, cols = np.nonzero(skeletonize(truth))
    r = int(math.ceil(width * 0.6))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disk = np.hypot(yy, xx) <= width * 0.6
    padded = np.pad(p, r)
    for i in rng.choice(rows.size, size=rows.size // 100, replace=False) if rows.size >= 100 else []:
        padded[rows[i]:rows[i] + 2 * r + 1, cols[i]:cols[i] + 2 * r + 1][disk] *= 0.1
    p = padded[r:-r, r:-r]
    p += rng.normal(0, 0.15, truth.shape).astype(np.float32)
    return (np.clip(p, 0, 1) * 255).astype(np.uint8)


def bend(pts: np.ndarray) -> float:
    a, b, middle = pts[0], pts[-1], pts[len(pts) // 2]
    chord = b - a
    return abs(chord[0] * (middle[1] - a[1]) - chord[1] * (middle[0] - a[0])) / max(1.0, math.hypot(*chord))


def edge_road(truth: np.ndarray, pts: np.ndarray, width: float) -> np.ndarray:
    """The edge's own road: ground-truth pixels within half its width (+1 px) of its centre line."""
    from scipy.ndimage import distance_transform_edt

    pad = int(width) + 2
    y0, x0 = max(0, pts[:, 0].min() - pad), max(0, pts[:, 1].min() - pad)
    y1, x1 = pts[:, 0].max() + pad + 1, pts[:, 1].max() + pad + 1
    line = np.ones((min(truth.shape[0], y1) - y0, min(truth.shape[1], x1) - x0), bool)
    line[pts[:, 0] - y0, pts[:, 1] - x0] = False
    road = np.zeros(truth.shape, bool)
    road[y0:y0 + line.shape[0], x0:x0 + line.shape[1]] = distance_transform_edt(line) <= width / 2 + 1
    return truth & road


def measure_pair(truth, pixel_m, rng, long_px):
    """Per edge: (covered snapped, covered straight, edge pixels, curved, clicks, length in km or None)."""
    graph = mask_to_graph(truth)
    widths = [d["width"] for _u, _v, d in graph.edges(data=True)]
    if not widths:
        return []
    road_width = float(np.median(widths))
    cost = SnapCost(corrupted_probability(truth, road_width, rng), road_width)
    rows = []
    for _u, _v, data in graph.edges(data=True):
        pts, length = np.asarray(data["pts"]), data["length"]
        if length < MIN_EDGE_PX:
            continue
        width = max(3.0, round(data["width"]))
        chosen = [pts[0], pts[len(pts) // 2], pts[-1]] if length > long_px else [pts[0], pts[-1]]
        clicks = [(c + 0.5, r + 0.5) for r, c in chosen]
        target = edge_road(truth, pts, width)
        covered = []
        for snapping in (cost, None):
            document = MaskDocument(truth.shape)
            document.road_line(snapped_polyline(snapping, clicks, road_width=width), width)
            covered.append(int((document.mask & target).sum()))
        curved = bend(pts) > CURVED_BEND * width
        rows.append((*covered, int(target.sum()), curved, len(clicks),
                     length * pixel_m / 1000 if pixel_m else None))
    return rows


def snap_speed(repeats: int = 7) -> tuple[float, float]:
    """(seconds to make the cost map of a 4096^2 tile, median seconds of one 500-px segment + paint)."""
    size = 4096
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    centre = 2048 + 120 * np.sin(xx / 160)            # a winding road across the tile
    p = np.clip(1.0 - np.abs(yy - centre) / 8, 0, 1) * 0.9
    p += np.random.default_rng(0).normal(0, 0.15, p.shape).astype(np.float32)
    probability = (np.clip(p, 0, 1) * 255).astype(np.uint8)
    del yy, xx, p
    start = time.perf_counter()
    cost = SnapCost(probability)
    build = time.perf_counter() - start
    document = MaskDocument((size, size))
    times = []
    for i in range(repeats):
        x0 = 800.0 + 200 * i
        a = (x0, float(2048 + 120 * math.sin(x0 / 160)))
        b = (x0 + 500, float(2048 + 120 * math.sin((x0 + 500) / 160)))
        start = time.perf_counter()
        document.road_line(snapped_polyline(cost, [a, b], road_width=15), 15)
        times.append(time.perf_counter() - start)
    return build, float(np.median(times))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench_snap.py")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--long-px", type=float, default=150.0, help="edges longer than this get a middle click")
    parser.add_argument("--quick", action="store_true", help="the demo chips only, three speed repeats")
    add_summary_flag(parser)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    every, curved = np.zeros(3), np.zeros(3)
    clicks, km = 0, 0.0
    for name, truth, pixel_m in pairs():
        if args.quick and not name.startswith("demo/"):
            continue
        rows = measure_pair(truth, pixel_m, rng, args.long_px)
        if not rows:
            continue
        table = np.array([r[:3] for r in rows], float)
        every += table.sum(axis=0)
        curved += table[[r[3] for r in rows]].sum(axis=0)
        for *_, n, length_km in rows:
            if length_km is not None:
                clicks, km = clicks + n, km + length_km
        s, t, n = table.sum(axis=0)
        print(f"{name}: {len(rows)} edges ({sum(r[3] for r in rows)} curved), "
              f"snap {s / n:.3f}  straight {t / n:.3f}")
    if not every[2]:
        print("No labeled road pairs found (resources/demo is missing).")
        return 1
    build, segment = snap_speed(3 if args.quick else 7)
    print(f"speed: cost map of a 4096^2 tile {build * 1000:.0f} ms (once per tile); "
          f"one 500-px snapping segment {segment * 1000:.1f} ms (target <= 50 ms)")
    snap, straight = every[0] / every[2], every[1] / every[2]
    if curved[2]:
        c_snap, c_straight = curved[0] / curved[2], curved[1] / curved[2]
        print(f"curved roads: snap_coverage={c_snap:.3f} straight_coverage={c_straight:.3f} "
              f"ratio={c_snap / max(c_straight, 1e-9):.2f} (target >= 1.3)")
    per_km = clicks / km if km else float("nan")
    print(f"clicks: {clicks} for {km:.2f} km of road on the georeferenced pairs (SpaceNet; the others have no "
          "pixel size)")
    write_summary(args.summary_json, snap_coverage=snap, straight_coverage=straight, clicks_per_km=per_km,
                  segment_500px_ms=segment * 1000)
    print(f"snap_coverage={snap:.3f} straight_coverage={straight:.3f} clicks_per_km={per_km:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
