"""A temporal convolutional network (Bai, Kolter & Koltun 2018, "An Empirical Evaluation of
Generic Convolutional and Recurrent Networks for Sequence Modeling") as a stateful-step model.

    ids (B, T) -> embedding (B, T, E) -> layers x residual block -> linear head (B, T, V)
    block i:  y = relu(x + drop(relu(conv2(drop(relu(conv1(x)))))))   (1x1 conv on x if widths differ)

Each convolution is causal and dilated by 2**i: output t sees inputs t, t - d, ..., t - (k-1)d.
Instead of padding each window with zeros, every convolution keeps the last (k - 1) d inputs
it saw: that buffer is the state. Training carries it from one window to the next, so the
convolutions run over the text as one unbroken stream; generation feeds one token at a time,
and a step costs one output per convolution, never a pass over the receptive field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from stylegen_tcn.config import TCNConfig

#: Calls with at most this many new tokens use a matmul over gathered taps instead of conv1d.
SHORT = 16


class CausalConv(nn.Module):
    """A dilated causal 1-D convolution whose left context comes from a buffer, not padding."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, dilation: int, norm: str) -> None:
        super().__init__()
        conv = nn.Conv1d(channels_in, channels_out, kernel, dilation=dilation)
        nn.init.normal_(conv.weight, std=0.01)  # as in the paper's reference code
        self.conv = weight_norm(conv) if norm == "weight" else conv
        self.channels_in, self.dilation = channels_in, dilation
        self.history = (kernel - 1) * dilation  # inputs of the past an output needs
        self._params = list(self.conv.parameters())  # the cache key's tensors (a plain list: not registered again)
        self._weights: tuple[Any, torch.Tensor, torch.Tensor] | None = None

    def weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The weight (C', C, k) and its matrix form (C k, C'). Weight normalisation recomputes
        the weight (g v / |v|) at every access: fine in training, but most of a generation
        step; without gradients both are computed once per change of the parameters (their
        storage or version counters)."""
        if torch.is_grad_enabled():
            weight = self.conv.weight
            return weight, weight.reshape(weight.size(0), -1).t()
        key = [(p.data_ptr(), p._version) for p in self._params]
        if self._weights is None or self._weights[0] != key:
            weight = self.conv.weight
            self._weights = (key, weight, weight.reshape(weight.size(0), -1).t().contiguous())
        return self._weights[1], self._weights[2]

    def forward(self, x: torch.Tensor, buffer: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, T), buffer (B, C, history) -> out (B, C', T), the new buffer."""
        x = torch.cat([buffer.to(x.dtype), x], dim=2)  # (B, C, history + T)
        B, T = x.size(0), x.size(2) - self.history
        kept = x[:, :, T:]  # the last `history` inputs
        weight, matrix = self.weights()
        bias = cast(torch.Tensor, self.conv.bias)  # nn.Conv1d(bias=True)
        if T > SHORT:
            return F.conv1d(x, weight, bias, dilation=self.dilation), kept
        # Few outputs (generation): gather each output's k taps and multiply once; torch's
        # conv1d costs about 10x this matmul for one output on the CPU.
        if T == 1:
            taps = x[:, :, :: self.dilation].reshape(B, -1)  # (B, C k): the k taps of the one output
        else:
            taps = x.unfold(2, self.history + 1, 1)[..., :: self.dilation]  # (B, C, T, k)
            taps = taps.permute(0, 2, 1, 3).reshape(B * T, -1)  # (B T, C k)
        out = torch.addmm(bias, taps, matrix)  # (B T, C')
        return out.view(B, T, -1).transpose(1, 2), kept


class Block(nn.Module):
    def __init__(self, channels_in: int, channels: int, kernel: int, dilation: int, cfg: TCNConfig) -> None:
        super().__init__()
        self.conv1 = CausalConv(channels_in, channels, kernel, dilation, cfg.norm)
        self.conv2 = CausalConv(channels, channels, kernel, dilation, cfg.norm)
        self.drop = nn.Dropout(cfg.dropout)
        self.skip = nn.Linear(channels_in, channels) if channels_in != channels else None  # a 1x1 convolution

    def forward(self, x: torch.Tensor, buffers: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h, b1 = self.conv1(x, buffers[0])
        h, b2 = self.conv2(self.drop(F.relu(h)), buffers[1])
        residual = x if self.skip is None else self.skip(x.transpose(1, 2)).transpose(1, 2)
        return F.relu(residual + self.drop(F.relu(h))), [b1, b2]  # (B, C, T)


class TCNLanguageModel(nn.Module):
    def __init__(self, vocab_size: int, cfg: TCNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, cfg.embed)
        self.drop = nn.Dropout(cfg.dropout)
        widths = [cfg.embed] + [cfg.hidden] * cfg.layers
        self.blocks = nn.ModuleList(Block(widths[i], widths[i + 1], cfg.kernel, 2**i, cfg) for i in range(cfg.layers))
        self.head = nn.Linear(cfg.hidden, vocab_size)

    def _blocks(self) -> Iterable[Block]:
        return cast("Iterable[Block]", self.blocks)  # an nn.ModuleList of Blocks

    def _convs(self) -> list[CausalConv]:
        return [conv for block in self._blocks() for conv in (block.conv1, block.conv2)]

    def init_state(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        """Zeros for every convolution's buffer, (B, C_in, (kernel - 1) * dilation): the text
        is taken to start after silence, as zero padding would."""
        dtype = self.embedding.weight.dtype
        return tuple(torch.zeros(batch, c.channels_in, c.history, device=device, dtype=dtype) for c in self._convs())

    def forward(
        self, ids: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """ids (B, T) -> logits (B, T, V), each convolution's last inputs."""
        if ids.size(1) == 1 and not self.training and not torch.is_grad_enabled():
            return self.step(ids, state)
        x = self.drop(self.embedding(ids)).transpose(1, 2)  # (B, E, T)
        new: list[torch.Tensor] = []
        for i, block in enumerate(self.blocks):
            x, buffers = block(x, list(state[2 * i : 2 * i + 2]))  # (B, C, T)
            new += buffers
        return self.head(x.transpose(1, 2)), tuple(new)  # (B, T, V)

    def step(self, ids: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """`forward` for one token in generation (eval, no gradients): the blocks' arithmetic
        without their module calls, which cost more than the arithmetic at this size."""
        x = self.embedding(ids[:, 0])  # (B, E)
        new: list[torch.Tensor] = []
        for i, block in enumerate(self._blocks()):
            h = x  # (B, C)
            for conv, buffer in ((block.conv1, state[2 * i]), (block.conv2, state[2 * i + 1])):
                current = h.unsqueeze(2).to(buffer.dtype)  # (B, C, 1)
                taps = torch.cat([buffer[:, :, :: conv.dilation], current], dim=2)  # (B, C, k), oldest first
                new.append(torch.cat([buffer[:, :, 1:], current], dim=2) if conv.history else buffer)
                h = torch.addmm(
                    cast(torch.Tensor, conv.conv.bias), taps.reshape(taps.size(0), -1), conv.weights()[1]
                ).relu_()
            residual = x if block.skip is None else block.skip(x)
            x = (residual + h).relu_()  # (B, C)
        return self.head(x).unsqueeze(1), tuple(new)  # (B, 1, V)

    def select_state(self, state: tuple[torch.Tensor, ...], index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Rows `index` (K,) of every buffer (B, C, history) -> (K, C, history), for beam search."""
        index = index.to(self.head.weight.device)
        return tuple(buffer.index_select(0, index) for buffer in state)

    def config(self) -> dict[str, Any]:
        return asdict(self.cfg)
