"""`stylegen inspect`: per-step states, neuron search, the views, and their errors.

The proof that neuron search works: a small LSTM trained for a few seconds on a synthetic
corpus with quoted spans and bracketed links grows a cell whose state follows "inside
quotes", and `inspect --pattern` finds it at |r| >= 0.8. Inside the quotes the words are in
capitals, so the model must remember whether a quote is open to predict every letter's
case: that is what makes the neuron appear reliably in a model this small (|r| 0.92-0.99
over seeds 0-7 with these settings; the test uses seed 0).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from test_cli import assert_error, invoke, ok

from stylegen import inspect as api
from stylegen import plugins
from stylegen.models.rnn import RNNConfig, RNNLanguageModel

OUTSIDE = "the a man woman dog house went said saw under over and then with it was".split()
SPOKEN = "yes no never always come here go away stop now please help me you".split()
LINKED = "paris london river king war city mountain sea".split()
QUOTES = r'"[^"]*"'
#: The quote model: 1 layer of 32 LSTM cells, 400 steps of 16 x 64 characters.
QUOTE_TRAINING: dict[str, Any] = dict(
    model_config={"layers": 1, "hidden": 32, "embed": 16},
    batch_size=16,
    seq_len=64,
    lr=1e-2,
    warmup_steps=10,
    eval_every=400,
    max_steps=400,
    device="cpu",
    seed=0,
)


def quoted_corpus(seed: int, chars: int) -> str:
    """Lines of lowercase words with quoted spans in capitals and [[bracketed links]]."""
    rng = random.Random(seed)
    lines: list[str] = []
    while sum(map(len, lines)) < chars:
        words = []
        for _ in range(rng.randint(4, 10)):
            r = rng.random()
            if r < 0.15:
                words.append('"' + " ".join(rng.choice(SPOKEN) for _ in range(rng.randint(2, 6))).upper() + '"')
            elif r < 0.25:
                words.append("[[" + " ".join(rng.choice(LINKED) for _ in range(rng.randint(1, 2))) + "]]")
            else:
                words.append(rng.choice(OUTSIDE))
        lines.append(" ".join(words) + ".\n")
    return "".join(lines)


@pytest.fixture(scope="module")
def _quote_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A data home with style `quotes` trained on `quoted_corpus`, and the seconds training took."""
    import os

    from stylegen.corpus import build_corpus
    from stylegen.training import TrainConfig, train

    home = tmp_path_factory.mktemp("quotes") / "home"
    old = {k: os.environ.get(k) for k in ("STYLEGEN_HOME", "STYLEGEN_LOAD_PLUGINS")}
    os.environ.update(STYLEGEN_HOME=str(home), STYLEGEN_LOAD_PLUGINS="")
    plugins._REGISTRY = None
    try:
        src = home.parent / "quotes.txt"
        src.write_text(quoted_corpus(0, 60_000), encoding="utf-8")
        build_corpus("quotes", [str(src)])
        start = time.perf_counter()
        train(TrainConfig(corpus="quotes", name="quotes", **QUOTE_TRAINING))
        seconds = time.perf_counter() - start
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        plugins._REGISTRY = None
    return home, seconds


@pytest.fixture
def quotes(hermetic: Path, _quote_home: tuple[Path, float], tmp_path: Path) -> Path:
    """Style `quotes` in this test's data home; returns a held-out sample text file."""
    shutil.copytree(_quote_home[0], hermetic, dirs_exist_ok=True)
    sample = tmp_path / "sample.txt"
    sample.write_text(quoted_corpus(1000, 3000), encoding="utf-8")
    return sample


# --------------------------------------------------------------------------- step_states


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_step_states_match_the_fused_layers(cell: str) -> None:
    """Every layer's h (and tanh c) at every step equals what torch's nn.LSTM/GRU/RNN computes."""
    torch.manual_seed(0)
    model = RNNLanguageModel(cell, 20, RNNConfig(hidden=12, layers=3, embed=8)).eval()
    ids = torch.randint(0, 20, (1, 25))
    _, start = model(ids[:, :5], model.init_state(1, "cpu"))  # a warm state, not zeros
    states, end = model.step_states(ids, start)
    assert all(v.shape == (3, 25, 12) for v in states.values())
    with torch.no_grad():
        x = model.embedding(ids)
        out, final = model.rnn(x, start)
        torch.testing.assert_close(states["hidden"][-1], out[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(end, final, rtol=1e-5, atol=1e-5)
        for t in (1, 9, 25):  # every layer at a few steps, from the state the fused layer reaches there
            _, prefix = model.rnn(x[:, :t], start)
            h = prefix[0] if cell == "lstm" else prefix
            torch.testing.assert_close(states["hidden"][:, t - 1], h[:, 0], rtol=1e-5, atol=1e-5)
            if cell == "lstm":
                torch.testing.assert_close(states["cell"][:, t - 1], torch.tanh(prefix[1][:, 0]), rtol=1e-5, atol=1e-5)
    kinds = {"lstm": {"hidden", "cell", "gate-i", "gate-f", "gate-o"}, "gru": {"hidden", "gate-r", "gate-z"}}
    assert set(states) == kinds.get(cell, {"hidden"})
    for name, value in states.items():
        if name.startswith("gate"):
            assert float(value.min()) >= 0.0 and float(value.max()) <= 1.0


# --------------------------------------------------------------------------- features and ranking


def test_features() -> None:
    text = 'ab "cd" e\n  "f\n\tg" h'
    assert api.pattern_mask(text, QUOTES).tolist() == [float(c) for c in "00011110000011111100"]
    assert api.feature_values(text, "in-quotes").tolist() == [float(c) for c in "00011100000011111000"]
    assert api.feature_values(text, "line-position").tolist()[:12] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]
    assert api.feature_values(text, "indent-depth").tolist() == [0] * 10 + [2] * 5 + [4] * 5
    assert api.feature_values("x \u201cy\u201d z", "in-quotes").tolist() == [0, 0, 1, 1, 0, 0, 0]
    assert api.pattern_mask("aaa", "b*").tolist() == [0, 0, 0]  # empty matches mark nothing


def test_feature_names_match_the_cli() -> None:
    from stylegen.cli.inspect import FEATURE_NAMES

    assert FEATURE_NAMES == tuple(api.FEATURES)


def test_correlations_and_rank() -> None:
    target = np.array([0, 0, 1, 1, 1, 0, 0, 1], dtype=float)
    rng = np.random.default_rng(0)
    values = rng.normal(size=(2, 8, 5)).astype(np.float32) * 0.1
    values[1, :, 3] = 2 * target - 1  # the neuron: exactly the target
    values[0, :, 2] = 0.5 - target + rng.normal(size=8) * 0.05  # nearly its opposite
    values[0, :, 4] = 0.3  # never changes
    r = api.correlations(values, target)
    assert r.shape == (2, 5)
    assert r[1, 3] == pytest.approx(1.0) and r[0, 2] < -0.95 and r[0, 4] == 0.0
    best = api.rank(r, 2)
    assert [(s.layer, s.neuron) for s in best] == [(1, 3), (0, 2)]
    with pytest.raises(Exception, match="same at every character"):
        api.correlations(values, np.ones(8))


# --------------------------------------------------------------------------- the quote neuron


def test_pattern_search_finds_the_quote_neuron(quotes: Path, _quote_home: tuple[Path, float]) -> None:
    start = time.perf_counter()
    result = ok(invoke("inspect", "quotes", "--text", str(quotes), "--pattern", QUOTES, "--json"))
    out = json.loads(result.stdout)
    top = out["search"]["top"]
    assert len(top) == 10 and out["what"] == "cell"
    assert [abs(s["r"]) for s in top] == sorted((abs(s["r"]) for s in top), reverse=True)
    assert abs(top[0]["r"]) >= 0.8, top[:3]
    best = out["neurons"][0]  # the best is the one rendered
    assert (best["layer"], best["neuron"]) == (top[0]["layer"], top[0]["neuron"])
    assert len(best["values"]) == len(quotes.read_text(encoding="utf-8"))
    seconds = _quote_home[1] + time.perf_counter() - start
    assert seconds < 60, seconds
    print(f"quote neuron: r = {top[0]['r']:+.3f}; training + search {seconds:.1f} s")

    # The built-in feature finds it too; and the same search prints a table and the coloured text.
    out = json.loads(ok(invoke("inspect", "quotes", "--text", str(quotes), "--feature", "in-quotes", "--json")).stdout)
    assert abs(out["search"]["top"][0]["r"]) >= 0.8
    text = ok(invoke("inspect", "quotes", "--text", str(quotes), "--pattern", QUOTES, "--top", "3")).stdout
    lines = text.splitlines()
    assert lines[0].startswith("neurons (cell) most correlated with /")
    assert re.fullmatch(r"1\s+\d+\s+\d+\s+[+-]0\.\d{3}", lines[2])
    assert quotes.read_text(encoding="utf-8").splitlines()[0] in lines


class Spans(HTMLParser):
    """Collects, per <pre class="text">, the characters and attributes of its spans."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[list[dict[str, Any]]] = []
        self.span: dict[str, Any] | None = None
        self.other_tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self.blocks.append([])
        elif tag == "span" and self.blocks and dict(attrs).get("data-v") is not None:
            self.span = {**dict(attrs), "text": ""}
            self.blocks[-1].append(self.span)
        else:
            self.other_tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self.span = None

    def handle_data(self, data: str) -> None:
        if self.span is not None:
            self.span["text"] += data


def test_html_page(quotes: Path, tmp_path: Path) -> None:
    page = tmp_path / "view.html"
    args = ["--text", str(quotes), "--pattern", QUOTES, "--neuron", "0:1", "--topk", "3", "--html", str(page)]
    result = ok(invoke("inspect", "quotes", *args, "--json"))
    assert "wrote" in result.stderr
    out = json.loads(result.stdout)
    text = quotes.read_text(encoding="utf-8")
    html = page.read_text(encoding="utf-8")
    parser = Spans()
    parser.feed(html)
    # Three rows stacked: the best neuron, neuron 0:1, and the search target.
    assert len(parser.blocks) == 3
    for block in parser.blocks:
        assert [s["text"] for s in block] == list(text)  # one span per character
        assert all(re.fullmatch(r"background:#[0-9a-f]{6};color:#(0{6}|f{6})", s["style"]) for s in block)
        assert all(s["title"].startswith(f"#{i} ") and "next:" in s["title"] for i, s in enumerate(block))
    best = out["neurons"][0]["values"]
    assert [float(s["data-v"]) for s in parser.blocks[0]] == pytest.approx(best, abs=1e-3)
    assert [float(s["data-v"]) for s in parser.blocks[2]] == api.pattern_mask(text, QUOTES).tolist()
    assert "script" not in parser.other_tags and not re.search(r"(src|href)=", html)  # self-contained


# --------------------------------------------------------------------------- views


def test_neuron_view_in_the_terminal(trained: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = ok(invoke("inspect", trained, "--neuron", "3", "--", "the quick fox"))
    assert plain.stdout == "layer 0 neuron 3 (cell):\nthe quick fox\n"
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLORTERM", "truecolor")
    coloured = ok(invoke("inspect", trained, "--neuron", "3", "--neuron", "0:4", "--what", "gate-f", "--", "fox"))
    assert len(re.findall(r"\x1b\[38;2;(0;0;0|255;255;255);48;2;", coloured.stdout)) == 6  # per character, 2 rows
    assert "layer 0 neuron 4 (gate-f):" in coloured.stdout


def test_topk(trained: str) -> None:
    out = json.loads(ok(invoke("inspect", trained, "--topk", "4", "--json", "--", "the quick")).stdout)
    assert [item["position"] for item in out["topk"]] == list(range(9))
    for item in out["topk"]:
        probs = [n["p"] for n in item["next"]]
        assert len(probs) == 4 and probs == sorted(probs, reverse=True) and sum(probs) <= 1.001
    assert out["topk"][2]["next"][0]["text"] == " "  # "the" -> a space, in a model of one sentence
    text = ok(invoke("inspect", trained, "--topk", "2", "--at", "2", "--", "the quick")).stdout
    assert [line.split()[0] for line in text.splitlines()] == ["2"]  # position 2 only
    assert "->" in text and "\u2423" in text  # the space shown as ␣


def test_activations_align_subword_tokens() -> None:
    """Each character gets the state of the token that completes it."""

    class Pairs:  # a tokenizer of two-character tokens
        vocab_size = 5
        table = ("??", "ab", "cd", "e", "f")

        def encode(self, text: str) -> np.ndarray:
            ids, i = [], 0
            while i < len(text):
                piece = text[i : i + 2] if text[i : i + 2] in self.table else text[i]
                ids.append(self.table.index(piece))
                i += len(piece)
            return np.asarray(ids)

        def decode(self, ids: list[int]) -> str:
            return "".join(self.table[i] for i in ids)

    model = RNNLanguageModel("lstm", 5, RNNConfig(hidden=4, layers=2, embed=3)).eval()
    acts = api.activations(SimpleNamespace(model=model, tokenizer=Pairs(), device="cpu"), "abefcd", topk=2)
    assert acts.text == "abefcd" and acts.token_of.tolist() == [0, 0, 1, 2, 3, 3]
    assert acts.kind("hidden").shape == (2, 6, 4) and acts.kinds[:2] == ("hidden", "cell")
    column = acts.neuron("hidden", 1, 2)
    assert column[0] == column[1] and column[4] == column[5]
    assert [t for t, _ in acts.top_next(Pairs())[1]] == [t for t, _ in acts.top_next(Pairs())[0]]
    assert len(acts.top_next(Pairs())) == 6


def test_activations_with_sentencepiece_tokens() -> None:
    """A real subword tokenizer (byte pieces for a character it never saw): every character of
    the text gets the state of the token that completes it."""
    from stylegen.builtin.spm import SpmTokenizerFactory

    tokenizer = SpmTokenizerFactory().train([quoted_corpus(0, 20_000)], vocab_size=400)
    torch.manual_seed(0)

    model = RNNLanguageModel("gru", tokenizer.vocab_size, RNNConfig(hidden=8, layers=1, embed=4)).eval()
    style = SimpleNamespace(model=model, tokenizer=tokenizer, device="cpu")
    text = 'the man said "NEVER COME HERE" \u00e9t\u00e9 [[paris]].\n'
    acts = api.activations(style, text)
    ids = tokenizer.encode(text)
    assert acts.text == text and len(ids) < len(text)
    assert acts.token_of[0] == 0 and acts.token_of[-1] == len(ids) - 1
    assert np.all(np.diff(acts.token_of) >= 0) and acts.kind("gate-z").shape == (1, len(text), 8)


def test_text_from_stdin(trained: str) -> None:
    out = json.loads(ok(invoke("inspect", trained, "--neuron", "1", "--text", "-", "--json", input="the fox\n")).stdout)
    assert out["text"] == "the fox\n" and len(out["neurons"][0]["values"]) == 8


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--layer", "2", "--neuron", "1", "--", "the"], ["layer 2 is out of range", "layers 0-0"]),
        (["--neuron", "48", "--", "the"], ["neuron 48 is out of range", "neurons 0-47"]),
        (["--neuron", "0:-1", "--", "the"], ["neuron -1 is out of range"]),
        (["--neuron", "1", "--what", "gate-z", "--", "the"], ["no activation 'gate-z'", "hidden, cell, gate-i"]),
        (["--pattern", "(a", "--", "the"], ["pattern '(a' is not a regular expression", "missing )"]),
        (["--pattern", "z", "--", "the"], ["matches no character of the text"]),
        (["--pattern", ".", "--", "the"], ["matches every character"]),
        (["--feature", "in-quotes", "--", "the"], ["--feature in-quotes is the same at every character"]),
        (["--neuron", "1", "--", ""], ["the text is empty"]),
        (["--neuron", "1", "--text", "missing.txt"], ["--text missing.txt: no such file"]),
        (["--topk", "2", "--at", "3", "--", "the"], ["--at 3 is out of range", "positions 0-2"]),
    ],
)
def test_errors(trained: str, args: list[str], needles: list[str]) -> None:
    assert_error(invoke("inspect", trained, *args), 1, *needles)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--neuron", "1"], "no text to inspect"),
        (["--neuron", "1", "--text", "x.txt", "--", "the"], "not both"),
        (["--", "the"], "say what to show"),
        (["--pattern", "a", "--feature", "in-quotes", "--", "the"], "--pattern or --feature, not both"),
        (["--neuron", "x", "--", "the"], "is not N or LAYER:N"),
        (["--at", "1", "--neuron", "1", "--", "the"], "--at needs --topk"),
    ],
)
def test_usage_errors(trained: str, args: list[str], needle: str) -> None:
    assert_error(invoke("inspect", trained, *args), 2, needle)


def test_a_model_without_step_states_says_so(trained: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RNNLanguageModel, "step_states")
    assert_error(
        invoke("inspect", trained, "--neuron", "1", "--", "the"), 1, "model 'lstm' does not expose its per-step states"
    )


def test_the_cli_import_stays_light() -> None:
    code = "import sys, stylegen.cli; print(sorted(m for m in ('numpy', 'torch', 'rich') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_pattern_anchors_match_at_line_ends_like_grep() -> None:
    text = "ROMEO:\nhi there.\nFRIAR JOHN:\nho:\n"
    mask = api.pattern_mask(text, r"^[A-Z ]+:$")
    assert [text[i] for i in range(len(text)) if mask[i]] == list("ROMEO:FRIAR JOHN:")
    from click.testing import CliRunner

    from stylegen.cli import cli

    help_text = " ".join(CliRunner().invoke(cli, ["inspect", "--help"]).output.split())
    assert "at line ends (like grep)" in help_text
