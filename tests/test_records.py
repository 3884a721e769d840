"""The typed records: style.json, manifest.json and inspect's JSON read into them and written
back byte for byte; a damaged file is one line naming the file and the key; unknown keys kept."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stylegen import home, styles
from stylegen.errors import StylegenError
from stylegen.records import ArchiveManifest, CorpusManifest, InspectResult, StyleRecord

SHIPPED = Path(styles.__file__).parent / "shipped" / "shakespeare" / "style.json"
DEEP: Any = 1
for _ in range(40):
    DEEP = [DEEP]


def dumped(data: Any) -> str:
    """What `home.write_json` writes."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def error_of(read: Any, data: Any, path: str = "x.json") -> str:
    with pytest.raises(StylegenError) as info:
        read(data, path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def test_the_shipped_style_loads_unchanged() -> None:
    raw = SHIPPED.read_text(encoding="utf-8")
    record = StyleRecord.from_json(json.loads(raw), SHIPPED)
    assert dumped(record.to_json()) == raw
    assert record.name == "shakespeare" and record.model.shape == "qrnn 3x512"
    assert record.turns is not None and record.turns.kind == "speaker-line"
    assert record.recipe == "recipe.toml" and record.val_bpc is not None and record.val_bpc < 2.3


def test_a_trained_style_and_its_corpus_round_trip_byte_for_byte(trained: str, hermetic: Path) -> None:
    for path, record_type in (
        (hermetic / "styles" / trained / "style.json", StyleRecord),
        (hermetic / "corpora" / trained / "manifest.json", CorpusManifest),
    ):
        raw = path.read_text(encoding="utf-8")
        record = record_type.from_json(json.loads(raw), path)
        assert dumped(record.to_json()) == raw, path.name
    meta = styles.read_meta(trained)
    assert meta.corpus.name == trained and meta.steps == 120 and meta.shipped is False
    assert meta.to_json(with_shipped=True)["shipped"] is False


def test_a_built_corpus_manifest_is_the_record_written(tiny_corpus: str, hermetic: Path) -> None:
    from stylegen.corpus import load_corpus

    corpus = load_corpus(tiny_corpus)
    path = hermetic / "corpora" / tiny_corpus / "manifest.json"
    assert dumped(corpus.manifest.to_json()) == path.read_text(encoding="utf-8")
    assert corpus.manifest.stats.documents == 3 and corpus.sha256 == corpus.manifest.sha256
    assert corpus.manifest.sampling is not None and corpus.manifest.sampling.target_words is None


def test_unknown_keys_are_kept_everywhere() -> None:
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    data["from_the_future"] = {"a": [1, 2]}
    data["model"]["quantized"] = True
    data["turns"]["style"] = "play"
    record = StyleRecord.from_json(copy.deepcopy(data), "style.json")
    assert record.extra == {"from_the_future": {"a": [1, 2]}} and record.model.extra == {"quantized": True}
    assert record.to_json() == data


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"tokenizer": None}, "tokenizer must be an object"),
        ({"format_version": 7}, "style format 7 was written by a newer stylegen (this one reads 1)"),
        ({"model": {"name": "lstm"}}, "model.config is missing"),
        ({"tokenizer": {"name": "char", "vocab_size": -3}}, "tokenizer.vocab_size must be an integer >= 1"),
        ({"tokenizer": {"name": "char"}}, "tokenizer.vocab_size is missing"),
        ({"turns": {"kind": "sonnet"}}, "turns.kind must be one of"),
        ({"turns": {"kind": "inline", "speakers": {"A": -1}}}, "turns.speakers.A must be an integer >= 0"),
        ({"val_bpc": "low"}, "val_bpc must be a number"),
        ({"steps": True}, "steps must be an integer >= 0"),
        ({"versions": {"torch": 2}}, "versions.torch must be a string"),
        ({"name": None}, "name must be a string of at most 200 characters"),
        ({"later": DEEP}, "is nested more than 32 deep"),
    ],
)
def test_a_damaged_style_json_names_the_file_and_the_key(change: dict[str, Any], needle: str) -> None:
    data = {**json.loads(SHIPPED.read_text(encoding="utf-8")), **change}
    assert needle in error_of(StyleRecord.from_json, data, "styles/x/style.json")


def test_a_style_json_that_is_no_object() -> None:
    assert "the file must be an object" in error_of(StyleRecord.from_json, [1, 2])
    assert "format_version is missing" in error_of(StyleRecord.from_json, {})


def test_the_trainer_can_build_the_record() -> None:
    from stylegen.records import CorpusRef, ModelSpec, TokenizerSpec, Turns

    record = StyleRecord(
        name="s",
        status="done",
        corpus=CorpusRef(name="c", sha256="a" * 64, manifest_sha256="b" * 64),
        turns=Turns(kind="none", speakers={}),
        tokenizer=TokenizerSpec(name="char", vocab_size=40, config={}),
        model=ModelSpec(name="lstm", config={"layers": 2, "hidden": 8}),
        steps=3,
    )
    data = record.to_json()
    assert list(data)[:3] == ["format_version", "name", "status"] and data["val_bpc"] is None
    assert StyleRecord.from_json(data, "style.json") == record


def test_the_keys_keep_the_order_the_trainer_writes_them_in() -> None:
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    for key in ("end_reason", "recipe", "train_command"):
        del data[key]
    data["from"] = {"source": "old", "shared_tokens": 60, "new_tokens": 2, "tensors": 8}
    data["end_reason"], data["diverged"] = "diverged", {"from_step": 5, "by_step": 6, "rolled_back_to": 4}
    record = StyleRecord.from_json(copy.deepcopy(data), "style.json")
    assert record.warm_start is not None and record.warm_start.source == "old"
    assert dumped(record.to_json()) == dumped(data)
    assert record["model"] == data["model"] and record.get("nothing") is None and "turns" in record


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda m: m.pop("stats"), "stats is missing"),
        (lambda m: m["stats"].update(words="many"), "stats.words must be an integer >= 0"),
        (lambda m: m["split"].pop("val_fraction"), "split.val_fraction is missing"),
        (lambda m: m["sources"][0].pop("origin"), "sources[0].origin is missing"),
        (lambda m: m["skipped"].append({"origin": "x"}), "skipped[0].reason is missing"),
        (lambda m: m["characters"].append(["ab", 1]), "must be a [character, count] pair"),
        (lambda m: m["turns"].update(kind="x"), "turns.kind must be one of"),
        (lambda m: m.update(format_version=2), "corpus format 2 was written by a newer stylegen"),
    ],
)
def test_a_damaged_manifest_names_the_file_and_the_key(
    tiny_corpus: str, hermetic: Path, damage: Any, needle: str
) -> None:
    from stylegen.corpus import load_corpus

    path = hermetic / "corpora" / tiny_corpus / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    damage(data)
    home.write_json(path, data)
    with pytest.raises(StylegenError) as info:
        load_corpus(tiny_corpus)
    assert str(info.value).startswith(f"{path}: ") and needle in str(info.value) and "\n" not in str(info.value)


def test_an_older_manifest_without_the_later_parts_loads(tiny_corpus: str, hermetic: Path) -> None:
    from stylegen.corpus import load_corpus

    path = hermetic / "corpora" / tiny_corpus / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for later in ("options", "cleaning", "sampling", "characters", "turns", "created"):
        del data[later]
    data["stats"].pop("vocabulary")
    data["extra_part"] = 1
    home.write_json(path, data)
    manifest = load_corpus(tiny_corpus).manifest
    assert manifest.turns is None and manifest.characters is None and manifest.stats.vocabulary is None
    assert manifest.to_json() == data


def test_the_archive_manifest() -> None:
    data = {
        "stylegen_archive": 1,
        "kind": "style",
        "name": "s",
        "created": "now",
        "stylegen": "0.1.0",
        "files": {"style.json": {"sha256": "0" * 64, "bytes": 10}},
    }
    assert ArchiveManifest.from_json(copy.deepcopy(data), "a.zip: manifest.json").to_json() == data
    bad = {**data, "files": {"style.json": {"sha256": "x", "bytes": 10}}}
    assert "files.style.json.sha256 must be a sha256 in hex" in error_of(ArchiveManifest.from_json, bad)
    newer = error_of(lambda d, p: ArchiveManifest.from_json(d, p, "a.zip"), {**data, "stylegen_archive": 3}, "a.zip")
    assert "archive format 3 was written by a newer stylegen" in newer


def test_an_inspect_result_round_trips() -> None:
    data = {
        "style": "s",
        "what": "cell",
        "layers": 1,
        "neurons_per_layer": 4,
        "text": "ab",
        "search": {"pattern": "a", "top": [{"layer": 0, "neuron": 3, "r": 0.5}]},
        "neurons": [{"layer": 0, "neuron": 3, "values": [0.1, -0.2]}],
        "topk": [{"position": 0, "char": "a", "next": [{"text": "b", "p": 0.9}]}],
    }
    result = InspectResult.from_json(copy.deepcopy(data), "out.json")
    assert result.search is not None and result.search.by == "pattern" and result.search.top[0].neuron == 3
    assert result.to_json() == data
    no_search = {k: v for k, v in data.items() if k not in ("search", "topk")}
    assert InspectResult.from_json(copy.deepcopy(no_search), "out.json").to_json() == no_search
    assert "neurons[0].values[1] must be a number" in error_of(
        InspectResult.from_json, {**data, "neurons": [{"layer": 0, "neuron": 3, "values": [0.1, "x"]}]}
    )


def test_the_records_import_nothing_heavy() -> None:
    code = "import stylegen.records, sys; print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
