"""`stylegen corpus build|list|show|rm`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from stylegen.cli._options import parse_opts
from stylegen.cli._output import echo_json, human, table, warn


@click.group("corpus")
def corpus_group() -> None:
    """Build and inspect corpora (the text a style learns from)."""


def _clean_flag(name: str, help_text: str) -> Any:
    return click.option(name, is_flag=True, default=None, help=help_text)


@corpus_group.command("build")
@click.argument("name", required=False)
@click.argument("sources", nargs=-1)
@click.option(
    "--recipe",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A corpus recipe (TOML: sources and options); options given here win.",
)
@click.option("--include", multiple=True, metavar="GLOB", help="In folders, only files matching GLOB (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out files matching GLOB (repeatable).")
@click.option(
    "--errors",
    type=click.Choice(["strict", "skip", "replace"]),
    help="A file that is not valid UTF-8: fail, skip it, or replace the bad bytes.  [default: strict]",
)
@click.option("--field", metavar="NAME", help="JSON Lines: the field holding the text (dotted for nested).")
@click.option("--column", metavar="NAME", help="CSV/TSV: the column holding the text.")
@click.option("--source-opt", multiple=True, metavar="KEY=VALUE", help="An option for the sources (repeatable).")
@click.option("--nfc/--no-nfc", default=None, help="Unicode NFC normalisation.  [default: on]")
@click.option(
    "--normalize-newlines/--keep-newlines", "newlines", default=None, help="CRLF and CR to LF.  [default: on]"
)
@_clean_flag("--strip-trailing-spaces", "Remove spaces and tabs at line ends.")
@click.option("--max-blank-lines", type=click.IntRange(min=0), help="Shorten runs of blank lines to this many.")
@_clean_flag("--dedupe-documents", "Drop documents that repeat an earlier one exactly.")
@_clean_flag("--dedupe-paragraphs", "Drop paragraphs that repeat an earlier one exactly.")
@click.option("--min-doc-chars", type=click.IntRange(min=0), help="Leave out shorter documents.")
@click.option("--max-doc-chars", type=click.IntRange(min=1), help="Leave out longer documents.")
@click.option(
    "--min-char-count", type=click.IntRange(min=0), help="Characters seen fewer times are rare (see --rare-chars)."
)
@click.option(
    "--rare-chars",
    type=click.Choice(["keep", "drop", "replace"]),
    help="Rare characters: keep, drop, or replace with U+FFFD.  [default: keep]",
)
@click.option("--target-words", type=click.IntRange(min=1), help="Sample documents down to about N words.")
@click.option("--max-chars", type=click.IntRange(min=1), help="Sample documents down to at most N characters.")
@click.option("--seed", type=int, help="Seed of the sampling order.  [default: 0]")
@click.option(
    "--val-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="The last fraction of the text held out for validation.  [default: 0.1]",
)
@click.option(
    "--turns",
    type=click.Choice(["auto", "speaker-line", "inline", "none"]),
    help="Turn format for chat: a play's 'NAME:' lines, a chat log's 'name: text' lines, or none.  [default: auto]",
)
@click.option("--force", is_flag=True, help="Replace an existing corpus of the same name.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def build(
    name: str | None, sources: tuple[str, ...], recipe: Path | None, force: bool, as_json: bool, **opts: Any
) -> None:
    """Build corpus NAME from SOURCES: files, folders (recursive), globs, - for stdin, or a
    source name (`stylegen corpus sources`; `shakespeare:hamlet,macbeth` passes arguments).

    \b
    Examples:
      stylegen corpus build bard shakespeare
      stylegen corpus build py python --max-chars 5000000
      stylegen corpus build --recipe corpora/shakespeare.toml
    """
    import dataclasses

    from stylegen import CleanOptions, build_corpus, load_recipe
    from stylegen.errors import StylegenError

    clean_keys = {f.name for f in dataclasses.fields(CleanOptions)}  # also the keys of a recipe's [clean]

    settings: dict[str, Any] = {"source": {}, "clean": {}}
    if recipe is not None:
        settings = load_recipe(recipe)
        if sources:
            raise click.UsageError("give the sources in the recipe or on the command line, not both")
    elif name is None or not sources:
        raise click.UsageError(
            "corpus build needs NAME and SOURCES (files, folders, globs, - or source names), or --recipe FILE"
        )
    name = name if name is not None else settings.get("name")  # "" is a name, refused as one
    for key, value in opts.items():
        if value is None or value == ():
            continue
        if key in clean_keys:
            settings["clean"][key] = value
        elif key == "source_opt":
            settings["source"].update(parse_opts(value, "--source-opt"))
        elif key == "strip_trailing_spaces":
            settings["clean"]["strip_trailing"] = value
        else:
            settings[key] = list(value) if isinstance(value, tuple) else value
    if not isinstance(name, str):
        raise StylegenError(f"{recipe}: 'name' must be a string")
    try:
        clean = CleanOptions(**settings["clean"])
    except TypeError as e:
        raise StylegenError(f"cleaning options: {e}") from None
    corpus = build_corpus(
        name,
        sources or settings["sources"],
        include=settings.get("include", ()),
        exclude=settings.get("exclude", ()),
        errors=settings.get("errors", "strict"),
        val_fraction=settings.get("val_fraction", 0.1),
        turns=settings.get("turns", "auto"),
        replace=force,
        extract_options={"field": settings.get("field"), "column": settings.get("column")},
        source_options=settings["source"],
        clean=clean,
        target_words=settings.get("target_words"),
        max_chars=settings.get("max_chars"),
        seed=settings.get("seed", 0),
    )
    m = corpus.manifest
    for skip in m.skipped[:20]:
        warn(f"skipped {skip.origin}: {skip.reason}")
    if len(m.skipped) > 20:
        warn(f"... and {len(m.skipped) - 20} more skipped (see `stylegen corpus show {name}`)")
    if as_json:
        echo_json(m.to_json())
        return
    s, split = m.stats, m.split
    click.echo(
        f"built corpus {name!r}: {s.documents:,} documents, {s.chars:,} characters, {s.words:,} words "
        f"({split.train_chars:,} train / {split.val_chars:,} validation characters)"
    )
    changes = m.cleaning.changes if m.cleaning else None
    if changes:
        click.echo("cleaning: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in changes.items()))
    if m.turns is not None and m.turns.kind != "none":
        click.echo(f"turns: {m.turns.kind}, {len(m.turns.speakers or {})} speakers")
    if m.skipped:
        click.echo(f"{len(m.skipped)} file(s) skipped (see `stylegen corpus show {name}`)")


@corpus_group.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def sources_command(as_json: bool) -> None:
    """List the corpus sources (built-in and from plugins)."""
    from stylegen import plugin_registry

    entries = plugin_registry().of_kind("source")
    rows = [{"name": e.obj.name, "description": e.obj.description, "plugin": e.plugin} for e in entries]
    if as_json:
        echo_json(rows)
        return
    table(["SOURCE", "DESCRIPTION"], [[r["name"], r["description"]] for r in rows])


@corpus_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_command(as_json: bool) -> None:
    """List corpora."""
    from stylegen import corpus_summary, list_corpora

    corpora = list_corpora()
    if as_json:
        echo_json([corpus_summary(c.manifest) for c in corpora])
        return
    if not corpora:
        click.echo("no corpora yet: build one with `stylegen corpus build NAME PATH...`", err=True)
        return
    table(
        ["NAME", "CHARS", "WORDS", "DOCS", "VAL", "CREATED"],
        [
            [
                c.name,
                human(c.manifest.stats.chars),
                human(c.manifest.stats.words),
                c.manifest.stats.documents,
                f"{c.manifest.split.val_fraction:g}",
                (c.manifest.created or "")[:10],
            ]
            for c in corpora
        ],
    )


@corpus_group.command("show")
@click.argument("name")
@click.option("--seed", type=int, help="Where the excerpt comes from (default: a random place).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def show(name: str, seed: int | None, as_json: bool) -> None:
    """Statistics of corpus NAME, with a random excerpt."""
    from stylegen import corpus_info, load_corpus

    corpus = load_corpus(name)
    info = corpus_info(corpus, seed)
    if as_json:
        echo_json(info)
        return
    m = corpus.manifest
    s = m.stats.to_json()
    click.echo(f"corpus {name}  ({corpus.path})")
    click.echo(
        f"  {s['bytes']:,} bytes, {s['chars']:,} characters, {s['words']:,} words, {s['lines']:,} lines, "
        f"{s['documents']:,} documents"
    )
    click.echo(
        f"  {info['vocabulary']} distinct characters; {s['words']:,} words are {info['words_vs_guideline']:.0%} "
        f"of the ~{info['guideline_words'] // 1000}K-word guideline"
    )
    split = m.split.to_json()
    click.echo(
        f"  split: {split['train_chars']:,} train / {split['val_chars']:,} validation characters "
        f"(val fraction {split['val_fraction']:g})"
    )
    click.echo("  most frequent: " + " ".join(f"{c!r}:{n}" for c, n in info["most_frequent"]))
    click.echo("  rarest: " + " ".join(f"{c!r}:{n}" for c, n in info["rarest"]))
    changes = info["cleaning"].get("changes")
    if changes:
        click.echo("  cleaning: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in changes.items()))
    sampling = info["sampling"]
    if sampling.get("target_words") or sampling.get("max_chars"):
        click.echo(f"  sampled: {sampling['documents']:,} of {sampling['of_documents']:,} documents")
    turns = info["turns"]
    if turns["kind"] != "none":
        top = ", ".join(f"{n} ({c})" for n, c in list(turns["speakers"].items())[:8])
        click.echo(f"  turns: {turns['kind']}, {len(turns['speakers'])} speakers: {top}")
    for skip in m.skipped:
        click.echo(f"  skipped {skip.origin}: {skip.reason}")
    click.echo("  excerpt:")
    for line in info["excerpt"].splitlines():
        click.echo("    " + line)


@corpus_group.command("rm")
@click.argument("name")
def rm(name: str) -> None:
    """Delete corpus NAME (trained styles keep working)."""
    from stylegen import corpus_lock, remove_corpus

    with corpus_lock(name, "removing it"):  # not while it is being built
        path = remove_corpus(name)
    click.echo(f"removed corpus {name!r} ({path})")


COMMANDS = [corpus_group]
