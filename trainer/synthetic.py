"""Synthetic road tiles: roads drawn as lines of varying width on a textured background.

Used by the tests, the benchmarks and the demo workspace, so none of them needs
downloaded data. The roads are visibly different from the background (grey
asphalt on green-brown terrain), so a model can learn them in a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def make_tile(size: int | tuple[int, int] = 128, seed: int = 0, roads: int | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Return (image uint8 H x W x 3, mask bool H x W) for one synthetic tile."""
    height, width = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    base = rng.uniform([60, 80, 40], [110, 130, 80])
    noise = rng.normal(0, 12, (height // 4 + 1, width // 4 + 1, 3))
    texture = np.kron(noise, np.ones((4, 4, 1)))[:height, :width]
    fine = rng.normal(0, 6, (height, width, 3))
    image = np.clip(base + texture + fine, 0, 255).astype(np.uint8)

    mask_img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask_img)
    count = roads if roads is not None else int(rng.integers(1, 4))
    for _ in range(count):
        road_width = int(rng.integers(max(2, min(height, width) // 40), max(4, min(height, width) // 12)))
        points = _road_polyline(rng, width, height)
        draw.line(points, fill=255, width=road_width, joint="curve")
    mask = np.asarray(mask_img) >= 128

    asphalt = rng.uniform(150, 190)
    road_pixels = np.clip(asphalt + rng.normal(0, 8, (height, width)), 0, 255)
    road_rgb = np.stack([road_pixels, road_pixels, road_pixels * 0.97], axis=2).astype(np.uint8)
    image = np.where(mask[:, :, None], road_rgb, image)
    # a slight blur so edges look like imagery rather than vector drawings
    image = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(0.6)))
    return image, mask


def _road_polyline(rng: np.random.Generator, width: int, height: int) -> list[tuple[float, float]]:
    if rng.random() < 0.5:  # roughly horizontal
        xs = np.linspace(-5, width + 5, 5)
        ys = np.clip(rng.uniform(0, height) + np.cumsum(rng.normal(0, height / 10, 5)), 0, height)
    else:
        ys = np.linspace(-5, height + 5, 5)
        xs = np.clip(rng.uniform(0, width) + np.cumsum(rng.normal(0, width / 10, 5)), 0, width)
    return [(float(x), float(y)) for x, y in zip(xs, ys)]


def write_dataset(root: str | Path, train: int = 8, test: int = 4, size: int = 128, seed: int = 0,
                  image_format: str = "jpg") -> Path:
    """Write ROOT/{train,test}/{images,masks}/ in the S3 layout; masks are 0/255 PNGs."""
    root = Path(root)
    index = 0
    for split, count in (("train", train), ("test", test)):
        (root / split / "images").mkdir(parents=True, exist_ok=True)
        (root / split / "masks").mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            image, mask = make_tile(size, seed=seed * 100_003 + index)
            stem = f"tile_{index:05d}"
            Image.fromarray(image).save(root / split / "images" / f"{stem}.{image_format}", quality=95)
            Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(root / split / "masks" / f"{stem}.png")
            index += 1
    return root
