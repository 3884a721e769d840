"""The `html` extractor: the text a browser shows, through the stdlib's `html.parser`.

Scripts, styles, the `<head>`, navigation and hidden elements are dropped; block elements
start new lines (paragraph-like ones a blank line); whitespace collapses as in a browser,
except inside `<pre>`; entities are decoded.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

from stylegen.builtin.extract_text import binary_reason, decode_text

#: Elements whose content is not shown as text (or is page furniture: navigation).
SKIP = frozenset(
    "script style noscript template head title svg math nav iframe object canvas select datalist audio video".split()
)
#: Elements that stand apart from the text around them by a blank line.
PARAGRAPH = frozenset(
    "p h1 h2 h3 h4 h5 h6 blockquote pre ul ol dl table figure hr form fieldset details address".split()
)
#: Elements that start a new line.
LINE = frozenset(
    "div section article main header footer aside li dt dd tr caption figcaption summary legend body html br".split()
)
VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_SPACE = re.compile(r"[ \t\n\r\f]+")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []  # finished lines ("" for a blank line)
        self.current: list[str] = []  # the line being written
        self.pending = 0  # line breaks owed before the next text: 1 a new line, 2 a blank line
        self.skip: tuple[str, int] | None = None  # (tag, nesting) while inside a skipped element
        self.pre = 0  # depth of <pre> elements
        self.pre_start = False  # just after <pre>: a line break here is not shown
        self.lists: list[int] = []  # per open list: the next item number (0 for <ul>)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip:
            if tag == self.skip[0]:
                self.skip = (tag, self.skip[1] + 1)
            elif tag == "body" and self.skip[0] == "head":  # an unclosed <head>
                self.skip = None
            return
        hidden = any(k == "hidden" or (k == "aria-hidden" and v == "true") for k, v in attrs)
        if (tag in SKIP or hidden) and tag not in VOID:
            self.skip = (tag, 1)
            return
        if tag == "br":
            self._end_line()
        elif tag in PARAGRAPH or tag in LINE:
            self._block(2 if tag in PARAGRAPH else 1)
        self.pre_start = tag == "pre"
        if tag == "pre":
            self.pre += 1
        elif tag in ("ul", "ol"):
            self.lists.append(1 if tag == "ol" else 0)
        elif tag == "li":
            number = self.lists[-1] if self.lists else 0
            if self.lists and number:
                self.lists[-1] += 1
            self._text(f"{number}. " if number else "- ")
        elif tag in ("td", "th") and self.current:
            self._text(" ")

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag == self.skip[0]:
                self.skip = (tag, self.skip[1] - 1) if self.skip[1] > 1 else None
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        if tag in PARAGRAPH or (tag in LINE and tag != "br"):
            self._block(2 if tag in PARAGRAPH else 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            if self.pre_start and data.startswith("\n"):
                data = data[1:]
            self.pre_start = False
            first, *rest = data.replace("\xa0", " ").split("\n")
            self._text(first, keep=True)
            for part in rest:
                self._end_line()
                self._text(part, keep=True)
        else:
            self._text(_SPACE.sub(" ", data).replace("\xa0", " "))

    def _text(self, text: str, keep: bool = False) -> None:
        if not keep and (not self.current or self.current[-1].endswith(" ")):
            text = text.lstrip(" ")
        if not text:
            return
        if self.pending == 2:  # (the line before has been ended by `_block`)
            self.lines.append("")
        self.pending = 0
        self.current.append(text)

    def _end_line(self) -> None:
        self.lines.append("".join(self.current).rstrip())
        self.current = []

    def _block(self, breaks: int) -> None:
        if "".join(self.current).strip():
            self._end_line()
        else:
            self.current = []
        self.pending = max(self.pending, breaks) if self.lines else 0

    def text(self) -> str:
        self.close()
        if self.current:
            self._end_line()
        out: list[str] = []
        for line in self.lines:
            if line or (out and out[-1]):
                out.append(line)
        while out and not out[-1]:
            out.pop()
        return "\n".join(out) + "\n" if out else ""


def html_to_text(markup: str) -> str:
    """The visible text of an HTML document or fragment."""
    parser = _TextParser()
    parser.feed(_defuse(markup))
    return parser.text()


def _defuse(markup: str) -> str:
    """`markup` with each `<` that cannot start a complete tag, comment or section (no `>`,
    `-->` or `]>` anywhere after it) written `&lt;`. The parser reads such a `<` as text too,
    but only after scanning the rest of the document for its end, once per `<`: quadratic
    ("<a " * 50_000 took minutes). Linear here; the visible text is the same."""
    last_gt, last_comment_end = markup.rfind(">"), markup.rfind("-->")
    last_section_end = markup.rfind("]>")
    if (
        markup.rfind("<") < last_gt
        and markup.rfind("<!--") + 4 <= max(last_comment_end, 3)
        and markup.rfind("<![") < last_section_end + ("<![" not in markup)
    ):
        return markup  # every construct has its end after it: nothing to do (the usual case)
    parts: list[str] = []
    start = 0
    for m in re.finditer("<", markup):
        i = m.start()
        if markup.startswith("<!--", i):
            complete = last_comment_end >= i + 4
        elif markup.startswith("<![", i):
            complete = last_section_end > i
        else:
            complete = last_gt > i
        if not complete:
            parts += [markup[start:i], "&lt;"]
            start = i + 1
    return "".join(parts) + markup[start:]


def decode_html(data: bytes, origin: str, errors: str) -> str:
    """UTF-8, or the charset a `<meta>` declares when the bytes are not UTF-8 (latin-1 read as
    windows-1252, as browsers do)."""
    try:
        if binary_reason(data) is None:
            return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if binary_reason(data) is None and (m := _CHARSET.search(data[:4096])):
        try:
            name = codecs.lookup(m[1].decode("ascii")).name
        except LookupError:
            name = "utf-8"
        if name in ("latin-1", "iso8859-1", "ascii"):
            name = "cp1252"
        if name != "utf-8":
            return data.decode(name, errors="replace")
    return decode_text(data, origin, errors)  # a BOM, binary (SkipFile), or bad UTF-8 per `errors`


class HtmlExtractor:
    name = "html"
    description = "HTML pages: the visible text (scripts, styles, head and navigation dropped)"
    suffixes = (".html", ".htm", ".xhtml")

    def extract(self, data: bytes, origin: str, errors: str) -> str:
        return html_to_text(decode_html(data, origin, errors))
