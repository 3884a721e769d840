"""`stylegen evaluate STYLE [FILE | --corpus NAME]`: bits per character of a text under a style."""

from __future__ import annotations

import sys

import click

from stylegen.cli._output import echo_json
from stylegen.errors import StylegenError


@click.command("evaluate")
@click.argument("style")
@click.argument("text_file", required=False, metavar="[FILE]", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--corpus", metavar="NAME", help="Score corpus NAME's validation text instead of a file.")
@click.option(
    "--limit",
    type=click.IntRange(min=2),
    default=200_000,
    show_default=True,
    help="Score at most this many characters (the start of the text).",
)
@click.option(
    "--dynamic",
    is_flag=True,
    help="Also dynamic evaluation: the weights keep learning the text as it is read (a separate figure).",
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The figures as JSON on stdout.")
def evaluate_command(
    style: str, text_file: str | None, corpus: str | None, limit: int, dynamic: bool, device: str, as_json: bool
) -> None:
    """How well STYLE predicts a text, in bits per character (lower is better).

    The static figure reads the text with the style's weights as they are, as validation
    does. --dynamic adds dynamic evaluation (Krause et al. 2018): each segment is scored,
    then the weights (a copy) take one step on it, so names and phrases the text repeats
    get cheaper. It has seen the text it scores, so compare it only with other dynamic figures.
    """
    from stylegen import load_corpus, load_style, score_text

    if (text_file is None) == (corpus is None):
        raise click.UsageError("give a FILE (or - for stdin) or --corpus NAME, not both")
    if corpus is not None:
        path = load_corpus(corpus).path / "val.txt"
        where = f"corpus {corpus!r} (validation)"
    else:
        path = None
        where = "stdin" if text_file == "-" else str(text_file)
    try:
        if path is None and text_file == "-":
            text = sys.stdin.read(limit)
        else:
            with open(path or str(text_file), encoding="utf-8", errors="replace") as f:
                text = f.read(limit)  # only what is scored is read
    except OSError as e:
        raise StylegenError(f"{where}: cannot read it ({e.strerror or e})") from None
    result = score_text(load_style(style, device=device), text, dynamic=dynamic)
    if as_json:
        echo_json({"style": style, "text": where, **result.to_json()})
        return
    line = f"{style} on {where}: {result.bpc:.4f} bits/char over {result.chars:,} characters"
    if result.dynamic_bpc is not None:
        line += f"; dynamic evaluation {result.dynamic_bpc:.4f}"
    click.echo(line)


COMMANDS = [evaluate_command]
