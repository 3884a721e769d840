"""stylegen: learn the style of a body of text, then write and chat in that style.

The public API, the one front door for Python users, the CLI and the app (which import
nothing else of stylegen's but the plugin contract: `stylegen.hookspecs`,
`stylegen.protocols`, `stylegen.errors`; tests/test_api.py holds them to it).

Corpora
    build_corpus(name, sources, ...)     -> Corpus (text + manifest, in the data home)
    load_corpus(name), list_corpora()    -> Corpus, list[Corpus]
    remove_corpus(name)                  -> the folder removed
    corpus_lock(name, doing)             the corpus's one-writer lock (building, removing it)
    CleanOptions(...)                    how documents are cleaned (NFC, dedupe, rare characters ...)
    load_recipe(path)                    a corpus recipe (TOML) read into build settings
    corpus_summary(manifest), corpus_info(corpus, seed)   what `corpus list/show` print
Training
    train(TrainConfig(...), observers=, stop=, resume=, replace=)   -> the style's record
    PRESETS, preset(name)                -> (training settings, model options) for the hardware
    auto_preset(corpus, device)          -> (preset, why, settings): the one picked when none is given
    RESUME_OVERRIDES                     the settings a resumed run may change
    observers_from(names)                observer plugins by name (progress, jsonl, tensorboard)
    is_main_process()                    rank 0 under torchrun (or no torchrun at all)
    score_text(style, text, dynamic=)    -> Evaluation: bits/char of a text (and dynamic evaluation)
    StartEvent, StepEvent, EvalEvent, EndEvent, event_from_json(line)   the training events, typed
Styles
    load_style(name, device=, int8=)     -> Style (.generate(prime, ...), .chat(...))
    list_styles(), read_meta(name)       -> the styles' records (style.json)
    style_path(name), remove_style(name), style_lock(name, doing)
    export_style(name, file, ...), import_style(file, name=, force=)   one zip, checked, no pickle
Writing
    generate(style, prime, ...)          -> iterator of text chunks
    samples(style, prime, n=...)         -> list of whole texts
    chat(style, ...)                     -> ChatSession (send(message) streams each answer)
    Decoder, stream, HoldBack, cut_at_stops, random_seed     the streaming generator's parts
    torchless_style(name, device, sampler), TorchlessDecoder the same without torch (built-in cells)
    choose_sampler(...), sampler_params(sampler, params)    samplers from options, checked values
    sampler_choice(sampler, options, params)                the one rule generate, chat and the app follow
    Penalties(repetition, presence, frequency)              logit penalties for every sampler
    beam_search(style, prime, length=, width=)              the likeliest continuation found
    load_originality_index(path, meta), find_copies(index, text, n), mark_copies(text, spans)
Inspecting a model
    activations(style, text) -> Activations; pattern_mask, feature_values, correlations,
    rank_neurons -> [NeuronScore]; search_neurons(acts, kind, pattern=|feature=) -> the best
    neurons for a search; default_activation_kind; ActivationRow, activations_html,
    activations_rich_text (the colour views)
Records (frozen dataclasses: from_json(data, path) checks a file, to_json() writes it back)
    StyleRecord (style.json), CorpusManifest (a corpus's manifest.json), InspectResult
    (`stylegen inspect --json`; inspect_result(style, acts, kind, picks, ...) builds one)
Plugins and files
    plugin_registry(), get_plugin(kind, name), PLUGIN_KINDS
    PLUGIN_TEMPLATES, PluginNames.of(name), check_plugin_name(names, kind), new_plugin(...)
    check_name(name, what), atomic_write_text(path, text)
    StylegenError (every error a user may see; more kinds in stylegen.errors)

Every name is the real object, the same however often it is read (tests/test_api.py). The
modules behind them load on first use, so `import stylegen` (and `stylegen --help`) stays
instant: importing them all eagerly doubles the CLI's start (0.095 s -> 0.19 s, numpy
included). Type checkers see the real imports below. No module inside the package imports
this one (that would be an import cycle: tests/test_import_graph.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from stylegen._version import __version__

if TYPE_CHECKING:
    from stylegen._chat import ChatSession, chat
    from stylegen._generate import (
        Decoder,
        HoldBack,
        choose_sampler,
        cut_at_stops,
        generate,
        random_seed,
        sampler_choice,
        sampler_params,
        samples,
        stream,
    )
    from stylegen.beam import beam_search
    from stylegen.corpus import Corpus, build_corpus, list_corpora, load_corpus, remove_corpus
    from stylegen.corpus.clean import CleanOptions
    from stylegen.corpus.inspect import corpus_info
    from stylegen.corpus.inspect import summary as corpus_summary
    from stylegen.corpus.recipe import load_recipe
    from stylegen.errors import StylegenError
    from stylegen.home import check_name
    from stylegen.home import write_text as atomic_write_text
    from stylegen.inspect import Activations, activations, correlations, feature_values, inspect_result, pattern_mask
    from stylegen.inspect import Row as ActivationRow
    from stylegen.inspect import Score as NeuronScore
    from stylegen.inspect import default_kind as default_activation_kind
    from stylegen.inspect import html_page as activations_html
    from stylegen.inspect import rank as rank_neurons
    from stylegen.inspect import rich_text as activations_rich_text
    from stylegen.inspect import search as search_neurons
    from stylegen.locks import corpus_lock, style_lock
    from stylegen.originality import find_copies
    from stylegen.originality import load_for_style as load_originality_index
    from stylegen.originality import mark as mark_copies
    from stylegen.plugins import KINDS as PLUGIN_KINDS
    from stylegen.plugins import get as get_plugin
    from stylegen.plugins import registry as plugin_registry
    from stylegen.processors import Penalties
    from stylegen.records import CorpusManifest, InspectResult, StyleRecord
    from stylegen.scaffold import KINDS as PLUGIN_TEMPLATES
    from stylegen.scaffold import Names as PluginNames
    from stylegen.scaffold import check_free as check_plugin_name
    from stylegen.scaffold import write as new_plugin
    from stylegen.styles import Style, list_styles, load_style, read_meta, remove_style, style_path
    from stylegen.torchless import Decoder as TorchlessDecoder
    from stylegen.torchless import load as torchless_style
    from stylegen.training import TrainConfig, train
    from stylegen.training.distributed import is_main_process
    from stylegen.training.dynamic import Evaluation, score_text
    from stylegen.training.events import EndEvent, EvalEvent, StartEvent, StepEvent, TrainEvent, event_from_json
    from stylegen.training.loop import observers_from
    from stylegen.training.prepare import RESUME_OVERRIDES
    from stylegen.training.presets import PRESETS, auto_preset, preset
    from stylegen.transfer import export_style, import_style

#: public name -> "module" that defines it under that name, or "module:name" where it has another
_API: dict[str, str] = {
    # corpora
    "build_corpus": "stylegen.corpus",
    "load_corpus": "stylegen.corpus",
    "list_corpora": "stylegen.corpus",
    "remove_corpus": "stylegen.corpus",
    "Corpus": "stylegen.corpus",
    "CleanOptions": "stylegen.corpus.clean",
    "load_recipe": "stylegen.corpus.recipe",
    "corpus_summary": "stylegen.corpus.inspect:summary",
    "corpus_info": "stylegen.corpus.inspect",
    # training
    "train": "stylegen.training",
    "TrainConfig": "stylegen.training",
    "score_text": "stylegen.training.dynamic",
    "StartEvent": "stylegen.training.events",
    "StepEvent": "stylegen.training.events",
    "EvalEvent": "stylegen.training.events",
    "EndEvent": "stylegen.training.events",
    "TrainEvent": "stylegen.training.events",
    "event_from_json": "stylegen.training.events",
    "Evaluation": "stylegen.training.dynamic",
    "PRESETS": "stylegen.training.presets",
    "preset": "stylegen.training.presets",
    "auto_preset": "stylegen.training.presets",
    "RESUME_OVERRIDES": "stylegen.training.prepare",
    "observers_from": "stylegen.training.loop",
    "is_main_process": "stylegen.training.distributed",
    # styles
    "load_style": "stylegen.styles",
    "list_styles": "stylegen.styles",
    "read_meta": "stylegen.styles",
    "style_path": "stylegen.styles",
    "remove_style": "stylegen.styles",
    "Style": "stylegen.styles",
    "style_lock": "stylegen.locks",
    "corpus_lock": "stylegen.locks",
    "export_style": "stylegen.transfer",
    "import_style": "stylegen.transfer",
    # writing
    "generate": "stylegen._generate",
    "samples": "stylegen._generate",
    "Decoder": "stylegen._generate",
    "stream": "stylegen._generate",
    "torchless_style": "stylegen.torchless:load",
    "TorchlessDecoder": "stylegen.torchless:Decoder",
    "HoldBack": "stylegen._generate",
    "cut_at_stops": "stylegen._generate",
    "random_seed": "stylegen._generate",
    "choose_sampler": "stylegen._generate",
    "sampler_params": "stylegen._generate",
    "sampler_choice": "stylegen._generate",
    "chat": "stylegen._chat",
    "ChatSession": "stylegen._chat",
    "Penalties": "stylegen.processors",
    "beam_search": "stylegen.beam",
    "load_originality_index": "stylegen.originality:load_for_style",
    "find_copies": "stylegen.originality",
    "mark_copies": "stylegen.originality:mark",
    # inspecting a model
    "activations": "stylegen.inspect",
    "Activations": "stylegen.inspect",
    "pattern_mask": "stylegen.inspect",
    "feature_values": "stylegen.inspect",
    "correlations": "stylegen.inspect",
    "rank_neurons": "stylegen.inspect:rank",
    "search_neurons": "stylegen.inspect:search",
    "NeuronScore": "stylegen.inspect:Score",
    "default_activation_kind": "stylegen.inspect:default_kind",
    "ActivationRow": "stylegen.inspect:Row",
    "activations_html": "stylegen.inspect:html_page",
    "activations_rich_text": "stylegen.inspect:rich_text",
    "inspect_result": "stylegen.inspect",
    # records
    "StyleRecord": "stylegen.records",
    "CorpusManifest": "stylegen.records",
    "InspectResult": "stylegen.records",
    # plugins and files
    "plugin_registry": "stylegen.plugins:registry",
    "get_plugin": "stylegen.plugins:get",
    "PLUGIN_KINDS": "stylegen.plugins:KINDS",
    "PLUGIN_TEMPLATES": "stylegen.scaffold:KINDS",
    "PluginNames": "stylegen.scaffold:Names",
    "check_plugin_name": "stylegen.scaffold:check_free",
    "new_plugin": "stylegen.scaffold:write",
    "check_name": "stylegen.home",
    "atomic_write_text": "stylegen.home:write_text",
    "StylegenError": "stylegen.errors",
}

__all__ = [  # written out (not derived from _API) so linters and type checkers read it
    "PLUGIN_KINDS",
    "PLUGIN_TEMPLATES",
    "PRESETS",
    "RESUME_OVERRIDES",
    "ActivationRow",
    "Activations",
    "ChatSession",
    "CleanOptions",
    "Corpus",
    "CorpusManifest",
    "Decoder",
    "EndEvent",
    "EvalEvent",
    "Evaluation",
    "HoldBack",
    "InspectResult",
    "NeuronScore",
    "Penalties",
    "PluginNames",
    "StartEvent",
    "StepEvent",
    "Style",
    "StyleRecord",
    "StylegenError",
    "TorchlessDecoder",
    "TrainConfig",
    "TrainEvent",
    "__version__",
    "activations",
    "activations_html",
    "activations_rich_text",
    "atomic_write_text",
    "auto_preset",
    "beam_search",
    "build_corpus",
    "chat",
    "check_name",
    "check_plugin_name",
    "choose_sampler",
    "corpus_info",
    "corpus_lock",
    "corpus_summary",
    "correlations",
    "cut_at_stops",
    "default_activation_kind",
    "event_from_json",
    "export_style",
    "feature_values",
    "find_copies",
    "generate",
    "get_plugin",
    "import_style",
    "inspect_result",
    "is_main_process",
    "list_corpora",
    "list_styles",
    "load_corpus",
    "load_originality_index",
    "load_recipe",
    "load_style",
    "mark_copies",
    "new_plugin",
    "observers_from",
    "pattern_mask",
    "plugin_registry",
    "preset",
    "random_seed",
    "rank_neurons",
    "read_meta",
    "remove_corpus",
    "remove_style",
    "sampler_choice",
    "sampler_params",
    "samples",
    "score_text",
    "search_neurons",
    "stream",
    "style_lock",
    "style_path",
    "torchless_style",
    "train",
]


def __getattr__(name: str) -> Any:
    """Load a public name on first use and keep it: later reads find it without this hook."""
    if name not in _API:
        raise AttributeError(f"module 'stylegen' has no attribute {name!r}")
    module, _, attr = _API[name].partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
