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


#: The largest seed: torch, numpy and Python's `random` all take 0 ... 2**64-1.
SEED_MAX = 2**64 - 1


class FiniteFloat(click.FloatRange):
    """A float option's type: within its range (if any) and finite (click lets `nan` through
    every range and `inf` through any open-ended one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.min is None and self.max is None:
            self.name = "float"  # shown as FLOAT, as click.FLOAT is

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{number} is not a finite number", param, ctx)
        return number

    def _describe_range(self) -> str:
        return "" if self.min is None and self.max is None else super()._describe_range()


def check_numbers(group: click.Group) -> None:
    """Validate every command's numbers where click reads them, once for the whole CLI: each
    float option or argument must be finite (and in its range), each `--seed` in 0 ... 2**64-1
    (what torch accepts). Call it after every command is added."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            check_numbers(command)
        for param in command.params:
            kind = param.type
            if isinstance(kind, click.FloatRange) and not isinstance(kind, FiniteFloat):
                param.type = FiniteFloat(kind.min, kind.max, kind.min_open, kind.max_open, kind.clamp)
            elif isinstance(kind, click.types.FloatParamType) and not isinstance(kind, click.FloatRange):
                param.type = FiniteFloat()
            elif param.name == "seed" and type(kind) is click.types.IntParamType:
                param.type = click.IntRange(0, SEED_MAX)


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
    name: str, device: str, int8: bool, check_copy: int | None, fp16: bool = False, loaded: Any = None
) -> tuple[Any, Any]:
    """The loaded style (`loaded` where the caller has it, e.g. the torch-free one), and a
    function text -> copied spans (None without --check-copy)."""
    from stylegen import load_style

    style = loaded if loaded is not None else load_style(name, device=device, int8=int8, fp16=fp16)
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

    def no_constant(name: str) -> Any:
        raise ValueError(name)

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint=f"'{option}'")
        try:
            parsed = json.loads(value, parse_constant=no_constant)
        except json.JSONDecodeError:
            parsed = value
        except ValueError:  # NaN, Infinity, -Infinity
            raise click.BadParameter(f"{pair!r}: {value} is not a finite number", param_hint=f"'{option}'") from None
        if isinstance(parsed, float) and not math.isfinite(parsed):  # 1e999
            raise click.BadParameter(f"{pair!r}: {value} is not a finite number", param_hint=f"'{option}'")
        out[key.replace("-", "_")] = parsed
    return out


def name_values(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """`--param NAME=VALUE` (repeatable) as a dict; a value without `=` is a usage error."""
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE (got {item!r})", ctx=ctx, param=param)
        out[name.strip()] = value.strip()
    return out
