"""Samplers, penalties and beam search: distributions on fixed logits, hand-computed numbers,
a hand-built model where greedy and beam search disagree, and the `generate` options."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result
from conftest import PHRASE

from stylegen import load_style, plugins
from stylegen._generate import Decoder, choose_sampler, generate
from stylegen.beam import beam_search, beams
from stylegen.builtin.samplers import min_p_filter, typical_filter
from stylegen.cli import cli
from stylegen.errors import StylegenError
from stylegen.processors import Penalties, frequency_penalty, presence_penalty, repetition_penalty

ALL_SAMPLERS = ["greedy", "temperature", "top-k", "top-p", "min-p", "typical"]
DRAWS = 4000


def logits_of(probs: Sequence[float]) -> torch.Tensor:
    return torch.log(torch.tensor([probs], dtype=torch.float32))  # (1, V)


def draw_many(name: str, logits: torch.Tensor, seed: int = 0, **params: Any) -> torch.Tensor:
    """DRAWS ids drawn by sampler `name` from the same logits (1, V), as one batch (DRAWS,)."""
    sampler = plugins.get("sampler", name)
    values = {p.name: p.default for p in sampler.params} | params
    ids: torch.Tensor = sampler(logits.expand(DRAWS, -1).clone(), values, torch.Generator().manual_seed(seed))
    return ids


def kept(filtered: torch.Tensor) -> list[int]:
    return torch.isfinite(filtered[0]).nonzero().flatten().tolist()


def frequencies(ids: torch.Tensor, vocab: int) -> list[float]:
    return (torch.bincount(ids, minlength=vocab).float() / ids.numel()).tolist()


# --------------------------------------------------------------------------- samplers on fixed logits


def test_new_samplers_are_registered_with_declared_params() -> None:
    names = plugins.registry().names("sampler")
    assert {"min-p", "typical"} <= set(names)
    min_p = {p.name: p for p in plugins.get("sampler", "min-p").params}
    typical = {p.name: p for p in plugins.get("sampler", "typical").params}
    assert set(min_p) == {"temperature", "min_p"} and min_p["min_p"].default == 0.05
    assert (min_p["min_p"].min, min_p["min_p"].max) == (0.0, 1.0)
    assert set(typical) == {"temperature", "typical_p"} and typical["typical_p"].default == 0.95
    assert all(p.help for p in (*min_p.values(), *typical.values()))


def test_greedy_picks_the_max_of_each_row() -> None:
    logits = torch.tensor([[0.1, 2.0, -1.0, 1.9], [5.0, -5.0, 4.9, 0.0]])
    ids = plugins.get("sampler", "greedy")(logits, {}, torch.Generator().manual_seed(0))
    assert ids.tolist() == [1, 0]


def test_top_k_never_leaves_the_top_k() -> None:
    logits = logits_of([0.05, 0.3, 0.1, 0.25, 0.2, 0.1])  # top 3: ids 1, 3, 4
    ids = draw_many("top-k", logits, top_k=3, temperature=1.0)
    assert set(ids.tolist()) == {1, 3, 4}
    freq = frequencies(ids, 6)
    for i, p in zip((1, 3, 4), (0.3 / 0.75, 0.25 / 0.75, 0.2 / 0.75), strict=True):
        assert freq[i] == pytest.approx(p, abs=0.03)  # renormalised over the kept ids


def test_top_p_keeps_the_smallest_set_over_p() -> None:
    logits = logits_of([0.1, 0.4, 0.05, 0.25, 0.2])
    # Sorted: 0.4 (id 1), 0.25 (id 3), 0.2 (id 4): 0.4 + 0.25 = 0.65 < 0.7 <= 0.85, so three ids.
    ids = draw_many("top-p", logits, top_p=0.7, temperature=1.0)
    assert set(ids.tolist()) == {1, 3, 4}
    assert frequencies(ids, 5)[1] == pytest.approx(0.4 / 0.85, abs=0.03)
    assert set(draw_many("top-p", logits, top_p=0.6, temperature=1.0).tolist()) == {1, 3}  # 0.4 < 0.6 <= 0.65


def test_min_p_keeps_exactly_the_tokens_over_the_threshold() -> None:
    probs = [0.06, 0.5, 0.09, 0.2, 0.1, 0.05]
    logits = logits_of(probs)
    # min_p 0.19: threshold 0.19 * 0.5 = 0.095, so 0.5, 0.2 and 0.1 stay; 0.09 and below go.
    assert kept(min_p_filter(logits, 0.19)) == [1, 3, 4]
    ids = draw_many("min-p", logits, min_p=0.19, temperature=1.0)
    assert set(ids.tolist()) == {1, 3, 4}
    assert frequencies(ids, 6)[1] == pytest.approx(0.5 / 0.8, abs=0.03)
    assert kept(min_p_filter(logits, 0.0)) == [0, 1, 2, 3, 4, 5]  # 0: everything
    assert kept(min_p_filter(logits, 1.0)) == [1]  # 1: only the likeliest
    assert kept(min_p_filter(logits, 0.41)) == [1]  # 0.2 < 0.205


def test_min_p_threshold_follows_the_temperature() -> None:
    logits = logits_of([0.5, 0.2, 0.1, 0.2])
    # At temperature 1, 0.2 / 0.5 = 0.4 >= 0.3: ids 0, 1, 3 stay. At temperature 0.5 the
    # probabilities go as p^2, and 0.04 / 0.25 = 0.16 < 0.3: only id 0 stays.
    assert set(draw_many("min-p", logits, min_p=0.3, temperature=1.0).tolist()) == {0, 1, 3}
    assert set(draw_many("min-p", logits, min_p=0.3, temperature=0.5).tolist()) == {0}


def test_typical_keeps_the_set_computed_by_hand() -> None:
    logits = logits_of([0.5, 0.3, 0.15, 0.05])
    # H = -(0.5 ln 0.5 + 0.3 ln 0.3 + 0.15 ln 0.15 + 0.05 ln 0.05) = 1.1421 nats.
    # Surprisals -ln p: 0.6931, 1.2040, 1.8971, 2.9957; |surprisal - H|: 0.4490, 0.0619, 0.7550, 1.8536.
    # Most typical first: id 1 (mass 0.3), id 0 (0.8), id 2 (0.95), id 3 (1.0).
    assert kept(typical_filter(logits, 0.2)) == [1]  # the most typical is not the likeliest
    assert kept(typical_filter(logits, 0.5)) == [0, 1]
    assert kept(typical_filter(logits, 0.85)) == [0, 1, 2]
    assert kept(typical_filter(logits, 0.97)) == [0, 1, 2, 3]
    assert kept(typical_filter(logits, 1.0)) == [0, 1, 2, 3]
    only_typical = draw_many("typical", logits, typical_p=0.2, temperature=1.0)
    assert set(only_typical.tolist()) == {1}
    ids = draw_many("typical", logits, typical_p=0.5, temperature=1.0)
    assert set(ids.tolist()) == {0, 1}
    assert frequencies(ids, 4)[0] == pytest.approx(0.5 / 0.8, abs=0.03)


def test_typical_ignores_ids_already_filtered_out() -> None:
    logits = logits_of([0.5, 0.3, 0.15, 0.05])
    logits[0, 0] = float("-inf")  # e.g. the unknown id: probabilities renormalise over the rest
    filtered = typical_filter(logits, 0.95)
    assert not torch.isnan(filtered).any() and 0 not in kept(filtered)


@pytest.mark.parametrize("name", ALL_SAMPLERS)
def test_same_generator_seed_same_draws(name: str) -> None:
    logits = torch.randn(1, 12, generator=torch.Generator().manual_seed(3))
    assert torch.equal(draw_many(name, logits, seed=7), draw_many(name, logits, seed=7))


def test_choose_sampler_precedence() -> None:
    assert choose_sampler(0.0, top_k=3, min_p=0.1) == ("greedy", {})
    assert choose_sampler(0.7, min_p=0.1, typical_p=0.9, top_p=0.8) == ("min-p", {"temperature": 0.7, "min_p": 0.1})
    assert choose_sampler(0.7, typical_p=0.9, top_p=0.8, top_k=4) == (
        "typical",
        {"temperature": 0.7, "typical_p": 0.9},
    )
    assert choose_sampler(0.7, top_k=4, top_p=0.8)[0] == "top-p"


# --------------------------------------------------------------------------- penalties, by hand

LOGITS = torch.tensor([[2.0, -1.0, 0.5, -3.0, 1.0]])
COUNTS = torch.tensor([[2.0, 1.0, 0.0, 0.0, 3.0]])  # ids 0, 1 and 4 seen (twice, once, three times)


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits() -> None:
    out = repetition_penalty(LOGITS, COUNTS, 2.0)
    assert out.tolist() == [[1.0, -2.0, 0.5, -3.0, 0.5]]  # unseen ids 2 and 3 untouched
    assert repetition_penalty(LOGITS, COUNTS, 0.5).tolist() == [[4.0, -0.5, 0.5, -3.0, 2.0]]


def test_presence_penalty_subtracts_once_per_seen_token() -> None:
    assert presence_penalty(LOGITS, COUNTS, 0.5).tolist() == [[1.5, -1.5, 0.5, -3.0, 0.5]]


def test_frequency_penalty_subtracts_per_occurrence() -> None:
    assert frequency_penalty(LOGITS, COUNTS, 0.25).tolist() == [[1.5, -1.25, 0.5, -3.0, 0.25]]


def test_penalties_compose_in_order() -> None:
    # repetition θ=2: [1, -2, 0.5, -3, 0.5]; frequency β=0.25: [0.5, -2.25, 0.5, -3, -0.25];
    # presence α=0.5: [0, -2.75, 0.5, -3, -0.75].
    out = Penalties(repetition=2.0, presence=0.5, frequency=0.25).apply(LOGITS, COUNTS)
    assert out.tolist() == [[0.0, -2.75, 0.5, -3.0, -0.75]]
    assert torch.equal(Penalties().apply(LOGITS, COUNTS), LOGITS)


def test_penalties_treat_each_row_with_its_own_counts() -> None:
    logits = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    counts = torch.tensor([[1.0, 0.0], [0.0, 4.0]])
    out = Penalties(presence=1.0, frequency=0.5).apply(logits, counts)
    assert out.tolist() == [[-0.5, 1.0], [1.0, -2.0]]


def test_penalties_active_and_validation() -> None:
    assert not Penalties().active
    assert Penalties(repetition=1.2).active and Penalties(presence=-0.5).active and Penalties(frequency=0.1).active
    assert Penalties(1.3, 0.2, 0.1).as_dict() == {"repetition": 1.3, "presence": 0.2, "frequency": 0.1}
    for bad in ({"repetition": 0.0}, {"repetition": -1.0}, {"presence": math.nan}, {"frequency": math.inf}):
        with pytest.raises(StylegenError):
            Penalties(**bad)


# --------------------------------------------------------------------------- penalties through the decoder


def test_decoder_counts_the_prime_and_the_generated_tokens(trained: str) -> None:
    style = load_style(trained)
    decoder = Decoder(style, sampler="temperature", seed=0, n=2)
    decoder.feed_text("the ")
    assert decoder.counts is not None and decoder.counts.shape == (2, style.tokenizer.vocab_size)
    expected = np.bincount(style.tokenizer.encode("the "), minlength=style.tokenizer.vocab_size)
    assert decoder.counts[0].tolist() == expected.tolist() == decoder.counts[1].tolist()
    for _ in range(5):
        decoder.step()
    assert decoder.counts.sum(-1).tolist() == [9.0, 9.0]
    decoder.reset()
    assert decoder.counts is None and decoder.state is None and decoder.last is None


def test_inactive_penalties_change_nothing(trained: str) -> None:
    style = load_style(trained)
    plain = "".join(generate(style, "the ", length=60, seed=4))
    assert "".join(generate(style, "the ", length=60, seed=4, penalties=Penalties())) == plain


def test_presence_penalty_changes_greedy_output_and_reduces_repeats(trained: str) -> None:
    style = load_style(trained)
    plain = "".join(generate(style, "t", length=25, sampler="greedy"))
    strong = "".join(generate(style, "t", length=25, sampler="greedy", penalties=Penalties(presence=100.0)))
    assert plain != strong
    assert len(set(plain)) < len(plain)  # greedy repeats its sentence's letters
    assert len(set(strong)) == len(strong) and "t" not in strong  # every token a new one
    assert set(strong) <= set(PHRASE)


@pytest.mark.parametrize("name", ALL_SAMPLERS)
def test_penalties_compose_with_every_sampler(trained: str, name: str) -> None:
    style = load_style(trained)
    decoder = Decoder(style, sampler=name, seed=1, penalties=Penalties(presence=100.0))
    decoder.feed_text("t")
    text = "".join(decoder.step()[0] for _ in range(15))
    assert len(set(text)) == 15 and "t" not in text  # 15 < the 28 other characters of the style
    again = Decoder(style, sampler=name, seed=1, penalties=Penalties(presence=100.0))
    again.feed_text("t")
    assert "".join(again.step()[0] for _ in range(15)) == text  # one seed, one text


def test_frequency_and_repetition_penalties_reduce_repeats(trained: str) -> None:
    style = load_style(trained)

    def most_common(text: str) -> int:
        return max(text.count(c) for c in set(text))

    plain = "".join(generate(style, "the ", length=90, sampler="greedy"))
    for penalties in (Penalties(frequency=3.0), Penalties(repetition=5.0)):
        text = "".join(generate(style, "the ", length=90, sampler="greedy", penalties=penalties))
        assert text != plain and most_common(text) < most_common(plain)


# --------------------------------------------------------------------------- beam search on a hand-built model

#: Next-token probabilities by previous token; id 0 is the unknown token, 1 'a', 2 'b', 3 'c'.
#: The unknown id is given a large share so that only masking it keeps it out.
TABLE = {
    1: [0.50, 0.05, 0.25, 0.20],  # after 'a'
    2: [0.10, 0.36, 0.27, 0.27],  # after 'b'
    3: [0.05, 0.855, 0.05, 0.045],  # after 'c'
}
#: ...except after 'c' then 'a', which the model can only tell from its state.
AFTER_CA = [0.05, 0.025, 0.025, 0.9]


def next_probs(before: int, last: int) -> list[float]:
    return AFTER_CA if (before, last) == (3, 1) else TABLE.get(last, [0.25] * 4)


class TinyTokenizer:
    name = "tiny"
    unk_id: int | None = 0
    vocab_size = 4
    chars = "?abc"

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.chars.index(c) if c in self.chars[1:] else 0 for c in text], dtype=np.int64)

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i] for i in ids)


class TableModel:
    """A second-order 'language model': it predicts from the last two tokens, the one before the
    current input being its state, shaped (1, B, 1) like an RNN's (so beams need their own state)."""

    def __init__(self) -> None:
        rows = [[next_probs(before, last) for last in range(4)] for before in range(4)]
        self.logp = torch.log(torch.tensor(rows))  # (V, V, V) token before, last token -> log-probs of the next

    def init_state(self, batch: int, device: Any) -> torch.Tensor:
        return torch.zeros(1, batch, 1, dtype=torch.long)

    def __call__(self, ids: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward(ids, state)

    def forward(self, ids: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # (B, T) -> (B, T, V): position t predicts from (token t-1, token t), token -1 coming from the state.
        before = torch.cat([state[0], ids[:, :-1]], dim=1)  # (B, T)
        return self.logp[before, ids], ids[:, -1].view(1, -1, 1)

    def select_state(self, state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return state.index_select(1, index)

    def config(self) -> dict[str, Any]:
        return {}


class NoSelect(TableModel):
    select_state = None  # type: ignore[assignment]


@dataclass
class FakeStyle:
    tokenizer: Any
    model: Any
    device: str = "cpu"
    meta: dict[str, Any] | None = None


def total_logp(prime: str, text: str) -> float:
    ids = [TinyTokenizer.chars.index(c) for c in "?" + prime + text]
    start = len(prime) + 1
    return sum(math.log(next_probs(ids[i - 2], ids[i - 1])[ids[i]]) for i in range(start, len(ids)))


def test_greedy_and_beam_disagree_and_beam_finds_the_higher_total() -> None:
    style = FakeStyle(TinyTokenizer(), TableModel())
    # Greedy from 'a': 'b' (0.25 > 0.20, the unknown's 0.5 masked), then 'a' (0.36): 0.25 * 0.36 = 0.09.
    decoder = Decoder(style, sampler="greedy")  # type: ignore[arg-type]
    decoder.feed_text("a")
    assert "".join(decoder.step()[0] for _ in range(2)) == "ba"
    assert beam_search(style, "a", length=2, width=1) == "ba"
    # A beam of 2 keeps 'c' too, and 'c' then 'a' is 0.20 * 0.855 = 0.171 > 0.09.
    found = beams(style, "a", length=2, width=2)
    assert [t for t, _ in found] == ["ca", "ba"]
    assert found[0][1] == pytest.approx(math.log(0.171), abs=1e-5)
    assert found[1][1] == pytest.approx(math.log(0.09), abs=1e-5)


@pytest.mark.parametrize("length", [1, 2, 3, 4])
def test_wide_beam_matches_exhaustive_search(length: int) -> None:
    style = FakeStyle(TinyTokenizer(), TableModel())
    candidates = ["".join(p) for p in product("abc", repeat=length)]
    best = max(candidates, key=lambda t: total_logp("a", t))
    text, score = beams(style, "a", length=length, width=3 ** (length - 1) * 3)[0]
    assert text == best and score == pytest.approx(total_logp("a", best), abs=1e-5)
    if length == 3:
        # By hand: after step 2 a beam of 2 holds 'ca' (0.171, grown from the second beam of step 1)
        # and 'ba' (0.09). Only with the states reordered to match does 'ca' see its 'c': then 'cac' is
        # 0.171 * 0.9 = 0.1539, the best of all 27. With the states left in place, 'ba' would get
        # 'c'-then-'a''s 0.9 instead, and 'bac' (0.081) would win.
        assert best == "cac"
        assert beam_search(style, "a", length=3, width=2) == "cac"


def test_beam_writes_exactly_length_tokens_and_never_the_unknown() -> None:
    style = FakeStyle(TinyTokenizer(), TableModel())
    for width in (1, 2, 5):
        text = beam_search(style, "a", length=7, width=width)
        assert len(text) == 7 and "?" not in text
    assert beam_search(style, "a", length=0, width=3) == ""


def test_beam_with_penalties_uses_each_beams_counts() -> None:
    style = FakeStyle(TinyTokenizer(), TableModel())
    # Presence 10 on anything seen (e^-10: next to nothing), the rest renormalised. From 'a': 'b' 0.25/0.95,
    # 'c' 0.20/0.95. After 'ab' ('a', 'b' seen): 'c' 0.27/0.37; after 'ac' ('a', 'c' seen): 'b' 0.05/0.10.
    # 'bc': 0.263 * 0.730 = 0.192 beats 'cb': 0.211 * 0.5 = 0.105 (without penalties 'ca' would win).
    assert beam_search(style, "a", length=2, width=3, penalties=Penalties(presence=10.0)) == "bc"


def test_model_without_select_state_says_so() -> None:
    style = FakeStyle(TinyTokenizer(), NoSelect(), meta={"model": {"name": "plain"}})
    with pytest.raises(StylegenError, match=r"model 'plain' does not support beam search \(no select_state\)"):
        beam_search(style, "a", length=2, width=2)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_rnn_select_state_gathers_rows(cell: str) -> None:
    model = plugins.get("model", cell).build(7, layers=2, hidden=5, embed=3)
    state = model.init_state(3, "cpu")
    state = tuple(torch.randn_like(s) for s in state) if isinstance(state, tuple) else torch.randn_like(state)
    index = torch.tensor([2, 0, 0, 1])
    picked = model.select_state(state, index)
    for before, after in zip(
        state if isinstance(state, tuple) else (state,), picked if isinstance(picked, tuple) else (picked,), strict=True
    ):
        assert after.shape == (2, 4, 5)
        for row, source in enumerate(index.tolist()):
            assert torch.equal(after[:, row], before[:, source])


def test_beam_of_one_is_greedy_on_the_trained_style(trained: str) -> None:
    style = load_style(trained)
    greedy = "".join(generate(style, "the quick ", length=40, sampler="greedy"))
    assert beam_search(style, "the quick ", length=40, width=1) == greedy
    wide = beam_search(style, "the quick ", length=40, width=4)
    assert len(wide) == 40 and set(wide) <= set(PHRASE)


# --------------------------------------------------------------------------- the command line


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        return CliRunner()


def invoke(*args: str) -> Result:
    return _runner().invoke(cli, list(args))


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result


def run_json(*args: str) -> dict[str, Any]:
    result = ok(invoke("generate", "tiny", "--prime", "the ", "--length", "30", "--json", *args))
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def assert_error(result: Result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert result.stdout == ""


def test_json_fields(trained: str) -> None:
    data = run_json("--min-p", "0.1", "--seed", "3", "--presence-penalty", "0.5")
    assert set(data) == {"text", "prime", "tokens", "seed", "sampler", "params", "penalties", "style"}
    assert data["prime"] == "the " and data["tokens"] == 30 and len(data["text"]) == 30
    assert data["seed"] == 3 and data["style"] == "tiny" and data["sampler"] == "min-p"
    assert data["params"] == {"temperature": 0.8, "min_p": 0.1}
    assert data["penalties"] == {"repetition": 1.0, "presence": 0.5, "frequency": 0.0}
    assert run_json("--min-p", "0.1", "--seed", "3", "--presence-penalty", "0.5") == data  # reproducible


def test_json_text_is_the_streamed_text_without_the_prime(trained: str) -> None:
    plain = ok(invoke("generate", "tiny", "--prime", "the ", "--length", "30", "--seed", "8", "--typical-p", "0.9"))
    data = run_json("--seed", "8", "--typical-p", "0.9")
    assert plain.stdout == "the " + data["text"] + "\n"
    assert data["sampler"] == "typical" and data["params"] == {"temperature": 0.8, "typical_p": 0.9}


def test_json_without_seed_reports_the_seed_and_says_nothing_else(trained: str) -> None:
    result = ok(invoke("generate", "tiny", "--length", "10", "--json"))
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert isinstance(data["seed"], int)
    same = json.loads(ok(invoke("generate", "tiny", "--length", "10", "--json", "--seed", str(data["seed"]))).stdout)
    assert same == data


def test_json_with_several_samples(trained: str) -> None:
    data = run_json("--n", "3", "--seed", "2", "--temperature", "2")
    assert set(data) == {"prime", "seed", "sampler", "params", "penalties", "style", "samples"}
    assert len(data["samples"]) == 3
    assert all(s["tokens"] == 30 and len(s["text"]) == 30 for s in data["samples"])
    assert data["params"] == {"temperature": 2.0}


def test_param_sets_any_declared_parameter_and_comes_last(trained: str) -> None:
    data = run_json("--sampler", "min-p", "--param", "min_p=0.3", "--param", "temperature=1.5", "--seed", "1")
    assert data["sampler"] == "min-p" and data["params"] == {"temperature": 1.5, "min_p": 0.3}
    data = run_json("--top-k", "5", "--param", "top_k=3", "--seed", "1")
    assert data["sampler"] == "top-k" and data["params"] == {"temperature": 0.8, "top_k": 3}
    assert run_json("--sampler", "greedy")["params"] == {}  # the default temperature goes only where it fits


def test_beam_on_the_command_line(trained: str) -> None:
    greedy = ok(invoke("generate", "tiny", "--prime", "the ", "--length", "30", "--temperature", "0", "--seed", "1"))
    beam1 = ok(invoke("generate", "tiny", "--prime", "the ", "--length", "30", "--beam", "1"))
    assert beam1.stdout == greedy.stdout and beam1.stderr == ""  # no seed: nothing random
    data = run_json("--beam", "3")
    assert data["sampler"] == "beam" and data["params"] == {"width": 3} and data["seed"] is None
    assert data["tokens"] == 30 and len(data["text"]) == 30


def test_penalty_options_change_the_text(trained: str) -> None:
    plain = run_json("--temperature", "0")
    penalised = run_json("--temperature", "0", "--presence-penalty", "100")
    assert penalised["text"] != plain["text"]
    assert len(set(penalised["text"][:20])) == 20
    assert run_json("--temperature", "0", "--repetition-penalty", "4")["text"] != plain["text"]
    assert run_json("--temperature", "0", "--frequency-penalty", "4")["text"] != plain["text"]


def test_ignored_options_are_named_in_a_warning(trained: str) -> None:
    result = ok(invoke("generate", "tiny", "--length", "5", "--seed", "1", "--min-p", "0.1", "--top-p", "0.5"))
    assert result.stderr.splitlines() == [
        "warning: --top-p is ignored: the 'min-p' sampler was chosen (see --help for the precedence)"
    ]


@pytest.mark.parametrize(
    ("args", "code", "needles"),
    [
        (["--param", "nope=1"], 1, ["sampler 'temperature' has no parameter 'nope'", "its parameters: temperature"]),
        (["--sampler", "top-k", "--param", "min_p=0.1"], 1, ["sampler 'top-k'", "temperature, top_k"]),
        (["--sampler", "min-p", "--param", "min_p=2"], 1, ["min_p must be in [0.0, 1.0]"]),
        (["--sampler", "greedy", "--top-k", "3"], 1, ["sampler 'greedy' has no parameter 'top_k'"]),
        (["--param", "temperature=nan"], 1, ["temperature must be a finite number"]),
        (["--param", "novalue"], 2, ["--param", "NAME=VALUE"]),
        (["--beam", "2", "--n", "2"], 2, ["--beam", "--n"]),
        (["--beam", "2", "--top-k", "3"], 2, ["--beam", "--top-k"]),
        (["--beam", "0"], 2, ["--beam"]),
        (["--min-p", "2"], 2, ["--min-p"]),
        (["--typical-p", "0"], 2, ["--typical-p"]),
        (["--repetition-penalty", "0"], 2, ["--repetition-penalty"]),
        (["--presence-penalty", "nan"], 2, ["--presence-penalty", "finite"]),
        (["--frequency-penalty", "inf"], 2, ["--frequency-penalty", "finite"]),
        (["--temperature", "-1"], 2, ["--temperature"]),
        (["--top-p", "2"], 2, ["--top-p"]),
    ],
)
def test_bad_inputs_are_one_error_line(trained: str, args: list[str], code: int, needles: list[str]) -> None:
    assert_error(invoke("generate", "tiny", "--prime", "the", "--length", "5", *args), code, *needles)
