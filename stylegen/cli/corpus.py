"""`stylegen corpus build|list|show|rm`."""

from __future__ import annotations

import random
from typing import Any

import click

from stylegen.cli._output import echo_json, human, table

WORDS_GUIDELINE = 200_000  # the seed lecture's exercise: ~200K words of one kind of text


@click.group("corpus")
def corpus_group() -> None:
    """Build and inspect corpora (the text a style learns from)."""


@corpus_group.command("build")
@click.argument("name")
@click.argument("sources", nargs=-1, required=True)
@click.option("--include", multiple=True, metavar="GLOB", help="In folders, only files matching GLOB (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out files matching GLOB (repeatable).")
@click.option(
    "--errors",
    type=click.Choice(["strict", "skip", "replace"]),
    default="strict",
    show_default=True,
    help="A file that is not valid UTF-8: fail, skip it, or replace the bad bytes.",
)
@click.option(
    "--val-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.1,
    show_default=True,
    help="The last fraction of the text held out for validation.",
)
@click.option(
    "--turns",
    type=click.Choice(["auto", "speaker-line", "inline", "none"]),
    default="auto",
    show_default=True,
    help="Turn format for chat: a play's 'NAME:' lines, a chat log's 'name: text' lines, or none.",
)
@click.option("--force", is_flag=True, help="Replace an existing corpus of the same name.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def build(
    name: str,
    sources: tuple[str, ...],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    errors: str,
    val_fraction: float,
    turns: str,
    force: bool,
    as_json: bool,
) -> None:
    """Build corpus NAME from SOURCES: files, folders (recursive), globs, or - for stdin."""
    from stylegen import plugins
    from stylegen.corpus import build_corpus

    corpus = build_corpus(
        name,
        sources,
        include=include,
        exclude=exclude,
        errors=errors,
        val_fraction=val_fraction,
        turns=turns,
        replace=force,
    )
    m = corpus.manifest
    for skip in m["skipped"]:
        plugins.warn(f"skipped {skip['origin']}: {skip['reason']}")
    if as_json:
        echo_json(m)
        return
    s, split = m["stats"], m["split"]
    click.echo(
        f"built corpus {name!r}: {s['documents']:,} documents, {s['chars']:,} characters, {s['words']:,} words "
        f"({split['train_chars']:,} train / {split['val_chars']:,} validation characters)"
    )
    if m["skipped"]:
        click.echo(f"{len(m['skipped'])} file(s) skipped (see `stylegen corpus show {name}`)")


@corpus_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_command(as_json: bool) -> None:
    """List corpora."""
    from stylegen.corpus import list_corpora

    corpora = list_corpora()
    if as_json:
        echo_json([summary(c.manifest) for c in corpora])
        return
    if not corpora:
        click.echo("no corpora yet: build one with `stylegen corpus build NAME PATH...`", err=True)
        return
    table(
        ["NAME", "CHARS", "WORDS", "DOCS", "VAL", "CREATED"],
        [
            [
                c.name,
                human(c.manifest["stats"]["chars"]),
                human(c.manifest["stats"]["words"]),
                c.manifest["stats"]["documents"],
                f"{c.manifest['split']['val_fraction']:g}",
                c.manifest.get("created", "")[:10],
            ]
            for c in corpora
        ],
    )


def summary(m: dict[str, Any]) -> dict[str, Any]:
    return {"name": m["name"], **m["stats"], "split": m["split"], "created": m.get("created")}


def char_counts(text: str) -> list[tuple[str, int]]:
    from collections import Counter

    return Counter(text).most_common()


@corpus_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def show(name: str, as_json: bool) -> None:
    """Statistics of corpus NAME, with a random excerpt."""
    from stylegen.corpus import load_corpus

    corpus = load_corpus(name)
    m = corpus.manifest
    text = corpus.train_text() + corpus.val_text()
    counts = char_counts(text)
    start = random.Random(0).randrange(max(1, len(text) - 400))
    excerpt = text[start : start + 400]
    info = {
        **summary(m),
        "path": str(corpus.path),
        "vocabulary": len(counts),
        "most_frequent": [[c, n] for c, n in counts[:10]],
        "rarest": [[c, n] for c, n in counts[-10:][::-1]],
        "words_vs_guideline": round(m["stats"]["words"] / WORDS_GUIDELINE, 3),
        "sources": len(m["sources"]),
        "skipped": m["skipped"],
        "sha256": m["sha256"],
        "turns": m.get("turns", {"kind": "none", "speakers": {}}),
        "excerpt": excerpt,
    }
    if as_json:
        echo_json(info)
        return
    s = m["stats"]
    click.echo(f"corpus {name}  ({corpus.path})")
    click.echo(
        f"  {s['bytes']:,} bytes, {s['chars']:,} characters, {s['words']:,} words, {s['lines']:,} lines, {s['documents']:,} documents"
    )
    click.echo(
        f"  {info['vocabulary']} distinct characters; words are {info['words_vs_guideline']:.0%} of the ~200K-word guideline"
    )
    click.echo(
        f"  split: {m['split']['train_chars']:,} train / {m['split']['val_chars']:,} validation characters (val fraction {m['split']['val_fraction']:g})"
    )
    click.echo("  most frequent: " + " ".join(f"{c!r}:{n}" for c, n in counts[:10]))
    click.echo("  rarest: " + " ".join(f"{c!r}:{n}" for c, n in counts[-10:][::-1]))
    turns = info["turns"]
    if turns["kind"] != "none":
        top = ", ".join(f"{n} ({c})" for n, c in list(turns["speakers"].items())[:8])
        click.echo(f"  turns: {turns['kind']}, {len(turns['speakers'])} speakers: {top}")
    for skip in m["skipped"]:
        click.echo(f"  skipped {skip['origin']}: {skip['reason']}")
    click.echo("  excerpt:")
    for line in excerpt.splitlines():
        click.echo("    " + line)


@corpus_group.command("rm")
@click.argument("name")
def rm(name: str) -> None:
    """Delete corpus NAME (trained styles keep working)."""
    from stylegen.corpus import remove_corpus

    path = remove_corpus(name)
    click.echo(f"removed corpus {name!r} ({path})")


COMMANDS = [corpus_group]
