"""Writing without torch: `stylegen generate`, `stylegen chat` and the app's Chat screen for
the built-in cells, on the CPU, in numpy.

Importing torch takes 1.2–1.9 s on the project's 2-core test machine, several times what
writing 200 characters takes. The built-in cells' one-token step needs only matrix-vector
products (`stylegen.models.numpy_step`), so a style of theirs can be loaded from its files
and written from with numpy alone, and generation and chat start in a fraction of the time
(benchmarks/startup.py). A chat session hands its conversation over to torch, exactly where
it is, when it first needs it (`Decoder.to_torch`, `stylegen.ChatSession.use_torch`).

It gives the same text as the torch path for the same seed:

- the step is the same object the torch path runs at batch 1 in float32;
- the random numbers are torch's: `TorchRandom` is the Mersenne Twister (MT19937) of torch's
  CPU generator, seeded as `torch.Generator().manual_seed(seed)` seeds it (the seed's low 32
  bits), and a float32 uniform is the low 24 bits of one 32-bit output over 2**24, as
  `torch.rand` makes it;
- the sampling is the same code: the torch path's `Decoder` draws a single text with the
  numpy samplers of `stylegen.sampling` too, from the same random numbers. The logits agree
  to float rounding, so a draw that falls within about 1e-7 of a boundary between two ids
  could pick the other one: the texts agree in the tests (tests/test_torchless.py).

A prime of more than one token goes through the model's `forward` in the torch path and
through the step here, one token at a time: the state agrees to float rounding (about 1e-6).

`load(name, device, sampler)` returns a style to write from, or None where this path does not
apply: another model or sampler plugin, `--device cuda` (or `auto` on a machine with a GPU),
`STYLEGEN_TORCH=1`, or anything unexpected in the style's files. The caller then takes the
torch path, whose checks say what is wrong with a damaged style.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stylegen import plugins, sampling, styles
from stylegen._generate import EMPTY_PRIME, banned_ids, sampler_params
from stylegen.errors import StylegenError
from stylegen.models import MAX_LAYERS, MAX_PARAMS, numpy_step
from stylegen.processors import Penalties
from stylegen.protocols import DecodesStream, StreamDecoder

#: Set to 1 to always take the torch path (to compare the two).
OFF_SWITCH = "STYLEGEN_TORCH"
#: Device files of a GPU that `--device auto` would use (NVIDIA, AMD ROCm, WSL).
GPU_DEVICES = ("/dev/nvidia0", "/dev/kfd", "/dev/dxg")
#: The options a built-in cell's config may hold; any other leaves the style to the torch path.
CONFIG_KEYS = frozenset({"hidden", "layers", "embed", "dropout", "locked_dropout", "weight_drop", "embed_dropout"})


class TorchRandom:
    """torch's CPU generator (MT19937), seeded as `torch.Generator().manual_seed(seed)`.

    It counts its draws: a torch generator seeded alike and advanced by as many
    (`torch.rand(draws)` takes one 32-bit output per float) is in the same state (`to_torch`)."""

    def __init__(self, seed: int) -> None:
        key = np.empty(624, dtype=np.uint32)
        x = seed & 0xFFFFFFFF
        key[0] = x
        for j in range(1, 624):  # MT19937's init_genrand
            x = (1812433253 * (x ^ (x >> 30)) + j) & 0xFFFFFFFF
            key[j] = x
        self.seed, self.draws = seed, 0
        self.bits = np.random.MT19937(0)
        self.bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 624}}

    def rand(self) -> np.float32:
        """One float32 in [0, 1): `torch.rand(1, generator=g)`."""
        word = int(self.bits.random_raw())
        self.draws += 1
        return np.float32((word & 0xFFFFFF) * (1.0 / (1 << 24)))

    def get_state(self) -> dict[str, Any]:
        """A copy of the state, for `set_state` (as a torch generator's)."""
        state = self.bits.state
        return {"key": state["state"]["key"].copy(), "pos": state["state"]["pos"], "draws": self.draws}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.bits.state = {"bit_generator": "MT19937", "state": {"key": state["key"].copy(), "pos": state["pos"]}}
        self.draws = state["draws"]

    def to_torch(self) -> Any:
        """A `torch.Generator` in the same state (imports torch)."""
        import torch

        generator = torch.Generator().manual_seed(self.seed)
        if self.draws:
            torch.rand(self.draws, generator=generator)
        return generator


@dataclass
class LightStyle:
    """A style loaded for writing without torch (what `Decoder` here needs). Its weights are
    shared, read only; each decoder packs its own step (`new_step`), so two decoders on one
    style (the app's Chat and Generate screens) never share a state."""

    name: str
    path: Path
    meta: Any
    tokenizer: Any
    cell: str
    weights: dict[str, np.ndarray] = field(repr=False)
    device: str = "cpu"
    precision: str = "fp32"

    def new_step(self) -> numpy_step.Step:
        """A one-token step of this style's model, with a state of its own."""
        return numpy_step.build(self.cell, self.weights)

    def load_with_torch(self) -> Any:
        """The same style loaded through torch (`stylegen.load_style`), for what needs torch."""
        return styles.load_style_at(self.path, self.name, "cpu", meta=self.meta)

    @staticmethod
    def takes(sampler: str) -> bool:
        """Whether the torch-free decoder draws for `sampler`."""
        return Decoder.takes(sampler)

    def decoder(self, **options: Any) -> Decoder:
        """A torch-free `Decoder` on this style (options as `Decoder`'s)."""
        return Decoder(self, **options)

    def generate(self, prime: str = "", *, length: int = 500, cancel: Any = None, **options: Any) -> Iterator[str]:
        """Stream text as `stylegen.Style.generate` does (options: sampler, params, seed,
        penalties); a sampler this path does not draw for takes the torch path."""
        from stylegen._generate import stream

        sampler = options.get("sampler", "temperature")
        if not self.takes(sampler):
            yield from self.load_with_torch().generate(prime, length=length, cancel=cancel, **options)
            return
        if length < 0:
            raise StylegenError(f"--length must be >= 0 (got {length})")
        for chunks in stream(self.decoder(**options), prime, length, cancel):
            yield chunks[0]


def applies(device: str) -> bool:
    """Whether the torch-free path may run for `--device` here."""
    if os.environ.get(OFF_SWITCH) == "1":
        return False
    if device == "cpu":
        return True
    return device == "auto" and not any(os.path.exists(p) for p in GPU_DEVICES)


def _builtin(kind: str, name: str) -> bool:
    try:
        return plugins.registry().entry(kind, name).package == plugins.DISTRIBUTION
    except StylegenError:
        return False  # unknown, or claimed twice: the torch path says so


def expected_shapes(cell: str, vocab: int, hidden: int, layers: int, embed: int) -> dict[str, tuple[int, ...]]:
    """The tensors a built-in model of this shape has, by state_dict name."""
    shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (vocab, embed)}
    sizes = [embed] + [hidden] * (layers - 1)
    for k, n in enumerate(sizes):
        if cell == "qrnn":
            shapes |= {f"layers.{k}.gates.weight": (3 * hidden, 2 * n), f"layers.{k}.gates.bias": (3 * hidden,)}
            continue
        rows = {"lstm": 4, "gru": 3, "rnn": 1}[cell] * hidden
        shapes |= {f"rnn.weight_ih_l{k}": (rows, n), f"rnn.weight_hh_l{k}": (rows, hidden)}
        shapes |= {f"rnn.bias_ih_l{k}": (rows,), f"rnn.bias_hh_l{k}": (rows,)}
    return shapes | {"head.weight": (vocab, hidden), "head.bias": (vocab,)}


def load(name: str, device: str, sampler: str = "temperature") -> LightStyle | None:
    """Style `name` loaded for writing with `sampler` without torch, or None (see the module)."""
    if not applies(device) or not Decoder.takes(sampler):
        return None
    meta = styles.read_meta(name)  # its errors are the torch path's too
    cell, config = meta.model.name, dict(meta.model.config)
    if cell not in numpy_step.CELLS or not _builtin("model", cell) or not set(config) <= CONFIG_KEYS:
        return None
    values = [config.get(k) for k in ("hidden", "layers", "embed")]
    if not all(type(v) is int and v > 0 for v in values):
        return None
    hidden, layers, embed = (int(v) for v in values)  # type: ignore[arg-type]  # ints, checked above
    if layers > MAX_LAYERS:
        return None
    path = styles.style_path(name)
    try:
        tokenizer = plugins.get("tokenizer", meta.tokenizer.name).load(path / styles.TOKENIZER_DIR)
        expected = expected_shapes(cell, tokenizer.vocab_size, hidden, layers, embed)
        if tokenizer.vocab_size != meta.tokenizer.vocab_size or sum(map(np.prod, expected.values())) > MAX_PARAMS:
            return None
        from safetensors import safe_open

        with safe_open(str(path / styles.WEIGHTS), framework="np") as f:
            if {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()} != expected:
                return None
            weights = {k: f.get_tensor(k).astype(np.float32) for k in expected}
    except Exception:  # a damaged tokenizer or weights file: the torch path's checks name it
        return None
    if not all(np.isfinite(w).all() for w in weights.values()):
        return None
    return LightStyle(name, path, meta, tokenizer, cell, weights)


class Decoder:
    """Text in progress for one row, as `stylegen.Decoder` at n = 1 (`encode`, `feed`, `step`,
    `flush`, `params`, `set_sampler`, `reset`, the `state`, `last`, `counts` and `generator`
    a chat session snapshots), on a `LightStyle`. `to_torch` hands it over to the torch path."""

    def __init__(
        self,
        style: LightStyle,
        *,
        sampler: str = "temperature",
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
        n: int = 1,
        penalties: Penalties | None = None,
    ) -> None:
        if n != 1:
            raise StylegenError("the torch-free decoder writes one text at a time (n = 1)")
        self.style, self.tokenizer = style, style.tokenizer
        self.cell_step = style.new_step()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self.run_step = numpy_step.timed(self.cell_step, cores)  # BLAS threads chosen as in the torch path
        self.set_sampler(sampler, params or {})
        self.generator = TorchRandom(seed)
        self.penalties = penalties
        self.banned = np.array(banned_ids(self.tokenizer), dtype=np.int64)
        self.sampler_state: Any = None  # the built-in samplers keep none
        self.reset()

    @staticmethod
    def takes(sampler: str) -> bool:
        """Whether this decoder draws for `sampler` (a built-in one)."""
        return sampler in sampling.SAMPLERS and _builtin("sampler", sampler)

    def set_sampler(self, sampler: str, params: Mapping[str, Any]) -> None:
        if not self.takes(sampler):
            raise StylegenError(f"sampler {sampler!r} needs the torch path (stylegen.sampling.SAMPLERS are built in)")
        self.params = sampler_params(plugins.get("sampler", sampler), params)
        self.sampler = sampler

    def start_sampler(self) -> None:
        """A new text for the sampler: the built-in ones keep no state."""

    def reset_stepper(self) -> None:
        """Nothing to pack again: the weights never change here."""

    def reset(self) -> None:
        """Forget everything fed so far."""
        self.cell_step.reset()
        self.last: np.ndarray | None = None
        self.counts: np.ndarray | None = None
        self.stream: StreamDecoder | None = (
            self.tokenizer.decode_stream() if isinstance(self.tokenizer, DecodesStream) else None
        )

    @property
    def state(self) -> tuple[np.ndarray, ...] | None:
        """The step's state arrays (updated in place; None before anything is fed)."""
        return None if self.last is None else self.cell_step.state

    @state.setter
    def state(self, value: Sequence[np.ndarray] | None) -> None:
        if value is None:
            self.cell_step.reset()
            return
        for mine, theirs in zip(self.cell_step.state, value, strict=True):
            np.copyto(mine, theirs)

    def encode(self, text: str) -> np.ndarray:
        return np.asarray(self.tokenizer.encode(text), dtype=np.int64).reshape(-1)

    def feed(self, ids: Sequence[int] | np.ndarray) -> None:
        tokens = np.asarray(ids, dtype=np.int64).reshape(-1).tolist()
        if not tokens:
            return
        if self.counts is None:
            self.counts = np.zeros(self.tokenizer.vocab_size, dtype=np.float32)
        for token in tokens:
            self.last = self.run_step(token)
            self.counts[token] += 1

    def feed_text(self, text: str) -> None:
        self.feed(self.encode(text))

    def next_id(self, only: Sequence[int] | None = None) -> int:
        if self.last is None:
            self.feed_text(EMPTY_PRIME)
        assert self.last is not None and self.counts is not None
        return sampling.next_id(
            self.sampler,
            self.last,
            self.params,
            self.generator.rand,
            penalties=self.penalties,
            counts=self.counts,
            banned=self.banned,
            only=only,
        )

    def step(self, only: Sequence[int] | None = None) -> list[str]:
        """Sample one token (among the ids `only`, when given), feed it back, return its text."""
        token = self.next_id(only)
        self.feed([token])
        return [self.tokenizer.decode([token]) if self.stream is None else self.stream.push(token)]

    def flush(self) -> list[str]:
        return [""] if self.stream is None else [self.stream.flush()]

    def to_torch(self, style: Any) -> Any:
        """A `stylegen.Decoder` on `style` (the same style loaded with torch) that goes on exactly
        where this one is: the state, the last logits, the counts and the random generator."""
        import torch

        from stylegen._generate import Decoder as TorchDecoder

        decoder = TorchDecoder(style, sampler=self.sampler, params=self.params, penalties=self.penalties)
        decoder.generator = self.generator.to_torch()
        if self.last is not None and self.counts is not None:
            # the step's arrays are laid out as the model's own state (numpy_step.model_state)
            decoder.state = numpy_step.model_state([torch.from_numpy(a.copy()) for a in self.cell_step.state])
            decoder.last = torch.from_numpy(self.last.copy())[None]
            decoder.counts = torch.from_numpy(self.counts.copy())[None]
        return decoder
