"""`stylegen generate STYLE`: text streams to stdout as it is produced."""

from __future__ import annotations

import sys
from typing import Any

import click
from click.core import ParameterSource

from stylegen.cli._options import load_for_writing, name_values, penalty_options, report_copies, style_options

#: The widest --beam and the most --n samples (as stylegen.beam.MAX_WIDTH and
#: stylegen._generate.MAX_ROWS, spelled out so that `stylegen --help` needs no torch).
MAX_BEAM = 1_000
MAX_SAMPLES = 1_000

#: The options that choose or tune a sampler: meaningless with --beam.
SAMPLING_OPTIONS = (
    ("--temperature", "temperature"),
    ("--top-k", "top_k"),
    ("--top-p", "top_p"),
    ("--min-p", "min_p"),
    ("--typical-p", "typical_p"),
    ("--sampler", "sampler"),
    ("--param", "params"),
)


@click.command("generate")
@click.argument("style")
@click.option("--prime", default="", help="Text to start from (fed to the model in bounded pieces, the state carried).")
@click.option(
    "--length",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    help="Tokens to generate (characters for char styles).",
)
@click.option(
    "--temperature",
    type=click.FloatRange(min=0),
    help="Default 0.8; 0 means greedy (and the sampling options below are then ignored). "
    "With --sampler, the sampler's own default, and 0 is an error.",
)
@click.option("--top-k", type=click.IntRange(min=1), help="Sample among the k most likely tokens.")
@click.option(
    "--top-p",
    type=click.FloatRange(0, 1, min_open=True),
    help="Nucleus sampling: smallest set with probability p (combines with --top-k).",
)
@click.option(
    "--min-p",
    type=click.FloatRange(0, 1),
    help="Min-p sampling: keep tokens at least P times as likely as the likeliest "
    "(takes precedence over --typical-p, --top-p and --top-k).",
)
@click.option(
    "--typical-p",
    type=click.FloatRange(0, 1, min_open=True),
    help="Locally typical sampling: the tokens whose surprisal is nearest the entropy, up to mass P "
    "(takes precedence over --top-p and --top-k).",
)
@click.option(
    "--sampler",
    help="A sampler plugin by name (overrides the choice made from the options above, "
    "which then set its parameters of the same name).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    callback=name_values,
    help="Set a parameter of the chosen sampler, e.g. --param min_p=0.1 (repeatable; applied last).",
)
@penalty_options
@click.option(
    "--beam",
    type=click.IntRange(1, MAX_BEAM),
    metavar="WIDTH",
    help="Beam search of this width instead of sampling: the likeliest continuation found "
    f"(one text, no seed; not with the sampling options or --n > 1). At most {MAX_BEAM:,}.",
)
@click.option("--seed", type=int, help="Same seed, same text (random when left out; printed to stderr).")
@click.option(
    "--n",
    "n",
    type=click.IntRange(1, MAX_SAMPLES),
    default=1,
    show_default=True,
    help=f"Samples, generated together in one batch (at most {MAX_SAMPLES:,}).",
)
@click.option("--stop", multiple=True, metavar="TEXT", help="End the text where TEXT first appears (repeatable).")
@style_options
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object when done: text, prime, tokens, seed, sampler, params, penalties, style "
    "(with --n > 1, a `samples` list of {text, tokens}).",
)
@click.pass_context
def generate_command(
    ctx: click.Context,
    style: str,
    prime: str,
    length: int,
    temperature: float | None,
    top_k: int | None,
    top_p: float | None,
    min_p: float | None,
    typical_p: float | None,
    sampler: str | None,
    params: dict[str, str],
    repetition_penalty: float,
    presence_penalty: float,
    frequency_penalty: float,
    beam: int | None,
    seed: int | None,
    n: int,
    stop: tuple[str, ...],
    check_copy: int | None,
    int8: bool,
    fp16: bool,
    device: str,
    as_json: bool,
) -> None:
    """Write text in STYLE. --prime is optional: with it the text continues the prime, without
    it the style starts a text of its own.

    \b
    The sampler follows the options: --temperature 0 is greedy; otherwise --min-p, else
    --typical-p, else --top-p (with --top-k), else --top-k, else plain temperature sampling.
    --sampler NAME picks any sampler plugin, starting from its own defaults: the options above
    that are given set its parameters of the same name, and --param NAME=VALUE sets any of them.
    The penalties apply to every sampler and to --beam.
    """
    from stylegen import Penalties

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)

    if beam is not None:
        if n > 1:
            raise click.UsageError("--beam writes one text: it cannot be combined with --n > 1", ctx)
        for option, name in SAMPLING_OPTIONS:
            if given(name):
                raise click.UsageError(f"--beam does not sample: it cannot be combined with {option}", ctx)
    penalties = Penalties(repetition_penalty, presence_penalty, frequency_penalty)

    if beam is not None:
        loaded, copies = load_for_writing(style, device, int8, check_copy, fp16)
        _beam(loaded, prime, length, beam, penalties, as_json, stop, copies)
        return

    from stylegen import Decoder, HoldBack, TorchlessDecoder, cut_at_stops, random_seed, stream, torchless_style

    name, values = _sampler_choice(temperature, top_k, top_p, min_p, typical_p, sampler, params)
    # One text with float32 weights on the CPU, from a built-in cell and sampler: written
    # without importing torch (stylegen/torchless.py), the same text for the same seed.
    light = torchless_style(style, device, name) if n == 1 and not (int8 or fp16) else None
    loaded, copies = load_for_writing(style, device, int8, check_copy, fp16, loaded=light)
    random = seed is None
    seed = random_seed() if seed is None else seed
    make = Decoder if light is None else TorchlessDecoder
    decoder = make(loaded, sampler=name, params=values, seed=seed, n=n, penalties=penalties)  # checks them all
    if random and not as_json:
        click.echo(f"seed: {seed}", err=True)
    chunks_stream = stream(decoder, prime, length)
    out = sys.stdout
    if as_json:
        texts, tokens = [""] * n, 0
        for chunks in chunks_stream:
            texts = [t + c for t, c in zip(texts, chunks, strict=True)]
            tokens += 1
            if stop and n == 1 and cut_at_stops(texts[0], stop) != texts[0]:
                break
        texts = [cut_at_stops(t, stop) for t in texts]
        common = {"seed": seed, "sampler": name, "params": decoder.params, "penalties": penalties.as_dict()}
        _print_json(loaded.name, prime, [(text, tokens) for text in texts], common, copies)
        return
    if n == 1:
        out.write(prime)
        out.flush()
        hold = HoldBack(stop)
        text = ""
        for chunks in chunks_stream:
            shown, ended = hold.push(chunks[0])
            out.write(shown)
            out.flush()
            if ended:
                break
            text += shown
        else:
            out.write(hold.flush())
        out.write("\n")
        if copies is not None:
            report_copies(copies(text))
        return
    texts = [""] * n
    for chunks in chunks_stream:
        texts = [t + c for t, c in zip(texts, chunks, strict=True)]
    texts = [cut_at_stops(t, stop) for t in texts]
    if copies is not None:
        from stylegen import mark_copies

        texts = [mark_copies(t, copies(t)) for t in texts]
    texts = [prime + t for t in texts]
    for i, text in enumerate(texts, 1):
        out.write(f"--- sample {i} of {n} ---\n{text}\n")
    out.flush()


def _sampler_choice(
    temperature: float | None,
    top_k: int | None,
    top_p: float | None,
    min_p: float | None,
    typical_p: float | None,
    sampler: str | None,
    params: dict[str, str],
) -> tuple[str, dict[str, Any]]:
    """The sampler name and the parameters the options give it (`stylegen.sampler_choice`:
    the rule chat and the app follow too; the values are checked by the decoder)."""
    from stylegen import sampler_choice
    from stylegen.cli._output import warn

    options = {"temperature": temperature, "top_k": top_k, "top_p": top_p, "min_p": min_p, "typical_p": typical_p}
    name, values, warnings = sampler_choice(sampler, options, params)
    for message in warnings:
        warn(message)
    return name, values


def _beam(
    loaded: Any,
    prime: str,
    length: int,
    width: int,
    penalties: Any,
    as_json: bool,
    stop: tuple[str, ...],
    copies: Any,
) -> None:
    from stylegen import beam_search, cut_at_stops

    text = cut_at_stops(beam_search(loaded, prime, length=length, width=width, penalties=penalties), stop)
    if as_json:
        common = {"seed": None, "sampler": "beam", "params": {"width": width}, "penalties": penalties.as_dict()}
        _print_json(loaded.name, prime, [(text, length)], common, copies)
        return
    sys.stdout.write(prime + text + "\n")
    sys.stdout.flush()
    if copies is not None:
        report_copies(copies(text))


def _print_json(
    style: str, prime: str, results: list[tuple[str, int]], common: dict[str, Any], copies: Any = None
) -> None:
    from dataclasses import asdict

    from stylegen.cli._output import echo_json

    def extra(text: str) -> dict[str, Any]:
        return {} if copies is None else {"copies": [asdict(span) for span in copies(text)]}

    if len(results) == 1:
        text, tokens = results[0]
        echo_json({"text": text, "prime": prime, "tokens": tokens, **common, "style": style, **extra(text)})
        return
    samples = [{"text": text, "tokens": tokens, **extra(text)} for text, tokens in results]
    echo_json({"prime": prime, **common, "style": style, "samples": samples})


COMMANDS = [generate_command]
