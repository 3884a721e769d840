"""`stylegen generate STYLE`: text streams to stdout as it is produced."""

from __future__ import annotations

import sys

import click


@click.command("generate")
@click.argument("style")
@click.option("--prime", default="", help="Text to start from (fed to the model in one call).")
@click.option(
    "--length",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    help="Tokens to generate (characters for char styles).",
)
@click.option("--temperature", type=click.FloatRange(min=0), default=0.8, show_default=True, help="0 means greedy.")
@click.option("--top-k", type=click.IntRange(min=1), help="Sample among the k most likely tokens.")
@click.option(
    "--top-p", type=click.FloatRange(0, 1, min_open=True), help="Nucleus sampling: smallest set with probability p."
)
@click.option("--sampler", help="A sampler plugin by name (overrides the choice made from the options above).")
@click.option("--seed", type=int, help="Same seed, same text (random when left out; printed to stderr).")
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Samples, generated together in one batch.",
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu", show_default=True)
def generate_command(
    style: str,
    prime: str,
    length: int,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    sampler: str | None,
    seed: int | None,
    n: int,
    device: str,
) -> None:
    """Write text in STYLE, starting with --prime."""
    from stylegen.generate import choose_sampler, random_seed, sample_stream
    from stylegen.styles import load_style
    from stylegen.train.loop import resolve_device

    loaded = load_style(style, device=resolve_device(device))
    name, params = choose_sampler(temperature, top_k, top_p)
    if sampler is not None:
        name = sampler
    if seed is None:
        seed = random_seed()
        click.echo(f"seed: {seed}", err=True)
    stream = sample_stream(loaded, prime, length=length, sampler=name, params=params, seed=seed, n=n)
    out = sys.stdout
    if n == 1:
        out.write(prime)
        out.flush()
        for chunks in stream:
            out.write(chunks[0])
            out.flush()
        out.write("\n")
        return
    texts = [prime] * n
    for chunks in stream:
        texts = [t + c for t, c in zip(texts, chunks, strict=True)]
    for i, text in enumerate(texts, 1):
        out.write(f"--- sample {i} of {n} ---\n{text}\n")
    out.flush()


COMMANDS = [generate_command]
