"""Streaming generation over the stateful-step model protocol.

The prime goes through the model in one forward call; then one step per token, the state
carried, each new token decoded and yielded at once. One seed gives one text (on the CPU).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from stylegen import plugins
from stylegen.errors import StylegenError

if TYPE_CHECKING:
    from stylegen.styles import Style

#: What the model is primed with when the prime is empty: a line break, the most neutral start.
EMPTY_PRIME = "\n"


def choose_sampler(
    temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> tuple[str, dict[str, Any]]:
    """The sampler and parameters that `--temperature/--top-k/--top-p` ask for."""
    if temperature <= 0:
        return "greedy", {}
    if top_p is not None:
        return "top-p", {"temperature": temperature, "top_p": top_p, "top_k": top_k or 0}
    if top_k is not None:
        return "top-k", {"temperature": temperature, "top_k": top_k}
    return "temperature", {"temperature": temperature}


def random_seed() -> int:
    return secrets.randbelow(2**31)


def sample_stream(
    style: Style,
    prime: str = "",
    *,
    length: int = 500,
    sampler: str = "temperature",
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    n: int = 1,
    cancel: threading.Event | None = None,
) -> Iterator[list[str]]:
    """Yield, per step, the decoded text of the next token of each of `n` samples (one batch).

    The arguments are checked here, before the first token: a bad sampler is an error before
    anything has been written.
    """
    if length < 0:
        raise StylegenError(f"--length must be >= 0 (got {length})")
    if n < 1:
        raise StylegenError(f"--n must be >= 1 (got {n})")
    pick = plugins.get("sampler", sampler)
    values = {p.name: p.default for p in pick.params}
    values.update(params or {})
    return _stream(style, prime, length, pick, values, seed, n, cancel)


def _stream(
    style: Style,
    prime: str,
    length: int,
    pick: Any,
    values: dict[str, Any],
    seed: int,
    n: int,
    cancel: threading.Event | None,
) -> Iterator[list[str]]:
    import torch

    tokenizer, model, device = style.tokenizer, style.model, style.device
    generator = torch.Generator().manual_seed(seed)
    ids = [int(i) for i in tokenizer.encode(prime or EMPTY_PRIME)]
    if not ids:
        ids = [int(i) for i in tokenizer.encode(EMPTY_PRIME)]
    with torch.no_grad():
        x = torch.tensor([ids], dtype=torch.long, device=device).expand(n, -1)  # (n, P)
        logits, state = model(x, model.init_state(n, device))  # the whole prime in one call
        for _ in range(length):
            if cancel is not None and cancel.is_set():
                return
            last = logits[:, -1, :].float().cpu()  # (n, V)
            if tokenizer.unk_id is not None:
                last[:, tokenizer.unk_id] = float("-inf")  # never emit the unknown token
            nxt = pick(last, values, generator)  # (n,)
            yield [tokenizer.decode([int(i)]) for i in nxt.tolist()]
            logits, state = model(nxt.view(n, 1).to(device), state)  # one step, state carried


def generate(style: Style, prime: str = "", **options: Any) -> Iterator[str]:
    """Stream one sample's text, chunk by chunk (the prime itself is not repeated)."""
    for chunks in sample_stream(style, prime, n=1, **options):
        yield chunks[0]


def samples(style: Style, prime: str = "", *, n: int = 1, **options: Any) -> list[str]:
    """`n` complete samples, generated together in one batch."""
    out = [""] * n
    for chunks in sample_stream(style, prime, n=n, **options):
        for i, chunk in enumerate(chunks):
            out[i] += chunk
    return out
