"""Helpers for testing plugins: a fresh registry with your plugin in it, and protocol checks.

A plugin's tests register the plugin module directly, whether or not its package is
installed, beside the built-ins and nothing else:

    import pytest
    from stylegen.testing import plugin_registry

    import stylegen_mine

    @pytest.fixture
    def registry(tmp_path):
        with plugin_registry({"mine": stylegen_mine}, home=tmp_path / "home") as reg:
            yield reg

    def test_my_model_follows_the_protocol(registry):
        check_model(registry.get("model", "mine"))

The `check_*` functions assert what stylegen relies on for each kind of plugin; each raises
`AssertionError` with what is wrong. Importing this module does not import torch or pytest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stylegen import plugins
from stylegen.plugins import Registry
from stylegen.protocols import Document, Param, SelectsState, Skipped, SourceOptions

_ENV = ("STYLEGEN_HOME", "STYLEGEN_LOAD_PLUGINS")


@contextmanager
def plugin_registry(
    extra: Mapping[str, Any] | None = None, *, home: Path | str | None = None, strict: bool = True
) -> Iterator[Registry]:
    """A fresh plugin registry for the duration: the built-ins and `extra` (plugin name ->
    module or object with `@hookimpl` functions), registered through the same hooks as an
    installed plugin; installed third-party plugins are left out. `home` sets STYLEGEN_HOME
    (a fresh data home). With `strict`, a plugin that fails to load or register is an
    AssertionError with stylegen's message rather than a warning. All is restored on exit.
    """
    saved = {name: os.environ.get(name) for name in _ENV}
    saved_registry = plugins._REGISTRY
    os.environ["STYLEGEN_LOAD_PLUGINS"] = ""
    if home is not None:
        os.environ["STYLEGEN_HOME"] = str(home)
    try:
        reg = plugins.reset(dict(extra or {}))
        if strict and reg.warnings:
            raise AssertionError("; ".join(reg.warnings))
        yield reg
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        plugins._REGISTRY = saved_registry


def _tensors(state: Any) -> list[Any]:
    import torch

    found: list[Any] = []

    def visit(t: Any) -> Any:
        assert isinstance(t, torch.Tensor), f"the state holds a {type(t).__name__}: only tensors, tuples, lists, dicts"
        found.append(t)
        return t

    from stylegen.state import tree_map

    tree_map(visit, state)
    return found


def check_model(
    factory: Any, config: Mapping[str, Any] | None = None, *, vocab_size: int = 13, length: int = 12, atol: float = 1e-5
) -> Any:
    """Assert that `factory` builds a model the trainer and the generator can use; return it.

    Checked: the factory's `name` and `build`; `init_state` gives tensors (in tuples, lists,
    dicts); `forward` maps ids (B, T) to logits (B, T, V) and a state of the same kind;
    feeding a text in pieces, one token at a time or all at once gives the same logits
    (within `atol`: the stateful step is what generation relies on); `config()` is JSON and
    rebuilds the same model; the weights save as safetensors and gradients reach them; and
    `select_state`, when there is one, picks rows of a batch as beam search needs.
    """
    import torch
    from safetensors.torch import load_file, save_file

    config = dict(config or {})
    assert isinstance(factory.name, str) and factory.name, "a model factory needs a `name`"
    torch.manual_seed(0)
    built = factory.build(vocab_size, **config)
    assert isinstance(built, torch.nn.Module), "build() must return a torch.nn.Module"
    model: Any = built
    model.eval()
    batch = 3
    ids = torch.randint(0, vocab_size, (batch, length))
    state = model.init_state(batch, "cpu")
    _tensors(state)
    with torch.no_grad():
        logits, after = model(ids, state)
        assert tuple(logits.shape) == (batch, length, vocab_size), f"logits {tuple(logits.shape)}, expected (B, T, V)"
        assert logits.is_floating_point(), "logits must be floating point"
        _tensors(after)
        cut = max(1, length // 3)
        first, mid = model(ids[:, :cut], model.init_state(batch, "cpu"))
        rest, _ = model(ids[:, cut:], mid)
        pieces = torch.cat([first, rest], dim=1)
        assert torch.allclose(pieces, logits, atol=atol), "feeding the text in two pieces changes the logits"
        state, steps = model.init_state(batch, "cpu"), []
        for t in range(length):
            out, state = model(ids[:, t : t + 1], state)
            steps.append(out)
        assert torch.allclose(torch.cat(steps, 1), logits, atol=atol), "one token at a time changes the logits"

        described = model.config()
        assert json.loads(json.dumps(described)) == described, "config() must be JSON (str keys, plain values)"
        rebuilt: Any = factory.build(vocab_size, **described)
        assert rebuilt.config() == described, "build(**config()) must rebuild the same configuration"
        weights = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            save_file(weights, str(Path(tmp) / "model.safetensors"))  # fails on shared (tied) tensors
            rebuilt.load_state_dict(load_file(str(Path(tmp) / "model.safetensors")))
        again, _ = rebuilt.eval()(ids, rebuilt.init_state(batch, "cpu"))
        assert torch.allclose(again, logits, atol=atol), "saved and loaded weights give other logits"

        selects: Any = model
        if isinstance(selects, SelectsState):
            index = torch.tensor([2, 0, 0])
            picked = selects.select_state(mid, index)
            out, _ = model(ids[index, cut:], picked)
            assert torch.allclose(out, rest[index], atol=atol), "select_state does not pick the rows asked for"

    model.train()
    out, _ = model(ids, model.init_state(batch, "cpu"))
    torch.nn.functional.cross_entropy(out.flatten(0, 1), ids.flatten()).backward()
    assert any(p.grad is not None for p in model.parameters()), "no gradient reaches the parameters"
    return model


def check_sampler(sampler: Any, params: Mapping[str, Any] | None = None, *, vocab_size: int = 13) -> None:
    """Assert that `sampler` declares its parameters and draws ids (B,) int64 in the vocabulary,
    the same ids for the same seeded generator."""
    import torch

    assert isinstance(sampler.name, str) and sampler.name, "a sampler needs a `name`"
    declared = tuple(sampler.params)
    assert all(isinstance(p, Param) for p in declared), "params must be stylegen.protocols.Param objects"
    values = {p.name: p.default for p in declared}
    values.update(params or {})
    logits = torch.randn(4, vocab_size, generator=torch.Generator().manual_seed(0))
    ids = sampler(logits, values, torch.Generator().manual_seed(1))
    assert isinstance(ids, torch.Tensor) and ids.dtype == torch.int64, "a sampler returns an int64 tensor"
    assert tuple(ids.shape) == (4,), f"ids {tuple(ids.shape)}, expected (B,)"
    assert 0 <= int(ids.min()) and int(ids.max()) < vocab_size, "an id outside the vocabulary"
    again = sampler(logits, values, torch.Generator().manual_seed(1))
    assert torch.equal(ids, again), "the same seed must give the same ids"


def check_tokenizer(factory: Any, text: str, directory: Path, **options: Any) -> Any:
    """Assert that `factory` trains a tokenizer on `text` that encodes it to ids whose
    `token_lengths` add up to its characters, decodes them back, and saves to and loads from
    `directory` unchanged; return the tokenizer."""
    import numpy as np

    tokenizer = factory.train([text], **options)
    ids = np.asarray(tokenizer.encode(text))
    assert ids.ndim == 1 and np.issubdtype(ids.dtype, np.integer), "encode() returns a 1-D integer array"
    assert ids.size == 0 or int(ids.max()) < tokenizer.vocab_size, "an id outside the vocabulary"
    lengths = np.asarray(tokenizer.token_lengths())
    assert lengths.shape == (tokenizer.vocab_size,), "token_lengths() has one entry per id"
    assert int(lengths[ids].sum()) == len(text), "token lengths must add up to the text's characters"
    assert tokenizer.decode([int(i) for i in ids]) == text, "decode(encode(text)) must give the text back"
    tokenizer.save(directory)
    loaded = factory.load(directory)
    assert np.array_equal(np.asarray(loaded.encode(text)), ids), "a loaded tokenizer encodes differently"
    return tokenizer


def check_source(source: Any, args: list[str], options: SourceOptions | None = None) -> list[Document]:
    """Assert that `source` yields Documents (and Skipped files) for `args`; return the documents."""
    assert isinstance(source.name, str) and source.name, "a source needs a `name`"
    found = list(source.documents(args, options or SourceOptions()))
    assert all(isinstance(d, (Document, Skipped)) for d in found), "documents() yields Document or Skipped"
    return [d for d in found if isinstance(d, Document)]


def check_extractor(extractor: Any, data: bytes, origin: str = "test", **options: Any) -> str:
    """Assert that `extractor` declares suffixes and turns `data` into text; return the text."""
    assert extractor.suffixes and all(s == "*" or s.startswith(".") for s in extractor.suffixes), (
        "suffixes look like ('.txt',) or ('*',)"
    )
    text = extractor.extract(data, origin, "strict", **options)
    assert isinstance(text, str), "extract() returns str"
    return text


def check_observer(factory: Any, **options: Any) -> Any:
    """Assert that `factory` creates an observer that takes the trainer's events; return it."""
    observer = factory.create(**options)
    events = [
        {"event": "start", "style": "s", "model": "m", "params": 1, "device": "cpu", "step": 0},
        {"event": "step", "step": 10, "epoch": 0, "loss": 2.0, "lr": 1e-3, "tokens_per_s": 1e4},
        {"event": "eval", "step": 10, "val_loss": 1.5, "val_bpc": 2.1, "best": True, "elapsed": 1.0},
        {"event": "end", "step": 10, "reason": "max_steps", "best_val_bpc": 2.1, "train_seconds": 1.0},
    ]
    for event in events:
        observer.on_event(event)
    return observer
