"""Keep freed memory in the process while a model trains on the CPU.

Every training step allocates the same large activation tensors (a 64 x 128 window of a
3x384 QRNN's gates is 38 MB in float32) and frees them again. glibc's malloc serves blocks
over its mmap threshold (at most 32 MB) with a fresh mmap and hands them back to the kernel
on free, so each step pays a page fault for every 4 KiB it touches again: measured on the
2-core Zen 4 machine of benchmarks/RESULTS.md, a 38 MB `clone()` took 13 ms that way against
1 ms from memory already held, and a QRNN training step 359 ms against 283 ms.
`keep_freed_memory` tells malloc to serve those blocks from its heap and to keep what is
freed there, so the next step reuses the same pages. The cost is that the process holds on
to its peak memory until it ends (its peak itself does not grow); a training process is
where that is the right trade. Elsewhere (glibc absent, another C library) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_MAX = -4

_done = False


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to reuse freed memory instead of returning it to the kernel; True
    where it took effect. Once per process; harmless to call again."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # No block from mmap (so none goes back on free), and no trimming of the heap's top.
    _done = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
    return _done
