#!/usr/bin/env bash
# Runs the trainer-side tests under the torch of the SageMaker image (pytorch-training:2.5: torch 2.5.1,
# torchvision 0.20.1, numpy 1.26), in a venv of its own outside the repository; not run by CI (a ~3 GB
# download from PyPI). Usage: scripts/check-image-torch.sh [VENV_DIR [PYTEST_ARGS...]]   (default /tmp/venv-t25)
# Needs uv (on PATH or in .venv/bin) and Python 3.11. Prints the versions and pytest's pass counts.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-/tmp/venv-t25}"
shift $(( $# > 0 ? 1 : 0 ))
uv="$(command -v uv || echo .venv/bin/uv)"
[ -x "$venv/bin/python" ] || "$uv" venv -p 3.11 "$venv"
# the image's torch, torchvision and numpy; what trainer/requirements.txt adds; the tests' own tools
# (boto3 and moto for the S3 tests, pyogrio and sagemaker-inference for the readers and the serving toolkit,
# the SageMaker SDK and tomli_w for the tests that stage a job as the client would; pip, which the image has)
pin() { grep -iE "^$1==" constraints.txt; }
"$uv" pip install -p "$venv/bin/python" torch==2.5.1 torchvision==0.20.1 numpy==1.26.4 \
    -r trainer/requirements.txt pip pytest "$(pin boto3)" "$(pin botocore)" "$(pin s3transfer)" \
    "moto[server]==$(pin moto | cut -d= -f3)" "$(pin pyogrio)" "$(pin sagemaker-inference)" \
    "$(pin sagemaker)" "$(pin tomli_w)"
"$venv/bin/python" -c "import torch, torchvision, numpy, scipy, skimage, rasterio; print('torch', torch.__version__, \
'torchvision', torchvision.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__, \
'scikit-image', skimage.__version__, 'rasterio', rasterio.__version__)"
# no Qt in this venv: the tests that import trainer (and roadseg_gui's Qt-free core and CLI) only
PYTHONPATH="$PWD" "$venv/bin/python" -m pytest -q -p no:cacheprovider -p no:xdist -m "not cuda" \
    tests/trainer tests/roadgraph tests/scenejob/test_container_*.py tests/scenejob/test_entry_point.py \
    tests/scenejob/test_s3_keys.py "$@"
