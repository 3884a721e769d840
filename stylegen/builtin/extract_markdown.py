"""The `markdown` extractor: Markdown to the plain text a reader sees (stdlib only).

Works line by line, as a simplified CommonMark: block syntax (front matter, headings, quotes,
lists, fences, reference definitions, HTML) is handled per line, then inline syntax (code
spans, links, images, emphasis, escapes, entities) within the line. Line breaks are kept.
"""

from __future__ import annotations

import html
import re

from stylegen.builtin.extract_text import decode_text

_FRONT_MATTER = re.compile(r"\A(---|\+\+\+)[ \t]*\n(?:.*?\n)?(?:\1|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_QUOTE = re.compile(r"^ {0,3}> ?")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+|$)")
_HEADING_END = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_BREAK_OR_UNDERLINE = re.compile(r"^ {0,3}(?:(?:([-*_])[ \t]*)(?:\1[ \t]*){2,}|=+[ \t]*|-+[ \t]*)$")
_TABLE_RULE = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$")
_LIST_ITEM = re.compile(r"^([ \t]*)([-*+]|\d{1,9}[.)])(?:[ \t]+|$)(?:\[[ xX]\][ \t]+)?")
_REF_DEF = re.compile(r"""^ {0,3}\[([^\]^][^\]]*)\]:[ \t]*<?\S+?>?(?:[ \t]+(?:"[^"]*"|'[^']*'|\([^)]*\)))?[ \t]*$""")
_FOOTNOTE_DEF = re.compile(r"^ {0,3}\[\^[^\]]+\]:[ \t]*")
_INDENTED = re.compile(r"^(?: {4}|\t)")

_ESCAPE = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
_PUA = 0xF0000  # escaped characters hide here (plane 15 private use) until the line is done
_CODE = 0x100000  # and code spans here (plane 16)
_CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^\s<>]+|mailto:[^\s<>]+|[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)>")
_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_IMAGE = re.compile(r"!\[([^\]]*)\](?:\((?:[^()]|\([^()]*\))*\)|\[[^\]]*\])")
_LINK = re.compile(r"\[([^\[\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_REF_LINK = re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]")
_FOOTNOTE_REF = re.compile(r"\[\^[^\]]+\]")
_SHORTCUT = re.compile(r"\[([^\[\]]+)\](?![(:\[])")
_EMPHASIS = (
    re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"),
    re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"),
    re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"),
    re.compile(r"\*(?=[^\s*])(.+?)(?<=[^\s*])\*"),
    re.compile(r"(?<!\w)_(?=[^\s_])(.+?)(?<=[^\s_])_(?!\w)"),
)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def markdown_to_text(text: str, keep_code: bool = True) -> str:
    """The plain text of Markdown `text`; fenced and indented code is kept verbatim unless
    `keep_code` is false. Runs of blank lines outside code become one."""
    text = _FRONT_MATTER.sub("", text.replace("\r\n", "\n").replace("\r", "\n"), count=1)
    lines = text.split("\n")
    refs = {_label(m[1]) for line in lines if (m := _REF_DEF.match(_QUOTE.sub("", line)))}
    out: list[tuple[str, bool]] = []  # (line, is code)
    fence = ""  # the opening fence while inside a fenced code block
    fence_quoted = False
    in_code = in_list = in_comment = False
    prev_blank = True
    for raw in lines:
        if fence:
            line = _strip_quotes(raw) if fence_quoted else raw
            if _is_closing_fence(line, fence):
                fence = ""
            elif keep_code:
                out.append((line.rstrip(), True))
            continue
        line = _strip_quotes(raw)
        quoted = line != raw
        if in_code:
            if _INDENTED.match(line) or not line.strip():
                if keep_code:  # (blank lines in it count as text, to be merged with those after it)
                    out.append((_INDENTED.sub("", line, count=1).rstrip(), bool(line.strip())))
                continue
            in_code = False
        if prev_blank and line[:1] not in ("", " ", "\t"):  # a block at the margin ends a list
            in_list = False
        if m := _FENCE.match(line):
            fence, fence_quoted, prev_blank = m[1], quoted, False
            continue
        if prev_blank and not in_list and _INDENTED.match(line) and line.strip():
            in_code = True
            if keep_code:
                out.append((_INDENTED.sub("", line, count=1).rstrip(), True))
            continue
        if in_comment:
            if "-->" not in line:
                continue
            line, in_comment = line.split("-->", 1)[1], False
        if (start := _open_comment(line)) >= 0:
            line, in_comment = line[:start], True
        blank = not line.strip()
        if blank:
            out.append(("", False))
        elif (item := _LIST_ITEM.match(line)) and not _BREAK_OR_UNDERLINE.match(line):
            marker = item[2] if item[2][0].isdigit() else "-"
            body = _inline(line[item.end() :], refs)
            out.append((f"{item[1]}{marker} {body}".rstrip(), False))
            in_list = True
        elif text_line := _block(line, refs, out):
            out.append((text_line, False))
        prev_blank = blank
    return _join(out)


def _block(line: str, refs: set[str], out: list[tuple[str, bool]]) -> str:
    """One non-list, non-blank line as text ('' to drop it)."""
    if _BREAK_OR_UNDERLINE.match(line):  # a thematic break, or a setext heading's underline
        return "" if out and out[-1][0] else " "
    if _TABLE_RULE.match(line) or _REF_DEF.match(line):
        return ""
    if _HEADING.match(line):
        line = _HEADING_END.sub("", _HEADING.sub("", line, count=1))
    line = _FOOTNOTE_DEF.sub("", line, count=1)
    stripped = line.strip()
    if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:  # a table row
        line = stripped[1:-1].strip()
    return _inline(line.strip(), refs)


def _open_comment(line: str) -> int:
    """Where a comment left open at the end of `line` starts (-1: none). A scan with `find`,
    linear: a regex looking for each `<!--`'s end is quadratic on "<!--" * 50_000."""
    at = line.find("<!--")
    while at >= 0:
        end = line.find("-->", at + 4)
        if end < 0:
            return at
        at = line.find("<!--", end + 3)
    return -1


#: Inline rules look ahead for closing markers: quadratic on a long line of unclosed ones
#: ("**a " * 50_000), so a longer line is read in pieces cut at spaces.
MAX_INLINE = 2_000


def _inline(line: str, refs: set[str]) -> str:
    """Inline syntax removed from one line; code spans kept as their code."""
    if len(line) > MAX_INLINE:
        pieces, rest = [], line
        while len(rest) > MAX_INLINE:
            cut = rest.rfind(" ", MAX_INLINE // 2, MAX_INLINE) + 1 or MAX_INLINE
            pieces.append(_inline_piece(rest[:cut], refs))
            rest = rest[cut:]
        return "".join([*pieces, _inline_piece(rest, refs)])
    return _inline_piece(line, refs)


def _inline_piece(line: str, refs: set[str]) -> str:
    line = _ESCAPE.sub(lambda m: chr(_PUA + ord(m[1])), line)
    codes: list[str] = []  # code spans wait here, out of reach of the other rules

    def hide(m: re.Match[str]) -> str:
        code = m[2]
        if len(code) > 2 and code[0] == code[-1] == " " and code.strip():
            code = code[1:-1]
        codes.append(_unescape(code, keep_backslash=True))
        return chr(_CODE + len(codes) - 1)

    text = _inline_text(_CODE_SPAN.sub(hide, line), refs).rstrip()
    if text.endswith("\\"):  # a backslash hard line break
        text = text[:-1].rstrip()
    text = re.sub("[\U00100000-\U0010fffd]", lambda m: _nth(codes, ord(m[0]) - _CODE, m[0]), text)
    return _unescape(text)


def _inline_text(s: str, refs: set[str]) -> str:
    s = _AUTOLINK.sub(r"\1", s)
    s = _TAG.sub("", s)
    s = _IMAGE.sub(r"\1", s)
    s = _LINK.sub(r"\1", s)
    s = _REF_LINK.sub(r"\1", s)
    s = _FOOTNOTE_REF.sub("", s)
    s = _SHORTCUT.sub(lambda m: m[1] if _label(m[1]) in refs else m[0], s)
    for pattern in _EMPHASIS:
        s = pattern.sub(r"\1", s)
    return _ENTITY.sub(lambda m: html.unescape(m[0]), s)


def _unescape(s: str, keep_backslash: bool = False) -> str:
    """Escaped characters back from hiding: `\\*` -> `*` (or `\\*` again inside code)."""
    prefix = "\\" if keep_backslash else ""
    return re.sub("[\U000f0000-\U000f007f]", lambda m: prefix + chr(ord(m[0]) - _PUA), s)


def _nth(items: list[str], i: int, default: str) -> str:
    return items[i] if i < len(items) else default


def _label(s: str) -> str:
    return " ".join(s.split()).lower()


def _strip_quotes(line: str) -> str:
    while m := _QUOTE.match(line):
        line = line[m.end() :]
    return line


def _is_closing_fence(line: str, fence: str) -> bool:
    s = line.strip()
    return len(line) - len(line.lstrip(" ")) < 4 and s.startswith(fence) and not s.strip(fence[0])


def _join(out: list[tuple[str, bool]]) -> str:
    """Lines joined; runs of blank lines outside code become one; no blank lines at the ends."""
    lines: list[str] = []
    for line, code in out:
        if line == " ":  # a thematic break: a paragraph boundary
            line = ""
        if not line and not code and (not lines or not lines[-1]):
            continue
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


class MarkdownExtractor:
    name = "markdown"
    description = "Markdown as plain text: headings, lists and code kept; markup, links, HTML and front matter dropped"
    suffixes = (".md", ".markdown", ".mdown", ".mkd", ".mkdn")

    def __init__(self, keep_code: bool = True) -> None:
        self.keep_code = keep_code  # False drops fenced and indented code blocks

    def extract(self, data: bytes, origin: str, errors: str) -> str:
        return markdown_to_text(decode_text(data, origin, errors), keep_code=self.keep_code)
