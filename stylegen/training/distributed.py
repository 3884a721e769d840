"""Data-parallel training with PyTorch DDP across the processes that torchrun starts.

`torchrun --nproc-per-node N -m stylegen train ...` sets WORLD_SIZE, RANK and LOCAL_RANK in
each process; `setup()` reads them and joins the process group (NCCL on CUDA, gloo on the
CPU). The global batch of B streams is cut into WORLD_SIZE equal slices, one per rank, so N
processes read the same windows as one process would: each rank carries the recurrent state
of its own streams, and DDP averages the gradients, which makes the mean of the ranks' mean
losses the global mean loss. Rank 0 alone writes checkpoints, metrics and the style; the
other ranks stay quiet. Without WORLD_SIZE (or with 1) everything here is a no-op.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from stylegen.errors import StylegenError

if TYPE_CHECKING:
    import torch

T = TypeVar("T")


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def is_main_process() -> bool:
    """True unless this process is a torchrun worker of rank > 0 (for the CLI's own lines)."""
    return int(os.environ.get("RANK", "0") or 0) == 0


@dataclass
class World:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    comm_device: str = "cpu"  # where the tensors of collectives live: cuda:LOCAL_RANK for NCCL
    owns_group: bool = False
    _tmp: list[Path] = field(default_factory=list)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1

    def shard(self, batch: int) -> slice:
        """This rank's streams of a global batch of `batch` (a multiple of the world size)."""
        per = batch // self.size
        return slice(self.rank * per, (self.rank + 1) * per)

    def wrap(self, model: Any) -> Any:
        """The model wrapped in DistributedDataParallel (which also copies rank 0's weights to all)."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.local_rank] if self.comm_device.startswith("cuda") else None
        return DistributedDataParallel(model, device_ids=ids)

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum `tensor` over the ranks, in place."""
        if self.active:
            import torch.distributed as dist

            moved = tensor.to(self.comm_device)
            dist.all_reduce(moved)
            if moved is not tensor:
                tensor.copy_(moved)
        return tensor

    def any(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag, true if it is true on any rank: decisions to stop are taken together."""
        if not self.active:
            return flags
        import torch

        t = torch.tensor([float(f) for f in flags], device=self.comm_device)
        self.sum_(t)
        return tuple(bool(v > 0) for v in t.tolist())

    def broadcast(self, obj: T) -> T:
        """Rank 0's `obj`, on every rank."""
        if not self.active:
            return obj
        import torch.distributed as dist

        box = [obj if self.main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]  # type: ignore[return-value]

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order, on every rank."""
        if not self.active:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def on_main(self, fn: Callable[[], T]) -> T | None:
        """Run `fn` on rank 0 only; an error there is raised on every rank (no rank waits
        forever for a rank 0 that failed). Other ranks get None."""
        if not self.active:
            return fn()
        result: T | None = None
        error: BaseException | None = None
        if self.main:
            try:
                result = fn()
            except BaseException as e:
                error = e
        message = self.broadcast(None if error is None else str(error) or type(error).__name__)
        if error is not None:
            raise error
        if message is not None:
            raise StylegenError(message)
        return result

    def share_folder(self, folder: Path | None) -> Path:
        """Rank 0's `folder` on every rank: other ranks get a private copy (machines need not share a disk)."""
        if not self.active:
            assert folder is not None
            return folder
        files = None
        if self.main:
            assert folder is not None
            files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        files = self.broadcast(files)
        if self.main:
            assert folder is not None
            return folder
        assert files is not None
        copy = Path(tempfile.mkdtemp(prefix="stylegen-rank-"))
        self._tmp.append(copy)
        for name, data in files.items():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).write_bytes(data)
        return copy

    def in_turn(self, fn: Callable[[], T]) -> T:
        """Run `fn` on every rank but rank 0, the first rank of each machine before the others,
        so that a machine's corpus cache is written by one process (rank 0 ran it already)."""
        result: Any = None
        for first in (True, False):
            if not self.main and (self.local_rank == 0) == first:
                result = fn()
            self.barrier()
        return result

    def close(self) -> None:
        for path in self._tmp:
            shutil.rmtree(path, ignore_errors=True)
        if self.owns_group:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self.owns_group = False


def digest(model: Any) -> str:
    """A hash of the model's weights: equal on every rank while DDP keeps them in step."""
    import hashlib

    import torch

    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def setup(device: str) -> tuple[World, str]:
    """Join the torchrun process group, if there is one; returns the world and this rank's device."""
    size = env_world_size()
    if size <= 1:
        return World(), device
    import torch
    import torch.distributed as dist

    try:
        rank = int(os.environ["RANK"])
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
    except (KeyError, ValueError):
        raise StylegenError("WORLD_SIZE is set but RANK is not: launch several processes with torchrun") from None
    comm_device = "cpu"
    if device.startswith("cuda"):
        if local_rank >= torch.cuda.device_count():
            raise StylegenError(
                f"rank {rank} has local rank {local_rank} but this machine has {torch.cuda.device_count()} "
                "CUDA devices: --nproc-per-node is at most the number of GPUs"
            )
        torch.cuda.set_device(local_rank)
        device = comm_device = f"cuda:{local_rank}"
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if comm_device != "cpu" else "gloo")
    return World(rank, size, local_rank, comm_device, owns), device
