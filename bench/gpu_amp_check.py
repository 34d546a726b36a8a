"""On a real GPU: the autocast dtype trainer.devices.amp_dtype picks, and a few real training steps on it.

Runs trainer.train.fit twice on tiny synthetic data: once as the card is (bf16 on capability >= 8.0,
no GradScaler), and once with the capability reported as 7.5 (a T4, SageMaker's g4dn), which must
train in fp16 with a GradScaler. Prints one line per run and a last summary line; exits 1 when a
run's dtype, scaler or losses are wrong. Under a minute on one GPU.

    python bench/gpu_amp_check.py
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from trainer import devices, train_loop  # noqa: E402
from trainer.synthetic import write_dataset  # noqa: E402
from trainer.train import config_from_args, fit  # noqa: E402


def run(tmp: Path, label: str, expected_dtype, expect_scaler: bool) -> bool:
    scalers = []
    real_make_scaler = train_loop.make_scaler

    def recording_make_scaler(runtime):
        scaler = real_make_scaler(runtime)
        scalers.append(scaler)
        return scaler

    train_loop.make_scaler = recording_make_scaler
    import trainer.train as train_module
    train_module.make_scaler = recording_make_scaler
    epochs = []
    try:
        config = config_from_args(["--data", str(tmp / "data"), "--out", str(tmp / f"model-{label}"),
                                   "--epochs", "2", "--batch-size", "8", "--image-size", "128", "--workers", "2",
                                   "--pretrained", "false", "--device", "cuda", "--lr", "0.003"])
        result = fit(config, on_epoch=epochs.append)
    finally:
        train_loop.make_scaler = real_make_scaler
        train_module.make_scaler = real_make_scaler
    dtype = devices.amp_dtype("cuda:0")
    scaler = scalers[0] if scalers else None
    losses = [e["train_loss"] for e in epochs]
    ok = (dtype is expected_dtype and (scaler is not None) == expect_scaler
          and all(math.isfinite(x) for x in losses) and bool(losses))
    scale = f" scale={scaler.get_scale():.0f}" if scaler is not None and scaler.is_enabled() else ""
    print(f"{label}: capability={torch.cuda.get_device_capability(0)} autocast={dtype} "
          f"grad_scaler={type(scaler).__name__ if scaler else None}{scale} train_losses={losses} "
          f"test_iou={result.get('iou')} -> {'ok' if ok else 'WRONG'}", flush=True)
    return ok


def main() -> int:
    if not torch.cuda.is_available():
        print("gpu_amp_check: no CUDA device")
        return 1
    name = torch.cuda.get_device_name(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_dataset(tmp / "data", train=32, test=4, size=128, seed=1)
        native = torch.cuda.get_device_capability(0) >= (8, 0)
        ok_native = run(tmp, "as-is", torch.bfloat16 if native else torch.float16, not native)
        real = torch.cuda.get_device_capability
        torch.cuda.get_device_capability = lambda device=None: (7, 5)  # what a T4 reports
        try:
            ok_t4 = run(tmp, "as-T4", torch.float16, True)
        finally:
            torch.cuda.get_device_capability = real
    print(f"gpu={name.replace(' ', '_')} amp_native={'ok' if ok_native else 'failed'} "
          f"amp_fp16_scaler={'ok' if ok_t4 else 'failed'} bf16_supported_says={torch.cuda.is_bf16_supported()}")
    return 0 if ok_native and ok_t4 else 1


if __name__ == "__main__":
    sys.exit(main())
