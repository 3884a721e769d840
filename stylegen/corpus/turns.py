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
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_BLANK_LINE = re.compile(r"^[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class TurnFormat:
    kind: str = "none"
    speakers: dict[str, int] = field(default_factory=dict)  # name -> turns, most frequent first

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

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "speakers": self.speakers}

    @classmethod
    def from_json(cls, data: Any) -> TurnFormat:
        if not isinstance(data, dict):
            return cls()
        speakers = data.get("speakers") or {}
        return cls(str(data.get("kind", "none")), {str(k): int(v) for k, v in dict(speakers).items()})


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
    pattern = SPEAKER_LINE if kind == "speaker-line" else INLINE
    counts: Counter[str] = Counter()
    for chunk in chunks:
        counts.update(m.group(1).strip() for m in pattern.finditer(chunk))
    return dict(counts.most_common(MAX_SPEAKERS))


def _top(names: list[str]) -> dict[str, int]:
    return dict(Counter(names).most_common(MAX_SPEAKERS))
