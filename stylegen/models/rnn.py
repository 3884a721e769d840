"""Character-level recurrent language models on torch's fused LSTM/GRU/RNN (cuDNN on CUDA).

    ids (B, T) -> embedding (B, T, E) -> stacked recurrent layers (B, T, H) -> linear head (B, T, V)

The vanilla `rnn` cell is h_t = tanh(W_xh x_t + W_hh h_{t-1} + b), y_t = W_hy h_t.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from stylegen.models import check_size
from stylegen.models.stepper import RecurrentStepper, Step, batch1_numpy, numpy_stepper, steppable, timed

#: options that change training only (a loaded model in eval mode ignores them)
TRAINING_ONLY = ("locked_dropout", "weight_drop", "embed_dropout")

CELLS: dict[str, Callable[..., nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


@dataclass
class RNNConfig:
    hidden: int = 256  # units per recurrent layer
    layers: int = 2  # stacked recurrent layers
    embed: int = 64  # embedding width
    dropout: float = 0.0  # on the embedding, between layers, and before the head (a mask per element)
    # Regularisation that costs (almost) no steps, from AWD-LSTM (Merity et al. 2017):
    locked_dropout: float = 0.0  # one mask per sequence on the embeddings and the last layer's output
    weight_drop: float = 0.0  # DropConnect on the hidden-to-hidden matrices, one mask per batch
    embed_dropout: float = 0.0  # drops whole tokens' embeddings (the same token everywhere in a batch)


def implied_params(cell: str, vocab_size: int, cfg: RNNConfig) -> int:
    """The parameters a model of `cfg` has, counted from the config (nothing is built)."""
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    h = cfg.hidden
    recurrent = gates * h * (cfg.embed + h + 2) + (cfg.layers - 1) * gates * h * (2 * h + 2)  # weights, 2 biases
    return vocab_size * cfg.embed + recurrent + (h + 1) * vocab_size


class RNNLanguageModel(nn.Module):
    def __init__(self, cell: str, vocab_size: int, cfg: RNNConfig) -> None:
        super().__init__()
        check_size(f"model {cell!r}", cfg.hidden, cfg.layers, cfg.embed, implied_params(cell, vocab_size, cfg))
        self.cell = cell
        self.cfg = cfg
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, cfg.embed)
        self.drop = nn.Dropout(cfg.dropout)
        self.rnn = CELLS[cell](
            cfg.embed,
            cfg.hidden,
            num_layers=cfg.layers,
            dropout=cfg.dropout if cfg.layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(cfg.hidden, vocab_size)
        if cell == "lstm":
            # Forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015): remember by default.
            # torch orders the gate chunks input, forget, cell, output.
            for name, param in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    with torch.no_grad():
                        param[cfg.hidden : 2 * cfg.hidden].fill_(1.0)

    def init_state(self, batch: int, device: torch.device | str) -> Any:
        shape = (self.cfg.layers, batch, self.cfg.hidden)
        dtype = self.embedding.weight.dtype
        h = torch.zeros(shape, device=device, dtype=dtype)
        if self.cell == "lstm":
            return (h, torch.zeros(shape, device=device, dtype=dtype))
        return h

    def forward(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        cfg = self.cfg
        x = embed_tokens(self.embedding, ids, cfg.embed_dropout if self.training else 0.0)  # (B, T, E)
        x = self.drop(locked_dropout(x, cfg.locked_dropout, self.training))
        if self.training and cfg.weight_drop > 0:
            # The same dropped recurrent matrices at every step of the window; the fused kernel
            # runs with them in place of the parameters (gradients flow back through the mask).
            dropped = {
                name: F.dropout(getattr(self.rnn, name), cfg.weight_drop, training=True)
                for name in self.rnn._flat_weights_names
                if name.startswith("weight_hh")
            }
            out, state = functional_call(self.rnn, dropped, (x, state))
        else:
            out, state = self.rnn(x, state)  # (B, T, H); state (L, B, H) or a pair of them
        out = self.drop(locked_dropout(out, cfg.locked_dropout, self.training))
        return self.head(out), state  # (B, T, V)

    def select_state(self, state: Any, index: torch.Tensor) -> Any:
        """Rows `index` (K,) of a batch's state, in that order (beam search duplicates and
        reorders hypotheses with it): (L, B, H) -> (L, K, H), for h and, in an LSTM, c."""
        index = index.to(self.head.weight.device)
        if isinstance(state, (tuple, list)):
            return tuple(s.index_select(1, index) for s in state)
        return state.index_select(1, index)

    def config(self) -> dict[str, Any]:
        """The options that rebuild this model. The training-only regularisers are left out
        while off, so a style.json written before they existed reads the same."""
        return model_config(self.cfg)

    def token_stepper(self, batch: int, precision: str = "fp32") -> Step | None:
        """The fast one-token step of generation (stylegen.models.stepper), on the CPU in eval
        mode; None elsewhere (the generator then calls `forward`)."""
        if not steppable(self.head.weight.device, self.training):
            return None
        if batch1_numpy(batch, precision):
            return timed(numpy_stepper(self, self.cell, precision), batch, precision)
        return timed(RecurrentStepper(self, batch, precision), batch, precision)

    def step_states(self, ids: torch.Tensor, state: Any) -> tuple[dict[str, torch.Tensor], Any]:
        """Every layer's activations at every step, for `stylegen inspect`.

        ids (1, T) -> ({kind: (L, T, H)}, new state). The fused kernel hides the cell state
        and the gates, so this runs the cell's equations layer by layer and step by step
        from the same weights (tests check it against `self.rnn`). Kinds: `hidden` (h_t) for
        every cell; an LSTM adds `cell` (tanh c_t) and `gate-i`, `gate-f`, `gate-o`; a GRU
        adds `gate-r` and `gate-z`.
        """
        step = {"lstm": _lstm_layer, "gru": _gru_layer, "rnn": _rnn_layer}[self.cell]
        hs, cs = state if self.cell == "lstm" else (state, None)  # (L, 1, H) each
        per_layer: list[dict[str, torch.Tensor]] = []
        new_h: list[torch.Tensor] = []
        new_c: list[torch.Tensor] = []
        with torch.no_grad():
            x = self.embedding(ids)[0]  # (T, E); dropout is off in eval mode
            for k in range(self.cfg.layers):
                w = {
                    name: getattr(self.rnn, f"{name}_l{k}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                }
                h0 = hs[k, 0]  # (H,)
                c0 = cs[k, 0] if cs is not None else None
                acts, h, c = step(self.rnn, x, w, h0, c0)
                per_layer.append(acts)
                new_h.append(h)
                if c is not None:
                    new_c.append(c)
                x = acts["hidden"]  # (T, H): the next layer's input
        states = {kind: torch.stack([layer[kind] for layer in per_layer]) for kind in per_layer[0]}  # (L, T, H)
        h_n = torch.stack(new_h)[:, None]  # (L, 1, H)
        if self.cell == "lstm":
            return states, (h_n, torch.stack(new_c)[:, None])
        return states, h_n


def embed_tokens(embedding: nn.Embedding, ids: torch.Tensor, p: float) -> torch.Tensor:
    """The embeddings of `ids`, each token type's row dropped with probability `p` (the rest
    scaled by 1 / (1 - p)), one draw per batch: embedding dropout (Gal & Ghahramani 2016)."""
    if p <= 0:
        return embedding(ids)
    weight = embedding.weight
    keep = weight.new_empty((weight.shape[0], 1)).bernoulli_(1 - p) / (1 - p)  # (V, 1)
    return F.embedding(ids, weight * keep)


def model_config(cfg: Any) -> dict[str, Any]:
    """A model config dataclass as style.json keeps it: the training-only regularisers
    (`TRAINING_ONLY`) left out while off, so a style written before they existed reads the same."""
    config = asdict(cfg)
    return {k: v for k, v in config.items() if k not in TRAINING_ONLY or v}


def locked_dropout(x: torch.Tensor, p: float, training: bool, time_dim: int = 1) -> torch.Tensor:
    """Variational ("locked") dropout: one mask per sequence, the same at every step.
    x (B, T, C) -> (B, T, C), or time-major (T, B, C) with `time_dim` 0: each stream's dropped
    channels zero for the whole window."""
    if not (training and p > 0):
        return x
    shape = list(x.shape)
    shape[time_dim] = 1
    mask = x.new_empty(shape).bernoulli_(1 - p) / (1 - p)  # (B, 1, C) or (1, B, C)
    return x * mask


# One recurrent layer over a sequence, written out: x (T, In), h0 (H,) -> ({kind: (T, H)}, h_T, c_T).
# The input projections of all steps are one matrix product; only the recurrence loops.


def _lstm_layer(
    rnn: nn.RNNBase, x: torch.Tensor, w: dict[str, torch.Tensor], h: torch.Tensor, c: torch.Tensor | None
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None]:
    assert c is not None
    gx = x @ w["weight_ih"].T + w["bias_ih"] + w["bias_hh"]  # (T, 4H), torch's order: i, f, g, o
    out: dict[str, list[torch.Tensor]] = {k: [] for k in ("hidden", "cell", "gate-i", "gate-f", "gate-o")}
    for t in range(x.shape[0]):
        i, f, g, o = (gx[t] + w["weight_hh"] @ h).chunk(4)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g  # the cell state: forget some, write some
        tc = torch.tanh(c)
        h = o * tc  # the output: a gated view of the cell
        for kind, value in zip(out, (h, tc, i, f, o), strict=True):
            out[kind].append(value)
    return {k: torch.stack(v) for k, v in out.items()}, h, c


def _gru_layer(
    rnn: nn.RNNBase, x: torch.Tensor, w: dict[str, torch.Tensor], h: torch.Tensor, c: torch.Tensor | None
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None]:
    gx = x @ w["weight_ih"].T + w["bias_ih"]  # (T, 3H), torch's order: r, z, n
    out: dict[str, list[torch.Tensor]] = {k: [] for k in ("hidden", "gate-r", "gate-z")}
    for t in range(x.shape[0]):
        xr, xz, xn = gx[t].chunk(3)
        hr, hz, hn = (w["weight_hh"] @ h + w["bias_hh"]).chunk(3)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)  # reset and update gates
        n = torch.tanh(xn + r * hn)  # the candidate, from the reset-gated history
        h = (1 - z) * n + z * h
        for kind, value in zip(out, (h, r, z), strict=True):
            out[kind].append(value)
    return {k: torch.stack(v) for k, v in out.items()}, h, None


def _rnn_layer(
    rnn: nn.RNNBase, x: torch.Tensor, w: dict[str, torch.Tensor], h: torch.Tensor, c: torch.Tensor | None
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None]:
    act = torch.tanh if getattr(rnn, "nonlinearity", "tanh") == "tanh" else torch.relu
    gx = x @ w["weight_ih"].T + w["bias_ih"] + w["bias_hh"]  # (T, H)
    hidden = []
    for t in range(x.shape[0]):
        h = act(gx[t] + w["weight_hh"] @ h)
        hidden.append(h)
    return {"hidden": torch.stack(hidden)}, h, None
