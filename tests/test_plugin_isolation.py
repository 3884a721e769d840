"""A broken plugin costs one clear line naming it, never the rest of stylegen.

Raising on import, registering garbage, declaring another contract version, a model whose
forward raises mid-training (the run stops, its checkpoint intact), a sampler returning ids
outside the vocabulary (generation ends with the error shown).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import TINY

from stylegen import plugins
from stylegen.cli import cli
from stylegen.errors import PluginError
from stylegen.hookspecs import hookimpl
from stylegen.training import TrainConfig, checkpoint, train


def invoke(*args: str, input: str | None = None) -> Result:
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()
    return runner.invoke(cli, list(args), input=input)


def install(site: Path, dist: str, source: str) -> None:
    """An installed distribution `dist` in `site`: its module and a dist-info with its entry point."""
    module = dist.replace("-", "_")
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{module}-0.3.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[stylegen]\n{dist} = {module}\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import sys

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("STYLEGEN_LOAD_PLUGINS")  # load every installed plugin, as a user's CLI does
    yield site
    for name in [m for m in sys.modules if m.startswith("sgiso_")]:
        del sys.modules[name]


GOOD = """
from stylegen.hookspecs import hookimpl

class Last:
    name = "always-last"
    description = "the last id, always"
    params = ()
    def __call__(self, logits, params, generator):
        return logits.new_full((logits.size(0),), logits.size(1) - 1).long()

@hookimpl
def register_samplers(register):
    register(Last())
"""

GARBAGE = """
from stylegen.hookspecs import hookimpl

class NoBuild:
    name = "half-a-model"
    description = "a model factory without build()"

@hookimpl
def register_models(register):
    register(NoBuild())

@hookimpl
def register_samplers(register):
    register(42)

@hookimpl
def register_observers(register):
    return ["an observer", "returned, not registered"]
"""


def test_broken_and_garbage_plugins_are_named_and_the_cli_lists_the_rest(site: Path) -> None:
    install(site, "sgiso-good", GOOD)
    install(site, "sgiso-boom", "raise ImportError('needs libfoo 2.0')\n")
    install(site, "sgiso-garbage", GARBAGE)
    install(site, "sgiso-future", "STYLEGEN_HOOKSPEC_VERSION = 2\n" + GOOD.replace("always-last", "from-future"))
    result = invoke("plugins", "--json")
    assert result.exit_code == 0
    listed = {e["name"]: e for e in json.loads(result.stdout)}
    assert {"lstm", "char", "top-p", "progress", "shakespeare"} <= set(listed)  # the built-ins
    assert listed["always-last"]["package"] == "sgiso-good" and listed["always-last"]["version"] == "0.3.0"
    assert not {"half-a-model", "from-future"} & set(listed)
    lines = result.stderr.splitlines()
    assert all(line.startswith("warning: plugin ") for line in lines), lines
    text = "\n".join(lines)
    assert "'sgiso-boom' from sgiso-boom 0.3.0 was skipped: ImportError: needs libfoo 2.0" in text
    assert "model 'half-a-model' has no `build` method" in text
    assert "a sampler without a `name` was registered (int object)" in text
    assert "returned list from register_observers, which was ignored" in text
    assert (
        "'sgiso-future' from sgiso-future 0.3.0 was skipped: PluginError: built for plugin contract version 2; "
        "this stylegen has version 1 (the plugin needs a newer stylegen" in text
    )
    assert "Traceback" not in result.stderr
    # the same registry serves the other commands: a good plugin still works
    assert plugins.get("sampler", "always-last").name == "always-last"


def test_a_contract_version_that_is_not_a_number_is_refused(site: Path) -> None:
    install(site, "sgiso-odd", "STYLEGEN_HOOKSPEC_VERSION = '1.0'\n" + GOOD)
    reg = plugins.reset()
    assert "always-last" not in reg.names("sampler")
    assert any("STYLEGEN_HOOKSPEC_VERSION is '1.0', not a whole number" in w for w in reg.warnings)


class Flaky:
    """A model plugin: the built-in LSTM, whose forward raises at its `fail_at`-th training call."""

    name = "flaky"
    description = "an LSTM that breaks"

    def __init__(self) -> None:
        self.fail_at: int | None = None

    def build(self, vocab_size: int, **config: Any) -> Any:
        model = plugins.get("model", "lstm").build(vocab_size, **config)
        inner, calls = model.forward, [0]

        def forward(ids: Any, state: Any) -> Any:
            if model.training:
                calls[0] += 1
                if calls[0] == self.fail_at:
                    raise RuntimeError("the flux capacitor broke")
            return inner(ids, state)

        model.forward = forward
        return model


class FlakyPlugin:
    __version__ = "0.0.1"

    def __init__(self) -> None:
        self.factory = Flaky()

    @hookimpl
    def register_models(self, register: Any) -> None:
        register(self.factory)


def test_model_that_raises_mid_training_stops_the_run_with_its_checkpoint_intact(tiny_corpus: str) -> None:
    plugin = FlakyPlugin()
    plugin.factory.fail_at = 25  # validations (and checkpoints) at steps 10 and 20
    plugins.reset({"flaky-plugin": plugin})
    cfg = {**TINY, "eval_every": 10, "max_steps": 40}
    result = invoke(
        "train", tiny_corpus, "--model", "flaky", "--layers", "1", "--hidden", "48", "--embed", "16",
        "--batch-size", "4", "--seq-len", "16", "--eval-every", "10", "--max-steps", "40", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: model 'flaky' (plugin 'flaky-plugin' from flaky-plugin 0.0.1) failed at step 25: RuntimeError: "
        "the flux capacitor broke; training stopped, its checkpoint of step 20 is intact "
        f"(stylegen train {tiny_corpus} --name {tiny_corpus} --resume continues from it)"
    ]
    from stylegen import styles

    saved = checkpoint.load(styles.style_path(tiny_corpus))
    assert saved["step"] == 20
    assert json.loads((styles.style_path(tiny_corpus) / "style.json").read_text())["steps"] == 20
    styles.load_style(tiny_corpus)  # the best weights so far are a usable style

    plugin.factory.fail_at = None  # fixed: the run continues where it stopped
    meta = train(TrainConfig(corpus=tiny_corpus, name=tiny_corpus, model="flaky", **cfg), resume=True)
    assert meta["steps"] == 40


def test_model_that_raises_before_the_first_checkpoint_says_so(tiny_corpus: str) -> None:
    plugin = FlakyPlugin()
    plugin.factory.fail_at = 3
    plugins.reset({"flaky-plugin": plugin})
    with pytest.raises(PluginError, match=r"failed at step 3: .*stopped before its first checkpoint$"):
        train(TrainConfig(corpus=tiny_corpus, name="early", model="flaky", max_steps=30, **TINY))


class BadSampler:
    name = "bad"
    description = "returns what it is told to"
    params = ()

    def __init__(self, result: Any) -> None:
        self.result = result
        self.calls = 0

    def __call__(self, logits: Any, params: Any, generator: Any) -> Any:
        import torch

        self.calls += 1
        if self.calls <= 5:  # a few good ids first, so that some text was written before the error
            return torch.zeros(logits.size(0), dtype=torch.long) + 1
        return self.result(logits) if callable(self.result) else self.result


def sampler_plugin(result: Any) -> Any:
    class Plugin:
        @hookimpl
        def register_samplers(self, register: Any) -> None:
            register(BadSampler(result))

    return Plugin()


def _raise(logits: Any) -> Any:
    raise ValueError("no idea what to pick")


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        (lambda logits: logits.new_full((logits.size(0),), logits.size(1)).long(), "returned id 30, outside the vocabulary (0 to 29)"),
        (lambda logits: -logits.new_ones(logits.size(0)).long(), "returned id -1, outside the vocabulary"),
        (lambda logits: logits.new_zeros(logits.size(0)), "returned a torch.float32 where integer token ids"),
        (lambda logits: logits.new_zeros((logits.size(0), 3)).long(), "returned 3 ids of shape (1, 3) for 1 rows"),
        (_raise, "failed: ValueError: no idea what to pick"),
    ],
)  # fmt: skip
def test_sampler_returning_bad_ids_ends_generation_with_the_error_shown(
    trained: str, result: Any, problem: str
) -> None:
    plugins.reset({"bad-sampler": sampler_plugin(result)})
    out = invoke("generate", trained, "--prime", "the ", "--length", "50", "--sampler", "bad", "--seed", "1")
    assert out.exit_code == 1
    assert out.stdout.startswith("the ") and len(out.stdout) == len("the ") + 5  # what was written stays
    (line,) = out.stderr.splitlines()
    assert line.startswith("error: sampler 'bad' (plugin 'bad-sampler' from bad-sampler) ")
    assert problem in line
    if "failed" not in problem:
        assert line.endswith("; generation stopped")
