"""Start a new style from another style's weights (`stylegen train CORPUS --from STYLE`).

As textgenrnn fine-tunes its pretrained model, a user with a small corpus starts from a style
that already knows the language: the new style takes the source style's model (plugin and
shape) and every weight, and trains on its own corpus from there. The tokenizer is trained on
the new corpus as usual, so the vocabularies differ; a weight whose first dimension is the
vocabulary (embedding rows, output rows and biases) is copied row by row for the tokens both
vocabularies share (matched by their text), and new tokens keep their fresh initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stylegen.errors import StylegenError

#: model options a warm start may set anew: they change training, not the model's shape
TRAINING_OPTIONS = ("dropout", "locked_dropout", "weight_drop", "embed_dropout")


@dataclass
class WarmStart:
    """What a warm start took from its source."""

    source: str  # the source style's name
    shared_tokens: int  # tokens of the new vocabulary whose rows came from the source
    new_tokens: int  # tokens the source did not know (fresh rows)
    tensors: int  # weights copied (whole or by rows)


def source_model(source: Any, tokenizer_name: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The model plugin and config of a warm start from `source` (a loaded style): the source's,
    with the training-only `options` given; other options given must agree with the source's."""
    meta = source.meta
    if meta.tokenizer.name != tokenizer_name:
        raise StylegenError(
            f"--from {source.name}: that style uses the {meta.tokenizer.name!r} tokenizer, "
            f"not {tokenizer_name!r} (leave --tokenizer out, or give --tokenizer {meta.tokenizer.name})"
        )
    config = dict(source.model.config())
    for key, value in options.items():
        if key in TRAINING_OPTIONS:
            config[key] = value
        elif config.get(key) != value:
            raise StylegenError(
                f"--from {source.name}: the model's {key} is {config.get(key)!r} in that style "
                f"(its shape is kept: leave --{key.replace('_', '-')} out)"
            )
    return meta.model.name, config


def token_texts(tokenizer: Any) -> list[str]:
    """The text of each token id (what its row stands for)."""
    return [tokenizer.decode([i]) for i in range(tokenizer.vocab_size)]


def vocab_keys(factory: Any, vocab_size: int, config: dict[str, Any]) -> set[str]:
    """The weights whose first dimension is the vocabulary: those whose shape changes when the
    model is built for one more token (built on the meta device: no memory, no time)."""
    import torch

    with torch.device("meta"):
        a = factory.build(vocab_size, **config).state_dict()
        b = factory.build(vocab_size + 1, **config).state_dict()
    return {k for k, t in a.items() if k in b and b[k].dim() and b[k].shape[0] == t.shape[0] + 1}


def copy_weights(model: Any, tokenizer: Any, source: Any, by_token: set[str]) -> WarmStart:
    """Copy `source`'s weights into `model` (built with the new `tokenizer`'s vocabulary); the
    weights in `by_token` (see `vocab_keys`) row by row, for the tokens both vocabularies share."""
    import torch

    where: dict[str, int] = {}
    for i, text in enumerate(token_texts(source.tokenizer)):
        where.setdefault(text, i)  # the first id of a text (an unknown-token id may repeat one)
    pairs = [(new, where[text]) for new, text in enumerate(token_texts(tokenizer)) if text and text in where]
    new_ids = torch.tensor([n for n, _ in pairs], dtype=torch.long)
    old_ids = torch.tensor([o for _, o in pairs], dtype=torch.long)
    theirs = source.model.state_dict()
    copied = 0
    with torch.no_grad():
        for key, mine in model.state_dict().items():
            src = theirs.get(key)
            if src is None:
                continue
            src = src.to(mine.device, mine.dtype)
            if key in by_token and src.shape[1:] == mine.shape[1:]:
                mine[new_ids] = src[old_ids]  # shared tokens keep their rows, new ones their fresh start
            elif key not in by_token and src.shape == mine.shape:
                mine.copy_(src)
            else:
                continue
            copied += 1
    if not copied:
        raise StylegenError(f"--from {source.name}: no weight of that style fits this model")
    return WarmStart(
        source=source.name, shared_tokens=len(pairs), new_tokens=tokenizer.vocab_size - len(pairs), tensors=copied
    )
