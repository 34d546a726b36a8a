"""Sliding-window prediction with engine-agnostic (pure numpy) engines."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.tiling import Cancelled, plan_tiles, predict_tiled, window_positions


def pointwise(batch: np.ndarray) -> np.ndarray:
    """A 'model' whose output depends on each pixel alone: any correct tiling reproduces it exactly."""
    return (batch[..., 0] * 0.6 + batch[..., 2] * 0.4).astype(np.float32) / 255.0


def edgy(batch: np.ndarray) -> np.ndarray:
    """Like a CNN near zero padding: wrong values in a 6-pixel band along every window edge."""
    out = np.full(batch.shape[:3], 0.5, np.float32)
    out[:, :6], out[:, -6:], out[:, :, :6], out[:, :, -6:] = 0.9, 0.9, 0.9, 0.9
    return out


@pytest.mark.parametrize("length,window,stride", [(1, 32, 16), (64, 64, 48), (65, 64, 48), (1000, 128, 96),
                                                  (513, 512, 448)])
def test_windows_cover_every_pixel_and_stay_inside(length, window, stride):
    positions = window_positions(length, window, stride)
    covered = np.zeros(max(length, window), bool)
    for p in positions:
        assert 0 <= p and p + window <= max(length, window)
        covered[p:p + window] = True
    assert covered[:length].all()
    assert positions == sorted(set(positions))


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (31, 33), (64, 64), (65, 200), (513, 1000)])
def test_any_size_is_predicted_exactly_by_a_pointwise_engine(shape):
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    prob = predict_tiled(image, pointwise, tile=128, overlap=32, batch_size=3)
    assert prob.shape == shape and prob.dtype == np.float32
    np.testing.assert_allclose(prob, pointwise(image[None])[0], atol=1e-5)


def test_blending_hides_window_edge_artifacts():
    image = np.full((300, 410, 3), 100, np.uint8)
    blended = predict_tiled(image, edgy, tile=96, overlap=32)
    stitched = predict_tiled(image, edgy, tile=96, overlap=0)
    inner = (slice(6, -6), slice(6, -6))  # image borders are covered by one window only
    assert np.abs(np.diff(stitched[inner], axis=1)).max() > 0.3  # the artifact is there without blending
    assert np.abs(np.diff(blended[inner], axis=0)).max() < 0.05
    assert np.abs(np.diff(blended[inner], axis=1)).max() < 0.05
    assert np.abs(blended[inner] - 0.5).max() < 0.1


def test_tiny_image_is_padded_to_a_valid_window():
    seen = []

    def record(batch):
        seen.append(batch.shape)
        return pointwise(batch)

    predict_tiled(np.zeros((3, 40, 3), np.uint8), record, tile=512, overlap=64)
    assert seen == [(1, 32, 64, 3)]


def test_cancel_stops_between_batches():
    calls = []

    def engine(batch):
        calls.append(1)
        return pointwise(batch)

    with pytest.raises(Cancelled):
        predict_tiled(np.zeros((400, 400, 3), np.uint8), engine, tile=64, overlap=16, batch_size=2,
                      cancel=lambda: len(calls) >= 2)
    assert len(calls) == 2


@pytest.mark.parametrize("tile,overlap", [(16, 0), (128, 65), (128, -1)])
def test_bad_tiling_arguments_are_refused(tile, overlap):
    with pytest.raises(ValueError):
        plan_tiles(100, 100, tile, overlap)
