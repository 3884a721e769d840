"""`stylegen chat STYLE`: a line-based chat REPL that also works in pipes.

Answers go to stdout; the banner, prompts and command replies go to stderr, so
`echo "Good morrow" | stylegen chat bard > answer.txt` keeps only the answer.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

import click

from stylegen.cli._options import load_for_writing, name_values, penalty_options, style_options
from stylegen.errors import PluginError, StylegenError, one_line

#: `/set` names of the penalties, and the `Penalties` field each sets.
PENALTIES = {"repetition_penalty": "repetition", "presence_penalty": "presence", "frequency_penalty": "frequency"}

HELP = """commands:
  /temp T            set the temperature (switches greedy to temperature sampling)
  /sampler NAME      choose a sampler (see `stylegen plugins`)
  /set NAME VALUE    set a parameter of the sampler (e.g. /set top_p 0.9), or a penalty
                     (/set repetition_penalty 1.3, presence_penalty, frequency_penalty)
  /as NAME           speak as NAME          /to [NAME]   who answers (none: whoever the model writes)
  /speakers          the corpus's most frequent speakers
  /reset             forget the conversation and the model's state
  /save FILE         write the transcript    /save-state FILE, /load-state FILE   the conversation with the model's state
  /save! FILE, /save-state! FILE             the same, replacing an existing file
  /help              this text               /quit (or Ctrl-D)"""


class Repl:
    def __init__(
        self, session: Any, stdin: TextIO, stdout: TextIO, stderr: TextIO, interactive: bool, copies: Any = None
    ) -> None:
        self.session, self.stdin, self.stdout, self.stderr = session, stdin, stdout, stderr
        self.interactive = interactive
        self.copies = copies  # text -> copied spans, with --check-copy
        self.cancel = threading.Event()

    def say(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def read(self) -> str | None:
        if self.interactive:
            try:
                return input(f"{self.session.user or 'you'}> ")
            except EOFError:
                return None
        line = self.stdin.readline()
        return line.rstrip("\n") if line else None

    def run(self) -> None:
        s = self.session
        if self.interactive:
            who = f" as {s.user}" + (f" to {s.to}" if s.to else "") if s.format.has_turns else ""
            self.say(f"chatting with {s.style.name}{who}; /help for commands, Ctrl-D to leave")
        while True:
            line = self.read()
            if line is None:
                return
            if not line.strip():
                continue
            if line.startswith("/"):
                try:
                    if self.command(line.strip()) == "quit":
                        return
                except StylegenError as e:
                    self.say("error: " + one_line(e))
                except Exception as e:  # a command never ends the session: it checks before it changes
                    self.say(f"error: {line.strip().partition(' ')[0]} failed: {one_line(e, typed=True)}")
                continue
            self.answer(line)

    def answer(self, message: str) -> None:
        s = self.session
        self.cancel.clear()
        label = s.format.has_turns
        started = False
        before = s.snapshot()
        try:
            for chunk in s.send(message, self.cancel):
                if not started and label:
                    self.stdout.write(f"{s.speaker}: ")
                started = True
                self.stdout.write(chunk)
                self.stdout.flush()
        except PluginError as e:  # a sampler plugin failed: the session stays as before this message
            if started:
                self.stdout.write("\n")
                self.stdout.flush()
            failed = s.sampler
            instead = s.recover(before, e)
            switched = f", sampler {failed!r} replaced by {instead!r}" if instead else ""
            self.say(f"error: {one_line(e)}; the message was not added (send it again){switched}")
            return
        if not started and label:
            self.stdout.write(f"{s.speaker}: ")
        self.stdout.write("\n")
        self.stdout.flush()
        if self.cancel.is_set():
            self.say("(stopped)")
        if self.copies is not None:
            for span in self.copies(s.turns[-1].text):
                self.say(
                    f"(copied from the training text, corpus offset {span.corpus_offset}: «{one_line(span.text)}»)"
                )

    def command(self, line: str) -> str | None:
        s = self.session
        name, _, rest = line.partition(" ")
        arg = rest.strip()
        if name in ("/quit", "/exit"):
            return "quit"
        if name == "/help":
            self.say(HELP)
        elif name == "/temp":
            value = _number(arg, "/temp T")
            if "temperature" in {p.name for p in s.decoder.sampler.params}:
                s.set_param("temperature", value)
            else:
                s.set_sampler("temperature", {"temperature": value})
            self.say(f"sampler {s.sampler} {s.params}")
        elif name == "/sampler":
            if not arg:
                raise StylegenError("usage: /sampler NAME")
            s.set_sampler(arg)
            self.say(f"sampler {s.sampler} {s.params}")
        elif name == "/set":
            key, _, text = arg.partition(" ")
            if not key or not text.strip():
                raise StylegenError("usage: /set NAME VALUE")
            if key in PENALTIES:
                s.set_penalty(PENALTIES[key], _number(text.strip(), f"/set {key} VALUE"))
                self.say(f"penalties {s.penalties.as_dict()}")
            else:
                s.set_param(key, text.strip())
                self.say(f"sampler {s.sampler} {s.params}")
        elif name == "/as":
            if not arg:
                raise StylegenError("usage: /as NAME")
            s.set_user(arg)
            self.say(f"you speak as {s.user}")
        elif name == "/to":
            s.set_to(arg or None)
            self.say(f"{s.to} answers" if s.to else "whoever the model writes next answers")
        elif name == "/speakers":
            speakers = list(s.format.speakers.items())[:30]
            self.say(", ".join(f"{n} ({c})" for n, c in speakers) if speakers else "this style has no speakers")
        elif name == "/reset":
            s.reset()
            self.say("conversation forgotten")
        elif name in ("/save", "/save!", "/save-state", "/save-state!", "/load-state"):
            if not arg:
                raise StylegenError(f"usage: {name} FILE")
            path = Path(arg).expanduser()
            overwrite = name.endswith("!")  # /save! and /save-state! replace an existing file
            if name.startswith("/save-state"):
                s.save_state(path, overwrite=overwrite)
            elif name.startswith("/save"):
                s.save_transcript(path, overwrite=overwrite)
            else:
                s.load_state(path)
            self.say(f"{'loaded' if name == '/load-state' else 'saved'} {path}")
        else:
            raise StylegenError(f"unknown command {name} (see /help)")
        return None


def _number(text: str, usage: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise StylegenError(f"usage: {usage} (a number)") from None


@click.command("chat")
@click.argument("style")
@click.option("--as", "as_", metavar="NAME", help="Who you speak as (a speaker of the corpus; any case).")
@click.option("--to", metavar="NAME", help="Who answers (default: whoever the model writes next).")
@click.option(
    "--temperature",
    type=click.FloatRange(min=0),
    help="Default 0.8; 0 means greedy. With --sampler, the sampler's own default, and 0 is an error.",
)
@click.option("--top-k", type=click.IntRange(min=1), help="Sample among the k most likely tokens.")
@click.option("--top-p", type=click.FloatRange(0, 1, min_open=True), help="Nucleus sampling.")
@click.option(
    "--sampler",
    help="A sampler plugin by name, from its own defaults (the options above that are given set "
    "its parameters of the same name).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    callback=name_values,
    help="Set a parameter of the sampler, e.g. --param tau=3 (repeatable; applied last).",
)
@click.option("--seed", type=int, help="Same seed and messages, same answers.")
@click.option(
    "--max-length",
    type=click.IntRange(min=1),
    help="Tokens per answer at most [default: 1.5 times the corpus's 99th-percentile turn, "
    "64 to 4096; 600 for a style whose corpus recorded no turn lengths]. An answer the cap "
    "cuts ends at a sentence or line end.",
)
@click.option("--stop", multiple=True, help="Also end an answer at this text (repeatable).")
@click.option(
    "--adapt",
    is_flag=True,
    help="Dynamic evaluation: after each turn, a copy of the weights learns from it (the style "
    "is not changed), so the names and words of this conversation grow likelier.",
)
@penalty_options
@style_options
def chat_command(
    style: str,
    as_: str | None,
    to: str | None,
    temperature: float | None,
    top_k: int | None,
    top_p: float | None,
    sampler: str | None,
    params: dict[str, str],
    seed: int | None,
    max_length: int | None,
    stop: tuple[str, ...],
    adapt: bool,
    repetition_penalty: float,
    presence_penalty: float,
    frequency_penalty: float,
    check_copy: int | None,
    int8: bool,
    fp16: bool,
    device: str,
) -> None:
    """Chat with STYLE, one line per message (type /help for commands).

    With a play, the answer is a turn by a character: `stylegen chat bard --as ROMEO --to JULIET`.
    Works in pipes: `echo "Good morrow" | stylegen chat bard`.
    """
    from stylegen import ChatSession, Penalties, sampler_choice, torchless_style

    options = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
    name, values, warnings = sampler_choice(sampler, options, params)  # the rule generate follows
    for message in warnings:
        click.echo(f"warning: {message}", err=True)
    # Without torch where it can (stylegen/torchless.py); what needs torch later (a sampler
    # plugin, /save-state, /load-state) hands the conversation over to it.
    light = None if (adapt or int8 or fp16) else torchless_style(style, device, name)
    loaded, copies = load_for_writing(style, device, int8, check_copy, fp16, loaded=light)
    session = ChatSession(
        loaded, user=as_, to=to, sampler=name, params=values,
        seed=seed, max_tokens=max_length, stops=stop,
        penalties=Penalties(repetition_penalty, presence_penalty, frequency_penalty), adapt=adapt,
    )  # fmt: skip
    for given in (as_, to):
        hint = session.format.unknown_speaker(given) if given else None
        if hint:
            click.echo(f"warning: {hint}", err=True)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    repl = Repl(session, sys.stdin, sys.stdout, sys.stderr, interactive, copies)

    def on_sigint(signum: int, frame: Any) -> None:
        if repl.cancel.is_set():
            raise KeyboardInterrupt
        repl.cancel.set()  # stop the answer between two steps; a second Ctrl-C leaves

    previous = (
        signal.signal(signal.SIGINT, on_sigint) if threading.current_thread() is threading.main_thread() else None
    )
    try:
        repl.run()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


COMMANDS = [chat_command]
