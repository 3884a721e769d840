"""`--from STYLE`: a new style starts from another style's weights, shared tokens keep their rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import TINY

from stylegen import plugins, styles
from stylegen.corpus import build_corpus
from stylegen.errors import StylegenError
from stylegen.training import TrainConfig, train
from stylegen.training.warm_start import copy_weights, vocab_keys


@pytest.fixture
def two_corpora(tmp_path: Path, tiny_corpus: str) -> tuple[str, str]:
    other = tmp_path / "other.txt"
    other.write_text("Zebras quietly vex joyful xylophone kings! " * 200, encoding="utf-8")
    build_corpus("other", [str(other)])
    return tiny_corpus, "other"


def test_vocab_keys_finds_the_vocabulary_shaped_weights() -> None:
    factory = plugins.get("model", "lstm")
    assert vocab_keys(factory, 40, {"layers": 2, "hidden": 40, "embed": 8}) == {
        "embedding.weight",
        "head.weight",
        "head.bias",
    }


def test_shared_tokens_keep_their_rows_and_the_rest_is_copied(two_corpora: tuple[str, str]) -> None:
    first, _ = two_corpora
    train(TrainConfig(corpus=first, name="base", max_steps=10, **TINY))
    source = styles.load_style("base")
    tokenizer = plugins.get("tokenizer", "char").train(["Zebras quietly vex joyful xylophone kings!"])
    factory = plugins.get("model", "lstm")
    config = source.model.config()
    model = factory.build(tokenizer.vocab_size, **config)
    warm = copy_weights(model, tokenizer, source, vocab_keys(factory, tokenizer.vocab_size, config))
    theirs, mine = source.model.state_dict(), model.state_dict()
    for key in ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0"):
        assert torch.equal(theirs[key], mine[key])
    old = {source.tokenizer.decode([i]): i for i in range(source.tokenizer.vocab_size)}
    shared = new = 0
    for i in range(tokenizer.vocab_size):
        text = tokenizer.decode([i])
        if text in old:
            assert torch.equal(mine["embedding.weight"][i], theirs["embedding.weight"][old[text]])
            assert torch.equal(mine["head.weight"][i], theirs["head.weight"][old[text]])
            shared += 1
        else:
            new += 1
    assert (warm.shared_tokens, warm.new_tokens) == (shared, new) and shared > 5 and new > 0


def test_train_from_a_style_starts_better_and_records_it(two_corpora: tuple[str, str]) -> None:
    _, second = two_corpora
    settings: dict[str, Any] = {**TINY, "eval_every": 1, "log_every": 1}
    train(TrainConfig(corpus=second, name="base", max_steps=60, **TINY))
    cold = train(TrainConfig(corpus=second, name="cold", max_steps=1, **settings))
    warm = train(TrainConfig(corpus=second, name="warm", max_steps=1, init_from="base", **settings))
    assert warm["val_bpc"] < cold["val_bpc"] - 0.5  # it already knows this text
    assert warm["from"]["source"] == "base" and warm["train"]["init_from"] == "base"
    assert warm["model"]["config"] == styles.load_style("base").model.config()


def test_from_a_style_with_another_shape_is_refused(two_corpora: tuple[str, str]) -> None:
    first, second = two_corpora
    train(TrainConfig(corpus=first, name="base", max_steps=5, **TINY))
    cfg = TrainConfig(
        corpus=second, name="w", max_steps=5, init_from="base", **{**TINY, "model_config": {"hidden": 99}}
    )
    with pytest.raises(StylegenError, match="the model's hidden is 48 in that style"):
        train(cfg)
    with pytest.raises(StylegenError, match="uses the 'char' tokenizer, not 'spm'"):
        train(TrainConfig(corpus=second, name="w", max_steps=5, init_from="base", tokenizer="spm"))


def test_the_cli_trains_from_a_style_with_averaged_weights(two_corpora: tuple[str, str]) -> None:
    from click.testing import CliRunner

    from stylegen.cli import cli

    first, second = two_corpora
    small = ["--batch-size", "4", "--seq-len", "16", "--eval-every", "5", "--quiet"]
    base = ["train", first, "--name", "base", "--layers", "1", "--hidden", "32", "--embed", "8", *small]
    assert CliRunner().invoke(cli, [*base, "--max-steps", "5"]).exit_code == 0
    args = ["train", second, "--name", "w", "--from", "base", "--ema", "0.9", "--weight-drop", "0.2", *small]
    result = CliRunner().invoke(cli, [*args, "--max-steps", "5"])
    assert result.exit_code == 0, result.output
    meta = styles.load_style("w").meta
    assert meta.train is not None and meta.train["init_from"] == "base" and meta.train["ema"] == 0.9
    assert meta.model.config["hidden"] == 32 and meta.model.config["weight_drop"] == 0.2
    result = CliRunner().invoke(cli, [*args, "--max-steps", "5", "--force", "--model", "gru"])
    assert result.exit_code == 2 and "leave --model out" in result.output
