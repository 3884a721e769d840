"""The plugin manager: built-ins and third-party plugins, loaded the same way.

Built-in plugins are entry points of the `stylegen` distribution in the group `stylegen`;
third-party packages add entry points to the same group. Each entry point is loaded on its
own and every failure is caught, so one broken plugin costs a warning, never the CLI.

`STYLEGEN_LOAD_PLUGINS` unset loads every plugin; set to the empty string it loads only
the built-ins; set to `a,b` it loads the built-ins and the third-party entry points (or
distributions) named `a` and `b`.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pluggy

from stylegen import hookspecs
from stylegen.errors import NotFoundError, PluginError, StylegenError, one_line
from stylegen.protocols import (
    Extractor,
    ModelFactory,
    ObserverFactory,
    Sampler,
    Source,
    TokenizerFactory,
    members,
    missing,
)

ENTRY_POINT_GROUP = "stylegen"
DISTRIBUTION = "stylegen"

#: The built-in plugin modules, as declared in pyproject.toml's entry points. Used directly
#: only when the package runs from a source tree without installed metadata.
BUILTIN_MODULES: dict[str, str] = {
    "sources": "stylegen.builtin.sources",
    "extractors": "stylegen.builtin.extractors",
    "char": "stylegen.builtin.char",
    "spm": "stylegen.builtin.spm",
    "rnn": "stylegen.builtin.models",
    "samplers": "stylegen.builtin.samplers",
    "observers": "stylegen.builtin.observers",
    "tensorboard": "stylegen.builtin.tensorboard",
}

#: kind -> hook name
KINDS: dict[str, str] = {
    "source": "register_sources",
    "extractor": "register_extractors",
    "tokenizer": "register_tokenizers",
    "model": "register_models",
    "sampler": "register_samplers",
    "observer": "register_observers",
}


#: kind -> the Protocol (`stylegen.protocols`) an object registered as that kind follows
PROTOCOLS: dict[str, type] = {
    "source": Source,
    "extractor": Extractor,
    "tokenizer": TokenizerFactory,
    "model": ModelFactory,
    "sampler": Sampler,
    "observer": ObserverFactory,
}


#: Protocol members not required at registration: `name` is checked first, with its own message;
#: `description` is optional at run time (listed as empty).
NOT_REQUIRED = ("name", "description")
#: kind -> what a registered object must have (attributes, and methods after a colon), read from
#: its Protocol: `{"sampler": ("params", ":__call__"), ...}`
REQUIRED: dict[str, tuple[str, ...]] = {
    kind: tuple(m for m in members(protocol) if m not in NOT_REQUIRED) for kind, protocol in PROTOCOLS.items()
}


def check_object(kind: str, obj: Any) -> str:
    """The object's name, or a PluginError saying what is wrong with what a plugin registered."""
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        raise PluginError(f"a {kind} without a `name` was registered ({type(obj).__name__} object)")
    need = missing(obj, PROTOCOLS[kind], skip=NOT_REQUIRED)
    if need is not None:
        what = "method" if need.startswith(":") else "attribute"
        protocol = PROTOCOLS[kind].__name__
        raise PluginError(f"{kind} {name!r} has no `{need.lstrip(':')}` {what} (see stylegen.protocols.{protocol})")
    return name


def failure(kind: str, name: str, error: BaseException, when: str = "") -> str:
    """One line saying that plugin code raised, naming the plugin behind `kind` `name`:
    `sampler 'x' (plugin 'p' from pkg 1.0) failed at step 3: RuntimeError: boom`."""
    return f"{describe(kind, name)} failed{' ' + when if when else ''}: {one_line(error, typed=True)}"


@contextmanager
def blame(kind: str, name: str, when: str = "", after: str = "") -> Iterator[None]:
    """Run code of the plugin behind `kind` `name`: an exception other than a `StylegenError`
    (already one line for the user) becomes a `PluginError` worded by `failure`, `after` appended."""
    try:
        yield
    except StylegenError:
        raise
    except Exception as e:
        raise PluginError(failure(kind, name, e, when) + after) from e


def warn(message: str) -> None:
    """Print a warning line to stderr."""
    print(f"warning: {message}", file=sys.stderr)


@dataclass(frozen=True)
class Entry:
    """One object a plugin registered."""

    kind: str
    name: str
    obj: Any
    plugin: str  # the entry-point (or module) name that registered it
    package: str  # the distribution it comes from
    version: str

    @property
    def description(self) -> str:
        return str(getattr(self.obj, "description", "") or "")


@dataclass(frozen=True)
class _Loaded:
    name: str
    package: str
    version: str


class Registry:
    """Everything the loaded plugins registered, looked up by kind and name.

    `skipped` holds what a third-party plugin registered under a built-in's kind and name:
    built-in names win, so such an object is never used (`stylegen plugins` marks it).
    """

    def __init__(self, entries: list[Entry], warnings: list[str], skipped: list[Entry] | None = None) -> None:
        self.entries = entries
        self.warnings = warnings
        self.skipped = skipped or []
        self.printed: set[str] = set()  # the warnings printed to stderr by this process

    def names(self, kind: str) -> list[str]:
        return sorted({e.name for e in self.entries if e.kind == kind})

    def of_kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind]

    def entry(self, kind: str, name: str) -> Entry:
        """The entry of `kind` called `name`; an error if none or if two plugins claim it."""
        found = [e for e in self.entries if e.kind == kind and e.name == name]
        if not found:
            known = ", ".join(self.names(kind)) or "none"
            raise NotFoundError(f"unknown {kind} {name!r} (available: {known})")
        if len(found) > 1:
            raise PluginError(clash(kind, name, found))
        return found[0]

    def get(self, kind: str, name: str) -> Any:
        """The object of `kind` called `name`; an error if none or if two plugins claim it."""
        return self.entry(kind, name).obj


def clash(kind: str, name: str, found: list[Entry]) -> str:
    """What to say when two third-party plugins register the same kind and name."""
    who = " and ".join(f"{e.plugin!r} ({e.package} {e.version})" for e in sorted(found, key=lambda e: e.package))
    packages = sorted({e.package for e in found})
    ways = " or ".join(f"`pip uninstall {p}`" for p in packages)
    return (
        f"{kind} {name!r} is registered by two plugins: {who}; uninstall one ({ways}), "
        "or choose the plugins to load with STYLEGEN_LOAD_PLUGINS"
    )


def builtins_win(entries: list[Entry]) -> tuple[list[Entry], list[Entry], list[str]]:
    """(entries kept, entries skipped, a warning per skipped one): an object a third-party
    plugin registers under the kind and name of a built-in one is skipped, so no plugin can
    make a built-in model or sampler unusable."""
    builtin = {(e.kind, e.name) for e in entries if e.package == DISTRIBUTION}
    kept: list[Entry] = []
    skipped: list[Entry] = []
    warnings: list[str] = []
    for e in entries:
        if e.package != DISTRIBUTION and (e.kind, e.name) in builtin:
            skipped.append(e)
            version = "" if e.version == "?" else f" {e.version}"
            warnings.append(
                f"plugin {e.plugin!r} from {e.package}{version}: its {e.kind} {e.name!r} was skipped: "
                f"a built-in {e.kind} has that name (built-in names win; the plugin must rename it)"
            )
        else:
            kept.append(e)
    return kept, skipped, warnings


def _allowed_third_party() -> set[str] | None:
    """None means all; otherwise the entry-point or distribution names allowed."""
    env = os.environ.get("STYLEGEN_LOAD_PLUGINS")
    if env is None:
        return None
    return {n.strip() for n in env.split(",") if n.strip()}


def _dist_of(ep: md.EntryPoint) -> tuple[str, str]:
    """The distribution (name, version) that declares entry point `ep`. Its metadata file is
    parsed once per distribution (the first frame of the app waits for the registry)."""
    dist = ep.dist
    if dist is None:
        return "?", "?"
    key = getattr(dist, "_path", None)  # where its metadata lies (a distribution without one is read each time)
    known = _DISTS.get(str(key)) if key is not None else None
    if known is None:
        known = (dist.metadata["Name"] or "?", dist.version or "?")
        if key is not None:
            _DISTS[str(key)] = known
    return known


#: (name, version) by the folder of a distribution's metadata
_DISTS: dict[str, tuple[str, str]] = {}


def _is_builtin(ep: md.EntryPoint) -> bool:
    return _dist_of(ep)[0].lower() == DISTRIBUTION


def _check_version(module: Any, name: str) -> None:
    """A plugin declaring `STYLEGEN_HOOKSPEC_VERSION` other than ours is refused in one line."""
    wanted = getattr(module, "STYLEGEN_HOOKSPEC_VERSION", hookspecs.HOOKSPEC_VERSION)
    if isinstance(wanted, bool) or not isinstance(wanted, int):
        raise PluginError(f"its STYLEGEN_HOOKSPEC_VERSION is {wanted!r}, not a whole number")
    if wanted != hookspecs.HOOKSPEC_VERSION:
        newer = "a newer" if wanted > hookspecs.HOOKSPEC_VERSION else "an older"
        raise PluginError(
            f"built for plugin contract version {wanted}; this stylegen has version {hookspecs.HOOKSPEC_VERSION} "
            f"(the plugin needs {newer} stylegen, or a release of the plugin for this one)"
        )


def _register(pm: pluggy.PluginManager, name: str, module: Any) -> None:
    _check_version(module, name)
    pm.register(module, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError:
        pm.unregister(module)
        raise


def make_plugin_manager(
    extra: dict[str, Any] | None = None,
) -> tuple[pluggy.PluginManager, dict[str, _Loaded], list[str]]:
    """Load built-ins, then third-party entry points, then `extra` (name -> plugin object)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    loaded: dict[str, _Loaded] = {}
    problems: list[str] = []
    from stylegen._version import __version__

    eps = list(md.entry_points(group=ENTRY_POINT_GROUP))
    builtin_eps = [ep for ep in eps if _is_builtin(ep)]
    if builtin_eps:
        builtins = [(ep.name, ep.value) for ep in builtin_eps]
    else:  # running from a source tree without installed metadata
        builtins = list(BUILTIN_MODULES.items())
    for name, value in builtins:
        pm.register(importlib.import_module(value), name=name)
        loaded[name] = _Loaded(name, DISTRIBUTION, __version__)

    allowed = _allowed_third_party()
    for ep in eps:
        if _is_builtin(ep):
            continue
        package, version = _dist_of(ep)
        if allowed is not None and ep.name not in allowed and package not in allowed:
            continue
        try:
            if ep.name in loaded:
                raise PluginError(f"the plugin name {ep.name!r} is already taken by {loaded[ep.name].package}")
            _register(pm, ep.name, ep.load())
            loaded[ep.name] = _Loaded(ep.name, package, version)
        except Exception as e:  # any failure in a third-party plugin is reported, not raised
            problems.append(f"plugin {ep.name!r} from {package} {version} was skipped: {one_line(e, typed=True)}")
    for name, obj in (extra or {}).items():
        try:
            _register(pm, name, obj)
            loaded[name] = _Loaded(
                name, getattr(obj, "__package__", None) or name, str(getattr(obj, "__version__", "?"))
            )
        except Exception as e:
            problems.append(f"plugin {name!r} was skipped: {one_line(e, typed=True)}")
    return pm, loaded, problems


def collect(pm: pluggy.PluginManager, loaded: dict[str, _Loaded], problems: list[str]) -> Registry:
    """Call each plugin's hooks one by one, so a plugin that raises is skipped alone."""
    entries: list[Entry] = []
    for kind, hook_name in KINDS.items():
        hook = getattr(pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            info = loaded.get(impl.plugin_name, _Loaded(impl.plugin_name, "?", "?"))
            found: list[Entry] = []

            def register(obj: Any, _info: _Loaded = info, _found: list[Entry] = found, _kind: str = kind) -> None:
                name = check_object(_kind, obj)
                _found.append(Entry(_kind, name, obj, _info.name, _info.package, _info.version))

            try:
                returned = impl.function(register)
            except Exception as e:
                problems.append(
                    f"plugin {info.name!r} from {info.package} failed in {hook_name}: {one_line(e, typed=True)}"
                )
                continue
            if returned is not None:  # e.g. a list of objects returned instead of registered
                problems.append(
                    f"plugin {info.name!r} from {info.package} returned {type(returned).__name__} from {hook_name}, "
                    "which was ignored (a hook calls register(obj) for each object and returns nothing)"
                )
            entries.extend(found)
    kept, skipped, clashes = builtins_win(entries)
    return Registry(kept, problems + clashes, skipped)


_REGISTRY: Registry | None = None


#: A warning about a plugin is printed again after this long (`stylegen plugins` always shows it).
WARN_AGAIN_SECONDS = 24 * 3600


def _announce(reg: Registry) -> None:
    """Print the registry's warnings that were not printed in the last day (or that changed):
    a broken plugin costs one line a day, not one per command. What was printed when is kept
    in the data home's cache; where it cannot be read or written, every warning is printed."""
    import hashlib
    import json
    import time

    from stylegen import home

    if not reg.warnings:
        return
    path = home.plugin_warnings_file()
    now = time.time()
    try:
        seen = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(seen, dict):
            seen = {}
    except (OSError, ValueError, RecursionError):
        seen = {}
    shown: dict[str, float] = {}
    for message in reg.warnings:
        key = hashlib.sha256(message.encode("utf-8", "replace")).hexdigest()[:16]
        when = seen.get(key)
        if isinstance(when, (int, float)) and 0 <= now - when < WARN_AGAIN_SECONDS:
            shown[key] = float(when)
            continue
        warn(message)
        reg.printed.add(message)
        shown[key] = now
    if shown != seen:
        try:
            home.write_json(path, shown)  # only the warnings of now: one fixed stops being remembered
        except (OSError, StylegenError):
            pass


def registry() -> Registry:
    """The process-wide registry; built (and its new warnings printed) on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        reg = collect(*make_plugin_manager())
        _announce(reg)
        _REGISTRY = reg
    return _REGISTRY


def reset(extra: dict[str, Any] | None = None) -> Registry:
    """Rebuild the registry (tests use this to register a plugin of their own)."""
    global _REGISTRY
    _REGISTRY = None
    if extra is not None:
        reg = collect(*make_plugin_manager(extra))
        for message in reg.warnings:
            warn(message)
        reg.printed.update(reg.warnings)
        _REGISTRY = reg
        return reg
    return registry()


def get(kind: str, name: str) -> Any:
    """Shortcut for `registry().get(kind, name)`."""
    return registry().get(kind, name)


def describe(kind: str, name: str) -> str:
    """`sampler 'x' (plugin 'p' from package 1.0)`: how messages name the plugin behind an object."""
    try:
        e = registry().entry(kind, name)
    except StylegenError:
        return f"{kind} {name!r}"
    version = "" if e.version == "?" else f" {e.version}"
    return f"{kind} {name!r} (plugin {e.plugin!r} from {e.package}{version})"


def check_logits(logits: Any, state: Any, batch: int, steps: int, vocab: int, model: str, when: str) -> None:
    """A model's forward output checked against the protocol: logits (B, T, V) with V the
    vocabulary, and a state in which some tensor has the batch's size B. Otherwise a one-line
    `PluginError` naming the model's plugin (a wrong shape would train to a meaningless loss
    or fail later, blaming someone else)."""
    import torch

    expected = (batch, steps, vocab)
    problem = ""
    if not isinstance(logits, torch.Tensor):
        problem = f"logits of type {type(logits).__name__}, not a tensor"
    elif tuple(logits.shape) != expected:
        shape = tuple(logits.shape)
        hint = ""
        if shape == (steps, batch, vocab):
            hint = " (time first: the protocol puts the batch first)"
        elif len(shape) == 3 and shape[:2] == expected[:2]:
            hint = f" ({shape[2]} logits per step for a vocabulary of {vocab})"
        elif len(shape) != 3:
            hint = " (one row of logits per step is needed, not only the last)" if shape == (batch, vocab) else ""
        problem = f"logits of shape {shape} for ids of shape ({batch}, {steps}); expected {expected}, (B, T, V){hint}"
    else:
        from stylegen.state import tree_map

        sizes: list[tuple[int, ...]] = []
        tree_map(lambda t: sizes.append(tuple(getattr(t, "shape", ()))), state)
        if sizes and not any(batch in s for s in sizes):
            problem = f"a state whose tensors have no dimension of the batch's size {batch} (shapes {sizes[:4]})"
    if problem:
        raise PluginError(f"{describe('model', model)} returned {problem} {when}".rstrip())
