"""What a plugin cannot break, and what is checked of it at run time (issue 16, items 1-5).

Built-in names win over a plugin's; a model's output shape is checked at its first forward
in training and generation; samplers may keep a state per text; sampler parameters follow one
rule in `generate` and `chat`; a failing sampler costs one line in chat, not the session.
Plugins here are real throwaway distributions on sys.path (as in test_plugin_isolation.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import TINY
from test_plugin_isolation import install, invoke

from stylegen import plugins
from stylegen.errors import PluginError
from stylegen.hookspecs import hookimpl
from stylegen.training import TrainConfig, train


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("STYLEGEN_LOAD_PLUGINS")  # every installed plugin, as a user's CLI loads them
    yield site
    for name in [m for m in sys.modules if m.startswith("sgc_")]:
        del sys.modules[name]


# --- 1. built-in names win -------------------------------------------------------------------

DUPE_MODEL = """
from stylegen.hookspecs import hookimpl

class Lstm:
    name = "lstm"
    description = "not the real LSTM"
    def build(self, vocab_size, **config):
        raise RuntimeError("never built: the built-in wins")

class TopP:
    name = "top-p"
    description = "not the real top-p"
    params = ()
    def __call__(self, logits, params, generator):
        raise RuntimeError("never called: the built-in wins")

@hookimpl
def register_models(register):
    register(Lstm())

@hookimpl
def register_samplers(register):
    register(TopP())
"""


def test_a_plugin_cannot_take_a_built_in_name(site: Path, trained: str) -> None:
    install(site, "sgc-dupe", DUPE_MODEL)
    out = invoke("generate", trained, "--length", "5", "--top-p", "0.9", "--seed", "1")
    assert out.exit_code == 0, out.stderr
    warnings = out.stderr.splitlines()
    assert any(
        "plugin 'sgc-dupe' from sgc-dupe 0.3.0: its model 'lstm' was skipped: a built-in model has that name" in w
        for w in warnings
    ), warnings
    assert any("its sampler 'top-p' was skipped" in w for w in warnings), warnings
    assert plugins.get("model", "lstm").description.startswith("Stacked LSTM")
    listed = invoke("plugins", "--json")
    assert listed.exit_code == 0
    rows = [e for e in json.loads(listed.stdout) if e["name"] in ("lstm", "top-p")]
    marked = {(e["name"], e["package"]): e.get("skipped") for e in rows}
    assert marked[("lstm", "stylegen")] is None and marked[("top-p", "stylegen")] is None
    assert marked[("lstm", "sgc-dupe")] == marked[("top-p", "sgc-dupe")] == "skipped: a built-in has this name"
    table = invoke("plugins")
    assert "(skipped: a built-in has this name) not the real LSTM" in table.stdout


SAMPLER = """
from stylegen.hookspecs import hookimpl

class Same:
    name = "same"
    description = "the first id"
    params = ()
    def __call__(self, logits, params, generator):
        return logits.new_zeros(logits.size(0)).long()

@hookimpl
def register_samplers(register):
    register(Same())
"""


def test_two_third_party_plugins_with_one_name_are_both_named_with_how_to_uninstall_one(site: Path) -> None:
    install(site, "sgc-one", SAMPLER)
    install(site, "sgc-two", SAMPLER)
    with pytest.raises(PluginError) as e:
        plugins.reset().get("sampler", "same")
    message = str(e.value)
    assert (
        "sampler 'same' is registered by two plugins: 'sgc-one' (sgc-one 0.3.0) and 'sgc-two' (sgc-two 0.3.0)"
        in message
    )
    assert "`pip uninstall sgc-one` or `pip uninstall sgc-two`" in message and "STYLEGEN_LOAD_PLUGINS" in message


BROKEN = "raise ImportError('needs libfoo 2.0')\n"


def test_a_broken_plugin_warns_once_a_day_and_stylegen_plugins_always_shows_it(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install(site, "sgc-broken", BROKEN)
    plugins.reset(None)  # what the first command of the day does
    assert capsys.readouterr().err.count("needs libfoo 2.0") == 1
    plugins.reset(None)  # the next command
    assert "needs libfoo 2.0" not in capsys.readouterr().err  # the same warning, shown within the day
    listed = invoke("plugins")
    assert listed.stderr.count("needs libfoo 2.0") == 1  # always here
    from stylegen import home

    seen = home.plugin_warnings_file()
    stale = {k: v - plugins.WARN_AGAIN_SECONDS - 1 for k, v in json.loads(seen.read_text()).items()}
    seen.write_text(json.dumps(stale))
    plugins.reset(None)  # a day later: again
    assert capsys.readouterr().err.count("needs libfoo 2.0") == 1


# --- 2. a model's output is checked -----------------------------------------------------------


def wrapped_lstm(name: str, change: Any) -> Any:
    """A model plugin: the built-in LSTM with its logits changed by `change` (in training and generation)."""

    class Factory:
        description = "an LSTM with the wrong output"

        def build(self, vocab_size: int, **config: Any) -> Any:
            model = plugins.get("model", "lstm").build(vocab_size, **config)
            inner = model.forward

            def forward(ids: Any, state: Any) -> Any:
                logits, state = inner(ids, state)
                return change(logits), state

            model.forward = forward
            return model

    Factory.name = name  # type: ignore[attr-defined]

    class Plugin:
        __version__ = "0.0.2"

        @hookimpl
        def register_models(self, register: Any) -> None:
            register(Factory())

    return Plugin()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda x: x.transpose(0, 1), "logits of shape (16, 4, 30) for ids of shape (4, 16); expected (4, 16, 30), (B, T, V) (time first"),
        (lambda x: x[:, -1], "logits of shape (4, 30) for ids of shape (4, 16); expected (4, 16, 30)"),
        (lambda x: __import__("torch").cat([x, x[..., :3]], -1), "logits of shape (4, 16, 33) for ids of shape (4, 16); expected (4, 16, 30), (B, T, V) (33 logits per step for a vocabulary of 30)"),
    ],
)  # fmt: skip
def test_a_model_with_the_wrong_output_shape_stops_training_at_once_naming_it(
    tiny_corpus: str, change: Any, problem: str
) -> None:
    plugins.reset({"bent": wrapped_lstm("bent", change)})
    with pytest.raises(PluginError) as e:
        train(TrainConfig(corpus=tiny_corpus, name="bent", model="bent", max_steps=5, **TINY))
    assert str(e.value).startswith("model 'bent' (plugin 'bent' from bent 0.0.2) returned ")
    assert problem in str(e.value) and str(e.value).endswith("at step 1")


def test_a_model_with_the_wrong_output_shape_is_named_in_generation(tiny_corpus: str) -> None:
    import stylegen

    plugins.reset({"bent": wrapped_lstm("bent", lambda x: x)})
    train(
        TrainConfig(
            corpus=tiny_corpus,
            name="bent",
            model="bent",
            max_steps=2,
            eval_every=2,
            **{k: v for k, v in TINY.items() if k != "eval_every"},
        )
    )
    plugins.reset({"bent": wrapped_lstm("bent", lambda x: x.transpose(0, 1))})
    style = stylegen.load_style("bent")
    with pytest.raises(
        PluginError,
        match=r"^model 'bent' \(plugin 'bent' from bent 0.0.2\) returned logits of shape \(3, 1, 30\) for ids of shape \(1, 3\); .* in generation$",
    ):
        "".join(style.generate("the", length=5))
    out = invoke("generate", "bent", "--prime", "the", "--length", "5")
    assert out.exit_code == 1 and "returned logits of shape (3, 1, 30)" in out.stderr and "sampler" not in out.stderr


# --- 3. samplers with a state per text ----------------------------------------------------------

COUNTING = """
import torch
from stylegen.hookspecs import hookimpl
from stylegen.protocols import Param

STARTS = []

class Counting:
    name = "counting"
    description = "greedy, counting its steps per text (a state per row)"
    params = (Param("temperature", float, 1.0, 1e-3, 10.0, ""), Param("tau", float, 3.0, 0.0, 10.0, ""))
    def __call__(self, logits, params, generator):
        raise AssertionError("a stateful sampler is called through sample()")
    def start(self, batch, params):
        STARTS.append(batch)
        return {"steps": torch.zeros(batch), "tau": torch.full((batch,), params["tau"])}
    def sample(self, logits, params, generator, state):
        return logits.argmax(-1), {"steps": state["steps"] + 1, "tau": state["tau"]}

@hookimpl
def register_samplers(register):
    register(Counting())
"""


def test_a_stateful_sampler_starts_per_text_and_chat_carries_and_saves_its_state(
    site: Path, trained: str, tmp_path: Path
) -> None:
    import stylegen

    install(site, "sgc-counting", COUNTING)
    plugins.reset()
    module = sys.modules["sgc_counting"]
    style = stylegen.load_style(trained)
    texts = stylegen.samples(style, "the", n=3, length=4, sampler="counting")
    assert len(texts) == 3 and module.STARTS == [3]  # one start for the text of each of 3 rows
    session = style.chat(sampler="counting", max_tokens=5, seed=1)
    assert session.params == {"temperature": 1.0, "tau": 3.0}  # its own defaults, not 0.8
    session.reply("hello")
    session.reply("again")
    steps = session.decoder.sampler_state["steps"]
    assert steps.tolist() == [10.0]  # carried across the two turns
    saved = tmp_path / "chat.state"
    session.save_state(saved)
    other = style.chat(sampler="temperature", seed=2, max_tokens=5)
    other.load_state(saved)
    assert other.sampler == "counting" and other.decoder.sampler_state["steps"].tolist() == [10.0]
    assert other.reply("more") == session.reply("more")  # the same state gives the same answer
    session.reset()
    assert session.decoder.sampler_state["steps"].tolist() == [0.0]  # /reset: a new text
    session.set_param("tau", 5.0)  # a parameter change keeps the text's state
    assert session.decoder.sampler_state["steps"].tolist() == [0.0]


# --- 4. one rule for sampler parameters ----------------------------------------------------------

MIRO = """
from stylegen.hookspecs import hookimpl
from stylegen.protocols import Param

SEEN = []

class Miro:
    name = "miro"
    description = "greedy, recording its parameters"
    params = (Param("temperature", float, 1.0, 1e-3, 10.0, ""), Param("tau", float, 3.0, 0.0, 10.0, ""))
    def __call__(self, logits, params, generator):
        SEEN.append(dict(params))
        return logits.argmax(-1)

@hookimpl
def register_samplers(register):
    register(Miro())
"""


@pytest.mark.parametrize("command", ["generate", "chat"])
def test_sampler_parameters_follow_one_rule_in_generate_and_chat(site: Path, trained: str, command: str) -> None:
    install(site, "sgc-miro", MIRO)
    plugins.reset()
    seen = sys.modules["sgc_miro"].SEEN

    def run(*args: str) -> Result:
        seen.clear()
        if command == "generate":
            return invoke("generate", trained, "--length", "3", "--seed", "1", *args)
        return invoke("chat", trained, "--max-length", "3", "--seed", "1", *args, input="hello\n")

    assert run("--sampler", "miro").exit_code == 0
    assert seen[-1] == {"temperature": 1.0, "tau": 3.0}  # its declared defaults: not the CLI's 0.8
    assert run("--sampler", "miro", "--temperature", "0.5", "--param", "tau=4").exit_code == 0
    assert seen[-1] == {"temperature": 0.5, "tau": 4.0}  # given options set its parameters
    bad = run("--sampler", "miro", "--param", "tau=abc")
    assert bad.exit_code == 1
    assert "sampler 'miro': tau must be a float (got 'abc')" in bad.stderr
    zero = run("--sampler", "miro", "--temperature", "0")
    assert zero.exit_code == 1
    assert "--temperature 0 means greedy only when the options choose the sampler" in zero.stderr
    assert "sampler 'miro' (plugin 'sgc-miro' from sgc-miro 0.3.0)" in zero.stderr


# --- 5. a failing sampler costs one line in chat, not the session ----------------------------------

FAILING = """
from stylegen.hookspecs import hookimpl

class Failing:
    name = "failing"
    description = "raises after two steps"
    params = ()
    calls = 0
    def __call__(self, logits, params, generator):
        Failing.calls += 1
        if Failing.calls > 2:
            raise RuntimeError("the sampler broke")
        return logits.argmax(-1)

@hookimpl
def register_samplers(register):
    register(Failing())
"""


def test_a_failing_sampler_in_chat_is_one_line_and_the_session_goes_on(site: Path, trained: str) -> None:
    install(site, "sgc-failing", FAILING)
    plugins.reset()
    script = "hello\n/sampler failing\nagain\nthird\n/quit\n"
    out = invoke("chat", trained, "--max-length", "5", "--temperature", "0", "--seed", "1", input=script)
    assert out.exit_code == 0, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: sampler 'failing' (plugin 'sgc-failing' from sgc-failing 0.3.0) failed: RuntimeError: the sampler "
        "broke; the message was not added (send it again), sampler 'failing' replaced by 'greedy'"
    ]
    answers = out.stdout.splitlines()
    assert len(answers) == 3 and answers[0] and answers[2]  # the third message is answered, greedily


def test_a_failing_sampler_in_the_app_falls_back_and_the_chat_goes_on(site: Path, trained: str) -> None:
    from test_tui import drive, enter, until
    from textual.widgets import Select

    from stylegen.tui.app import StylegenApp
    from stylegen.tui.screens.chat import ChatScreen

    install(site, "sgc-failing", FAILING)
    plugins.reset()

    async def scenario(app: StylegenApp, pilot: Any) -> None:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await until(pilot, lambda: screen.session is not None, what="the style to load")
        screen.query_one("#sampler-name", Select).value = "failing"
        await until(pilot, lambda: screen.session.sampler == "failing", what="the sampler to change")
        await enter(pilot, "#message", "hello")
        await until(pilot, lambda: not screen.writing, what="the answer to end")
        note = screen.view.note if screen.view is not None else ""
        assert "the sampler broke; the message was not added (send it again)" in note, note
        assert "sampler 'failing' replaced by 'temperature'" in note
        await until(pilot, lambda: screen.query_one("#sampler-name", Select).value == "temperature", what="the panel")
        assert screen.session.sampler == "temperature" and screen.session.turns == []  # as before the message
        await enter(pilot, "#message", "hello again")
        # answered, with the sampler it fell back to (waiting on the turns, not on `writing`
        # alone: on a loaded machine the answer may not have started when `enter` returns)
        await until(pilot, lambda: len(screen.session.turns) == 2 and not screen.writing, what="the next answer")
        assert screen.session.sampler == "temperature"

    drive(scenario, StylegenApp(trained, seed=1, preload=False))


TWO_MODELS = """
from stylegen.hookspecs import hookimpl

class Same:
    name = "twin"
    description = "a model two packages register"
    def build(self, vocab_size, **config):
        raise AssertionError("never built: the name is ambiguous")

@hookimpl
def register_models(register):
    register(Same())
"""


def test_a_style_whose_model_two_plugins_register_blames_the_plugins_not_style_json(site: Path, trained: str) -> None:
    from stylegen import styles

    path = styles.style_path(trained) / "style.json"
    meta = json.loads(path.read_text())
    meta["model"]["name"] = "twin"
    path.write_text(json.dumps(meta))
    install(site, "sgc-twin-a", TWO_MODELS)
    install(site, "sgc-twin-b", TWO_MODELS)
    plugins.reset()
    out = invoke("generate", trained, "--length", "3")
    assert out.exit_code == 1
    (line,) = [x for x in out.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith("error: model 'twin' is registered by two plugins: 'sgc-twin-a' (sgc-twin-a 0.3.0)")
    assert "style.json" not in line and "`pip uninstall sgc-twin-a` or `pip uninstall sgc-twin-b`" in line
