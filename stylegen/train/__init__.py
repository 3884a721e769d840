"""Training: stateful truncated BPTT over contiguous streams, checkpointed and resumable."""

from stylegen.train.config import TrainConfig
from stylegen.train.loop import train

__all__ = ["TrainConfig", "train"]
