#!/usr/bin/env bash
# The GPU checks in one short command, on a CUDA machine with stylegen and a CUDA build of
# torch already installed (nothing is installed here):
#   1. the tests that need CUDA (they skip elsewhere): cuDNN LSTM/GRU, bf16 autocast, --device cuda
#   2. the training benchmark on the GPU: tokens/s and model FLOP/s as a fraction of the GPU's
#      bf16 and fp32 matmul rates measured in the same run, without and with torch.compile
# Tables go to $OUT (default benchmarks/out) and to the terminal.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-benchmarks/out}"
mkdir -p "$OUT"
PY="${PYTHON:-python}"
"$PY" - <<'PYEOF'
import torch, sys
if not torch.cuda.is_available():
    sys.exit("gpu_check: no CUDA device (torch %s)" % torch.__version__)
print("gpu_check:", torch.cuda.get_device_name(), "torch", torch.__version__, "cuDNN", torch.backends.cudnn.version())
PYEOF
"$PY" -m pytest -q -p no:cacheprovider -k "cuda or gpu" tests 2>&1 | tee "$OUT/gpu_tests.txt"
"$PY" benchmarks/train_speed.py --device cuda --steps 30 2>&1 | tee "$OUT/gpu_train_speed.md"
"$PY" benchmarks/train_speed.py --device cuda --steps 30 --compile 2>&1 | tee "$OUT/gpu_train_speed_compile.md" || \
  echo "torch.compile run failed (see above)" | tee -a "$OUT/gpu_train_speed_compile.md"
