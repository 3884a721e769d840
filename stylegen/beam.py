"""Beam search: a continuation of exactly `length` tokens with a high total log-probability.

Keep the `width` best partial continuations ("beams"). At each step every beam is extended
by every token, each extension scored by its beam's total plus log p(token | beam), and the
`width` best extensions across all beams survive; their model states are gathered from the
parent beams' rows with the model's optional `select_state(state, index)`. With width 1 this
is greedy decoding; a wider beam can find a continuation whose first tokens are not the
likeliest but whose total is higher (beam search is still a heuristic: only an unbounded
width is exact). The unknown (and control) ids are never produced. No randomness: no seed is
needed.

Penalties (`stylegen.processors`), when given, reshape each step's logits with each beam's
own counts before the log-softmax, so the score is then the penalised log-probability.
"""

from __future__ import annotations

from typing import Any

from stylegen import plugins
from stylegen._generate import EMPTY_PRIME, banned_ids
from stylegen.chunked import run_chunked
from stylegen.errors import StylegenError
from stylegen.processors import Penalties
from stylegen.protocols import SelectsState
from stylegen.records.style import StyleRecord

#: The widest beam: each step scores width x vocabulary extensions and keeps width states, so
#: memory grows with it (--beam 100000000 took 22 GB before an unexpected error).
MAX_WIDTH = 1_000


def _model_name(source: Any) -> str:
    for holder in (source, getattr(source, "style", None)):
        meta = getattr(holder, "meta", None)
        if isinstance(meta, StyleRecord):
            return meta.model.name
        if isinstance(meta, dict) and isinstance(meta.get("model"), dict) and meta["model"].get("name"):
            return str(meta["model"]["name"])
    return type(source.model).__name__


def beams(
    source: Any,
    prime: str = "",
    *,
    length: int,
    width: int,
    penalties: Penalties | None = None,
) -> list[tuple[str, float]]:
    """The final beams as (continuation text, total log-probability), best first.

    `source` is anything with `.tokenizer`, `.model` and `.device`: a `Style`, or a `Decoder`
    (whose penalties are used when none are given; its own state is left alone).
    """
    import torch

    if length < 0:
        raise StylegenError(f"--length must be >= 0 (got {length})")
    if not 1 <= width <= MAX_WIDTH:
        raise StylegenError(f"--beam must be from 1 to {MAX_WIDTH:,} (got {width:,})")
    tokenizer, model, device = source.tokenizer, source.model, source.device
    selects: Any = model  # narrowed on its own: `model` keeps the whole model protocol
    if not isinstance(selects, SelectsState):
        raise StylegenError(f"model {_model_name(source)!r} does not support beam search (no select_state)")
    if penalties is None:
        penalties = getattr(source, "penalties", None)
    penalise = penalties is not None and penalties.active
    banned = torch.tensor(banned_ids(tokenizer), dtype=torch.long)  # (k,) ids never produced

    x = torch.as_tensor(tokenizer.encode(prime), dtype=torch.long).view(1, -1)  # (1, P)
    if x.size(1) == 0:
        x = torch.as_tensor(tokenizer.encode(EMPTY_PRIME), dtype=torch.long).view(1, -1)

    def last_logits(piece: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        logits, state = model(piece.to(device), state)
        plugins.check_logits(
            logits, state, 1, piece.size(1), tokenizer.vocab_size, _model_name(source), "in beam search"
        )
        return logits[:, -1, :].float().cpu(), state

    with torch.no_grad():
        # the prime in bounded pieces, the state carried; last (K, V), K = 1 beam so far
        last, state = run_chunked(last_logits, x, model.init_state(1, device))
        vocab = last.size(-1)
        counts = torch.zeros(1, vocab).scatter_add_(1, x, torch.ones(x.shape))  # (K, V) ids in each beam
        scores = torch.zeros(1)  # (K,) total log-probability of each beam's continuation
        tokens = torch.zeros(1, 0, dtype=torch.long)  # (K, t) each beam's continuation
        for step in range(length):
            if penalise:
                assert penalties is not None
                last = penalties.apply(last, counts)
            logp = last.log_softmax(-1)  # (K, V)
            if len(banned):
                logp.index_fill_(1, banned, float("-inf"))  # never produce the unknown (or control) ids
            total = (scores[:, None] + logp).reshape(-1)  # (K * V,) every one-token extension
            k = min(width, int(torch.isfinite(total).sum()))
            if k == 0:
                raise StylegenError("beam search: the model gives no token a finite probability")
            scores, flat = total.topk(k)  # (K',) best first
            parent, nxt = flat // vocab, flat % vocab  # (K',) which beam, which token
            tokens = torch.cat([tokens[parent], nxt[:, None]], dim=1)  # (K', t + 1)
            counts = counts[parent].scatter_add_(1, nxt[:, None], torch.ones(k, 1))  # (K', V)
            if step == length - 1:
                break  # the last tokens need no forward pass
            state = selects.select_state(state, parent.to(device))  # each survivor continues from its parent's state
            logits, state = model(nxt.view(k, 1).to(device), state)  # (K', 1, V)
            last = logits[:, -1, :].float().cpu()  # (K', V)
    return [(tokenizer.decode(row.tolist()), float(score)) for row, score in zip(tokens, scores, strict=True)]


def beam_search(
    source: Any,
    prime: str = "",
    *,
    length: int,
    width: int,
    penalties: Penalties | None = None,
) -> str:
    """The best beam's continuation of `prime`: exactly `length` tokens (the prime not repeated)."""
    return beams(source, prime, length=length, width=width, penalties=penalties)[0][0]
