"""The torch inference engine: uint8 image batches in, road probabilities out.

On CUDA it uses autocast (bf16 on compute capability >= 8, else fp16), channels_last, a
reused pinned host buffer with non-blocking copies, and cudnn autotuning; the
uint8 batch crosses the bus (4x smaller than float) and is normalised on the GPU.
On the CPU it is plain fp32 (ONNX Runtime is faster there; see onnx_engine).
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .devices import DeviceChoice, amp_dtype


class ImageToProbability(nn.Module):
    """Wraps a RoadSegNet: uint8 N x H x W x 3 -> float32 road probability N x H x W.

    The same module is what gets exported to ONNX, so both engines share the
    normalisation and the sigmoid.
    """

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.model = model
        std_t = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        mean_t = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        # (x / 255 - mean) / std == x * scale - shift
        self.register_buffer("scale", 1.0 / (255.0 * std_t), persistent=False)
        self.register_buffer("shift", mean_t / std_t, persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # NHWC uint8 permuted to NCHW is already channels_last in memory.
        x = images.permute(0, 3, 1, 2).float() * self.scale - self.shift
        logits = self.model(x)
        return torch.sigmoid(logits.float())[:, 0]


class TorchEngine:
    name = "torch"

    def __init__(self, model: nn.Module, device: DeviceChoice, mean: Sequence[float], std: Sequence[float]):
        self.device = torch.device(device.device)
        self.on_cuda = self.device.type == "cuda"
        self.module = ImageToProbability(model, mean, std).to(self.device).eval()
        self.amp_dtype = None
        if self.on_cuda:
            self.module = self.module.to(memory_format=torch.channels_last)
            self.amp_dtype = amp_dtype(self.device)
            torch.backends.cudnn.benchmark = True  # fixed tile shapes: autotune once
        self._pinned: torch.Tensor | None = None
        self._lock = threading.Lock()  # the pinned buffer is shared: one batch at a time

    @property
    def description(self) -> str:
        if self.amp_dtype is not None:
            return f"torch ({str(self.amp_dtype).replace('torch.', '')} autocast, channels_last)"
        return "torch (fp32)"

    def _to_device(self, batch: np.ndarray) -> torch.Tensor:
        host = torch.from_numpy(np.ascontiguousarray(batch))
        if not self.on_cuda:
            return host.to(self.device)
        if self._pinned is None or self._pinned.numel() < host.numel():
            self._pinned = torch.empty(host.numel(), dtype=torch.uint8).pin_memory()
        staging = self._pinned[:host.numel()].view(host.shape)
        staging.copy_(host)
        # Safe to reuse the buffer next call: __call__ waits for the result, so this copy has finished.
        return staging.to(self.device, non_blocking=True)

    def predict_finished(self, batch: np.ndarray, threshold: float
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(uint8 probability, bool mask, uncertainty) per image, all computed on the device.

        For whole-window batches on a GPU: converting and thresholding 1000 tiles/s of
        512^2 on the host would cost more than the model itself.
        """
        autocast = (torch.autocast(device_type="cuda", dtype=self.amp_dtype)
                    if self.amp_dtype is not None else contextlib.nullcontext())
        with self._lock, torch.inference_mode():
            with autocast:
                probs = self.module(self._to_device(batch))
            probs = probs.float()
            prob_u8 = torch.round(probs * 255.0).clamp_(0, 255).to(torch.uint8)
            p = prob_u8.float() / 255.0  # entropy of the stored values, as trainer.predict.uncertainty does
            entropy = -(torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p)) / math.log(2.0)
            return (prob_u8.cpu().numpy(), (probs >= threshold).cpu().numpy(),
                    entropy.mean(dim=(1, 2)).cpu().numpy())

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        autocast = (torch.autocast(device_type="cuda", dtype=self.amp_dtype)
                    if self.amp_dtype is not None else contextlib.nullcontext())
        with self._lock, torch.inference_mode(), autocast:
            probs = self.module(self._to_device(batch))
            return probs.float().cpu().numpy()
