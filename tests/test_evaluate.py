"""`stylegen evaluate` and `score_text`: bits per character of a text, static and dynamic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TINY

from stylegen import load_style, score_text
from stylegen.cli import cli
from stylegen.errors import StylegenError
from stylegen.training import TrainConfig, train


@pytest.fixture
def trained(tiny_corpus: str) -> str:
    train(TrainConfig(corpus=tiny_corpus, name="e", max_steps=40, **TINY))
    return "e"


def test_static_score_matches_validation(trained: str, tiny_corpus: str) -> None:
    from stylegen import load_corpus

    style = load_style(trained)
    text = (load_corpus(tiny_corpus).path / "val.txt").read_text(encoding="utf-8")
    result = score_text(style, text)
    assert result.chars == len(text) - 1 and result.dynamic_bpc is None
    assert 0 < result.bpc < 8
    assert result.nats_per_token > 0


def test_dynamic_evaluation_learns_a_text_that_repeats(trained: str) -> None:
    style = load_style(trained)
    text = "Zyx qwv Zyx qwv ploof. " * 40  # a new word, again and again
    before = [p.detach().clone() for p in style.model.parameters()]
    result = score_text(style, text, dynamic=True, lr=3e-3)
    assert result.dynamic_bpc is not None and result.dynamic_bpc < result.bpc - 0.3
    assert all((a == b).all() for a, b in zip(before, style.model.parameters(), strict=True))  # the style untouched


def test_too_short_a_text_is_refused(trained: str) -> None:
    with pytest.raises(StylegenError, match="too short"):
        score_text(load_style(trained), "a")


def test_the_cli_scores_a_file_and_a_corpus(trained: str, tiny_corpus: str, tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("the quick brown fox jumps over the lazy dog\n" * 5, encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", trained, str(path), "--json", "--dynamic"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["chars"] == 219 and data["dynamic_bpc"] is not None and data["text"] == str(path)
    result = CliRunner().invoke(cli, ["evaluate", trained, "--corpus", tiny_corpus])
    assert result.exit_code == 0 and "bits/char over" in result.output
    result = CliRunner().invoke(cli, ["evaluate", trained])
    assert result.exit_code == 2 and "give a FILE" in result.output
    result = CliRunner().invoke(cli, ["evaluate", trained, str(tmp_path / "missing.txt")])
    assert result.exit_code == 1 and "missing.txt" in result.output
