"""Mixed precision follows the GPU's compute capability, not torch.cuda.is_bf16_supported().

The capability is faked (no GPU here): is_bf16_supported() says True on a T4 (7.5) and a V100 (7.0)
because bf16 is emulated there, so it is faked True too, as those machines report it.
"""

from __future__ import annotations

import pytest
import torch

from trainer import devices
from trainer.train_dist import Runtime
from trainer.train_loop import autocast, make_scaler


@pytest.fixture
def fake_gpu(monkeypatch):
    def install(capability):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # emulated on 7.x
    return install


@pytest.mark.parametrize("capability, expected", [
    ((7, 0), torch.float16),   # V100 (ml.p3)
    ((7, 5), torch.float16),   # T4 (ml.g4dn), the cheapest SageMaker GPU
    ((8, 0), torch.bfloat16),  # A100 (ml.p4d)
    ((8, 6), torch.bfloat16),  # A10G (ml.g5)
    ((9, 0), torch.bfloat16),  # H100 (ml.p5)
])
def test_bf16_only_from_capability_8_and_fp16_with_a_grad_scaler_below(fake_gpu, capability, expected):
    fake_gpu(capability)
    runtime = Runtime(torch.device("cuda", 0))
    assert devices.amp_dtype(runtime.device) is expected
    assert autocast(runtime).fast_dtype is expected
    scaler = make_scaler(runtime)
    if expected is torch.float16:
        assert isinstance(scaler, torch.amp.GradScaler)  # fp16 gradients underflow without loss scaling
    else:
        assert scaler is None


def test_fp32_off_cuda(fake_gpu):
    fake_gpu((9, 0))
    for device in ("cpu", "mps"):
        runtime = Runtime(torch.device(device))
        assert devices.amp_dtype(device) is None
        assert make_scaler(runtime) is None
        with autocast(runtime):
            assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype is torch.float32
