"""Turn formats: how a corpus writes who speaks, so chat can write turns the same way.

speaker-line   a play:      "ROMEO:\\nBut soft, what light...\\n\\n"  (name line, speech, blank line)
inline         a chat log:  "alice: see you at eight\\n"             (one line per turn)
none           plain text:  chat continues the user's text
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stylegen.errors import StylegenError

KINDS = ("speaker-line", "inline", "none")
_NAME = r"[A-Za-z][A-Za-z0-9 .&'\-]{0,39}"
SPEAKER_LINE = re.compile(rf"(?:\A|\n\n)({_NAME}):\n(?=[^\n])")
INLINE = re.compile(rf"^({_NAME}): \S", re.MULTILINE)
MAX_SPEAKERS = 500
_WHOLE_NAME = re.compile(_NAME)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_BLANK_LINE = re.compile(r"^[ \t]*$", re.MULTILINE)


#: The turn lengths (characters) a corpus records: the median, the 90th and 99th percentiles,
#: the longest and how many turns (paragraphs for text without turns) were measured.
LENGTH_KEYS = ("p50", "p90", "p99", "max", "turns")


@dataclass(frozen=True)
class TurnFormat:
    kind: str = "none"
    speakers: dict[str, int] = field(default_factory=dict)  # name -> turns, most frequent first
    lengths: dict[str, int] = field(default_factory=dict)  # LENGTH_KEYS -> characters (turns: a count)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise StylegenError(f"unknown turn format {self.kind!r} (known: {', '.join(KINDS)})")

    @property
    def has_turns(self) -> bool:
        return self.kind != "none"

    def header(self, speaker: str) -> str:
        """What starts a turn by `speaker`."""
        return f"{speaker}:\n" if self.kind == "speaker-line" else f"{speaker}: "

    @property
    def end(self) -> str:
        """What ends a turn."""
        return "\n\n" if self.kind == "speaker-line" else "\n"

    def turn(self, speaker: str, text: str) -> str:
        """One whole turn in this format (line breaks inside an inline turn become spaces)."""
        body = text.strip()
        if self.kind == "inline":
            body = " ".join(body.split())
        else:
            body = re.sub(r"\n\s*\n+", "\n", body)  # a blank line would end the turn early
        return self.header(speaker) + body + self.end

    def parse_header(self, header: str) -> str | None:
        """The speaker named by a generated header (`NAME:`), or None if it is not one."""
        m = re.fullmatch(rf"({_NAME}):", header.strip())
        return m.group(1).strip() if m else None

    def resolve(self, name: str) -> str:
        """The corpus's own spelling of a speaker name (case-insensitive match), else `name`."""
        lowered = name.strip().lower()
        for known in self.speakers:
            if known.lower() == lowered:
                return known
        return name.strip()

    def unknown_speaker(self, name: str) -> str | None:
        """None when `name` is a speaker of the corpus (any case), else a one-line warning
        naming the close names (or the most frequent ones)."""
        if not self.speakers or name.strip().lower() in {k.lower() for k in self.speakers}:
            return None
        import difflib

        by_lower = {k.lower(): k for k in self.speakers}
        close = [by_lower[c] for c in difflib.get_close_matches(name.strip().lower(), list(by_lower), n=5, cutoff=0.6)]
        names, what = (close, "close names") if close else (list(self.speakers)[:5], "the most frequent")
        return f"{name.strip()!r} is not a speaker of the corpus ({what}: {', '.join(names)}; /speakers lists them)"

    def default_user(self) -> str:
        upper = sum(n for s, n in self.speakers.items() if s.isupper())
        return "YOU" if upper * 2 > sum(self.speakers.values()) else "You"

    def header_choices(self) -> list[str]:
        """Every header a generated turn may open with: one per speaker of the corpus (the
        model picks among them, so a misspelt or invented name is never shown as a speaker)."""
        return [self.header(name) for name in self.speakers if _WHOLE_NAME.fullmatch(name)]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "speakers": self.speakers}
        if self.lengths:
            data["lengths"] = self.lengths
        return data

    @classmethod
    def from_json(cls, data: Any) -> TurnFormat:
        if not isinstance(data, dict):
            return cls()
        speakers = data.get("speakers") or {}
        lengths = data.get("lengths")
        kept = (
            {k: int(v) for k, v in lengths.items() if k in LENGTH_KEYS and type(v) is int and v >= 0}
            if isinstance(lengths, dict)
            else {}
        )
        return cls(str(data.get("kind", "none")), {str(k): int(v) for k, v in dict(speakers).items()}, kept)


def detect(text: str, kind: str = "auto") -> TurnFormat:
    """Find the turn format of `text` (or count the speakers of the given `kind`).

    speaker-line: at least 3 name lines that open a paragraph, and at least a quarter of the
    paragraphs open with one. inline: at least 3 `name: text` lines, and at least half of the
    non-empty lines are such lines.
    """
    if kind not in ("auto", *KINDS):
        raise StylegenError(f"--turns must be auto, {', '.join(KINDS)} (got {kind!r})")
    if kind in ("auto", "speaker-line"):
        names = [m.group(1).strip() for m in SPEAKER_LINE.finditer(text)]
        paragraphs = max(1, len(_PARAGRAPH_BREAK.findall(text.strip())) + 1)
        if kind == "speaker-line" or (len(names) >= 3 and len(names) * 4 >= paragraphs):
            return TurnFormat("speaker-line", _top(names))
    if kind in ("auto", "inline"):
        names = [m.group(1).strip() for m in INLINE.finditer(text)]
        lines = max(1, text.count("\n") + 1 - len(_BLANK_LINE.findall(text)))
        if kind == "inline" or (len(names) >= 3 and len(names) * 2 >= lines):
            return TurnFormat("inline", _top(names))
    return TurnFormat()


def count_speakers(kind: str, chunks: Iterable[str]) -> dict[str, int]:
    """Turns per speaker over a whole text given in chunks (a turn cut by a chunk's edge
    may go uncounted), the most frequent first."""
    return count_turns(kind, chunks)[0]


def count_turns(kind: str, chunks: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
    """(turns per speaker, the most frequent first; turn lengths as LENGTH_KEYS) over a whole
    text given in chunks. A turn's length is its text's, without the speaker's name; for text
    without turns (`none`) the paragraphs are measured. A turn cut by a chunk's edge counts
    as two shorter ones; memory holds one count per distinct length."""
    pattern = SPEAKER_LINE if kind == "speaker-line" else INLINE
    counts: Counter[str] = Counter()
    sizes: Counter[int] = Counter()
    for chunk in chunks:
        if kind == "none":
            sizes.update(len(p.strip()) for p in _PARAGRAPH_BREAK.split(chunk) if p.strip())
            continue
        matches = list(pattern.finditer(chunk))
        counts.update(m.group(1).strip() for m in matches)
        for k, m in enumerate(matches):
            stop = matches[k + 1].start() if k + 1 < len(matches) else len(chunk)
            body = chunk[m.end() - (1 if kind == "inline" else 0) : stop]
            end = body.find("\n\n" if kind == "speaker-line" else "\n")
            sizes[len((body if end < 0 else body[:end]).strip())] += 1
    return dict(counts.most_common(MAX_SPEAKERS)), length_summary(sizes)


def length_summary(sizes: Counter[int]) -> dict[str, int]:
    """LENGTH_KEYS of a histogram length -> how many ({} for none)."""
    total = sum(sizes.values())
    if not total:
        return {}
    out: dict[str, int] = {"max": max(sizes), "turns": total}
    ordered = sorted(sizes.items())
    for key, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        need, seen = q * total, 0
        for size, n in ordered:
            seen += n
            if seen >= need:
                out[key] = size
                break
    return {k: out[k] for k in LENGTH_KEYS}


def _top(names: list[str]) -> dict[str, int]:
    return dict(Counter(names).most_common(MAX_SPEAKERS))
