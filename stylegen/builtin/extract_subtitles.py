"""The `subtitles` extractor: the spoken text of SubRip (.srt) and WebVTT (.vtt) files.

Each cue becomes one line: cue numbers and identifiers, timestamps, cue settings, the WEBVTT
header, NOTE/STYLE/REGION blocks and inline tags (`<i>`, `<c.yellow>`, `<v Name>`, `{\\an8}`)
are dropped; a cue's lines are joined with spaces, except that a line starting with a dash
(a second speaker) starts a new line. A cue repeating the one before is dropped, and so is a
leading line repeating the last line of the previous cue (the "roll-up" captions of
automatic subtitles).
"""

from __future__ import annotations

import html
import re

from stylegen.builtin.extract_text import decode_text
from stylegen.protocols import SkipFile

_TIMING = re.compile(r"^\s*(?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3}\s*-->")
_SKIP_BLOCK = re.compile(r"^(?:WEBVTT|NOTE|STYLE|REGION)(?:[ \t]|$)")
_TAG = re.compile(r"</?[A-Za-z0-9._:-]+(?:[ .][^<>]*)?>|\{\\[^{}]*\}")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def cues(text: str) -> list[list[str]]:
    """The text lines of each cue, tags removed, in file order."""
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip("\n"))
    out: list[list[str]] = []
    for block in blocks:
        lines = block.split("\n")
        timing = next((i for i, line in enumerate(lines) if _TIMING.match(line)), None)
        if timing is None:
            if _SKIP_BLOCK.match(lines[0]) or not out:
                continue  # a header or comment block (or stray text before the first cue)
            body = lines  # text after a blank line inside a cue
        else:
            body = lines[timing + 1 :]
        cleaned = [_clean(line) for line in body]
        cleaned = [line for line in cleaned if line]
        if timing is None:
            out[-1].extend(cleaned)
        elif cleaned:
            out.append(cleaned)
    return out


def _clean(line: str) -> str:
    line = _ENTITY.sub(lambda m: html.unescape(m[0]), _TAG.sub("", line)).replace("\xa0", " ")
    return " ".join(line.split())


def subtitles_to_text(text: str) -> str:
    """One line per cue (see the module docstring)."""
    out: list[str] = []
    previous: list[str] = []
    for lines in cues(text):
        if lines == previous:
            continue
        new = lines[1:] if previous and lines[0] == previous[-1] else lines
        previous = lines
        joined: list[str] = []
        for line in new:
            if joined and not line.startswith("-"):
                joined[-1] += " " + line
            else:
                joined.append(line)
        out.extend(joined)
    return "\n".join(out) + "\n" if out else ""


class SubtitlesExtractor:
    name = "subtitles"
    description = "SubRip and WebVTT subtitles: one line per cue; numbers, timings and tags dropped"
    suffixes = (".srt", ".vtt")

    def extract(self, data: bytes, origin: str, errors: str) -> str:
        text = subtitles_to_text(decode_text(data, origin, errors))
        if not text:
            raise SkipFile("no subtitle text")
        return text
