"""One-token steps for generation at batch 1 (and small batches) on the CPU.

Generation feeds one token at a time. Through `nn.LSTM` that step costs several times the
matrix-vector products it needs (module dispatch, the fused kernel's set-up for a sequence
of one, new tensors for every output: benchmarks/generate_speed.py measures it). A stepper
does only the products, on weights packed once when it is built:

- per layer, the input and recurrent matrices side by side, `[W_ih | W_hh]` (the GRU keeps
  two, since its candidate needs the recurrent product apart), the two biases summed, the
  LSTM's gate rows reordered (i, f, o, g) so that one sigmoid covers three gates;
- buffers allocated once: the layer inputs `[x_t; h_{t-1}]`, the gates, the logits;
- no autograd, no module calls, results written in place with `out=`.

At batch 1 in float32 the step is numpy's (`stylegen.models.numpy_step`, wrapped by
`NumpyStepper`): the same object the torch-free path (`stylegen.torchless`) runs, so both
paths give the same numbers. At batch 1 in int8 it is the same numpy step with its large
products made by `Int8Product` (int8 weights, torch's weight-only int8 kernel). The classes
below serve larger batches and float16.

Weights are float32 (the same numbers as the model's own forward, to float rounding), or,
on the CPU, packed for fbgemm as float16 (`fp16`: half the bytes, float32 arithmetic) or as
int8 with a scale per output row and the activations quantised per call (`int8`: a quarter).
Which is fastest here, and how far each is from reading the weights once, is in
benchmarks/RESULTS.md.

A stepper is a callable `step(ids, state) -> (logits, state)`: ids (B,) int64, logits
(B, V) float32 in a buffer the next call overwrites, and the state in the model's own layout,
in tensors the stepper owns and updates in place (a state that is not the one it returned
last is copied in first). Models opt in with a `token_stepper(batch, precision)` method
(`stylegen.protocols.StepsTokens`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch

from stylegen.models import numpy_step

#: The weight formats a stepper can pack: `Style.precision`, `--fp16`, `--int8`.
PRECISIONS = ("fp32", "fp16", "int8")

Step = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]


def timed(step: Step, batch: int, precision: str) -> Step:
    """`step` with numpy's BLAS threads chosen around it (`numpy_step.BlasThreads`) where its
    products are numpy's (batch 1, float32); else `step` itself."""
    if batch != 1 or precision != "fp32":
        return step
    return numpy_step.timed(step, torch.get_num_threads())


class Linear:
    """y (B, out) = x (B, in) W^T + b, with W packed once in one of `PRECISIONS`.

    `bind(x, out)` fixes the input and output buffers and returns the product as a call with
    no arguments. (Batch 1 in float32, and in int8 where `int8_available`, does not come here:
    it is numpy's step, `stylegen.models.numpy_step`, behind `NumpyStepper`.)
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, precision: str) -> None:
        weight, bias = weight.detach().float().contiguous(), bias.detach().float().contiguous()
        self.precision = check_precision(precision)
        self.in_features, self.out_features = weight.shape[1], weight.shape[0]
        self.weight, self.bias = weight, bias
        if precision == "fp16":
            self.packed = torch.ops.quantized.linear_prepack_fp16(weight, bias)
        elif precision == "int8":
            scale = (weight.abs().amax(dim=1) / 127).clamp_min(1e-12).double()  # one per output row
            zero = torch.zeros(weight.shape[0], dtype=torch.long)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's notice that quantised tensors will move
                q = torch.quantize_per_channel(weight, scale, zero, 0, torch.qint8)
            self.packed = torch.ops.quantized.linear_prepack(q, bias)

    def bind(self, x: torch.Tensor, out: torch.Tensor) -> Callable[[], torch.Tensor]:
        """The product from buffer `x` (B, in + 1), whose last column holds 1, into `out`
        (B, out) where the kernel can write there; the call returns the result."""
        inputs = x[:, : self.in_features]
        if self.precision == "fp16":
            return lambda: torch.ops.quantized.linear_dynamic_fp16(inputs, self.packed)
        if self.precision == "int8":
            return lambda: torch.ops.quantized.linear_dynamic(inputs, self.packed, True)  # activations per call
        weight_t = self.weight.t()
        return lambda: torch.addmm(self.bias, inputs, weight_t, out=out)


class NumpyStepper:
    """A numpy step (`stylegen.models.numpy_step`) behind the stepper's call: ids (1,) int64
    in, logits (1, V) float32 out, and the state as tensors sharing the step's arrays."""

    def __init__(self, step: numpy_step.Step) -> None:
        self.step = step
        tensors = tuple(torch.from_numpy(a) for a in step.state)
        self.tensors = tensors
        self.state: Any = numpy_step.model_state(tensors)
        self.logits = torch.from_numpy(step.logits)[None]  # (1, V), a view the next step overwrites

    def __call__(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        if state is not self.state:
            theirs = (state,) if isinstance(state, torch.Tensor) else tuple(state)
            for mine, other in zip(self.tensors, theirs, strict=True):
                mine.copy_(other.reshape(mine.shape))
        self.step(int(ids.item()))  # a (1,) tensor
        return self.logits, self.state


class Int8Product:
    """W x + b at batch 1 with W in int8, a scale per output row: torch's weight-only int8
    kernel (`torch._weight_int8pack_mm`, bfloat16 activations), the bias added in float32.

    One 2048×1024 product (a 2×512 LSTM layer) on this project's 2-core AMD test machine:
    45 µs for the kernel, 53 µs with the input's conversion and the bias, against 64 µs for
    numpy's float32 `dot` (benchmarks/RESULTS.md). Below `MIN_WEIGHTS` weights the three torch
    calls cost more than they save (100×512: 9.6 against 3.8 µs), so `int8_pack` leaves such a
    product (a char model's head) in float32.

    The error: each weight is rounded to 1/254 of its row's largest (the scale itself rounded
    to bfloat16 first and the weights quantised against the rounded scale, so the scale adds
    none), the input and the product to bfloat16 (8 significant bits). The kernel needs the
    input's width padded: at a width that is not a multiple of 16 it returned garbage, and at
    one shape it crashed (torch 2.13 on the CPU), so every matrix is padded with zero columns
    to a multiple of `ALIGN` and `int8_available` checks the kernel once against float32.
    """

    ALIGN = 64
    MIN_WEIGHTS = 1 << 17

    def __init__(self, w: Any, x: Any, out: Any) -> None:
        width = w.shape[1] - 1  # [W | b]: the last column is the bias
        padded = -(-width // self.ALIGN) * self.ALIGN
        weight = torch.zeros(w.shape[0], padded)
        weight[:, :width] = torch.from_numpy(w[:, :width])
        self.scale = (weight.abs().amax(dim=1) / 127).clamp_min(1e-12).to(torch.bfloat16)
        self.weight = torch.round(weight / self.scale.float()[:, None]).clamp_(-127, 127).to(torch.int8)
        self.bias = torch.from_numpy(w[:, width].copy())[None]  # (1, out)
        self.inputs = torch.from_numpy(x)[None, :width]  # a view of the step's buffer
        self.padded = torch.zeros(1, padded, dtype=torch.bfloat16)
        self.padded_in = self.padded[:, :width]
        self.out = torch.from_numpy(out)[None]  # the step's buffer

    def __call__(self) -> torch.Tensor:
        self.padded_in.copy_(self.inputs)
        product = torch._weight_int8pack_mm(self.padded, self.weight, self.scale)
        return torch.add(product, self.bias, out=self.out)


def int8_pack(w: Any, x: Any, out: Any) -> Callable[[], object]:
    """A `numpy_step.Pack`: `Int8Product` for a matrix of `MIN_WEIGHTS` or more, else float32."""
    if w.shape[0] * (w.shape[1] - 1) < Int8Product.MIN_WEIGHTS:
        return numpy_step.dense(w, x, out)
    return Int8Product(w, x, out)


_int8_works: bool | None = None


def int8_available() -> bool:
    """Whether torch's weight-only int8 kernel is here and gives W x within its rounding on a
    test matrix (a private op: checked once per process, not assumed)."""
    global _int8_works
    if _int8_works is None:
        _int8_works = False
        if hasattr(torch, "_weight_int8pack_mm"):
            import numpy as np

            rng = np.random.default_rng(0)
            w = rng.standard_normal((256, 97), dtype=np.float32)  # [W | b], a width the kernel needs padded
            x, out = numpy_step.with_one(96), np.empty(256, np.float32)
            x[:96] = rng.standard_normal(96, dtype=np.float32)
            try:
                Int8Product(w, x, out)()
            except (RuntimeError, NotImplementedError):
                return False
            expected = w @ x
            _int8_works = bool(np.abs(out - expected).max() <= 0.05 * np.abs(expected).max())
    return _int8_works


def numpy_stepper(model: Any, cell: str, precision: str = "fp32") -> NumpyStepper:
    """The batch-1 step of a built-in model, built from its weights: float32, or with
    `Int8Product`s for `precision` int8 (see `batch1_numpy`)."""
    weights = {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()}
    pack = int8_pack if precision == "int8" else numpy_step.dense
    return NumpyStepper(numpy_step.build(cell, weights, pack))


def batch1_numpy(batch: int, precision: str) -> bool:
    """Whether the numpy step serves: batch 1 in float32, or in int8 where `int8_available`."""
    return batch == 1 and (precision == "fp32" or (precision == "int8" and int8_available()))


def _reordered_lstm(weight: torch.Tensor, hidden: int) -> torch.Tensor:
    """torch's LSTM gate rows i, f, g, o as i, f, o, g: the three sigmoid gates side by side."""
    i, f, g, o = weight.split(hidden)
    return torch.cat([i, f, o, g])


def _with_one(batch: int, width: int) -> torch.Tensor:
    """An input buffer (batch, width + 1) of zeros whose last column is 1 (the bias column)."""
    buffer = torch.zeros(batch, width + 1)
    buffer[:, width] = 1.0
    return buffer


class RecurrentStepper:
    """The one-token step of the built-in `lstm`, `gru` and `rnn` models (stylegen.models.rnn).

    Every slice the step reads or writes is taken once here: a slice costs as much as a small
    elementwise operation, and a step has a dozen of them per layer."""

    def __init__(self, model: Any, batch: int, precision: str) -> None:
        cfg, rnn = model.cfg, model.rnn
        self.cell = model.cell
        self.relu = rnn.mode == "RNN_RELU"  # what nn.RNN runs (its `nonlinearity` is read only when built)
        self.embedding = model.embedding.weight.detach().float()
        H = cfg.hidden
        inputs = [cfg.embed] + [H] * (cfg.layers - 1)
        self.h = torch.zeros(cfg.layers, batch, H)
        self.c = torch.zeros(cfg.layers, batch, H) if self.cell == "lstm" else None
        self.state: Any = (self.h, self.c) if self.c is not None else self.h
        self.tmp = torch.empty(batch, H)
        self.layers: list[dict[str, Any]] = []  # per layer: its buffers' views and bound products
        for k, n in enumerate(inputs):
            w_ih, w_hh = getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}")
            b_ih, b_hh = getattr(rnn, f"bias_ih_l{k}"), getattr(rnn, f"bias_hh_l{k}")
            layer: dict[str, Any] = {"h": self.h[k], "c": None if self.c is None else self.c[k]}
            if self.cell == "gru":  # [x_t; 1] and [h_{t-1}; 1]: its candidate needs W_hh h apart
                x, hx = _with_one(batch, n), _with_one(batch, H)
                gx = Linear(w_ih, b_ih, precision).bind(x, torch.empty(batch, 3 * H))
                gh = Linear(w_hh, b_hh, precision).bind(hx, torch.empty(batch, 3 * H))
                layer.update(x_in=x[:, :n], h_in=hx[:, :H], gx=gx, gh=gh)
            else:  # [x_t; h_{t-1}; 1]: one product for the layer
                weight, bias = torch.cat([w_ih, w_hh], dim=1), b_ih + b_hh
                gates = 4 * H if self.cell == "lstm" else H
                if self.cell == "lstm":
                    weight, bias = _reordered_lstm(weight, H), _reordered_lstm(bias, H)
                x, out = _with_one(batch, n + H), torch.empty(batch, gates)
                product = Linear(weight, bias, precision).bind(x, out)
                layer.update(x_in=x[:, :n], h_in=x[:, n : n + H], gx=product)
                if precision == "fp32":  # the product writes into `out`: its slices can be taken now
                    layer.update(sig=out[:, : 3 * H], i=out[:, :H], f=out[:, H : 2 * H], o=out[:, 2 * H : 3 * H])
                    layer.update(g=out[:, 3 * H :])
            self.layers.append(layer)
        self.fixed_out = precision == "fp32"
        self.hidden = H
        top = _with_one(batch, H)
        self.top = top[:, :H]
        self.logits = torch.empty(batch, model.vocab_size)
        self.head = Linear(model.head.weight, model.head.bias, precision).bind(top, self.logits)

    def adopt(self, state: Any) -> None:
        """Copy a state in the model's layout into the stepper's own tensors."""
        if state is self.state:
            return
        if self.c is not None:
            self.h.copy_(state[0])
            self.c.copy_(state[1])
        else:
            self.h.copy_(state)

    def __call__(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        self.adopt(state)
        x = torch.index_select(self.embedding, 0, ids)  # (B, E)
        for layer in self.layers:
            h = layer["h"]
            layer["x_in"].copy_(x)
            layer["h_in"].copy_(h)
            if self.cell == "gru":
                _gru(layer["gx"](), layer["gh"](), h, self.hidden)
            elif self.c is not None:
                out = layer["gx"]()
                if self.fixed_out:
                    layer["sig"].sigmoid_()  # i, f, o side by side, then the candidate g
                    i, f, o, g = layer["i"], layer["f"], layer["o"], layer["g"].tanh_()
                else:
                    H = self.hidden
                    sig = out[:, : 3 * H].sigmoid_()
                    i, f, o, g = sig[:, :H], sig[:, H : 2 * H], sig[:, 2 * H :], out[:, 3 * H :].tanh_()
                c = layer["c"]
                c.mul_(f).addcmul_(i, g)  # forget some, write some
                torch.mul(o, torch.tanh(c, out=self.tmp), out=h)
            elif self.relu:
                torch.clamp(layer["gx"](), min=0.0, out=h)
            else:
                torch.tanh(layer["gx"](), out=h)
            x = h
        self.top.copy_(x)
        return self.head(), self.state


def _gru(gx: torch.Tensor, gh: torch.Tensor, h: torch.Tensor, H: int) -> None:
    """One GRU update of h in place from the products W_ih x + b_ih and W_hh h + b_hh (r, z, n)."""
    rz = gx[:, : 2 * H].add_(gh[:, : 2 * H]).sigmoid_()
    r, z = rz[:, :H], rz[:, H:]
    n = gx[:, 2 * H :].addcmul_(r, gh[:, 2 * H :]).tanh_()
    h.sub_(n).mul_(z).add_(n)  # h = (1 - z) n + z h


class QRNNStepper:
    """The one-token step of the built-in `qrnn` model (stylegen.models.qrnn): per layer one
    product over [x_t; x_{t-1}], then c = f c + (1 - f) z, h = o c, residual after layer 1.

    Each layer writes its h straight into the next layer's input buffer (the top layer into
    the head's), and its x_{t-1} state is that buffer's second half: no copies between layers;
    with float32 products (which write into their buffers) every slice is taken once here."""

    def __init__(self, model: Any, batch: int, precision: str) -> None:
        cfg = model.cfg
        self.hidden = H = cfg.hidden
        inputs = [cfg.embed] + [cfg.hidden] * (cfg.layers - 1)
        self.embedding = model.embedding.weight.detach().float()
        windows = [_with_one(batch, 2 * n) for n in inputs]  # [x_t; x_{t-1}; 1] per layer
        top = _with_one(batch, H)
        self.top = top[:, :H]
        self.fixed_out = precision == "fp32"
        state: list[torch.Tensor] = []
        self.layers: list[dict[str, Any]] = []
        for k, (n, module) in enumerate(zip(inputs, model.layers, strict=True)):
            window, out = windows[k], torch.empty(batch, 3 * H)
            product = Linear(module.gates.weight, module.gates.bias, precision).bind(window, out)
            c, last = torch.zeros(batch, H), window[:, n : 2 * n]
            state += [c, last]
            h = windows[k + 1][:, :H] if k + 1 < len(inputs) else self.top  # where h goes
            layer = {"x_in": window[:, :n], "last_in": last, "gates": product, "c": c, "h": h, "residual": k > 0}
            if self.fixed_out:
                layer.update(z=out[:, :H], fo=out[:, H:], f=out[:, H : 2 * H], o=out[:, 2 * H :])
            self.layers.append(layer)
        self.state: tuple[torch.Tensor, ...] = tuple(state)
        self.logits = torch.empty(batch, model.vocab_size)
        self.head = Linear(model.head.weight, model.head.bias, precision).bind(top, self.logits)

    def __call__(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        if state is not self.state:
            for mine, theirs in zip(self.state, state, strict=True):
                mine.copy_(theirs)
        H = self.hidden
        self.layers[0]["x_in"].copy_(torch.index_select(self.embedding, 0, ids))  # (B, E)
        for layer in self.layers:
            c, x = layer["c"], layer["x_in"]
            g = layer["gates"]()
            if self.fixed_out:
                z, f, o = layer["z"], layer["f"], layer["o"]
                z.tanh_()
                layer["fo"].sigmoid_()
            else:
                z, fo = g[:, :H].tanh_(), g[:, H:].sigmoid_()
                f, o = fo[:, :H], fo[:, H:]
            c.sub_(z).mul_(f).add_(z)  # c = f c + (1 - f) z
            h = torch.mul(o, c, out=layer["h"])  # h = o c, into the next layer's input
            if layer["residual"]:
                h.add_(x)
            layer["last_in"].copy_(x)  # x_t is the next step's x_{t-1}
        return self.head(), self.state


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (got {precision!r})")
    return precision


def fp16_available() -> bool:
    """Whether fbgemm's float16 and int8 packed kernels are in this torch build (x86 CPUs)."""
    return "fbgemm" in torch.backends.quantized.supported_engines


def steppable(device: Any, training: bool) -> bool:
    """Whether a built-in stepper applies: on the CPU, in eval mode (it has no dropout)."""
    return str(device).startswith("cpu") and not training
