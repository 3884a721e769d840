"""The plugin contract: built-ins and third-party entry points load alike; failures are isolated."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stylegen import plugins
from stylegen.errors import NotFoundError, PluginError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def make_dist(site: Path, dist: str, module: str, source: str, ep_name: str | None = None) -> None:
    """Write an installed distribution (dist-info with an entry point) and its module into `site`."""
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"  # the folder name uses underscores
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[stylegen]\n{ep_name or module} = {module}\n", encoding="utf-8")


SAMPLER = """
from stylegen.hookspecs import hookimpl

class First:
    name = "always-first"
    description = "Always token 1"
    params = ()
    def __call__(self, logits, params, generator):
        import torch
        return torch.ones(logits.size(0), dtype=torch.long)

@hookimpl
def register_samplers(register):
    register(First())
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("STYLEGEN_LOAD_PLUGINS", raising=False)
    yield site
    for name in [m for m in sys.modules if m.startswith("sgtest_")]:
        del sys.modules[name]


def test_builtins_cover_every_kind() -> None:
    reg = plugins.registry()
    kinds = {e.kind for e in reg.entries}
    assert kinds == set(plugins.KINDS)
    assert {"lstm", "gru", "rnn"} <= set(reg.names("model"))
    assert reg.names("tokenizer") == ["char", "spm"]
    assert all(e.package == "stylegen" for e in reg.entries)
    assert reg.warnings == []


def test_builtin_entry_points_match_the_fallback_table() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["stylegen"]
    assert declared == plugins.BUILTIN_MODULES


def test_third_party_plugin_is_listed_and_used(site: Path) -> None:
    make_dist(site, "sgtest-first", "sgtest_first", SAMPLER)
    reg = plugins.reset()
    entry = next(e for e in reg.entries if e.name == "always-first")
    assert (entry.kind, entry.package, entry.version) == ("sampler", "sgtest-first", "1.2.3")
    import torch

    assert reg.get("sampler", "always-first")(torch.zeros(2, 5), {}, torch.Generator()).tolist() == [1, 1]


def test_empty_load_plugins_means_builtins_only(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dist(site, "sgtest-first", "sgtest_first", SAMPLER)
    monkeypatch.setenv("STYLEGEN_LOAD_PLUGINS", "")
    assert "always-first" not in plugins.reset().names("sampler")
    monkeypatch.setenv("STYLEGEN_LOAD_PLUGINS", "sgtest-first")
    assert "always-first" in plugins.reset().names("sampler")


def test_plugin_that_fails_to_import_is_skipped_with_one_warning(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_dist(site, "sgtest-broken", "sgtest_broken", "raise RuntimeError('boom at import')\n")
    make_dist(site, "sgtest-first", "sgtest_first", SAMPLER)
    reg = plugins.reset()
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert "sgtest_broken" in err and "boom at import" in err
    assert "always-first" in reg.names("sampler")  # the good plugin still loads
    assert "lstm" in reg.names("model")


def test_plugin_that_fails_to_register_is_skipped(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = """
    from stylegen.hookspecs import hookimpl

    @hookimpl
    def register_models(register):
        raise ValueError("cannot register")
    """
    make_dist(site, "sgtest-badreg", "sgtest_badreg", source)
    reg = plugins.reset()
    assert "cannot register" in capsys.readouterr().err
    assert set(reg.names("model")) == {"gru", "lstm", "qrnn", "rnn"}


def test_misspelled_hook_is_refused(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = """
    from stylegen.hookspecs import hookimpl

    @hookimpl
    def register_modles(register):
        pass
    """
    make_dist(site, "sgtest-typo", "sgtest_typo", source)
    plugins.reset()
    assert "register_modles" in capsys.readouterr().err


def test_incompatible_contract_version_gets_a_message(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_dist(site, "sgtest-old", "sgtest_old", "STYLEGEN_HOOKSPEC_VERSION = 0\n" + SAMPLER)
    reg = plugins.reset()
    err = capsys.readouterr().err
    assert "contract version 0" in err
    assert "always-first" not in reg.names("sampler")


def test_a_plugin_claiming_a_built_in_name_is_skipped_and_the_built_in_wins(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = """
    from stylegen.hookspecs import hookimpl

    class Fake:
        name = "lstm"
        description = "an impostor"
        def build(self, vocab_size, **config):
            raise AssertionError

    @hookimpl
    def register_models(register):
        register(Fake())
    """
    make_dist(site, "sgtest-clash", "sgtest_clash", source)
    reg = plugins.reset()
    assert reg.entry("model", "lstm").package == "stylegen"  # issue 16: built-in names win
    assert [(e.name, e.package) for e in reg.skipped] == [("lstm", "sgtest-clash")]
    assert "its model 'lstm' was skipped: a built-in model has that name" in capsys.readouterr().err
    assert reg.get("model", "gru") is not None  # other names still resolve


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match=r"unknown model 'nope' .*gru, lstm, qrnn, rnn"):
        plugins.get("model", "nope")


def test_extra_plugin_objects_register_through_the_same_hooks() -> None:
    from stylegen.hookspecs import hookimpl

    class Obs:
        name = "memory"
        description = "keeps events"

        def create(self, **options: object) -> object:
            return self

    class Plugin:
        @hookimpl
        def register_observers(self, register):  # type: ignore[no-untyped-def]
            register(Obs())

    reg = plugins.reset({"memory-plugin": Plugin()})
    assert "memory" in reg.names("observer")


def test_what_a_registered_object_needs_is_read_from_its_protocol() -> None:
    from stylegen import protocols

    assert plugins.REQUIRED["sampler"] == ("params", ":__call__")
    assert plugins.REQUIRED["extractor"] == ("suffixes", ":extract")
    for kind, protocol in plugins.PROTOCOLS.items():
        assert protocols.members(protocol)[:2] == ("name", "description"), kind
        assert plugins.REQUIRED[kind] == protocols.members(protocol)[2:], kind

    class Half:
        name = "half"
        description = "suffixes but no extract"
        suffixes = (".x",)

    with pytest.raises(
        PluginError, match=r"extractor 'half' has no `extract` method \(see stylegen.protocols.Extractor\)"
    ):
        plugins.check_object("extractor", Half())


def test_optional_capabilities_are_checked_against_their_protocols_as_objects_are_now() -> None:
    from stylegen.protocols import BansIds, DecodesStream, ReadsOptions, SelectsState, StepsStates

    class Tokenizer:
        never_ids = (3,)

        def decode_stream(self) -> object:
            return object()

    tok = Tokenizer()
    assert isinstance(tok, BansIds) and isinstance(tok, DecodesStream)
    assert not isinstance(tok, (ReadsOptions, SelectsState, StepsStates))
    del Tokenizer.decode_stream  # a class changed after a first check (a monkeypatch) is seen as it is now
    assert not isinstance(tok, DecodesStream)
    tok.never_ids = None  # type: ignore[assignment,unused-ignore]
    assert not isinstance(tok, BansIds)


def test_the_config_helper_gives_the_one_line_errors_plugins_share() -> None:
    from dataclasses import dataclass, field

    from stylegen.config import config_from
    from stylegen.errors import StylegenError

    @dataclass
    class Config:
        hidden: int = 8
        dropout: float = 0.0
        norm: str = field(default="weight", metadata={"choices": ("weight", "none")})
        bias: bool = True

    cfg = config_from(Config, {"hidden": 4, "dropout": 0, "norm": "none"}, owner="model 'x'")
    assert cfg == Config(hidden=4, dropout=0.0, norm="none") and isinstance(cfg.dropout, float)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"heads": 2}, r"model 'x': unknown option 'heads' \(a hint\) \(known: bias, dropout, hidden, norm\)"),
        ({"hidden": 0}, r"model 'x': hidden must be a whole number >= 1 \(got 0\)"),
        ({"hidden": True}, r"hidden must be a whole number >= 1 \(got True\)"),
        ({"dropout": 1.0}, r"model 'x': dropout must be in \[0, 1\) \(got 1.0\)"),
        ({"norm": "batch"}, r"model 'x': norm must be weight or none \(got 'batch'\)"),
        ({"bias": 1}, r"model 'x': bias must be true or false \(got 1\)"),
    ]
    for options, message in cases:
        with pytest.raises(StylegenError, match=message):
            config_from(Config, options, owner="model 'x'", hints={"heads": "a hint"})
