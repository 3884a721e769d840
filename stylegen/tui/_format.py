"""Plain-text formatting of styles and corpora for the app's tables and panels (no Textual here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def human(n: float | None) -> str:
    """1234567 -> '1.2M'; None -> '-'."""
    if n is None:
        return "-"
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return str(int(n))


def bpc(meta: Mapping[str, Any]) -> str:
    value = meta.get("val_bpc")
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def model_shape(meta: Mapping[str, Any]) -> str:
    """'lstm 2x256' from a style's model description."""
    model = meta.get("model") or {}
    cfg = model.get("config") or {}
    shape = f" {cfg['layers']}x{cfg['hidden']}" if "layers" in cfg and "hidden" in cfg else ""
    return f"{model.get('name', '?')}{shape}"


def date(value: Any) -> str:
    """'2026-05-01 12:30' from an ISO timestamp."""
    text = str(value or "")
    return text[:16].replace("T", " ") if text else "-"


def is_shipped(meta: Mapping[str, Any]) -> bool:
    return bool(meta.get("shipped"))


def style_row(meta: Mapping[str, Any]) -> tuple[str, ...]:
    """NAME, CORPUS, TOKENIZER, MODEL, SIZE, VAL BPC, DATE: one row of the Styles table."""
    name = str(meta.get("name", "?")) + (" (shipped)" if is_shipped(meta) else "")
    corpus = (meta.get("corpus") or {}).get("name", "-")
    tokenizer = (meta.get("tokenizer") or {}).get("name", "-")
    return (
        name,
        str(corpus),
        str(tokenizer),
        model_shape(meta),
        human(meta.get("params")),
        bpc(meta),
        date(meta.get("updated") or meta.get("created")),
    )


def style_summary(meta: Mapping[str, Any]) -> str:
    """One line about a style, for titles: 'tiny · lstm 1x48 · 2.310 bits/char'."""
    return f"{meta.get('name', '?')} · {model_shape(meta)} · {bpc(meta)} bits/char"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def style_details(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs describing a style, for the Inspect dialog."""
    corpus = meta.get("corpus") or {}
    tokenizer = meta.get("tokenizer") or {}
    model = meta.get("model") or {}
    train = meta.get("train") or {}
    turns = meta.get("turns") or {}
    speakers = list((turns.get("speakers") or {}).items())
    val_loss = meta.get("val_loss")
    rows = [
        ("name", str(meta.get("name", "?")) + ("  (shipped, read-only)" if is_shipped(meta) else "")),
        ("corpus", f"{corpus.get('name', '-')}  sha256 {str(corpus.get('sha256', ''))[:12] or '-'}"),
        ("tokenizer", f"{tokenizer.get('name', '-')}, {tokenizer.get('vocab_size', '?')} tokens"),
        ("model", f"{model_shape(meta)}  {model.get('config', {})}"),
        ("parameters", f"{meta.get('params', 0):,}"),
        (
            "validation",
            f"{bpc(meta)} bits/char, "
            + (f"{val_loss:.4f} nats/token" if isinstance(val_loss, (int, float)) else "- nats/token")
            + f" (best at step {meta.get('best_step', '-')})",
        ),
        (
            "training",
            f"{meta.get('steps', '-')} steps, {float(meta.get('epochs') or 0):.2f} epochs, "
            f"{duration(meta.get('train_seconds'))} on {meta.get('device', '-')}",
        ),
        ("status", str(meta.get("status", "-"))),
        (
            "settings",
            f"batch {train.get('batch_size', '-')} x {train.get('seq_len', '-')}, lr {train.get('lr', '-')}, seed {train.get('seed', '-')}",
        ),
        (
            "turns",
            str(turns.get("kind", "none"))
            + (f", {len(speakers)} speakers: " + ", ".join(n for n, _ in speakers[:6]) if speakers else ""),
        ),
        ("created", date(meta.get("created"))),
        ("updated", date(meta.get("updated"))),
    ]
    return rows


def one_line(error: BaseException) -> str:
    """An error as one line for the app's status lines and notices."""
    return " ".join(str(error).split()) or type(error).__name__
