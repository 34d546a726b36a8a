#!/usr/bin/env bash
# One call on a GPU machine proves the CUDA path and prints every figure with the device's name:
# the CUDA tests, 512^2 prediction (MobileNetV3 and ResNet-101) against the seed-style loop on the
# same card, training images/s and data-loading share, a 1-GPU torchrun DDP run of the training
# entry point, the AMP dtype chosen here, and the peak RSS / GPU memory of a 16k^2 scene.
# Runs in under 8 minutes on one H100-class GPU. Last line:
#   gpu=... predict_tiles_per_s=... vs_seed=... train_images_per_s=... amp=... ddp=ok|failed
# Python: the project's .venv (made with `make setup` where PyPI is reachable), else python3 when it
# holds torch with CUDA and the project's other packages (a GPU image with no registry).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 ROADSEG_PRETRAINED=0

# --quick: fewer tiles and no 16k^2 scene, for a lease with only a few minutes left
QUICK=0; [ "${1:-}" = --quick ] && QUICK=1
if [ -n "${ROADSEG_PYTHON:-}" ]; then
  PY=$ROADSEG_PYTHON   # e.g. a GPU image's python3 with the missing wheels installed
elif [ -x .venv/bin/python ] || make -s setup >"$OUT/setup.log" 2>&1; then
  PY=.venv/bin/python
else
  PY=python3
  echo "note: no .venv (make setup failed, see $OUT/setup.log); using $(command -v python3)"
fi
if ! $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu=none: $PY's torch sees no CUDA device; run this on a GPU machine"
  exit 1
fi
GPU=$($PY -c "import torch; print(torch.cuda.get_device_name(0).replace(' ', '_'))")
AMP=$($PY -c "import torch; from trainer.devices import amp_dtype; print(str(amp_dtype('cuda:0')).replace('torch.', ''))")
echo "== device: $GPU; autocast dtype chosen here: $AMP (capability $($PY -c 'import torch; print(torch.cuda.get_device_capability(0))'))"

echo "== CUDA tests"
$PY -m pytest -q -rs -m cuda tests/cuda 2>&1 | tee "$OUT/cuda_tests.log" | tail -15
TESTS=$([ "${PIPESTATUS[0]}" -eq 0 ] && echo ok || echo failed)

echo "== prediction, 512^2 tiles, MobileNetV3"
TILES=$([ $QUICK = 1 ] && echo 384 || echo 1024)
timeout 150 $PY bench/bench_predict.py --tiles $TILES --rounds 2 --summary-json "$OUT/predict.json"
echo "== prediction, 512^2 tiles, ResNet-101"
timeout 120 $PY bench/bench_predict.py --tiles $((TILES / 2)) --rounds $((2 - QUICK)) --backbone resnet101 \
  --untrained --summary-json "$OUT/predict_r101.json"
echo "== training throughput"
timeout 90 $PY bench/bench_train.py --device cuda --tiles $([ $QUICK = 1 ] && echo 32 || echo 64) --size 512 \
  --batch-size 16 --workers 8 --summary-json "$OUT/train.json"

echo "== 1-GPU torchrun DDP run of the training entry point"
DATA=$(mktemp -d)
$PY -c "from trainer.synthetic import write_dataset; write_dataset('$DATA', train=16, test=4, size=128, seed=0)"
if timeout 120 $PY -m torch.distributed.run --standalone --nproc_per_node=1 -m trainer.train --data "$DATA" \
     --out "$DATA/model" --epochs 2 --batch-size 8 --image-size 128 --pretrained false --device cuda \
     >"$OUT/ddp.log" 2>&1 && [ -f "$DATA/model/model.pth" ]; then DDP=ok; else DDP=failed; fi
tail -4 "$OUT/ddp.log"

echo "== scene: peak RSS and GPU memory"
timeout 150 $PY bench/bench_scene.py --sizes $([ $QUICK = 1 ] && echo 8192 || echo "4096 16384") \
  --summary-json "$OUT/scene.json"

$PY - "$OUT" "$GPU" "$AMP" "$DDP" "$TESTS" <<'PYEOF'
import json, sys
from pathlib import Path
out, gpu, amp, ddp, tests = sys.argv[1:]
def read(name):
    try:
        return json.loads((Path(out) / name).read_text())
    except (OSError, ValueError):
        return {}
p, r, t, s = read("predict.json"), read("predict_r101.json"), read("train.json"), read("scene.json")
print(f"also: r101_tiles_per_s={r.get('predict_tiles_per_s', 'failed')} (untrained weights) "
      f"data_loading_share={t.get('data_loading_share', '-')} scene{s.get('size', '')}_rss_mb={s.get('peak_rss_mb', 'failed')} "
      f"scene{s.get('size', '')}_gpu_mb={s.get('peak_gpu_mb', 'failed')} cuda_tests={tests}")
print(f"gpu={gpu} predict_tiles_per_s={p.get('predict_tiles_per_s', 'failed')} vs_seed={p.get('vs_seed', 'failed')} "
      f"train_images_per_s={t.get('train_images_per_s', 'failed')} amp={amp} ddp={ddp}")
PYEOF
