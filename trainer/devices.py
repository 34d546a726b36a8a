"""Choosing where inference runs (CUDA, then Apple MPS, then CPU) and saying why.

Users of similar tools ask exactly "is it on my GPU, and if not, why not?", so the
choice always comes with a sentence, e.g. "CUDA: NVIDIA H100 80GB HBM3" or
"CPU (no CUDA or MPS found; this torch build has no CUDA support)".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import RoadsegError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
BF16_MIN_CAPABILITY = (8, 0)  # Ampere: native bf16 tensor cores


def amp_dtype(device) -> torch.dtype | None:
    """The autocast dtype for ``device``: bf16 on CUDA capability >= 8.0, fp16 below, None (fp32) off CUDA.

    Not ``torch.cuda.is_bf16_supported()``: it says True on T4 and V100 (7.x) through emulation,
    which is slow; fp16 with a GradScaler is what those GPUs run fast.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return None
    if torch.cuda.get_device_capability(device) >= BF16_MIN_CAPABILITY:
        return torch.bfloat16
    return torch.float16


class DeviceError(RoadsegError):
    """A device was asked for that this machine or this torch build does not have."""


@dataclass(frozen=True)
class DeviceChoice:
    device: str          # a torch device string: "cpu", "cuda:0", "mps"
    description: str     # what it is and why it was chosen

    @property
    def kind(self) -> str:
        return self.device.split(":")[0]


def _cuda_missing_reason() -> str:
    if getattr(torch.version, "cuda", None) is None:
        return "this torch build has no CUDA support"
    return "no NVIDIA GPU or driver found"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _cuda_choice(index: int = 0) -> DeviceChoice:
    name = torch.cuda.get_device_name(index)
    return DeviceChoice(f"cuda:{index}", f"CUDA: {name}")


def select_device(requested: str = "auto") -> DeviceChoice:
    """Resolve ``auto|cpu|cuda|cuda:N|mps`` to a device, or raise DeviceError saying why not."""
    requested = (requested or "auto").strip().lower()
    kind, _, index_text = requested.partition(":")
    if kind not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device '{requested}'", f"Use one of {', '.join(DEVICE_CHOICES)}.")
    if kind == "cpu":
        return DeviceChoice("cpu", "CPU (as requested)")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"CUDA was requested but is not available ({_cuda_missing_reason()})",
                              "Use --device auto or cpu, or install a CUDA build of torch and the NVIDIA driver.")
        index = int(index_text) if index_text.isdigit() else 0
        if index >= torch.cuda.device_count():
            raise DeviceError(f"there is no CUDA device {index} ({torch.cuda.device_count()} found)")
        return _cuda_choice(index)
    if kind == "mps":
        if not _mps_available():
            raise DeviceError("Apple MPS was requested but is not available on this machine",
                              "Use --device auto or cpu.")
        return DeviceChoice("mps", "Apple MPS (Metal GPU)")
    # auto: CUDA, then MPS, then CPU
    if torch.cuda.is_available():
        return _cuda_choice(0)
    if _mps_available():
        return DeviceChoice("mps", "Apple MPS (Metal GPU)")
    return DeviceChoice("cpu", f"CPU (no CUDA or MPS found; {_cuda_missing_reason()})")
