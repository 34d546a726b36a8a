"""Helpers shared by the retrain tests."""

from __future__ import annotations

from trainer.jobs.base import Hyperparameters

# Real training, kept to seconds: 64 px tiles, one or two epochs, mobilenet, no ImageNet download,
# no loader processes, one BLAS thread in the training subprocess.
TINY = dict(batch_size=2, image_size=64, workers=0, pretrained=False, backbone="mobilenet_v3_large")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def tiny_hyperparameters(epochs: int = 1) -> Hyperparameters:
    return Hyperparameters(epochs=epochs, **TINY)
