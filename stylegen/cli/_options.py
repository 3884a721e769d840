"""Options and parsing shared by several commands."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import click

from stylegen.errors import StylegenError

F = TypeVar("F", bound=Callable[..., Any])


def style_options(func: F) -> F:
    """`--check-copy N`, `--int8`, `--fp16` and `--device`: how a style is loaded for writing."""
    for option in reversed(
        [
            click.option(
                "--check-copy",
                type=click.IntRange(min=16),
                metavar="N",
                help="Point out spans of N or more characters copied verbatim from the training text (40 is a good N).",
            ),
            click.option(
                "--int8",
                is_flag=True,
                help="Step with int8 weights: the fastest on the CPU, slightly different text.",
            ),
            click.option(
                "--fp16",
                is_flag=True,
                help="Step with float16 weights: faster on the CPU, nearly the same text as float32.",
            ),
            click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu", show_default=True),
        ]
    ):
        func = option(func)
    return func


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", ctx=ctx, param=param)
    return value


def penalty_options(func: F) -> F:
    """`--repetition-penalty`, `--presence-penalty`, `--frequency-penalty` (see processors.py)."""
    for option in reversed(
        [
            click.option(
                "--repetition-penalty",
                type=click.FloatRange(min=0, min_open=True),
                default=1.0,
                show_default=True,
                callback=_finite,
                help="CTRL penalty on tokens already in the text: positive logits / θ, negative ones × θ (1: off).",
            ),
            click.option(
                "--presence-penalty",
                type=float,
                default=0.0,
                show_default=True,
                callback=_finite,
                help="Subtract this from the logit of every token already in the text (0: off).",
            ),
            click.option(
                "--frequency-penalty",
                type=float,
                default=0.0,
                show_default=True,
                callback=_finite,
                help="Subtract this times its count from the logit of every token already in the text (0: off).",
            ),
        ]
    ):
        func = option(func)
    return func


def load_for_writing(
    name: str, device: str, int8: bool, check_copy: int | None, fp16: bool = False
) -> tuple[Any, Any]:
    """The loaded style, and a function text -> copied spans (None without --check-copy)."""
    from stylegen import load_style

    style = load_style(name, device=device, int8=int8, fp16=fp16)
    if check_copy is None:
        return style, None
    from stylegen import find_copies, load_originality_index

    index = load_originality_index(style.path, style.meta)
    if index is None:
        raise StylegenError(f"style {style.name!r} has no originality index (train it again to use --check-copy)")
    return style, lambda text: find_copies(index, text, check_copy)


def report_copies(spans: list[Any]) -> None:
    """One stderr line per copied span, or one saying there were none."""
    if not spans:
        click.echo("no copied spans found", err=True)
    for span in spans:
        snippet = " ".join(span.text.split())
        click.echo(f"copied [{span.start}:{span.end}] from corpus offset {span.corpus_offset}: «{snippet}»", err=True)


def parse_opts(pairs: tuple[str, ...], option: str) -> dict[str, Any]:
    """KEY=VALUE pairs (`-` in keys read as `_`), each value read as JSON when it parses
    (numbers, true/false), else kept as a string."""
    import json

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint=f"'{option}'")
        try:
            out[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            out[key.replace("-", "_")] = value
    return out
