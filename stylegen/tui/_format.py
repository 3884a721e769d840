"""Plain-text formatting of styles and corpora for the app's tables and panels (no Textual here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stylegen import StyleRecord


def human(n: float | None) -> str:
    """1234567 -> '1.2M'; None -> '-'."""
    if n is None:
        return "-"
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return str(int(n))


def bpc(meta: StyleRecord) -> str:
    return f"{meta.val_bpc:.3f}" if meta.val_bpc is not None else "-"


def model_shape(meta: StyleRecord) -> str:
    """'lstm 2x256' from a style's model description."""
    return meta.model.shape


def date(value: Any) -> str:
    """'2026-05-01 12:30' from an ISO timestamp."""
    text = str(value or "")
    return text[:16].replace("T", " ") if text else "-"


def is_shipped(meta: StyleRecord) -> bool:
    return meta.shipped


def style_row(meta: StyleRecord) -> tuple[str, ...]:
    """NAME, CORPUS, MODEL, SIZE, VAL BPC, DATE: one row of the Styles table, narrow enough for
    80 columns (the tokenizer is named beside the model only when it is not `char`; the time
    of day is left to the details, `i`)."""
    tokenizer = "" if meta.tokenizer.name == "char" else f" {meta.tokenizer.name}"
    return (
        meta.name + (" (shipped)" if meta.shipped else ""),
        meta.corpus.name,
        model_shape(meta) + tokenizer,
        human(meta.params),
        bpc(meta),
        date(meta.updated or meta.created)[:10],
    )


def style_summary(meta: StyleRecord) -> str:
    """One line about a style, for titles: 'tiny · lstm 1x48 · 2.310 bits/char'."""
    return f"{meta.name} · {model_shape(meta)} · {bpc(meta)} bits/char"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _or_dash(value: Any) -> Any:
    return "-" if value is None else value


def style_details(meta: StyleRecord) -> list[tuple[str, str]]:
    """(label, value) pairs describing a style, for the Inspect dialog."""
    train = meta.train or {}
    turns = meta.turns.to_json() if meta.turns is not None else {}
    speakers = list((turns.get("speakers") or {}).items())
    val_loss = meta.val_loss
    rows = [
        ("name", meta.name + ("  (shipped, read-only)" if meta.shipped else "")),
        ("corpus", f"{meta.corpus.name}  sha256 {(meta.corpus.sha256 or '')[:12] or '-'}"),
        ("tokenizer", f"{meta.tokenizer.name}, {meta.tokenizer.vocab_size} tokens"),
        ("model", f"{model_shape(meta)}  {meta.model.config}"),
        ("parameters", f"{meta.params or 0:,}"),
        (
            "validation",
            f"{bpc(meta)} bits/char, "
            + (f"{val_loss:.4f} nats/token" if val_loss is not None else "- nats/token")
            + f" (best at step {_or_dash(meta.best_step)})",
        ),
        (
            "training",
            f"{_or_dash(meta.steps)} steps, {float(meta.epochs or 0):.2f} epochs, "
            f"{duration(meta.train_seconds)} on {_or_dash(meta.device)}",
        ),
        ("status", str(_or_dash(meta.status))),
        (
            "settings",
            f"batch {train.get('batch_size', '-')} x {train.get('seq_len', '-')}, lr {train.get('lr', '-')}, seed {train.get('seed', '-')}",
        ),
        (
            "turns",
            str(turns.get("kind", "none"))
            + (f", {len(speakers)} speakers: " + ", ".join(n for n, _ in speakers[:6]) if speakers else ""),
        ),
        ("created", date(meta.created)),
        ("updated", date(meta.updated)),
    ]
    return rows
