"""The plugin contract. A plugin is a module (or object) with functions decorated `@hookimpl`.

Each hook receives a `register` callable; call it once per object you provide. Every object
has a short unique `name` and a one-line `description`; the kinds are described in
`stylegen.protocols`. Built-in plugins (`stylegen.builtin.*`) use exactly these hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from stylegen.protocols import Extractor, ModelFactory, ObserverFactory, Sampler, Source, TokenizerFactory

PROJECT = "stylegen"
#: Version of this contract, raised when a hook or protocol changes incompatibly. A plugin
#: module declares the version it was written for as `STYLEGEN_HOOKSPEC_VERSION = 1`; one
#: built for another version is skipped with a one-line message naming it (undeclared: current).
HOOKSPEC_VERSION = 1

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: What each hook's `register` takes: one object of the hook's kind (a `stylegen.protocols` shape).
RegisterSource = Callable[[Source], None]
RegisterExtractor = Callable[[Extractor], None]
RegisterTokenizer = Callable[[TokenizerFactory], None]
RegisterModel = Callable[[ModelFactory], None]
RegisterSampler = Callable[[Sampler], None]
RegisterObserver = Callable[[ObserverFactory], None]
#: Any hook's `register` (kept for plugins written before the typed ones; prefer those).
Register = Callable[[Any], None]


@hookspec
def register_sources(register: RegisterSource) -> None:
    """Register corpus sources (`protocols.Source`)."""


@hookspec
def register_extractors(register: RegisterExtractor) -> None:
    """Register file extractors (`protocols.Extractor`), chosen by file suffix."""


@hookspec
def register_tokenizers(register: RegisterTokenizer) -> None:
    """Register tokenizer factories (`protocols.TokenizerFactory`)."""


@hookspec
def register_models(register: RegisterModel) -> None:
    """Register model factories (`protocols.ModelFactory`) following the stateful-step protocol."""


@hookspec
def register_samplers(register: RegisterSampler) -> None:
    """Register samplers (`protocols.Sampler`) with declared parameters."""


@hookspec
def register_observers(register: RegisterObserver) -> None:
    """Register training observer factories (`protocols.ObserverFactory`)."""
