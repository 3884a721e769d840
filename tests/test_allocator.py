"""Training on a CPU keeps freed memory in the heap, so each step reuses the last one's pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

REALLOCATE = """
import resource, sys, torch
from stylegen.training.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory() and keep_freed_memory()  # once per process; again is harmless
x = torch.ones(16 * 1024 * 1024); del x  # 64 MiB, as a training step's activations
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    x = torch.ones(16 * 1024 * 1024); del x
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", REALLOCATE, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")
def test_a_freed_block_is_reused_without_faulting_its_pages_again() -> None:
    pages = 3 * 64 * 1024 * 1024 // 4096  # what three fresh 64 MiB blocks fault in
    assert page_faults("default") > pages * 9 // 10  # glibc maps and unmaps a block this large each time
    assert page_faults("keep") < pages // 2  # measured: at most the first block's pages, once
