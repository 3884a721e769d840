"""A quasi-recurrent language model (QRNN, Bradbury et al. 2016): matrix products over all
time steps at once, and a recurrence that is only elementwise.

    ids (B, T) -> embedding (B, T, E) -> QRNN layers (B, T, H) -> linear head (B, T, V)

One layer, with x_t its input and a window of two steps (the paper's k = 2):

    z_t, f_t, o_t = tanh, sigmoid, sigmoid of  W [x_t; x_{t-1}] + b     one GEMM for all t
    c_t = f_t * c_{t-1} + (1 - f_t) * z_t                                "fo-pooling"
    h_t = o_t * c_t

An LSTM multiplies h_{t-1} by a matrix at every step, one step after another; here the only
matrix product is over the whole window at once, where the CPU's bf16 units and a GPU work at
full rate, and the recurrence is one fused multiply-add per step (`linear_scan`, with its
backward written out, so autograd adds nothing per step). Layers after the first add their
input back (residual), which lets the stack go deeper. The state carried between windows is
each layer's c and its last input (for the window of two).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from stylegen.models import check_size
from stylegen.models.rnn import embed_tokens, locked_dropout, model_config
from stylegen.models.stepper import QRNNStepper, Step, steppable, timed


@dataclass
class QRNNConfig:
    hidden: int = 512  # units per layer
    layers: int = 3  # stacked layers (after the first, each adds its input back)
    embed: int = 64  # embedding width
    dropout: float = 0.0  # a mask per element, before the head
    locked_dropout: float = 0.0  # one mask per sequence, on each layer's input and on the output
    weight_drop: float = 0.0  # DropConnect on the gate matrices' weights, one mask per batch
    embed_dropout: float = 0.0  # drops whole tokens' embeddings


class LinearScan(torch.autograd.Function):
    """c_t = a_t * c_{t-1} + b_t over time-major a, b (T, B, H), from c0 (B, H); float32."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(b)
        c = c0
        for t in range(a.shape[0]):
            c = torch.addcmul(b[t], a[t], c, out=out[t])
        ctx.save_for_backward(a, out, c0)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a, out, c0 = ctx.saved_tensors
        grad_b = torch.empty_like(grad)
        carry = grad[-1]
        grad_b[-1] = carry
        for t in range(a.shape[0] - 2, -1, -1):
            carry = torch.addcmul(grad[t], a[t + 1], carry, out=grad_b[t])  # dL/dc_t
        prev = torch.cat([c0[None], out[:-1]])  # c_{t-1}
        return grad_b * prev, grad_b, a[0] * grad_b[0]


def linear_scan(a: torch.Tensor, b: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    """c (T, B, H) with c_t = a_t * c_{t-1} + b_t."""
    out: torch.Tensor = LinearScan.apply(a, b, c0)
    return out


class QRNNLayer(nn.Module):
    def __init__(self, inputs: int, hidden: int) -> None:
        super().__init__()
        self.inputs, self.hidden = inputs, hidden
        self.gates = nn.Linear(2 * inputs, 3 * hidden)  # [x_t; x_{t-1}] -> z, f, o
        with torch.no_grad():
            self.gates.bias[hidden : 2 * hidden].fill_(1.0)  # forget gate leaning to remember

    def forward(
        self, x: torch.Tensor, c0: torch.Tensor, x0: torch.Tensor, weight_drop: float = 0.0
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """x (B, T, I), c0 (B, H), x0 (B, I): the step before the window -> ({kind: (B, T, H)}, c_T, x_T)."""
        window = torch.cat([x, torch.cat([x0[:, None], x[:, :-1]], dim=1)], dim=-1)  # (B, T, 2I)
        weight = self.gates.weight
        if self.training and weight_drop > 0:
            weight = F.dropout(weight, weight_drop, training=True)
        z, f, o = F.linear(window, weight, self.gates.bias).float().chunk(3, dim=-1)  # (B, T, H) each
        z, f, o = torch.tanh(z), torch.sigmoid(f), torch.sigmoid(o)
        a = f.transpose(0, 1).contiguous()  # (T, B, H)
        b = ((1 - f) * z).transpose(0, 1).contiguous()
        c = linear_scan(a, b, c0.float()).transpose(0, 1)  # (B, T, H)
        h = o * c
        return {"hidden": h, "cell": c, "gate-f": f, "gate-o": o}, c[:, -1], x[:, -1]


def implied_params(vocab_size: int, cfg: QRNNConfig) -> int:
    """The parameters a model of `cfg` has, counted from the config (nothing is built)."""
    h = cfg.hidden
    layers = 3 * h * (2 * cfg.embed + 1) + (cfg.layers - 1) * 3 * h * (2 * h + 1)  # gates over [x_t; x_{t-1}]
    return vocab_size * cfg.embed + layers + (h + 1) * vocab_size


class QRNNLanguageModel(nn.Module):
    def __init__(self, vocab_size: int, cfg: QRNNConfig) -> None:
        super().__init__()
        check_size("model 'qrnn'", cfg.hidden, cfg.layers, cfg.embed, implied_params(vocab_size, cfg))
        self.cfg = cfg
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, cfg.embed)
        sizes = [cfg.embed] + [cfg.hidden] * (cfg.layers - 1)
        self.layers = nn.ModuleList(QRNNLayer(n, cfg.hidden) for n in sizes)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, vocab_size)

    def init_state(self, batch: int, device: torch.device | str) -> Any:
        """Per layer: c (B, H) and the last input of the window before (B, I); batch first."""
        dtype = self.embedding.weight.dtype
        state = []
        for inputs in [self.cfg.embed] + [self.cfg.hidden] * (self.cfg.layers - 1):
            state += [torch.zeros(batch, self.cfg.hidden, device=device, dtype=dtype)]
            state += [torch.zeros(batch, inputs, device=device, dtype=dtype)]
        return tuple(state)

    def _run(self, ids: torch.Tensor, state: Any) -> tuple[list[dict[str, torch.Tensor]], torch.Tensor, Any]:
        cfg = self.cfg
        x = embed_tokens(self.embedding, ids, cfg.embed_dropout if self.training else 0.0)  # (B, T, E)
        acts, new_state = [], []
        for k, layer in enumerate(self.layers):
            inp = locked_dropout(x, cfg.locked_dropout, self.training)
            out, c, last = layer(inp, state[2 * k], state[2 * k + 1], cfg.weight_drop)
            acts.append(out)
            new_state += [c.to(state[2 * k].dtype), last.to(state[2 * k + 1].dtype)]
            x = out["hidden"] + x if k > 0 else out["hidden"]  # residual after the first layer
        return acts, x, tuple(new_state)

    def forward(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        _, x, new_state = self._run(ids, state)
        x = self.drop(locked_dropout(x, self.cfg.locked_dropout, self.training))
        return self.head(x), new_state  # (B, T, V)

    def select_state(self, state: Any, index: torch.Tensor) -> Any:
        """Rows `index` (K,) of a batch's state (batch first in every tensor)."""
        index = index.to(self.head.weight.device)
        return tuple(s.index_select(0, index) for s in state)

    def step_states(self, ids: torch.Tensor, state: Any) -> tuple[dict[str, torch.Tensor], Any]:
        """ids (1, T) -> ({kind: (L, T, H)}, new state): hidden, cell (c_t), gate-f and gate-o."""
        with torch.no_grad():
            acts, _, new_state = self._run(ids, state)
        kinds = {k: torch.stack([layer[k][0] for layer in acts]) for k in acts[0]}
        kinds["cell"] = torch.tanh(kinds["cell"])  # shown in [-1, 1], as an LSTM's tanh(c)
        return kinds, new_state

    def config(self) -> dict[str, Any]:
        return model_config(self.cfg)

    def token_stepper(self, batch: int, precision: str = "fp32") -> Step | None:
        """The fast one-token step of generation (stylegen.models.stepper), on the CPU in eval mode."""
        if not steppable(self.head.weight.device, self.training):
            return None
        return timed(QRNNStepper(self, batch, precision), batch, precision)
