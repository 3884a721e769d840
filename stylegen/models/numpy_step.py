"""The built-in cells' one-token step at batch 1 in float32, in numpy alone (no torch).

One step reads every weight once, in one matrix-vector product per layer and one for the head,
and does a dozen elementwise operations per layer; at batch 1 nothing else is needed. The
same object serves both generation paths, so they give the same numbers:

- the torch path (`stylegen.models.stepper`) runs it for batch 1 in float32, its state
  exposed as tensors that share the arrays' memory;
- the torch-free path (`stylegen.torchless`) builds it from the weights file alone.

A step is built from the model's weights by name (its `state_dict()` keys, as in
model.safetensors), packed once:

- per layer, `[W | b]` with the bias as one more column, read against an input buffer that
  ends with a constant 1: one numpy `dot` (OpenBLAS) per layer. OpenBLAS reads weights about
  three times faster than torch's MKL kernel on this project's AMD test machine
  (benchmarks/RESULTS.md);
- LSTM, GRU, RNN: the input and recurrent matrices side by side, `[W_ih | W_hh | b_ih + b_hh]`
  over `[x_t; h_{t-1}; 1]` (the GRU keeps two products, since its candidate needs the recurrent
  product apart); the LSTM's gate rows reordered i, f, o, g so one sigmoid covers three gates;
- QRNN: `[W | b]` over `[x_t; x_{t-1}; 1]`, each layer's h written straight into the next
  layer's input, x_{t-1} kept as the second half of that buffer.

`step(token)` returns the logits (V,) in a buffer the next step overwrites; the state is in
`state`, arrays laid out as the torch model's `init_state(1)` (so a tensor view of each is
the model's own state).

Each product is made once, when the step is built, by a `Pack`: `dense` (numpy's `dot` over
the float32 `[W | b]`) unless the caller gives another. The torch path's `--int8` passes
`stylegen.models.stepper.Int8Product`, which keeps the weights in int8 and calls torch's
weight-only int8 kernel; everything else in the step stays the same numpy code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

#: The models with a step here: the built-in cells.
CELLS = ("lstm", "gru", "rnn", "qrnn")
F32 = np.float32
#: Makes one product of a step: `pack(w, x, out)` with w the float32 `[W | b]` (out, in + 1)
#: and x the input buffer (in + 1,) ending in 1; the call it returns writes W x + b into out.
Pack = Callable[[np.ndarray, np.ndarray, np.ndarray], Callable[[], object]]


def dense(w: np.ndarray, x: np.ndarray, out: np.ndarray) -> Callable[[], object]:
    """The float32 product: numpy's `dot` (OpenBLAS) of `[W | b]` and `[x; 1]` into out."""
    return partial(np.dot, w, x, out=out)


def augmented(weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """[W | b] (out, in + 1) in float32, contiguous."""
    return np.ascontiguousarray(np.concatenate([weight, bias[:, None]], axis=1), dtype=F32)


def with_one(width: int) -> np.ndarray:
    """An input buffer (width + 1,) of zeros whose last entry is 1 (the bias column)."""
    buffer = np.zeros(width + 1, dtype=F32)
    buffer[width] = 1.0
    return buffer


def sigmoid_(x: np.ndarray) -> np.ndarray:
    """x <- sigmoid(x) = (1 + tanh(x / 2)) / 2, in place. The form 1 / (1 + exp(-x)) overflows
    for a saturated gate, and numpy then warns through Python's warnings at every step."""
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def lstm_order(weight: np.ndarray, hidden: int) -> np.ndarray:
    """torch's LSTM gate rows i, f, g, o as i, f, o, g: the three sigmoid gates side by side."""
    i, f, g, o = (weight[k * hidden : (k + 1) * hidden] for k in range(4))
    return np.concatenate([i, f, o, g])


class Step:
    """What both steps share: `state` (arrays in the model's layout) and `logits` (V,)."""

    state: tuple[np.ndarray, ...]
    logits: np.ndarray

    def reset(self) -> None:
        """The state back to zeros (a new text)."""
        for array in self.state:
            array.fill(0.0)

    def __call__(self, token: int) -> np.ndarray:
        raise NotImplementedError


class RecurrentStep(Step):
    """`lstm`, `gru` and `rnn` (tanh), stacked: state h (L, 1, H) and, in an LSTM, c (L, 1, H)."""

    def __init__(self, cell: str, weights: Mapping[str, np.ndarray], pack: Pack = dense) -> None:
        self.cell = cell
        self.embedding = np.ascontiguousarray(weights["embedding.weight"], dtype=F32)
        layers = sum(1 for k in weights if k.startswith("rnn.weight_hh_l"))
        H = self.hidden = weights["rnn.weight_hh_l0"].shape[1]
        self.h = np.zeros((layers, 1, H), dtype=F32)
        self.c = np.zeros((layers, 1, H), dtype=F32) if cell == "lstm" else None
        self.state: tuple[np.ndarray, ...] = (self.h,) if self.c is None else (self.h, self.c)
        self.tmp = np.empty(H, dtype=F32)
        self.layers: list[dict[str, Any]] = []
        for k in range(layers):
            w_ih, w_hh = weights[f"rnn.weight_ih_l{k}"], weights[f"rnn.weight_hh_l{k}"]
            b_ih, b_hh = weights[f"rnn.bias_ih_l{k}"], weights[f"rnn.bias_hh_l{k}"]
            n = w_ih.shape[1]
            if cell == "gru":  # [x_t; 1] and [h_{t-1}; 1]: the candidate needs W_hh h apart
                x, hx = with_one(n), with_one(H)
                gx, gh = np.empty(3 * H, F32), np.empty(3 * H, F32)
                layer: dict[str, Any] = {"x_in": x[:n], "h_in": hx[:H], "gx": gx, "gh": gh}
                layer |= {
                    "product_x": pack(augmented(w_ih, b_ih), x, gx),
                    "product_h": pack(augmented(w_hh, b_hh), hx, gh),
                }
            else:  # [x_t; h_{t-1}; 1]: one product for the layer
                weight, bias = np.concatenate([w_ih, w_hh], axis=1), (b_ih + b_hh).astype(F32)
                if cell == "lstm":
                    weight, bias = lstm_order(weight, H), lstm_order(bias, H)
                x = with_one(n + H)
                out = np.empty(weight.shape[0], dtype=F32)
                layer = {
                    "x_in": x[:n],
                    "h_in": x[n : n + H],
                    "out": out,
                    "product": pack(augmented(weight, bias), x, out),
                }
            self.layers.append(layer)
        head = augmented(weights["head.weight"], weights["head.bias"])
        top = with_one(H)
        self.top_in = top[:H]
        self.logits = np.empty(head.shape[0], dtype=F32)
        self.head = pack(head, top, self.logits)

    def __call__(self, token: int) -> np.ndarray:
        x = self.embedding[token]
        H = self.hidden
        for k, layer in enumerate(self.layers):
            h = self.h[k, 0]
            layer["x_in"][:] = x
            if self.cell == "gru":
                layer["h_in"][:] = h
                gx, gh = layer["gx"], layer["gh"]
                layer["product_x"]()
                layer["product_h"]()
                rz = gx[: 2 * H]
                rz += gh[: 2 * H]
                sigmoid_(rz)
                n = gx[2 * H :]
                n += rz[:H] * gh[2 * H :]  # the candidate, from the reset-gated history
                np.tanh(n, out=n)
                h -= n  # h = (1 - z) n + z h
                h *= rz[H:]
                h += n
            else:
                layer["h_in"][:] = h
                out = layer["out"]
                layer["product"]()
                if self.c is not None:
                    sigmoid_(out[: 3 * H])  # i, f, o side by side, then the candidate g
                    g = np.tanh(out[3 * H :], out=out[3 * H :])
                    c = self.c[k, 0]
                    c *= out[H : 2 * H]  # forget some
                    np.multiply(out[:H], g, out=self.tmp)
                    c += self.tmp  # write some
                    np.tanh(c, out=self.tmp)
                    np.multiply(out[2 * H : 3 * H], self.tmp, out=h)
                else:
                    np.tanh(out, out=h)
            x = h
        self.top_in[:] = x
        self.head()
        return self.logits


class QRNNStep(Step):
    """`qrnn`: per layer c (1, H) and the last input x_{t-1} (1, I), the model's state order."""

    def __init__(self, weights: Mapping[str, np.ndarray], pack: Pack = dense) -> None:
        self.embedding = np.ascontiguousarray(weights["embedding.weight"], dtype=F32)
        count = sum(1 for k in weights if k.startswith("layers.") and k.endswith(".gates.weight"))
        H = self.hidden = weights["layers.0.gates.weight"].shape[0] // 3
        sizes = [weights[f"layers.{k}.gates.weight"].shape[1] // 2 for k in range(count)]
        windows = [with_one(2 * n) for n in sizes]  # [x_t; x_{t-1}; 1] per layer
        top = with_one(H)
        state: list[np.ndarray] = []
        self.layers: list[dict[str, Any]] = []
        for k, n in enumerate(sizes):
            window = windows[k]
            c = np.zeros((1, H), dtype=F32)
            last = window[n : 2 * n].reshape(1, n)
            state += [c, last]
            h = windows[k + 1][:H] if k + 1 < count else top[:H]  # where h goes
            w = augmented(weights[f"layers.{k}.gates.weight"], weights[f"layers.{k}.gates.bias"])
            out = np.empty(3 * H, dtype=F32)
            self.layers.append(
                {"x_in": window[:n], "last": last[0], "product": pack(w, window, out), "out": out, "c": c[0], "h": h}
            )
        self.state = tuple(state)
        head = augmented(weights["head.weight"], weights["head.bias"])
        self.logits = np.empty(head.shape[0], dtype=F32)
        self.head = pack(head, top, self.logits)

    def __call__(self, token: int) -> np.ndarray:
        H = self.hidden
        self.layers[0]["x_in"][:] = self.embedding[token]
        for k, layer in enumerate(self.layers):
            out, c, x = layer["out"], layer["c"], layer["x_in"]
            layer["product"]()
            z = np.tanh(out[:H], out=out[:H])
            sigmoid_(out[H:])
            c -= z  # c = f c + (1 - f) z
            c *= out[H : 2 * H]
            c += z
            h = np.multiply(out[2 * H :], c, out=layer["h"])  # h = o c, into the next layer's input
            if k > 0:
                h += x  # residual after the first layer
            layer["last"][:] = x  # x_t is the next step's x_{t-1}
        self.head()
        return self.logits


class BlasThreads:
    """numpy's BLAS threads for the batch-1 float32 steps, chosen by timing the steps.

    On an idle machine every core wins (2x512 LSTM: 3,962 chars/s on two threads against
    2,450 on one); beside a busy process one thread wins (2x256: 4,384 against 1,887), since
    each product then waits for the second thread's time slice (benchmarks/generate_speed.py
    --busy). So every `PERIOD` steps each choice runs `TRIAL` steps, and the faster is kept
    for the rest of the period. The choice changes no result: each output of a product is one
    thread's dot product (the same bits on one thread or two; tests/test_stepper.py)."""

    PERIOD, TRIAL = 2000, 40

    def __init__(self, cores: int) -> None:
        self.choices = [cores, 1] if cores > 1 else [1]
        self.controller: Any = None
        self.threads = 0  # the count set now (0: not set yet)
        self.best = self.choices[0]
        self.position = 0  # steps into the period
        self.spent = [0.0] * len(self.choices)  # this period's trial time of each choice

    @classmethod
    def fixed(cls, threads: int) -> BlasThreads:
        """Always `threads` (benchmarks compare the choices with it)."""
        chooser = cls(threads)
        chooser.choices, chooser.spent = [threads], [0.0]
        chooser.best = threads
        return chooser

    def _set(self, threads: int) -> None:
        if threads != self.threads:
            if self.controller is None:
                from threadpoolctl import ThreadpoolController

                self.controller = ThreadpoolController().select(user_api="blas")
            self.controller.limit(limits=threads)
            self.threads = threads

    def before(self) -> int:
        """Set the threads for the next step; the trial it belongs to (-1: none)."""
        trial = self.position // self.TRIAL
        if trial < len(self.choices):
            self._set(self.choices[trial])
            return trial
        self._set(self.best)
        return -1

    def after(self, trial: int, seconds: float) -> None:
        """Count a step that took `seconds`."""
        if trial >= 0:
            self.spent[trial] += seconds
        self.position += 1
        if self.position == len(self.choices) * self.TRIAL:
            self.best = self.choices[self.spent.index(min(self.spent))]
        elif self.position >= self.PERIOD:
            self.position, self.spent = 0, [0.0] * len(self.choices)


#: The process's chooser (None until a batch-1 float32 step is built; benchmarks may fix it).
blas: BlasThreads | None = None


def timed(step: Callable[..., T], cores: int) -> Callable[..., T]:
    """`step` with numpy's BLAS threads chosen around each call (`BlasThreads` over `cores`,
    one chooser for the process)."""

    def run(*args: Any) -> T:
        global blas
        if blas is None:
            blas = BlasThreads(cores)
        trial = blas.before()
        start = time.perf_counter()
        out = step(*args)
        blas.after(trial, time.perf_counter() - start)
        return out

    return run


def model_state(items: Sequence[T]) -> T | tuple[T, ...]:
    """A step's state arrays (or tensors over them) as the model's own state: one tensor for
    a GRU or RNN, a tuple for an LSTM (h, c) and a QRNN (c, x_{t-1} per layer)."""
    return items[0] if len(items) == 1 else tuple(items)


def build(cell: str, weights: Mapping[str, np.ndarray], pack: Pack = dense) -> Step:
    """The step of model `cell` (one of `CELLS`) from its weights by state_dict name, each
    product made by `pack`."""
    if cell == "qrnn":
        return QRNNStep(weights, pack)
    return RecurrentStep(cell, weights, pack)
