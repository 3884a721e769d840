"""Streaming generation over the stateful-step model protocol.

A `Decoder` holds a model's state and its last logits for a batch of rows. Text (a prime, a
chat message) is fed in bounded pieces with the state carried (`stylegen.chunked`); each
step samples one token per row and feeds it back, the state carried. Everything that
writes text — `generate`, chat, the TUI — is built on it. One seed gives one text (on the CPU).
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from stylegen import plugins, sampling
from stylegen.chunked import run_chunked
from stylegen.errors import PluginError, StylegenError
from stylegen.processors import Penalties
from stylegen.protocols import BansIds, DecodesStream, KeepsState, StepsTokens, StreamDecoder

if TYPE_CHECKING:
    import torch

    from stylegen._style import LoadedStyle

#: What the model is primed with when the prime is empty: a line break, the most neutral start.
EMPTY_PRIME = "\n"
#: The most samples in one batch (--n): every row holds its own state, logits and counts
#: (--n 100000000 took 22 GB before an unexpected error).
MAX_ROWS = 1_000


def choose_sampler(
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    typical_p: float | None = None,
) -> tuple[str, dict[str, Any]]:
    """The sampler and parameters that `--temperature/--top-k/--top-p/--min-p/--typical-p` ask for.

    Precedence: temperature <= 0 is greedy whatever else is given; then min-p, then typical,
    then top-p (which also takes top-k), then top-k, then plain temperature.
    """
    if temperature <= 0:
        return "greedy", {}
    if min_p is not None:
        return "min-p", {"temperature": temperature, "min_p": min_p}
    if typical_p is not None:
        return "typical", {"temperature": temperature, "typical_p": typical_p}
    if top_p is not None:
        return "top-p", {"temperature": temperature, "top_p": top_p, "top_k": top_k or 0}
    if top_k is not None:
        return "top-k", {"temperature": temperature, "top_k": top_k}
    return "temperature", {"temperature": temperature}


#: The temperature when none is given and the options choose the sampler (`choose_sampler`).
DEFAULT_TEMPERATURE = 0.8
#: (option, parameter) of the options that set a sampler parameter of the same name.
SAMPLER_OPTIONS = (
    ("--temperature", "temperature"),
    ("--top-k", "top_k"),
    ("--top-p", "top_p"),
    ("--min-p", "min_p"),
    ("--typical-p", "typical_p"),
)


def sampler_choice(
    sampler: str | None = None,
    options: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any], list[str]]:
    """The one rule for samplers and their parameters, used by `generate`, `chat` and the app:
    (sampler name, parameters, warnings for options that do nothing).

    `options` are the values given of `temperature`, `top_k`, `top_p`, `min_p`, `typical_p`
    (None or absent: not given); `params` are `--param NAME=VALUE`, applied last.

    - Without `sampler`, the options choose a built-in sampler (`choose_sampler`: temperature
      0 is greedy; then min-p, typical, top-p, top-k, temperature), at temperature 0.8 unless
      one is given; an option the chosen sampler does not take is named in a warning.
    - With `sampler`, it starts from its own declared defaults: only the options given set
      its parameters of the same name (one it does not declare is an error), and temperature 0
      is an error, not greedy (greedy is `--sampler greedy`).

    The values are checked (type, range) by `sampler_params` when the sampler is set.
    """
    given = {k: v for k, v in (options or {}).items() if v is not None}
    warnings: list[str] = []
    if sampler is None:
        temperature = float(given.get("temperature", DEFAULT_TEMPERATURE))
        name, values = choose_sampler(
            temperature, given.get("top_k"), given.get("top_p"), given.get("min_p"), given.get("typical_p")
        )
        for option, key in SAMPLER_OPTIONS[1:]:
            if key in given and key not in values:
                why = "--temperature 0 means greedy" if name == "greedy" else f"the {name!r} sampler was chosen"
                warnings.append(f"{option} is ignored: {why} (see --help for the precedence)")
    else:
        name, values = sampler, dict(given)
        if "temperature" in given and float(given["temperature"]) <= 0:
            raise StylegenError(
                f"--temperature 0 means greedy only when the options choose the sampler; {plugins.describe('sampler', sampler)} "
                "was asked for: give it a temperature above 0, or use --sampler greedy"
            )
    values.update(params or {})
    return name, values, warnings


def random_seed() -> int:
    return secrets.randbelow(2**31)


def sampler_params(sampler: Any, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The sampler's declared defaults, updated by `params`; unknown names and bad values are errors."""
    declared = {p.name: p for p in sampler.params}
    values = {name: p.default for name, p in declared.items()}
    for name, value in (params or {}).items():
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise StylegenError(f"sampler {sampler.name!r} has no parameter {name!r} (its parameters: {known})")
        p = declared[name]
        whose = f"sampler {sampler.name!r}: {name}"
        try:
            value = p.type(value)
        except (TypeError, ValueError):
            raise StylegenError(f"{whose} must be a {p.type.__name__} (got {value!r})") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise StylegenError(f"{whose} must be a finite number (got {value})")
        if (p.min is not None and value < p.min) or (p.max is not None and value > p.max):
            raise StylegenError(f"{whose} must be in [{p.min}, {'∞' if p.max is None else p.max}] (got {value})")
        values[name] = value
    return values


class HoldBack:
    """Releases generated text as it comes, holding back what may be the start of a stop sequence."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.buffer = ""

    def push(self, chunk: str) -> tuple[str, bool]:
        """(text safe to show now, whether a stop sequence was reached)."""
        self.buffer += chunk
        hits = [i for i in (self.buffer.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.buffer = self.buffer[: min(hits)], ""
            return out, True
        keep = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(self.buffer)), keep, -1):
                if self.buffer.endswith(stop[:k]):
                    keep = k
                    break
        out, self.buffer = self.buffer[: len(self.buffer) - keep], self.buffer[len(self.buffer) - keep :]
        return out, False

    def flush(self) -> str:
        """What is still held back, once no stop can follow any more."""
        out, self.buffer = self.buffer, ""
        return out


def cut_at_stops(text: str, stops: Sequence[str]) -> str:
    """`text` up to the first stop sequence in it."""
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return text[: min(hits)] if hits else text


#: Switch oneDNN off on the CPU for calls shorter than ONEDNN_MIN_TOKENS, i.e. while stepping
#: (benchmarks/generate_speed.py measures both); long calls (a prime) keep it: it is faster there.
ONEDNN_OFF_ON_CPU = True
ONEDNN_MIN_TOKENS = 16


@contextmanager
def fast_kernels(device: str, tokens: int = 1) -> Iterator[None]:
    """Run a model call of `tokens` steps with the kernels that are fastest for it here.

    On the CPU, PyTorch's oneDNN (mkldnn) RNN kernel is several times slower than the native
    one for the one-token calls of generation, and faster for long sequences (measured in
    benchmarks/RESULTS.md), so it is switched off around short calls only.
    """
    import torch

    short = tokens < ONEDNN_MIN_TOKENS
    if not (ONEDNN_OFF_ON_CPU and short and str(device).startswith("cpu") and torch.backends.mkldnn.is_available()):
        yield
        return
    mkldnn: Any = torch.backends.mkldnn  # its `enabled` is a settable module property
    before = mkldnn.enabled
    mkldnn.enabled = False
    try:
        yield
    finally:
        mkldnn.enabled = before


def banned_ids(tokenizer: Any) -> list[int]:
    """The ids generation never produces: the unknown id and the tokenizer's `never_ids`."""
    banned = {int(i) for i in tokenizer.never_ids} if isinstance(tokenizer, BansIds) else set()
    if tokenizer.unk_id is not None:
        banned.add(int(tokenizer.unk_id))
    return sorted(banned)


def checked_ids(ids: Any, n: int, vocab: int, sampler: str) -> torch.Tensor:
    """A sampler's result as ids (n,) int64, or a one-line error naming the sampler's plugin
    (an id outside the vocabulary would otherwise fail deep inside the model)."""
    import torch

    problem = ""
    if not isinstance(ids, torch.Tensor) or ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        problem = f"a {getattr(ids, 'dtype', type(ids).__name__)} where integer token ids (n,) were expected"
    elif ids.numel() != n:
        problem = f"{ids.numel()} ids of shape {tuple(ids.shape)} for {n} rows"
    else:
        ids = ids.reshape(n).long()
        low, high = (int(v) for v in ids.aminmax())
        if low < 0 or high >= vocab:
            problem = f"id {low if low < 0 else high}, outside the vocabulary (0 to {vocab - 1})"
    if problem:
        raise PluginError(f"{plugins.describe('sampler', sampler)} returned {problem}; generation stopped")
    return ids


def model_name(style: Any) -> str:
    """The name of the model plugin behind a loaded style (`?` for a stand-in without one)."""
    meta = getattr(style, "meta", None)
    name = getattr(getattr(meta, "model", None), "name", None)
    if name is None and isinstance(meta, Mapping):
        spec = meta.get("model")
        name = spec.get("name") if isinstance(spec, Mapping) else spec
    return str(name or "?")


class Decoder:
    """A batch of `n` rows of text in progress: the model state, the last logits, a seeded RNG.

    It also counts, per row, the ids fed so far (`counts`, (n, V)); `penalties`, when active,
    are applied to the last logits with those counts before the sampler sees them.

    Sampled ids are decoded one by one with the tokenizer's table (`decode([id])`), or, when the
    tokenizer has `decode_stream()`, through one incremental decoder per row that holds back
    the bytes of a character not complete yet; `flush()` releases what is held back.
    """

    def __init__(
        self,
        style: LoadedStyle,
        *,
        sampler: str = "temperature",
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
        n: int = 1,
        penalties: Penalties | None = None,
    ) -> None:
        import torch

        if not 1 <= n <= MAX_ROWS:
            raise StylegenError(f"--n must be from 1 to {MAX_ROWS:,} (got {n:,})")
        self.style = style
        self.tokenizer, self.model, self.device = style.tokenizer, style.model, style.device
        self.n = n
        self.set_sampler(sampler, params or {})
        self.generator = torch.Generator().manual_seed(seed)
        self.penalties: Penalties | None = penalties
        self.state: Any = None
        self.last: torch.Tensor | None = None  # (n, V) float32 on the CPU
        self.counts: torch.Tensor | None = None  # (n, V) float32 on the CPU: ids fed so far, per row
        self.banned = torch.tensor(banned_ids(self.tokenizer), dtype=torch.long)  # (k,) never sampled
        self._banned_ids = self.banned.numpy()
        self._banning = self.banned.numel() > 0
        self.streams: list[StreamDecoder] | None = None  # one incremental decoder per row, if the tokenizer has them
        self._new_streams()
        self._stepper: Any = None  # the model's fast one-token step, built at the first step
        self._stepper_built = False
        self._rows, self._ones = torch.arange(n), torch.ones(n)  # for counting each step's ids

    def _new_streams(self) -> None:
        tokenizer = self.tokenizer
        self.streams = (
            [tokenizer.decode_stream() for _ in range(self.n)] if isinstance(tokenizer, DecodesStream) else None
        )

    def set_sampler(self, sampler: str, params: Mapping[str, Any]) -> None:
        """Choose the sampler; a sampler with a state per text (`KeepsState`) starts a new one
        when it is newly chosen (a change of its parameters keeps it)."""
        entry = plugins.registry().entry("sampler", sampler)
        pick = entry.obj
        values = sampler_params(pick, params)
        same = getattr(self, "sampler", None) is pick
        self.params, self.sampler = values, pick
        # Read once, not at every token: whether it keeps a state per text, and whether its ids
        # need checking (a built-in's are ids of the vocabulary by construction).
        self._keeps_state = isinstance(pick, KeepsState)
        self._trusted = entry.package == plugins.DISTRIBUTION and type(pick).__module__ == "stylegen.builtin.samplers"
        # One text with a built-in sampler: drawn in numpy (stylegen.sampling), as the
        # torch-free path draws it, at about half the cost of torch's operations per token.
        self._one_row = self.n == 1 and self._trusted and pick.name in sampling.SAMPLERS
        if not same:
            self.start_sampler()

    def start_sampler(self) -> None:
        """A new text starts for the sampler: its per-text state (None for a stateless one)."""
        self.sampler_state: Any = None
        sampler: Any = self.sampler  # narrowed on its own: `self.sampler` keeps the Sampler protocol
        if isinstance(sampler, KeepsState):
            with plugins.blame("sampler", self.sampler.name, "at start"):
                self.sampler_state = sampler.start(self.n, self.params)

    def reset(self) -> None:
        """Forget everything fed so far."""
        self.state, self.last, self.counts = None, None, None
        self._new_streams()
        self.start_sampler()

    def encode(self, text: str) -> torch.Tensor:
        """`text` as ids (t,) int64 on the CPU (one tensor: a long text costs 8 bytes a token)."""
        import torch

        return torch.as_tensor(self.tokenizer.encode(text), dtype=torch.long).reshape(-1)

    def token_stepper(self) -> Any:
        """The model's one-token step (`StepsTokens`) at the style's precision, or None."""
        if not self._stepper_built:
            self._stepper_built = True
            if isinstance(self.model, StepsTokens):
                self._stepper = self.model.token_stepper(self.n, self.style.precision)
        return self._stepper

    def reset_stepper(self) -> None:
        """Pack the one-token step again at the next step (after the model's weights changed);
        the state carries over."""
        self._stepper, self._stepper_built = None, False

    def feed(self, ids: Sequence[int] | torch.Tensor) -> None:
        """Run the model over `ids` (the same for every row, or an (n, t) tensor), in pieces
        of at most `chunked.CHUNK_TOKENS` tokens with the state carried (memory stays flat
        however long the text); one token per row goes through the model's fast one-token
        step where it has one (its state is then updated in place: copy `state` to keep it)."""
        import torch

        x = ids if isinstance(ids, torch.Tensor) else torch.as_tensor(ids, dtype=torch.long)
        if x.dim() == 1:
            x = x.view(1, -1)
        if x.size(1) == 0:
            return
        x = x.expand(self.n, -1)  # (n, t); each piece goes to the device on its own
        if self.state is None:
            self.state = self.model.init_state(self.n, self.device)
        step = self.token_stepper() if x.size(1) == 1 else None
        if step is not None:
            with torch.no_grad():
                last, self.state = step(x[:, 0].to(self.device), self.state)  # (n, V) float32
            self.last = last
            self._count(x, last.size(-1))
        else:
            last, self.state = run_chunked(self._forward, x, self.state, each=self._count_piece)
            self.last = last

    def _forward(self, piece: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One model call over `piece` (n, t): the last logits (n, V) float32 on the CPU, the state."""
        import torch

        with torch.no_grad(), fast_kernels(self.device, piece.size(1)):
            logits, state = self.model(piece.to(self.device), state)  # (n, t, V)
        vocab = self.tokenizer.vocab_size  # the model's output checked: a wrong shape names its plugin
        plugins.check_logits(logits, state, self.n, piece.size(1), vocab, model_name(self.style), "in generation")
        return logits[:, -1, :].float().cpu(), state

    def _count_piece(self, piece: torch.Tensor, last: torch.Tensor) -> None:
        self._count(piece, last.size(-1))

    def _count(self, ids: torch.Tensor, vocab: int) -> None:
        """Count the ids (n, t) fed to each row (what the penalties look at)."""
        import torch

        if self.counts is None:
            self.counts = torch.zeros(self.n, vocab)  # (n, V)
        ids = ids.cpu()
        self.counts.scatter_add_(1, ids, torch.ones(ids.shape))

    def feed_text(self, text: str) -> None:
        self.feed(self.encode(text))

    def next_ids(self, only: torch.Tensor | Sequence[int] | None = None) -> torch.Tensor:
        """Sample the next token of each row (n,) from the last logits, without feeding it;
        with `only` (k,) ids, among those alone (none of them banned, k > 0)."""
        import torch

        if self.last is None:
            self.feed_text(EMPTY_PRIME)
        assert self.last is not None
        if self._one_row:
            counts = None if self.counts is None else self.counts[0].numpy()
            token = sampling.next_id(
                self.sampler.name, self.last[0].numpy(), self.params, self._uniform,
                penalties=self.penalties, counts=counts, banned=self._banned_ids, only=only,
            )  # fmt: skip
            return torch.tensor([token])
        if only is not None and not isinstance(only, torch.Tensor):
            only = torch.as_tensor(only, dtype=torch.long)
        logits = self.last.clone()  # (n, V)
        if self.penalties is not None and self.penalties.active and self.counts is not None:
            logits = self.penalties.apply(logits, self.counts)
        if self._banning:
            logits.index_fill_(1, self.banned, float("-inf"))  # never emit the unknown (or control) ids
        if only is not None:
            kept = logits.index_select(1, only)
            logits.fill_(float("-inf")).index_copy_(1, only, kept)
        with plugins.blame("sampler", self.sampler.name):  # a sampler plugin's bug: one line naming it
            stateful: Any = self.sampler
            if self._keeps_state:
                ids, self.sampler_state = stateful.sample(logits, self.params, self.generator, self.sampler_state)
            else:
                ids = self.sampler(logits, self.params, self.generator)
        return ids if self._trusted else checked_ids(ids, self.n, logits.size(-1), self.sampler.name)

    def _uniform(self) -> Any:
        """One float32 in [0, 1) from the decoder's generator, as `torch.rand` draws it."""
        import torch

        return np.float32(torch.rand(1, generator=self.generator).item())

    def step(self, only: torch.Tensor | Sequence[int] | None = None) -> list[str]:
        """Sample one token per row (among the ids `only`, when given), feed it back, and
        return each row's decoded text (only complete characters: a part of one is held back
        until the rest comes)."""
        ids = self.next_ids(only)
        stepper = self.token_stepper()
        if stepper is not None and self.counts is not None:  # the fast one-token step
            self.last, self.state = stepper(ids, self.state)  # its buffers hold no autograd history
            self.counts.index_put_((self._rows, ids), self._ones, accumulate=True)
        else:
            self.feed(ids.view(self.n, 1))
        if self.streams is None:
            return [self.tokenizer.decode([int(i)]) for i in ids.tolist()]
        return [s.push(int(i)) for s, i in zip(self.streams, ids.tolist(), strict=True)]

    def flush(self) -> list[str]:
        """Each row's held-back text (an unfinished character becomes U+FFFD); empty for a
        tokenizer without `decode_stream()`."""
        if self.streams is None:
            return [""] * self.n
        return [s.flush() for s in self.streams]


def sample_stream(
    style: LoadedStyle,
    prime: str = "",
    *,
    length: int = 500,
    sampler: str = "temperature",
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    n: int = 1,
    penalties: Penalties | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[list[str]]:
    """Yield, per step, the decoded text of the next token of each of `n` samples (one batch).

    The arguments are checked here, before the first token: a bad sampler is an error before
    anything has been written.
    """
    if length < 0:
        raise StylegenError(f"--length must be >= 0 (got {length})")
    decoder = Decoder(style, sampler=sampler, params=params, seed=seed, n=n, penalties=penalties)
    return stream(decoder, prime, length, cancel)


class TextDecoder(Protocol):
    """What `stream` needs of a decoder: `Decoder`, or the torch-free one (stylegen.torchless)."""

    def encode(self, text: str) -> Any: ...
    def feed(self, ids: Any) -> None: ...
    def step(self) -> list[str]: ...
    def flush(self) -> list[str]: ...


def stream(decoder: TextDecoder, prime: str, length: int, cancel: threading.Event | None = None) -> Iterator[list[str]]:
    """Feed `prime` (a line break when empty) to a fresh `decoder`, then yield `length` steps."""
    ids = decoder.encode(prime)
    decoder.feed(ids if len(ids) else decoder.encode(EMPTY_PRIME))  # in bounded pieces, the state carried
    for k in range(length):
        if cancel is not None and cancel.is_set():
            return
        chunks = decoder.step()
        if k == length - 1:  # the last step also releases what is held back
            chunks = [c + rest for c, rest in zip(chunks, decoder.flush(), strict=True)]
        yield chunks


def generate(style: LoadedStyle, prime: str = "", **options: Any) -> Iterator[str]:
    """Stream one sample's text, chunk by chunk (the prime itself is not repeated)."""
    for chunks in sample_stream(style, prime, n=1, **options):
        yield chunks[0]


def samples(style: LoadedStyle, prime: str = "", *, n: int = 1, **options: Any) -> list[str]:
    """`n` complete samples, generated together in one batch."""
    out = [""] * n
    for chunks in sample_stream(style, prime, n=n, **options):
        for i, chunk in enumerate(chunks):
            out[i] += chunk
    return out
