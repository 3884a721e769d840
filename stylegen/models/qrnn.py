"""A quasi-recurrent language model (QRNN, Bradbury et al. 2016): matrix products over all
time steps at once, and a recurrence that is only elementwise.

    ids (B, T) -> embedding (B, T, E) -> QRNN layers (B, T, H) -> linear head (B, T, V)

One layer, with x_t its input and a window of two steps (the paper's k = 2):

    z_t, f_t, o_t = tanh, sigmoid, sigmoid of  W [x_t; x_{t-1}] + b     one GEMM for all t
    c_t = f_t * c_{t-1} + (1 - f_t) * z_t                                "fo-pooling"
    h_t = o_t * c_t

An LSTM multiplies h_{t-1} by a matrix at every step, one step after another; here the only
matrix product is over the whole window at once, where the CPU's bf16 units and a GPU work at
full rate, and the recurrence is one fused multiply-add per step (`fo_pool`, with its
backward written out, so autograd adds nothing per step or per gate). Layers after the first add their
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
from stylegen.models.stepper import QRNNStepper, Step, batch1_numpy, numpy_stepper, steppable, timed


@dataclass
class QRNNConfig:
    hidden: int = 512  # units per layer
    layers: int = 3  # stacked layers (after the first, each adds its input back)
    embed: int = 64  # embedding width
    dropout: float = 0.0  # a mask per element, before the head
    locked_dropout: float = 0.0  # one mask per sequence, on each layer's input and on the output
    weight_drop: float = 0.0  # DropConnect on the gate matrices' weights, one mask per batch
    embed_dropout: float = 0.0  # drops whole tokens' embeddings


class FoPool(torch.autograd.Function):
    """One QRNN layer after its gate products, forward and backward written out.

    pre (T, B, 3H), the pre-activations [z | f | o] in any float dtype, and c0 (B, H) ->
    h (T, B, H), c (T, B, H) in float32, with z = tanh, f and o = sigmoid of their thirds,
    c_t = f_t c_{t-1} + (1 - f_t) z_t and h_t = o_t c_t.

    Autograd over the same ops costs a pass over memory for every op, a zero-filled gradient
    for every slice of the gates, and element-wise kernels over strided thirds (tanh there ran
    at a tenth of its contiguous speed on the 2-core CPU of benchmarks/RESULTS.md). Here the
    pre-activations are converted to float32 once, into a (3, T, B, H) block whose thirds are
    contiguous, and activated in place; each gradient is written once into its third of one
    block of that shape, and the recurrence runs in place both ways (the chain rule, step by
    step: dc_t = dh_t o_t + f_{t+1} dc_{t+1}; dz_t = dc_t (1 - f_t); df_t = dc_t (c_{t-1} - z_t);
    do_t = dh_t c_t; then through tanh and sigmoid at their outputs)."""

    @staticmethod
    def forward(ctx: Any, pre: torch.Tensor, c0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        steps, batch, three = pre.shape
        n = three // 3
        act = torch.empty(3, steps, batch, n, dtype=torch.promote_types(pre.dtype, torch.float32), device=pre.device)
        act.copy_(pre.view(steps, batch, 3, n).permute(2, 0, 1, 3))
        z, f, o = act[0], act[1], act[2]
        torch.tanh(z, out=z)
        torch.sigmoid(act[1:], out=act[1:])
        c = torch.addcmul(z, f, z, value=-1.0)  # (1 - f) z, then the scan in place
        prev = c0
        for t in range(steps):
            prev = torch.addcmul(c[t], f[t], prev, out=c[t])
        ctx.save_for_backward(act, c, c0)
        ctx.dtype = pre.dtype
        return o * c, c

    @staticmethod
    def backward(ctx: Any, dh: torch.Tensor, dc_out: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        act, c, c0 = ctx.saved_tensors
        z, f, o = act[0], act[1], act[2]
        grad = torch.empty_like(act)
        gz, gf, go = grad[0], grad[1], grad[2]
        torch.mul(dh, c, out=go)
        torch.ops.aten.sigmoid_backward.grad_input(go, o, grad_input=go)
        dc = dh * o
        if dc_out is not None:
            dc += dc_out
        for t in range(dc.shape[0] - 2, -1, -1):
            torch.addcmul(dc[t], f[t + 1], dc[t + 1], out=dc[t])
        torch.sub(c[:-1], z[1:], out=gf[1:])  # c_{t-1} - z_t
        torch.sub(c0, z[0], out=gf[0])
        gf.mul_(dc)
        torch.ops.aten.sigmoid_backward.grad_input(gf, f, grad_input=gf)
        torch.addcmul(dc, dc, f, value=-1.0, out=gz)  # dc (1 - f)
        torch.ops.aten.tanh_backward.grad_input(gz, z, grad_input=gz)
        _, steps, batch, n = grad.shape
        dpre = torch.empty(steps, batch, 3, n, dtype=ctx.dtype, device=grad.device)
        dpre.copy_(grad.permute(1, 2, 0, 3))
        return dpre.view(steps, batch, 3 * n), f[0] * dc[0]


def fo_pool(pre: torch.Tensor, c0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(h, c), each (T, B, H) in float32, from pre-activations pre (T, B, 3H) and c0 (B, H)."""
    h, c = FoPool.apply(pre, c0)
    return h, c


class QRNNLayer(nn.Module):
    #: the gate matrix's rows are three gates (z, f, o): `--optimizer muon` orthogonalises each apart
    gate_blocks = 3

    def __init__(self, inputs: int, hidden: int) -> None:
        super().__init__()
        self.inputs, self.hidden = inputs, hidden
        self.gates = nn.Linear(2 * inputs, 3 * hidden)  # [x_t; x_{t-1}] -> z, f, o
        with torch.no_grad():
            self.gates.bias[hidden : 2 * hidden].fill_(1.0)  # forget gate leaning to remember

    def forward(
        self, x: torch.Tensor, c0: torch.Tensor, x0: torch.Tensor, weight_drop: float = 0.0, gates: bool = False
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """Time-major x (T, B, I), c0 (B, H), x0 (B, I): the step before the window ->
        ({kind: (T, B, H)}, c_T, x_T); the kinds are hidden and cell, and with `gates` (for
        inspect) gate-f and gate-o.

        W [x_t; x_{t-1}] is computed as W_now x_t + W_before x_{t-1}: two products over the
        rows of one (T + 1, B, I) block, each a contiguous view, so no (T, B, 2I) window is
        ever copied together (that copy, and the transposes a batch-first layout needs, took
        as long as the products themselves on a 2-core CPU: benchmarks/RESULTS.md)."""
        steps = torch.cat([x0[None].to(x.dtype), x])  # (T + 1, B, I): x_{-1} .. x_{T-1}
        weight = self.gates.weight
        if self.training and weight_drop > 0:
            weight = F.dropout(weight, weight_drop, training=True)
        now, before = weight[:, : self.inputs], weight[:, self.inputs :]
        pre = F.linear(steps[1:], now, self.gates.bias) + F.linear(steps[:-1], before)  # (T, B, 3H)
        h, c = fo_pool(pre, c0.float())
        acts = {"hidden": h, "cell": c}
        if gates:
            fo = torch.sigmoid(pre[..., self.hidden :].detach().to(c.dtype))
            acts |= {"gate-f": fo[..., : self.hidden], "gate-o": fo[..., self.hidden :]}
        return acts, c[-1], x[-1]


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

    def _run(
        self, ids: torch.Tensor, state: Any, gates: bool = False
    ) -> tuple[list[dict[str, torch.Tensor]], torch.Tensor, Any]:
        """ids (B, T) -> (per layer {kind: (T, B, H)}, the last layer's output (T, B, H), new
        state): time-major inside, so each step's rows are contiguous."""
        cfg = self.cfg
        x = embed_tokens(self.embedding, ids.t(), cfg.embed_dropout if self.training else 0.0)  # (T, B, E)
        acts, new_state = [], []
        for k, layer in enumerate(self.layers):
            inp = locked_dropout(x, cfg.locked_dropout, self.training, time_dim=0)
            out, c, last = layer(inp, state[2 * k], state[2 * k + 1], cfg.weight_drop, gates)
            acts.append(out)
            new_state += [c.to(state[2 * k].dtype), last.to(state[2 * k + 1].dtype)]
            x = out["hidden"] + x if k > 0 else out["hidden"]  # residual after the first layer
        return acts, x, tuple(new_state)

    def forward(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        _, x, new_state = self._run(ids, state)
        x = self.drop(locked_dropout(x, self.cfg.locked_dropout, self.training, time_dim=0))
        return self.head(x).transpose(0, 1), new_state  # (B, T, V)

    def select_state(self, state: Any, index: torch.Tensor) -> Any:
        """Rows `index` (K,) of a batch's state (batch first in every tensor)."""
        index = index.to(self.head.weight.device)
        return tuple(s.index_select(0, index) for s in state)

    def step_states(self, ids: torch.Tensor, state: Any) -> tuple[dict[str, torch.Tensor], Any]:
        """ids (1, T) -> ({kind: (L, T, H)}, new state): hidden, cell (c_t), gate-f and gate-o."""
        with torch.no_grad():
            acts, _, new_state = self._run(ids, state, gates=True)
        kinds = {k: torch.stack([layer[k][:, 0] for layer in acts]) for k in acts[0]}
        kinds["cell"] = torch.tanh(kinds["cell"])  # shown in [-1, 1], as an LSTM's tanh(c)
        return kinds, new_state

    def config(self) -> dict[str, Any]:
        return model_config(self.cfg)

    def token_stepper(self, batch: int, precision: str = "fp32") -> Step | None:
        """The fast one-token step of generation (stylegen.models.stepper), on the CPU in eval mode."""
        if not steppable(self.head.weight.device, self.training):
            return None
        if batch1_numpy(batch, precision):
            return timed(numpy_stepper(self, "qrnn", precision), batch, precision)
        return timed(QRNNStepper(self, batch, precision), batch, precision)
