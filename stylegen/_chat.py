"""Chat in a style: the model's state is kept across turns, so a new turn feeds only new text.

The user's message is written into the text in the corpus's own turn format (for a play: a
speaker line, the speech, a blank line); then the model writes the next turn until it ends
(the blank line, a stop sequence or a length limit) and only that answer is shown. Without
a turn format, chat continues the user's text.

A style loaded without torch (`stylegen.torchless.LightStyle`: a built-in cell, a built-in
sampler, float32 on the CPU) chats through the torch-free decoder. What needs torch — adapting
the weights, a sampler plugin, saving or loading the conversation's state — first hands the
conversation over to the torch path (`use_torch`), exactly where it is: the state, the logits,
the counts and the random generator go on as they were.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylegen import home, plugins
from stylegen._generate import DEFAULT_TEMPERATURE, Decoder, HoldBack, random_seed, sampler_params
from stylegen.corpus.turns import TurnFormat
from stylegen.errors import StylegenError, one_line
from stylegen.processors import Penalties
from stylegen.state import flatten_state, tree_map, unflatten_state

if TYPE_CHECKING:
    from stylegen._style import LoadedStyle

STATE_FORMAT = "stylegen-chat-state/1"
HEADER_LIMIT = 48  # tokens the model may spend naming the next speaker
#: The last tokens before the length cap are held back until a boundary: an answer the cap
#: cuts ends at the last sentence or line end of that stretch (else a word), never mid-word.
TAIL_TOKENS = 64
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*(?=\s)|\n")


#: The answer cap when the corpus recorded no turn lengths (a style trained before it did).
FALLBACK_MAX_TOKENS = 600
#: The default cap is this many times the corpus's 99th-percentile turn: a natural answer
#: almost never reaches it, a runaway one stops (at a boundary) well before the page fills.
CAP_OVER_P99 = 1.5
CAP_RANGE = (64, 4096)  # tokens


def default_max_tokens(fmt: TurnFormat, meta: Mapping[str, Any]) -> int:
    """The default answer cap in tokens: CAP_OVER_P99 x the corpus's 99th-percentile turn (or
    paragraph, for text without turns) in characters, over the style's characters per token
    (from its validation loss per token and per character), within CAP_RANGE; without turn
    lengths, FALLBACK_MAX_TOKENS."""
    p99 = fmt.lengths.get("p99")
    if not p99:
        return FALLBACK_MAX_TOKENS
    chars_per_token = 1.0
    bpc, nats = meta.get("val_bpc"), meta.get("val_loss")
    if isinstance(bpc, int | float) and isinstance(nats, int | float) and bpc > 0 and nats > 0:
        chars_per_token = max(1.0, float(nats) / (float(bpc) * math.log(2)))  # nats/token over nats/char
    tokens = math.ceil(CAP_OVER_P99 * p99 / chars_per_token)
    return max(CAP_RANGE[0], min(CAP_RANGE[1], tokens))


def cut_point(text: str) -> int:
    """Where to end `text` cut by the length cap: after its last sentence end (followed by a
    space) or line end, else after its last whitespace; 0 when it has neither."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if ends:
        return ends[-1]
    spaces = [i + 1 for i, ch in enumerate(text) if ch.isspace()]
    return spaces[-1] if spaces else 0


@dataclass
class Turn:
    speaker: str
    text: str


@dataclass
class ChatSession:
    """A conversation with a style. `send()` streams the answer; `speaker` names who answers."""

    style: LoadedStyle
    user: str | None = None  # who the user speaks as (turn formats only)
    to: str | None = None  # who answers; None: whoever the model writes next
    sampler: str = "temperature"
    params: Mapping[str, Any] | None = None  # None: 0.8 for the default sampler, else its own defaults
    seed: int | None = None
    max_tokens: int | None = None  # None: from the corpus's turn lengths (default_max_tokens)
    stops: Sequence[str] = ()
    penalties: Penalties = field(default_factory=Penalties)  # repetition/presence/frequency, any sampler
    adapt: bool = False  # dynamic evaluation: a copy of the weights learns each turn (training/dynamic.py)

    def __post_init__(self) -> None:
        self.format = TurnFormat.from_json(self.style.meta.get("turns"))
        if not self.format.has_turns and (self.user or self.to):
            raise StylegenError(f"style {self.style.name!r} has no turn structure: --as and --to need one")
        if self.seed is None:
            self.seed = random_seed()
        if self.params is None:
            self.params = {"temperature": DEFAULT_TEMPERATURE} if self.sampler == "temperature" else {}
        self.decoder: Any = self._new_decoder()
        self.user = self.format.resolve(self.user) if self.user else self.format.default_user()
        self.to = self.format.resolve(self.to) if self.to else None
        self.turns: list[Turn] = []
        self.speaker: str | None = None  # who is answering now (known before the answer streams)
        self.forward_tokens = 0  # tokens fed to the model so far (for tests and the curious)
        self.params = dict(self.decoder.params)
        self.previous: tuple[str, dict[str, Any]] | None = None  # the sampler before this one
        self._pieces: list[tuple[int, str]] | None = None  # each token's text, for choosing a speaker
        self.adaptation: Any = None  # with `adapt`: the weights' copy and its learning (Adaptation)
        self._turn_text = ""  # what this turn fed the model, for the adaptation
        if self.adapt:
            self._start_adapting()
        self._prefixes: set[str] = set()
        if self.max_tokens is None:
            self.max_tokens = default_max_tokens(self.format, self.style.meta)

    def _new_decoder(self) -> Any:
        """The torch-free decoder for a style loaded without torch (a `torchless.LightStyle`,
        known by its `load_with_torch`) and a sampler it draws for; else the torch one."""
        options: dict[str, Any] = {"sampler": self.sampler, "params": self.params, "seed": self.seed}
        options["penalties"] = self.penalties
        if hasattr(self.style, "load_with_torch"):
            light: Any = self.style
            if light.takes(self.sampler):
                return light.decoder(**options)
            self.style = light.load_with_torch()
        return Decoder(self.style, **options)

    @property
    def torchless(self) -> bool:
        """Whether this conversation runs without torch (so far)."""
        return hasattr(self.decoder, "to_torch")

    def use_torch(self) -> None:
        """Go on through the torch path from exactly here (nothing if already there)."""
        if self.torchless:
            light: Any = self.style  # a torchless.LightStyle
            self.style = light.load_with_torch()
            self.decoder = self.decoder.to_torch(self.style)

    def _start_adapting(self) -> None:
        import copy

        self.use_torch()
        from stylegen.training.dynamic import Adaptation

        if self.style.precision != "fp32":
            raise StylegenError(
                f"--adapt learns in float32: leave out --{self.style.precision} for style {self.style.name!r}"
            )
        model = copy.deepcopy(self.style.model)  # the style's own weights stay as they are
        model.requires_grad_(True)
        self.decoder.model = model
        self.adaptation = Adaptation(model)

    def set_adapt(self, on: bool) -> None:
        """Start adapting from here (a fresh copy of the style's weights) or stop (back to the
        style's own weights); the conversation and its state go on either way."""
        if on and self.adaptation is None:
            self._start_adapting()
        elif not on and self.adaptation is not None:
            self.decoder.model, self.adaptation = self.style.model, None
        else:
            return
        self.adapt = on
        self.decoder.reset_stepper()

    def _learn_turn(self, state: Any, text: str) -> None:
        """Adapt the weights' copy to this turn's text, read from the state the turn began with;
        the one-token step is packed again from the new weights."""
        ids = self.decoder.encode(text).numpy()
        self.adaptation.learn(ids, state, self.style.device)
        self.decoder.reset_stepper()

    # --- settings -------------------------------------------------------------------------
    def set_sampler(self, sampler: str, params: Mapping[str, Any] | None = None) -> None:
        if self.torchless and not self.decoder.takes(sampler):
            plugins.registry().entry("sampler", sampler)  # an unknown name is an error before any change
            self.use_torch()
        before = (self.sampler, dict(self.decoder.params))
        self.decoder.set_sampler(sampler, params or {})
        if sampler != before[0]:
            self.previous = before
        self.sampler, self.params = sampler, dict(self.decoder.params)

    def fall_back(self) -> str:
        """After the sampler failed: go back to the sampler used before it (or the default
        temperature sampler); returns its name. The conversation is left as it is."""
        name, params = self.previous or ("temperature", {"temperature": DEFAULT_TEMPERATURE})
        if name == self.sampler:
            name, params = "temperature", {"temperature": DEFAULT_TEMPERATURE}
        self.decoder.set_sampler(name, params)
        self.sampler, self.params, self.previous = name, dict(self.decoder.params), None
        return name

    def recover(self, before: dict[str, Any], error: Exception) -> str | None:
        """After a plugin failed during an answer: the conversation back as the snapshot
        `before` (taken before the message) found it, and, when the sampler was the one to
        blame, the sampler used before it in its place. Returns that sampler's name, or None
        when the sampler stays (the model failed: another sampler would not help)."""
        failed = self.sampler
        self.restore(before)
        if str(error).startswith(f"sampler {failed!r}"):
            return self.fall_back()
        return None

    def set_param(self, name: str, value: Any) -> None:
        self.decoder.set_sampler(self.sampler, {**self.decoder.params, name: value})
        self.params = dict(self.decoder.params)

    def set_penalty(self, name: str, value: float) -> None:
        """Set one penalty (`repetition`, `presence` or `frequency`); it applies from the next token."""
        if name not in ("repetition", "presence", "frequency"):
            raise StylegenError(f"unknown penalty {name!r} (repetition, presence, frequency)")
        self.penalties = dataclasses.replace(self.penalties, **{name: float(value)})
        self.decoder.penalties = self.penalties

    def set_user(self, name: str) -> None:
        self._need_turns("/as")
        self.user = self.format.resolve(name)

    def set_to(self, name: str | None) -> None:
        self._need_turns("/to")
        self.to = self.format.resolve(name) if name else None

    def _need_turns(self, what: str) -> None:
        if not self.format.has_turns:
            raise StylegenError(f"style {self.style.name!r} has no turn structure: {what} needs one")

    def reset(self) -> None:
        """Forget the conversation and the model's state."""
        self.decoder.reset()
        self.turns.clear()

    def snapshot(self) -> dict[str, Any]:
        """The conversation as it is now, for `restore`: the model's state, the last logits,
        the penalty counts, the random generator's state and the turns, all copied (the
        session goes on without changing it). Take it between turns, not while `send` runs.

        The settings (sampler, penalties, speakers, limits) are not part of it: they stay as
        they are when the snapshot is restored.
        """

        decoder = self.decoder
        return {
            "state": tree_map(clone, decoder.state),
            "last": clone(decoder.last),
            "counts": clone(decoder.counts),
            "rng": decoder.generator.get_state(),  # a copy
            "sampler_state": tree_map(clone, decoder.sampler_state),
            "turns": [Turn(t.speaker, t.text) for t in self.turns],
            "speaker": self.speaker,
            "forward_tokens": self.forward_tokens,
            "adapted": self.adaptation.snapshot() if self.adaptation is not None else None,
        }

    def restore(self, snapshot: dict[str, Any], *, rng: bool = True) -> None:
        """Put the conversation back as `snapshot` found it; it can be restored again later.

        With `rng=False` the random generator goes on from where it is, so the next answer is
        a new draw from the same point of the conversation (what "regenerate" wants); with
        the default, the same sampler and settings write the same answer again.
        """

        decoder = self.decoder
        decoder.state = tree_map(clone, snapshot["state"])
        decoder.last = clone(snapshot["last"])
        decoder.counts = clone(snapshot["counts"])
        decoder.flush()  # between turns nothing is held back; drop any part of a character
        if rng:
            decoder.generator.set_state(snapshot["rng"])
        if "sampler_state" in snapshot:
            decoder.sampler_state = tree_map(clone, snapshot["sampler_state"])
        self.turns[:] = [Turn(t.speaker, t.text) for t in snapshot["turns"]]
        self.speaker = snapshot["speaker"]
        self.forward_tokens = snapshot["forward_tokens"]
        if self.adaptation is not None and snapshot.get("adapted") is not None:
            self.adaptation.restore(snapshot["adapted"])  # the weights as they were then
            decoder.reset_stepper()

    # --- talking ----------------------------------------------------------------------------
    def _feed(self, text: str) -> None:
        self._turn_text += text
        ids = self.decoder.encode(text)
        self.forward_tokens += len(ids)
        self.decoder.feed(ids)

    def _step(self) -> str:
        self.forward_tokens += 1
        return self.decoder.step()[0]

    def send(self, message: str, cancel: threading.Event | None = None) -> Iterator[str]:
        """Feed the user's turn, then stream the answer until its turn ends."""
        fmt = self.format
        self._turn_text = ""
        start_state = None
        if self.adaptation is not None and self.decoder.state is not None:
            start_state = tree_map(lambda t: t.detach().clone(), self.decoder.state)
        if fmt.has_turns:
            assert self.user is not None
            self.turns.append(Turn(self.user, message.strip()))
            self._feed(fmt.turn(self.user, message) + (fmt.header(self.to) if self.to else ""))
            stops = [fmt.end, *self.stops]
        else:
            self.turns.append(Turn("user", message))
            self._feed(message)
            stops = ["\n\n", *self.stops]
        self.speaker = self.to if fmt.has_turns else "style"
        raw, answer, spent, ended = "", "", 0, False
        hold = HoldBack(stops)
        if fmt.has_turns and self.to is None:
            header, spent = self._read_header(cancel)
            raw += header
            name = fmt.parse_header(header.rstrip(" \n"))
            self.speaker = name or "?"
            if name is None:  # the model did not write a speaker: its text is the answer
                answer, ended = hold.push(header)
                if answer:
                    yield answer
        # A turn cut by the cap ends at a boundary; text without turns continues as generate does.
        cap = self.max_tokens or FALLBACK_MAX_TOKENS
        tail_from = cap - (min(TAIL_TOKENS, cap // 4) if fmt.has_turns else 0)
        pending = ""  # the tail's text since its last boundary, shown only once the answer goes on
        stopped = False
        while spent < cap and not ended:
            if cancel is not None and cancel.is_set():
                stopped = True
                break
            chunk = self._step()
            spent += 1
            raw += chunk
            out, ended = hold.push(chunk)
            if out and spent > tail_from and not ended:
                pending += out
                out, pending = pending[: cut_point(pending)], pending[cut_point(pending) :]
            elif out or ended:
                out, pending = pending + out, ""
            if out:
                answer += out
                yield out
        rest = self.decoder.flush()[0]  # part of a character held back: never carried into the next turn
        if rest and not ended:
            raw += rest
            out, ended = hold.push(rest)
            pending += out
        if pending and (ended or stopped or not cut_point(answer)):
            answer += pending  # a natural end, Esc, or nothing to cut back to: shown as written
            yield pending
        fed = self._turn_text  # the user's turn (and the header asked for)
        if fmt.has_turns and not raw.endswith(fmt.end):
            self._close_turn(raw)
        self.turns.append(Turn(self.speaker or "?", answer.strip()))
        if self.adaptation is not None:
            self._learn_turn(start_state, fed + raw + self._turn_text[len(fed) :])

    def _read_header(self, cancel: threading.Event | None) -> tuple[str, int]:
        """Let the model name the next speaker: up to the end of the header. With the corpus's
        speakers known, the model chooses among them (each token drawn only from those that
        keep the header the start of a speaker's header), so an invented or misspelt name
        (`THERGaUN`) never appears; without them, whatever the model writes up to the end."""
        end = "\n" if self.format.kind == "speaker-line" else ": "
        header, spent = "", 0
        headers = self.format.header_choices()
        while spent < HEADER_LIMIT and not header.endswith(end):
            if cancel is not None and cancel.is_set():
                break
            only = self._header_ids(header, headers) if headers else None
            if only is not None and not len(only):
                only = None  # a token decoded unlike its table entry: the model goes on unguided
            self.forward_tokens += 1
            header += self.decoder.step(only)[0]
            spent += 1
        return header, spent

    def _header_ids(self, header: str, headers: list[str]) -> list[int]:
        """The ids whose text keeps `header` the start of one of `headers` (none banned)."""
        if self._pieces is None:
            tokenizer = self.decoder.tokenizer
            banned = set(self.decoder.banned.tolist())
            self._pieces = [(i, tokenizer.decode([i])) for i in range(tokenizer.vocab_size) if i not in banned]
            self._prefixes = {h[:k] for h in headers for k in range(1, len(h) + 1)}
        prefixes = self._prefixes
        return [i for i, piece in self._pieces if piece and header + piece in prefixes]

    def _close_turn(self, raw: str) -> None:
        """After an answer cut short, feed what ends a turn, so the next one starts cleanly."""
        end = self.format.end
        for k in range(len(end), -1, -1):
            if raw.endswith(end[:k]):
                if end[k:]:
                    self._feed(end[k:])
                return

    def reply(self, message: str) -> str:
        """The whole answer to `message`."""
        return "".join(self.send(message))

    # --- transcripts and saved state -------------------------------------------------------------
    def transcript(self) -> str:
        """The conversation in the corpus's own format."""
        if self.format.has_turns:
            return "".join(self.format.turn(t.speaker, t.text) for t in self.turns)
        return "".join(t.text for t in self.turns)

    def save_transcript(self, path: Path, *, overwrite: bool = False) -> None:
        """Write the transcript to `path`; an existing file only with `overwrite`."""
        path = writable(path, overwrite)
        try:
            home.write_text(path, self.transcript())
        except OSError as e:
            raise home.write_failure(e, path, "nothing was written") from None

    def save_state(self, path: Path, *, overwrite: bool = False) -> None:
        """The conversation and the model's state, to continue later (safetensors + JSON, no
        pickle); an existing file is replaced only with `overwrite`."""
        from safetensors.torch import save_file

        self.use_torch()
        path = writable(path, overwrite)
        tensors, structure = flatten_state(self.decoder.state)
        if self.decoder.last is not None:
            tensors["last"] = self.decoder.last.contiguous()
        if self.decoder.counts is not None:
            tensors["counts"] = self.decoder.counts.contiguous()  # what the penalties count
        tensors["rng"] = self.decoder.generator.get_state()
        sampler_tensors, sampler_structure = flatten_state(self.decoder.sampler_state, "sampler")
        tensors.update(sampler_tensors)
        session = {
            "style": self.style.name,
            "style_params": self.style.meta.get("params"),
            "style_steps": self.style.meta.get("steps"),
            "user": self.user,
            "to": self.to,
            "sampler": self.sampler,
            "params": dict(self.decoder.params),
            "sampler_state": sampler_structure,
            "penalties": self.penalties.as_dict(),
            "seed": self.seed,
            "turns": [[t.speaker, t.text] for t in self.turns],
            "structure": structure,
        }
        try:
            with home.atomic_path(path) as tmp:
                save_file(tensors, str(tmp), metadata={"format": STATE_FORMAT, "session": json.dumps(session)})
        except StylegenError:
            raise
        except OSError as e:
            raise home.write_failure(e, path, "nothing was written") from None
        except Exception as e:  # safetensors' own error for a full disk
            raise StylegenError(f"{path}: cannot write: {one_line(e)}; nothing was written") from None

    def load_state(self, path: Path) -> None:
        """Continue a conversation saved by `save_state` with this same style. Everything in
        the file is checked before anything changes: a bad file is a one-line error and the
        session goes on as it was."""
        import torch
        from safetensors import SafetensorError, safe_open

        self.use_torch()
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as e:
            raise StylegenError(f"{path}: not a chat state file ({one_line(e)})") from None
        if meta.get("format") != STATE_FORMAT:
            raise StylegenError(f"{path}: not a stylegen chat state file")

        def damaged(why: str) -> StylegenError:
            return StylegenError(f"{path}: damaged chat state ({why})")

        try:
            session = json.loads(meta["session"])
        except (KeyError, json.JSONDecodeError, RecursionError):
            raise damaged("no session description") from None
        if not isinstance(session, dict):
            raise damaged("its session description is not an object")
        if (session.get("style"), session.get("style_params"), session.get("style_steps")) != (
            self.style.name,
            self.style.meta.get("params"),
            self.style.meta.get("steps"),
        ):
            raise StylegenError(f"{path}: saved with style {session.get('style')!r} as it was then, not with this one")
        try:
            state = unflatten_state(session.get("structure"), tensors)
            sampler_state = unflatten_state(session.get("sampler_state", {"t": "none"}), tensors)
        except (StylegenError, AttributeError, TypeError, KeyError, RecursionError):
            raise damaged("its model state does not match its description") from None
        device = self.style.device
        template = self.decoder.model.init_state(1, device)
        if _layout(state) != _layout(template):
            raise damaged(f"its model state is {_describe(state)}, this style's is {_describe(template)}")
        vocab = self.decoder.tokenizer.vocab_size
        for key in ("last", "counts"):
            t = tensors.get(key)
            if t is not None and (tuple(t.shape) != (1, vocab) or t.dtype != torch.float32):
                raise damaged(f"{key!r} is {t.dtype} {tuple(t.shape)}, not float32 (1, {vocab})")
        counts = tensors.get("counts")
        if counts is not None and not bool(((counts >= 0) & torch.isfinite(counts)).all()):
            raise damaged("'counts' holds negative or non-finite counts")
        rng = tensors.get("rng")
        expected_rng = torch.Generator().get_state()
        if rng is None or rng.dtype != torch.uint8 or rng.shape != expected_rng.shape:
            raise damaged("no random generator state, or not one of this PyTorch")
        user, to, seed = session.get("user"), session.get("to"), session.get("seed")
        if not all(v is None or isinstance(v, str) for v in (user, to)):
            raise damaged("'user' and 'to' must be names")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise damaged("'seed' must be a whole number")
        turns = session.get("turns")
        if not isinstance(turns, list) or not all(
            isinstance(t, list) and len(t) == 2 and all(isinstance(x, str) for x in t) for t in turns
        ):
            raise damaged("'turns' must be a list of [speaker, text] pairs")
        penalties = session.get("penalties", {})
        if not isinstance(penalties, dict) or not set(penalties) <= {"repetition", "presence", "frequency"}:
            raise damaged("'penalties' must hold only repetition, presence and frequency")
        try:
            restored_penalties = Penalties(**penalties)
            name, params = session.get("sampler"), session.get("params")
            if not isinstance(name, str) or not isinstance(params, dict):
                raise damaged("no sampler and parameters")
            sampler_params(plugins.get("sampler", name), params)
        except StylegenError as e:
            raise StylegenError(f"{path}: {one_line(e)}") from None
        # every part checked: now the session changes, all at once
        probe = torch.Generator()
        try:
            probe.set_state(rng)
        except RuntimeError:
            raise damaged("its random generator state is not valid") from None
        self.decoder.state = tree_map(lambda t: t.to(device), state)
        self.decoder.last = tensors.get("last")
        self.decoder.counts = counts
        self.penalties = restored_penalties
        self.decoder.penalties = self.penalties
        self.decoder.generator.set_state(rng)
        self.user = self.format.resolve(user) if user else self.format.default_user()  # never None: turns need one
        self.to = self.format.resolve(to) if to else None
        self.set_sampler(name, params)
        self.decoder.sampler_state = sampler_state
        self.seed = seed
        self.turns = [Turn(s, t) for s, t in turns]


def clone(t: Any) -> Any:
    """A copy of a tensor (detached) or of a numpy array (the torch-free decoder's), or None."""
    return None if t is None else (t.copy() if hasattr(t, "copy") else t.detach().clone())


def writable(path: Path, overwrite: bool) -> Path:
    """`path` if chat may write a file there: not a folder, not inside the data home (a
    transcript must never land over a style's or a corpus's files), and not an existing file
    unless `overwrite` (`/save! FILE`). Otherwise a one-line error naming it."""
    path = Path(path)
    if path.is_dir():
        raise StylegenError(f"{path}: is a folder; give a file name")
    if home.inside_data_home(path):
        raise StylegenError(f"{path}: is inside stylegen's data home ({home.data_home()}); save somewhere else")
    if path.exists() and not overwrite:
        raise StylegenError(f"{path} already exists (use /save! or /save-state! to replace it)")
    return path


def _layout(state: Any) -> Any:
    """A state's nesting with each tensor's shape and dtype, for comparing two states."""
    if isinstance(state, (tuple, list)):
        return ("seq", tuple(_layout(s) for s in state))
    if isinstance(state, dict):
        return ("dict", tuple(sorted((str(k), _layout(v)) for k, v in state.items())))
    if state is None:
        return None
    return (tuple(state.shape), str(state.dtype))


def _describe(state: Any) -> str:
    text = str(_layout(state))
    return text if len(text) <= 120 else text[:117] + "..."


def chat(style: LoadedStyle, **options: Any) -> ChatSession:
    """A conversation with `style`: `send(message)` streams each answer, the state kept across
    turns. Options are `ChatSession`'s fields (user, to, sampler, params, seed, max_tokens, ...)."""
    return ChatSession(style, **options)
