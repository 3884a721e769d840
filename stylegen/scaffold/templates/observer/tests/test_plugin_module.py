from __future__ import annotations

import csv
from pathlib import Path

from stylegen.testing import Registry, check_observer


def test_writes_a_row_per_validation(registry: Registry, tmp_path: Path) -> None:
    check_observer(registry.get("observer", "PLUGIN_NAME"), path=tmp_path / "v.csv")
    rows = list(csv.reader((tmp_path / "v.csv").open(encoding="utf-8")))
    assert rows == [["step", "seconds", "val_bpc", "val_loss"], ["10", "1.0", "2.1", "1.5"]]


def test_follows_a_real_training_run(registry: Registry, tmp_path: Path) -> None:
    from stylegen import TrainConfig, build_corpus, train

    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\n" * 100, encoding="utf-8")
    build_corpus("fox", [str(text)])
    observer = registry.get("observer", "PLUGIN_NAME").create(path=tmp_path / "v.csv")
    train(
        TrainConfig(corpus="fox", name="fox", model_config={"hidden": 16, "layers": 1}, batch_size=4, seq_len=16,
                    max_steps=20, eval_every=10),
        observers=[observer],
    )  # fmt: skip
    assert [row[0] for row in csv.reader((tmp_path / "v.csv").open(encoding="utf-8"))] == ["step", "10", "20"]
