"""numpy <-> QImage conversions for the canvas layers (safe to call off the UI thread).

Overlays are premultiplied ARGB32 so QPainter draws them on its fast path; the
QImage wraps the numpy buffer (no copy), and keeps a reference to it.
"""

from __future__ import annotations

import sys

import numpy as np
from PySide6.QtGui import QImage

MASK_RGBA = (0, 230, 255, 170)   # cyan: the editable mask


def _premultiplied(r: int, g: int, b: int, a: int) -> int:
    return (a << 24) | ((r * a // 255) << 16) | ((g * a // 255) << 8) | (b * a // 255)


MASK_PIXEL = np.uint32(_premultiplied(*MASK_RGBA))
OUTLINE_PIXEL = np.uint32(_premultiplied(255, 60, 200, 255))   # magenta: the model's prediction
# Over the heatmap the mask is drawn as its outline, opaque: a filled cyan over orange-to-magenta heat
# blended into colours that were neither legend colour.
MASK_OUTLINE_PIXEL = np.uint32(_premultiplied(MASK_RGBA[0], MASK_RGBA[1], MASK_RGBA[2], 255))


def _heat_lut() -> np.ndarray:
    """Probability -> premultiplied ARGB: transparent below ~0.2, then orange to magenta."""
    p = np.arange(256) / 255.0
    alpha = np.clip((p - 0.2) / 0.6, 0, 1) * 200
    red = np.full(256, 255.0)
    green = 140 * (1 - p)
    blue = 200 * p
    lut = [_premultiplied(int(r), int(g), int(b), int(a)) for r, g, b, a in zip(red, green, blue, alpha)]
    return np.array(lut, dtype=np.uint32)


HEAT_LUT = _heat_lut()


def wrap_argb(buffer: np.ndarray) -> QImage:
    height, width = buffer.shape
    image = QImage(buffer.data, width, height, 4 * width, QImage.Format_ARGB32_Premultiplied)
    image._buffer = buffer  # noqa: SLF001 - the QImage does not own the memory
    return image


def mask_to_argb(mask: np.ndarray) -> np.ndarray:
    return np.multiply(mask, MASK_PIXEL, dtype=np.uint32)


def paint_mask_region(buffer: np.ndarray, mask: np.ndarray, y0: int, x0: int, y1: int, x1: int) -> None:
    np.multiply(mask[y0:y1, x0:x1], MASK_PIXEL, out=buffer[y0:y1, x0:x1], dtype=np.uint32)


def probability_to_qimage(probability: np.ndarray) -> QImage:
    return wrap_argb(HEAT_LUT[probability])


def boundary(mask: np.ndarray, thickness: int = 2) -> np.ndarray:
    """The pixels of ``mask`` within ``thickness`` px of its inside edge."""
    inner = mask.copy()
    for _ in range(thickness):
        eroded = inner.copy()
        eroded[1:] &= inner[:-1]
        eroded[:-1] &= inner[1:]
        eroded[:, 1:] &= inner[:, :-1]
        eroded[:, :-1] &= inner[:, 1:]
        inner = eroded
    return mask & ~inner


def outline_to_qimage(mask: np.ndarray, thickness: int = 2) -> QImage:
    """The boundary pixels of ``mask`` (inside edge, ``thickness`` px) as an opaque magenta line."""
    return wrap_argb(np.multiply(boundary(mask, thickness), OUTLINE_PIXEL, dtype=np.uint32))


def mask_outline_argb(mask: np.ndarray, thickness: int = 2) -> np.ndarray:
    """The editable mask as an opaque cyan outline (drawn over the heatmap)."""
    return np.multiply(boundary(mask, thickness), MASK_OUTLINE_PIXEL, dtype=np.uint32)


def paint_mask_outline_region(buffer: np.ndarray, mask: np.ndarray, y0: int, x0: int, y1: int, x1: int,
                              thickness: int = 2) -> None:
    """Redo the outline where an edit in [y0:y1, x0:x1] can have moved it (the box and ``thickness`` around)."""
    h, w = mask.shape
    top, left = max(0, y0 - thickness), max(0, x0 - thickness)
    bottom, right = min(h, y1 + thickness), min(w, x1 + thickness)
    # Erode a crop with ``thickness`` spare px on each side, so its cut edges do not show as outline.
    cy0, cx0 = max(0, top - thickness), max(0, left - thickness)
    crop = boundary(mask[cy0:min(h, bottom + thickness), cx0:min(w, right + thickness)], thickness)
    np.multiply(crop[top - cy0:bottom - cy0, left - cx0:right - cx0], MASK_OUTLINE_PIXEL,
                out=buffer[top:bottom, left:right], dtype=np.uint32)


def legend_html(style: str) -> str:
    """The overlay legend for the prediction style ("outline" or "heatmap")."""
    if style == "heatmap":
        return ("<span style='color:#00e6ff'>&#9633;</span> your mask (editable), as an outline<br>"
                "<span style='color:#ff8c00'>&#9632;</span>&#8594;<span style='color:#ff3cc8'>&#9632;</span>"
                " model's road probability, low to high")
    return ("<span style='color:#00e6ff'>&#9632;</span> your mask (editable)<br>"
            "<span style='color:#ff3cc8'>&#9632;</span> model prediction")


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """uint8 H x W x 3 -> RGB32 QImage over a numpy buffer (RGB32 draws fastest under a transform).

    The packing is numpy (which releases the GIL), not QImage.convertToFormat (which holds it), so
    decoding a 4096² tile on a pool thread does not stall the UI thread."""
    height, width = rgb.shape[:2]
    if sys.byteorder != "little":
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        return QImage(rgb.data, width, height, 3 * width, QImage.Format_RGB888).convertToFormat(
            QImage.Format_RGB32)
    bgra = np.empty((height, width, 4), np.uint8)   # RGB32 in memory, little-endian: B, G, R, 0xFF
    bgra[..., 0] = rgb[..., 2]
    bgra[..., 1] = rgb[..., 1]
    bgra[..., 2] = rgb[..., 0]
    bgra[..., 3] = 255
    image = QImage(bgra.data, width, height, 4 * width, QImage.Format_RGB32)
    image._buffer = bgra  # noqa: SLF001 - the QImage does not own the memory
    return image
