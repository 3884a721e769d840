"""`StyleRecord`: a style's style.json as a typed record (what `stylegen train` writes).

    record = StyleRecord.from_json(home.read_json(path), path)   # checked: one line naming file and key
    record.model.name, record.tokenizer.vocab_size, record.val_bpc
    home.write_json(path, record.to_json())                       # the same JSON, byte for byte

Every known key has its type; a key this stylegen does not know (a newer one wrote it) is
kept in `extra` and written back after the known ones. Optional keys that a file leaves out
are None here and stay out of `to_json()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stylegen.records import _check as c
from stylegen.records._check import Fields, JsonView

#: The style.json format this stylegen writes and reads (a newer one is refused by name).
FORMAT_VERSION = 1
TURN_KINDS = ("speaker-line", "inline", "none")

_NAME = c.string(200)
_SHA = c.string(128)
_SHORT = c.string(100)


@dataclass(frozen=True, kw_only=True)
class Turns:
    """How the corpus writes who speaks: `kind` (speaker-line, inline, none), turns per speaker,
    and the turns' lengths in characters (p50, p90, p99, max; `turns`: how many were measured)."""

    kind: str = "none"
    speakers: dict[str, int] | None = None  # name -> turns, most frequent first
    lengths: dict[str, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> Turns:
        return cls(
            kind=f.need("kind", c.one_of(*TURN_KINDS)),
            speakers=f.get("speakers", c.mapping(c.integer(0), max_items=100_000, key_len=200)),
            lengths=f.get("lengths", c.mapping(c.integer(0), max_items=16, key_len=16)),
            extra=f.rest(),
        )

    def to_json(self) -> dict[str, Any]:
        return c.present({"kind": self.kind, "speakers": self.speakers, "lengths": self.lengths}, self.extra)


@dataclass(frozen=True, kw_only=True)
class CorpusRef:
    """The corpus a style was trained on: its name, its text's and its manifest's sha256."""

    name: str
    sha256: str | None = None
    manifest_sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> CorpusRef:
        return cls(
            name=f.need("name", _NAME),
            sha256=f.get("sha256", _SHA),
            manifest_sha256=f.get("manifest_sha256", _SHA),
            extra=f.rest(),
        )

    def to_json(self) -> dict[str, Any]:
        return c.present(
            {"name": self.name, "sha256": self.sha256, "manifest_sha256": self.manifest_sha256}, self.extra
        )


@dataclass(frozen=True, kw_only=True)
class TokenizerSpec:
    """The tokenizer plugin by name, its vocabulary size and the options it was trained with."""

    name: str
    vocab_size: int
    config: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> TokenizerSpec:
        return cls(
            name=f.need("name", _NAME),
            vocab_size=f.need("vocab_size", c.integer(1, 1 << 24)),
            config=f.get("config", c.CONFIG),
            extra=f.rest(),
        )

    def to_json(self) -> dict[str, Any]:
        return c.present({"name": self.name, "vocab_size": self.vocab_size, "config": self.config}, self.extra)


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """The model plugin by name and the config it is rebuilt from."""

    name: str
    config: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> ModelSpec:
        return cls(name=f.need("name", _NAME), config=f.need("config", c.CONFIG), extra=f.rest())

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "config": self.config, **self.extra}

    @property
    def shape(self) -> str:
        """'lstm 2x256' (the name alone for a model without layers and hidden)."""
        cfg = self.config
        return f"{self.name} {cfg['layers']}x{cfg['hidden']}" if "layers" in cfg and "hidden" in cfg else self.name


@dataclass(frozen=True, kw_only=True)
class WarmStartRef:
    """What a warm start (`--from STYLE`) took from its source style (style.json's "from")."""

    source: str
    shared_tokens: int | None = None  # tokens whose embedding/output rows came from the source
    new_tokens: int | None = None  # tokens the source did not know (fresh rows)
    tensors: int | None = None  # weights copied, whole or by rows
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> WarmStartRef:
        return cls(
            source=f.need("source", _NAME),
            shared_tokens=f.get("shared_tokens", c.integer(0)),
            new_tokens=f.get("new_tokens", c.integer(0)),
            tensors=f.get("tensors", c.integer(0)),
            extra=f.rest(),
        )

    def to_json(self) -> dict[str, Any]:
        counts = {"shared_tokens": self.shared_tokens, "new_tokens": self.new_tokens, "tensors": self.tensors}
        return c.present({"source": self.source, **counts}, self.extra)


@dataclass(frozen=True, kw_only=True)
class StyleRecord(JsonView):
    """style.json. The trainer fills every field; a file may leave the optional ones out.

    `shipped` is not in the file: the style store sets it for a style that ships inside
    stylegen (`to_json(with_shipped=True)` adds it, as `stylegen styles --json` prints it).
    """

    format_version: int = FORMAT_VERSION
    name: str
    status: str | None = None  # training, done, stopped, diverged
    created: str | None = None
    updated: str | None = None
    corpus: CorpusRef
    turns: Turns | None = None
    tokenizer: TokenizerSpec
    model: ModelSpec
    params: int | None = None
    train: dict[str, Any] | None = None  # the TrainConfig, as `TrainConfig.to_dict()` gives it
    steps: int | None = None
    best_step: int | None = None
    epochs: float | None = None
    tokens_seen: int | None = None
    train_seconds: float | None = None
    val_bpc: float | None = None  # None until a validation has run (written as null)
    val_loss: float | None = None
    device: str | None = None
    precision: str | None = None
    versions: dict[str, str] | None = None
    warm_start: WarmStartRef | None = None  # "from" in the file
    end_reason: str | None = None
    diverged: dict[str, Any] | None = None  # from_step, by_step, rolled_back_to
    recipe: str | None = None  # a shipped style's corpus recipe, beside style.json
    train_command: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    shipped: bool = False

    @classmethod
    def read(cls, f: Fields) -> StyleRecord:
        return cls(
            format_version=f.need("format_version", c.integer(1)),
            name=f.need("name", _NAME),
            status=f.get("status", _SHORT),
            created=f.get("created", _SHORT),
            updated=f.get("updated", _SHORT),
            corpus=f.need("corpus", c.record(CorpusRef.read)),
            turns=f.get("turns", c.record(Turns.read)),
            tokenizer=f.need("tokenizer", c.record(TokenizerSpec.read)),
            model=f.need("model", c.record(ModelSpec.read)),
            params=f.get("params", c.integer(0)),
            train=f.get("train", c.CONFIG),
            steps=f.get("steps", c.integer(0)),
            best_step=f.get("best_step", c.integer(0)),
            epochs=f.get("epochs", c.number(0)),
            tokens_seen=f.get("tokens_seen", c.integer(0)),
            train_seconds=f.get("train_seconds", c.number(0)),
            val_bpc=f.get("val_bpc", c.nullable(c.number())),
            val_loss=f.get("val_loss", c.nullable(c.number())),
            device=f.get("device", _SHORT),
            precision=f.get("precision", _SHORT),
            versions=f.get("versions", c.mapping(c.string(200), max_items=100, key_len=100)),
            warm_start=f.get("from", c.record(WarmStartRef.read)),
            end_reason=f.get("end_reason", _SHORT),
            diverged=f.get("diverged", c.mapping(c.any_json(2), max_items=100, key_len=100)),
            recipe=f.get("recipe", _NAME),
            train_command=f.get("train_command", c.string(10_000)),
            extra=f.rest(),
        )

    @classmethod
    def from_json(cls, data: Any, path: Path | str) -> StyleRecord:
        """The record in `data`, read from `path`: a file from a newer stylegen, or one with a
        missing or mistyped key, is a one-line error naming `path` and the key."""
        c.check_version(data, path, "style", "format_version", FORMAT_VERSION)
        return c.load(cls.read, data, path)

    def _view(self) -> dict[str, Any]:
        return self.to_json(with_shipped=True)

    def to_json(self, *, with_shipped: bool = False) -> dict[str, Any]:
        """style.json's content (with `"shipped"` last when asked)."""
        head = {
            "format_version": self.format_version,
            "name": self.name,
            "status": self.status,
            "created": self.created,
            "updated": self.updated,
            "corpus": self.corpus.to_json(),
            "turns": self.turns.to_json() if self.turns is not None else None,
            "tokenizer": self.tokenizer.to_json(),
            "model": self.model.to_json(),
            "params": self.params,
            "train": self.train,
            "steps": self.steps,
            "best_step": self.best_step,
            "epochs": self.epochs,
            "tokens_seen": self.tokens_seen,
            "train_seconds": self.train_seconds,
        }
        tail = {
            "device": self.device,
            "precision": self.precision,
            "versions": self.versions,
            "from": self.warm_start.to_json() if self.warm_start is not None else None,
            "end_reason": self.end_reason,
            "diverged": self.diverged,
            "recipe": self.recipe,
            "train_command": self.train_command,
        }
        out = c.present(head, {"val_bpc": self.val_bpc, "val_loss": self.val_loss, **c.present(tail, self.extra)})
        return {**out, "shipped": self.shipped} if with_shipped else out
