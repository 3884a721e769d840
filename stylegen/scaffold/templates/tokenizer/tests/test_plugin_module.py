from __future__ import annotations

from pathlib import Path

import pytest
from stylegen.errors import StylegenError
from stylegen.testing import Registry, check_tokenizer


def test_follows_the_tokenizer_protocol(registry: Registry, tmp_path: Path) -> None:
    check_tokenizer(registry.get("tokenizer", "PLUGIN_NAME"), "Hello, world!\n" * 3, tmp_path / "tokenizer")


def test_rare_characters_are_the_unknown_id(registry: Registry) -> None:
    tokenizer = registry.get("tokenizer", "PLUGIN_NAME").train(["aaab"], max_vocab=1)
    assert tokenizer.encode("ab").tolist() == [1, tokenizer.unk_id]


def test_unknown_option_is_a_one_line_error(registry: Registry) -> None:
    with pytest.raises(StylegenError, match="unknown option 'lowercase'"):
        registry.get("tokenizer", "PLUGIN_NAME").train(["x"], lowercase=True)


def test_stylegen_trains_a_style_with_it(registry: Registry, tmp_path: Path) -> None:
    from stylegen import TrainConfig, build_corpus, train

    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\n" * 100, encoding="utf-8")
    build_corpus("fox", [str(text)])
    meta = train(
        TrainConfig(corpus="fox", name="fox", tokenizer="PLUGIN_NAME", model_config={"hidden": 16, "layers": 1},
                    batch_size=4, seq_len=16, max_steps=10, eval_every=10)
    )  # fmt: skip
    assert meta["tokenizer"]["name"] == "PLUGIN_NAME" and meta["val_bpc"] is not None
