from __future__ import annotations

from pathlib import Path

import pytest
from stylegen.errors import StylegenError
from stylegen.testing import Registry, check_model


def test_follows_the_stateful_step_protocol(registry: Registry) -> None:
    check_model(registry.get("model", "PLUGIN_NAME"), {"hidden": 16, "embed": 8})


def test_unknown_option_is_a_one_line_error(registry: Registry) -> None:
    with pytest.raises(StylegenError, match="unknown option 'heads'"):
        registry.get("model", "PLUGIN_NAME").build(10, heads=4)


def test_stylegen_trains_it_and_writes_with_it(registry: Registry, tmp_path: Path) -> None:
    from stylegen import TrainConfig, build_corpus, load_style, train

    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\n" * 100, encoding="utf-8")
    build_corpus("fox", [str(text)])
    config = {"hidden": 32, "layers": 1, "embed": 16}
    meta = train(
        TrainConfig(corpus="fox", name="fox", model="PLUGIN_NAME", model_config=config, batch_size=4, seq_len=16,
                    max_steps=30, eval_every=15, warmup_steps=3, lr=1e-2)
    )  # fmt: skip
    assert meta["val_bpc"] is not None
    assert len("".join(load_style("fox").generate("the ", length=20, seed=0))) == 20
