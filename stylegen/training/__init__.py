"""Training: stateful truncated BPTT over contiguous streams, checkpointed and resumable."""

from stylegen.training.config import TrainConfig
from stylegen.training.loop import train

__all__ = ["TrainConfig", "train"]
