"""A long token sequence through a model in bounded pieces, the state carried between them.

A recurrent model's work per token is the same whatever the length of the call, but one call
over a whole text holds every step's gates and logits at once: a 1 MB chat line took 20 GB
(and oneDNN failed with "could not create a primitive"). Primes, chat messages, beam search's
prime and `stylegen inspect` all go through `run_chunked`, so memory stays flat: at most
`CHUNK_TOKENS` tokens (all rows together) are in one model call, and the state that leaves one
piece is the state that enters the next, which gives the same logits and state as one call
(to float32 rounding).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch

#: Tokens in one model call, all rows of the batch together (a row gets at least one).
CHUNK_TOKENS = 2048

T = TypeVar("T")


def piece_length(rows: int, budget: int | None = None) -> int:
    """Tokens per row in one call for a batch of `rows` rows."""
    return max(1, (CHUNK_TOKENS if budget is None else budget) // max(1, rows))


def run_chunked(
    call: Callable[[torch.Tensor, Any], tuple[T, Any]],
    ids: torch.Tensor,
    state: Any,
    *,
    each: Callable[[torch.Tensor, T], None] | None = None,
    budget: int | None = None,
) -> tuple[T, Any]:
    """Run `call(piece, state) -> (out, state)` over `ids` (n, t) in pieces of at most
    `budget` (default `CHUNK_TOKENS`) tokens in all, the state carried from each piece to the
    next. `each(piece, out)` sees every piece's output before the next is computed (keep only
    what is needed of it). Returns the last piece's output and the final state; `ids` must
    have at least one token."""
    length = ids.size(1)
    if length == 0:
        raise ValueError("run_chunked needs at least one token")
    step = piece_length(ids.size(0), budget)
    out: Any = None
    for start in range(0, length, step):
        piece = ids[:, start : start + step]
        out, state = call(piece, state)
        if each is not None:
            each(piece, out)
    return out, state
