"""Generation: one seed gives one text, the prime goes in one call, samplers behave."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import torch
from conftest import PHRASE

from stylegen import load_style, plugins
from stylegen._generate import choose_sampler, generate, sample_stream, samples
from stylegen.builtin.samplers import filter_logits


def test_same_seed_same_text(trained: str) -> None:
    style = load_style(trained)
    a = "".join(generate(style, "the ", length=80, seed=5))
    b = "".join(generate(style, "the ", length=80, seed=5))
    c = "".join(generate(style, "the ", length=80, seed=6, params={"temperature": 3.0}))
    assert a == b and len(a) == 80
    assert a != c


def test_trained_style_writes_its_sentence(trained: str) -> None:
    text = "".join(generate(load_style(trained), "the quick ", length=60, sampler="greedy"))
    assert text.startswith("brown fox jumps over the lazy dog.")


def test_prime_goes_through_the_model_in_one_call(trained: str) -> None:
    style = load_style(trained)
    calls: list[tuple[int, ...]] = []
    real = style.model.forward

    def spy(ids: torch.Tensor, state: Any) -> Any:
        calls.append(tuple(ids.shape))
        return real(ids, state)

    style.model.forward = spy
    list(generate(style, "the lazy", length=3, seed=0))
    assert calls == [(1, 8)]  # the prime in one call; each token after it through the one-token step

    calls.clear()
    style.model.token_stepper = lambda batch, precision: None  # a model without the fast step
    list(generate(style, "the lazy", length=3, seed=0))
    assert calls == [(1, 8), (1, 1), (1, 1), (1, 1)]


def test_n_samples_in_one_batch(trained: str) -> None:
    out = samples(load_style(trained), "the", n=3, length=20, seed=1, params={"temperature": 2.0})
    assert len(out) == 3 and all(len(t) == 20 for t in out)


def test_cancel_stops_between_steps(trained: str) -> None:
    cancel = threading.Event()
    got = []
    for chunks in sample_stream(load_style(trained), "the", length=100, seed=0, cancel=cancel):
        got.append(chunks)
        if len(got) == 5:
            cancel.set()
    assert len(got) == 5


def test_unknown_characters_in_the_prime_are_not_an_error(trained: str) -> None:
    text = "".join(generate(load_style(trained), "✓ζ the", length=10, seed=0))
    assert len(text) == 10 and "\ufffd" not in text  # the unknown id is never produced


def test_empty_prime_starts_from_a_line_break(trained: str) -> None:
    assert set("".join(generate(load_style(trained), "", length=30, seed=0))) <= set(PHRASE)


def test_sampler_choice_follows_the_options() -> None:
    assert choose_sampler(0.0) == ("greedy", {})
    assert choose_sampler(0.8) == ("temperature", {"temperature": 0.8})
    assert choose_sampler(0.8, top_k=5)[0] == "top-k"
    assert choose_sampler(0.8, top_k=5, top_p=0.9) == ("top-p", {"temperature": 0.8, "top_p": 0.9, "top_k": 5})


def test_top_k_and_top_p_filters() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept_k = torch.isfinite(filter_logits(logits, 1.0, top_k=2))
    assert kept_k.tolist() == [[True, True, False, False]]
    kept_p = torch.isfinite(filter_logits(logits, 1.0, top_p=0.7))
    assert kept_p.tolist() == [[True, True, False, False]]  # 0.5 < 0.7 <= 0.8
    kept_all = torch.isfinite(filter_logits(logits, 1.0, top_p=0.99))
    assert kept_all.all()
    unsorted = torch.log(torch.tensor([[0.05, 0.5, 0.15, 0.3]]))
    assert torch.isfinite(filter_logits(unsorted, 1.0, top_p=0.7)).tolist() == [[False, True, False, True]]


@pytest.mark.parametrize("name", ["greedy", "temperature", "top-k", "top-p"])
def test_each_sampler_declares_params_and_draws_valid_ids(name: str) -> None:
    sampler = plugins.get("sampler", name)
    params = {p.name: p.default for p in sampler.params}
    ids = sampler(torch.randn(4, 9), params, torch.Generator().manual_seed(0))
    assert ids.shape == (4,) and ids.dtype == torch.long and ((ids >= 0) & (ids < 9)).all()
    assert all(p.help for p in sampler.params)


def test_stop_sequences_end_the_text(trained: str) -> None:
    from click.testing import CliRunner

    from stylegen.cli import cli

    result = CliRunner().invoke(
        cli, ["generate", trained, "--prime", "the quick", "--temperature", "0", "--stop", "fox"]
    )
    assert result.exit_code == 0 and result.stdout == "the quick brown \n"
    as_json = CliRunner().invoke(
        cli, ["generate", trained, "--prime", "the quick", "--temperature", "0", "--stop", "fox", "--json"]
    )
    assert json.loads(as_json.stdout)["text"] == " brown "
    many = CliRunner().invoke(
        cli, ["generate", trained, "--prime", "the quick", "--temperature", "0", "--stop", "fox", "--n", "2"]
    )
    assert many.stdout.count("the quick brown \n") == 2


def test_a_one_megabyte_prime_goes_in_one_call(trained: str) -> None:
    style = load_style(trained)
    text = "".join(generate(style, PHRASE * (1_000_000 // len(PHRASE)), length=10, sampler="greedy"))
    assert len(text) == 10


def test_generation_switches_onednn_off_on_cpu_and_restores_it(trained: str) -> None:
    seen = []
    style = load_style(trained)
    real = style.model.forward

    def spy(ids: torch.Tensor, state: Any) -> Any:
        seen.append(torch.backends.mkldnn.enabled)
        return real(ids, state)

    style.model.forward = spy
    before = torch.backends.mkldnn.enabled
    list(generate(style, "the", length=2, seed=0))
    assert seen and not any(seen)
    assert torch.backends.mkldnn.enabled == before


def test_int8_generation_is_reproducible_and_still_writes_the_style(trained: str) -> None:
    from stylegen.errors import StylegenError

    style = load_style(trained, int8=True)
    assert style.precision == "int8"  # the one-token step packs int8 weights; primes run in float32
    step = style.model.token_stepper(1, style.precision)
    assert step is not None
    a = "".join(generate(style, "the ", length=60, seed=2))
    assert a == "".join(generate(style, "the ", length=60, seed=2))
    greedy = "".join(generate(style, "the quick ", length=34, sampler="greedy"))
    assert greedy == "brown fox jumps over the lazy dog."
    with pytest.raises(StylegenError, match="--int8"):
        load_style(trained, device="cuda", int8=True)


def test_reduced_precision_steps_write_the_style_from_the_cli(trained: str) -> None:
    from click.testing import CliRunner

    from stylegen.cli import cli

    for flag in ("--fp16", "--int8"):
        result = CliRunner().invoke(
            cli, ["generate", trained, "--prime", "the quick ", "--length", "34", "--temperature", "0", flag]
        )
        assert result.exit_code == 0 and result.stdout.startswith("the quick brown fox jumps over the lazy dog."), flag
    both = CliRunner().invoke(cli, ["generate", trained, "--int8", "--fp16"])
    assert both.exit_code != 0 and "choose one" in both.output
    chat = CliRunner().invoke(cli, ["chat", trained, "--fp16"], input="")
    assert chat.exit_code == 0, chat.output
