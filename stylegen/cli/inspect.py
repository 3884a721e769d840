"""`stylegen inspect STYLE`: the text coloured by a neuron's activation, neuron search, next-character guesses.

The view goes to stdout (Rich colours on a terminal), `--json` prints the numbers instead,
`--html FILE` writes the same view as a page. The work is done by `stylegen.inspect`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stylegen.errors import StylegenError

if TYPE_CHECKING:
    from stylegen import InspectResult

#: `stylegen.inspect.FEATURES`' names, spelled out here so that `stylegen --help` needs no numpy.
FEATURE_NAMES = ("in-quotes", "line-position", "indent-depth")
DEFAULT_LIMIT = 10_000  # as stylegen.inspect.DEFAULT_LIMIT
MAX_LIMIT = 1_000_000  # as stylegen.inspect.MAX_LIMIT


def _read_text(text_file: str | None, words: tuple[str, ...], limit: int) -> str:
    """The text to inspect: at most `limit` + 1 characters are read (the one more tells that
    there was more), so `--text /dev/zero` or a 2 GB file costs what --limit asks for."""
    if text_file is not None and words:
        raise click.UsageError("give the text with --text FILE or after --, not both")
    if text_file is None and not words:
        raise click.UsageError(
            "no text to inspect: give --text FILE (- for stdin), or the text after -- (\"-- 'text'\")"
        )
    if text_file is None:
        text = " ".join(words)[: limit + 1]
    elif text_file == "-":
        text = sys.stdin.read(limit + 1)
    else:
        try:
            with open(text_file, encoding="utf-8") as f:
                text = f.read(limit + 1)
        except FileNotFoundError:
            raise StylegenError(f"--text {text_file}: no such file") from None
        except UnicodeDecodeError:
            raise StylegenError(f"--text {text_file}: not UTF-8 text") from None
        except OSError as e:
            raise StylegenError(f"--text {text_file}: {e.strerror or e}") from None
    if not text:
        raise StylegenError("the text is empty: there is nothing to inspect")
    return text


def _neuron(value: str, layer: int) -> tuple[int, int]:
    """`N` (in --layer) or `L:N` -> (layer, neuron)."""
    head, sep, tail = value.partition(":")
    try:
        return (int(head), int(tail)) if sep else (layer, int(head))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not N or LAYER:N", param_hint="'--neuron'") from None


def _char(ch: str) -> str:
    return repr(ch)[1:-1] if ch != " " else "\u2423"  # line breaks as \n, a space as ␣


@click.command("inspect")
@click.argument("style")
@click.argument("words", nargs=-1, metavar="[-- TEXT...]")
@click.option("--text", "text_file", metavar="FILE", help="Read the text from FILE (- for stdin), or give it after --.")
@click.option("--layer", type=int, default=0, show_default=True, help="The layer of --neuron N (layers count from 0).")
@click.option(
    "--neuron",
    "neurons",
    multiple=True,
    metavar="N|L:N",
    help="A neuron to show (counted from 0); LAYER:N also picks its layer. Repeat to stack several.",
)
@click.option(
    "--what",
    metavar="KIND",
    help="Which activation: cell (tanh of the LSTM cell state), hidden, gate-i, gate-f, gate-o (LSTM), "
    "gate-r, gate-z (GRU). [default: cell where the model has it, else hidden]",
)
@click.option(
    "--pattern",
    metavar="REGEX",
    help="Neuron search: rank every neuron by correlation with 'inside a match of REGEX' (Python's re; "
    "^ and $ match at line ends (like grep), so '^[A-Z ]+:$' finds speaker lines).",
)
@click.option(
    "--feature",
    type=click.Choice(FEATURE_NAMES),
    help="Neuron search against a built-in feature: in-quotes (0/1), line-position (column), indent-depth (columns).",
)
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Neurons a search lists.")
@click.option(
    "--topk", type=click.IntRange(1, 100), metavar="K", help="The K likeliest next characters at each position."
)
@click.option(
    "--at",
    "positions",
    multiple=True,
    type=click.IntRange(min=0),
    metavar="POS",
    help="Only these positions (from 0) for --topk (repeatable).",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also write the view as a self-contained HTML page (hover a character for its value).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIMIT),
    default=DEFAULT_LIMIT,
    show_default=True,
    help=f"Inspect at most this many characters (only they are read; at most {MAX_LIMIT:,}).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON instead of the coloured view.")
def inspect_command(
    style: str,
    words: tuple[str, ...],
    text_file: str | None,
    layer: int,
    neurons: tuple[str, ...],
    what: str | None,
    pattern: str | None,
    feature: str | None,
    top: int,
    topk: int | None,
    positions: tuple[int, ...],
    html_file: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show what the neurons of STYLE's model do over a text.

    \b
    Colour the text by one neuron (or several, stacked):
      stylegen inspect mystyle --text sample.txt --layer 1 --neuron 42
      stylegen inspect mystyle --neuron 0:7 --neuron 1:42 --what hidden -- "some text"
    Find the neurons that follow a pattern, best first, and show the best:
      stylegen inspect mystyle --text sample.txt --pattern '"[^"]*"'
      stylegen inspect mystyle --text code.py --feature indent-depth --html neurons.html
    What the model expects next (the 5 likeliest characters at position 10):
      stylegen inspect mystyle --topk 5 --at 10 -- "It was the best of times"
    """
    text = _read_text(text_file, words, limit)
    if pattern is not None and feature is not None:
        raise click.UsageError("give --pattern or --feature, not both")
    if positions and topk is None:
        raise click.UsageError("--at needs --topk")
    searching = pattern is not None or feature is not None
    if not (neurons or searching or topk):
        raise click.UsageError(
            "say what to show: --neuron N, a search (--pattern REGEX or --feature NAME), or --topk K"
        )
    picks = [_neuron(n, layer) for n in neurons]

    from stylegen import (
        ActivationRow,
        activations,
        activations_html,
        correlations,
        default_activation_kind,
        feature_values,
        inspect_result,
        load_style,
        pattern_mask,
        rank_neurons,
    )

    target = None
    if pattern is not None:
        target = pattern_mask(text[:limit], pattern)  # a bad regex fails before the model loads
    loaded = load_style(style)
    if len(text) > limit:
        click.echo(f"inspecting the first {limit:,} characters of a longer text (see --limit)", err=True)
    acts = activations(loaded, text, topk=topk or 0, limit=limit)
    text = acts.text
    kind = acts.check_kind(what) if what else default_activation_kind(acts.kinds)
    for la, ne in picks:
        acts.check_neuron(kind, la, ne)
    for pos in positions:
        if pos >= len(text):
            raise StylegenError(f"--at {pos} is out of range: the text has positions 0-{len(text) - 1}")

    scores: list[Any] = []
    if searching:
        if target is None or len(target) != len(text):
            target = pattern_mask(text, pattern) if pattern is not None else feature_values(text, str(feature))
        _check_target(target, pattern, feature)
        scores = rank_neurons(correlations(acts.kind(kind), target), top)
        best = (scores[0].layer, scores[0].neuron)
        picks = [best, *(p for p in picks if p != best)]
    query = ("pattern", pattern) if pattern is not None else ("feature", str(feature))
    nexts = acts.top_next(loaded.tokenizer) if topk else []
    result = inspect_result(
        style,
        acts,
        kind,
        picks,
        search=query if searching else None,
        scores=scores,
        nexts=nexts if topk else None,
        positions=positions,
    )

    rows = [
        ActivationRow.of(f"layer {la} neuron {ne} ({kind})", acts.neuron(kind, la, ne), not kind.startswith("gate"))
        for la, ne in picks
    ]
    if scores:
        rows[0] = ActivationRow(f"{rows[0].label}, r = {scores[0].r:+.3f}", rows[0].values, rows[0].lo, rows[0].hi)
    if html_file is not None:
        label = f"pattern {pattern}" if pattern is not None else f"feature {feature}"
        extra = [ActivationRow.of(f"the search target: {label}", target, signed=False)] if target is not None else []
        hints = [", ".join(f"{_char(t)} {p:.2f}" for t, p in n) for n in nexts]
        notes = [f"{kind} activations, {len(text)} characters; hover a character for its value"]
        page = activations_html(f"stylegen inspect {style}", text, [*rows, *extra], notes, hints)
        try:
            Path(html_file).write_text(page, encoding="utf-8")
        except OSError as e:
            raise StylegenError(f"--html {html_file}: {e.strerror or e}") from None
        click.echo(f"wrote {html_file}", err=True)

    if as_json:
        from stylegen.cli._output import echo_json

        echo_json(result.to_json())
        return
    _print_view(text, kind, rows, scores, result, pattern, feature)


def _check_target(target: Any, pattern: str | None, feature: str | None) -> None:
    """One line for a search target that does not vary: nothing to correlate with."""
    if float(target.min()) < float(target.max()):
        return
    if pattern is not None:
        where = "no character" if float(target.max()) == 0.0 else "every character"
        raise StylegenError(f"--pattern {pattern!r} matches {where} of the text: nothing to correlate with")
    raise StylegenError(f"--feature {feature} is the same at every character of the text: nothing to correlate with")


def _print_view(
    text: str,
    kind: str,
    rows: list[Any],
    scores: list[Any],
    result: InspectResult,
    pattern: str | None,
    feature: str | None,
) -> None:
    from rich.console import Console

    from stylegen import activations_rich_text
    from stylegen.cli._output import table

    if scores:
        target = f"/{pattern}/" if pattern is not None else f"the feature {feature}"
        click.echo(f"neurons ({kind}) most correlated with {target}:")
        table(
            ["rank", "layer", "neuron", "r"], [(i + 1, s.layer, s.neuron, f"{s.r:+.3f}") for i, s in enumerate(scores)]
        )
        click.echo()
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True, emoji=False)
    for row in rows:
        click.echo(f"{row.label}:")
        console.print(activations_rich_text(text, row), end="" if text.endswith("\n") else "\n")
    for item in result.topk or []:
        guesses = "  ".join(f"{_char(n.text)} {n.p:.2f}" for n in item.next)
        click.echo(f"{item.position:>6}  {_char(item.char):<4}  -> {guesses}")


COMMANDS = [inspect_command]
