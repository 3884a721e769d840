"""Extractors: each file type on real-looking files, chosen by suffix, and a mixed-folder build."""

from __future__ import annotations

import gzip
import json
import re
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

from stylegen import plugins
from stylegen.builtin.extract_markdown import MarkdownExtractor
from stylegen.corpus import build_corpus
from stylegen.corpus.build import file_extractor
from stylegen.errors import StylegenError
from stylegen.protocols import SkipFile


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8", newline="")
    return path


def extract(path: Path, errors: str = "strict", **options: Any) -> str:
    """The text of `path` through the extractor its suffix chooses, as `corpus build` reads it."""
    return file_extractor(options)(path, errors)


# --------------------------------------------------------------------------- registration


def test_each_extractor_is_registered_with_its_suffixes() -> None:
    found = {e.name: e.obj for e in plugins.registry().of_kind("extractor")}
    assert {"text", "code", "markdown", "html", "jsonl", "csv", "subtitles"} <= set(found)
    claimed = [s for e in found.values() for s in e.suffixes]
    assert len(claimed) == len(set(claimed)), "two extractors claim one suffix"
    assert all(s == "*" or (s.startswith(".") and s == s.lower()) for s in claimed)
    assert all(e.description and "\n" not in e.description for e in found.values())
    assert found["jsonl"].options == ("field",) and found["csv"].options == ("column",)


# --------------------------------------------------------------------------- markdown

README = """
---
title: Stylegen
tags: [text, style]
---

# Stylegen *style* generator #

[![build](https://ci.example.com/badge.svg)](https://ci.example.com)

Stylegen learns the **style** of a corpus and writes in it. See the
[documentation](https://example.com/docs "Docs") or [the FAQ][faq].\x20\x20
It runs on a _laptop_, even with `--device cpu`.

Install
-------

```console
$ pip install stylegen

$ stylegen corpus build bard shakespeare
```

> **Note:** training takes a few minutes.
> > Nested quote.

* Character models
+ Word pieces \\(SentencePiece\\)
    - nested item
1. first step
2. second step

<p align="center">An <em>HTML</em> paragraph</p>

<!-- TODO:
write more -->

Escaped \\*stars\\*, snake_case_names, 2 * 3 = 6, AT&T &amp; <https://example.com/a_b>.

[faq]: https://example.com/faq
"""

README_TEXT = """\
Stylegen style generator

build

Stylegen learns the style of a corpus and writes in it. See the
documentation or the FAQ.
It runs on a laptop, even with --device cpu.

Install

$ pip install stylegen

$ stylegen corpus build bard shakespeare

Note: training takes a few minutes.
Nested quote.

- Character models
- Word pieces (SentencePiece)
    - nested item
1. first step
2. second step

An HTML paragraph

Escaped *stars*, snake_case_names, 2 * 3 = 6, AT&T & https://example.com/a_b.
"""


def test_markdown_readme(tmp_path: Path) -> None:
    path = write(tmp_path / "README.md", README)
    assert extract(path) == README_TEXT


def test_markdown_code_can_be_dropped_and_plain_text_is_untouched(tmp_path: Path) -> None:
    doc = "Text.\n\n```python\nx = 1\n```\n\n    indented code\n\nMore text.\n"
    assert MarkdownExtractor(keep_code=False).extract(doc.encode(), "a.md", "strict") == "Text.\n\nMore text.\n"
    assert MarkdownExtractor().extract(doc.encode(), "a.md", "strict") == (
        "Text.\n\nx = 1\n\nindented code\n\nMore text.\n"
    )
    plain = "the quick brown fox jumps over the lazy dog.\n" * 3
    assert extract(write(tmp_path / "plain.markdown", plain)) == plain


# --------------------------------------------------------------------------- html

PAGE = """
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>My Page</title>
  <style>body { color: red; }</style>
  <script>var s = "</div>"; document.write("<p>hi</p>");</script>
</head>
<body>
  <nav><ul><li><a href="/">Home</a></li><li><a href="/about">About</a></li></ul></nav>
  <h1>A   Title</h1>
  <p>First paragraph with <b>bold</b> and <i>italic</i>
     text, entities: &lt;tag&gt; &amp; caf&eacute;&nbsp;&copy; &#8212; done.</p>
  <p>Line one<br>line two<br/>line three</p>
  <div hidden>secret</div>
  <ul>
    <li>apple</li>
    <li>pear</li>
  </ul>
  <ol><li>first</li><li>second</li></ol>
  <pre>
def f():
    return   1

print(f())
</pre>
  <table><tr><th>Name</th><th>Age</th></tr><tr><td>Ann</td><td>30</td></tr></table>
  <noscript>Please enable JavaScript.</noscript>
  <!-- a comment -->
  <footer>The end.</footer>
</body>
</html>
"""

PAGE_TEXT = """\
A Title

First paragraph with bold and italic text, entities: <tag> & café © — done.

Line one
line two
line three

- apple
- pear

1. first
2. second

def f():
    return   1

print(f())

Name Age
Ann 30

The end.
"""


def test_html_page(tmp_path: Path) -> None:
    assert extract(write(tmp_path / "page.html", PAGE)) == PAGE_TEXT


def test_html_declared_charset(tmp_path: Path) -> None:
    page = tmp_path / "old.htm"
    page.write_bytes(
        '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"><p>café “ok”'.encode("cp1252")
    )
    assert extract(page) == "café “ok”\n"


# --------------------------------------------------------------------------- code


def test_code_is_verbatim(tmp_path: Path) -> None:
    source = '#!/usr/bin/env python\n"""Doc *string*."""\n\n\ndef f(x):\n\treturn x  # [not](a link)  \n'
    assert extract(write(tmp_path / "tool.py", source)) == source
    assert extract(write(tmp_path / "conf.toml", "[a]\nb = 1\n")) == "[a]\nb = 1\n"


# --------------------------------------------------------------------------- json lines

CHAT = """
{"id": 1, "message": {"text": "Hello there.\\nSecond line.", "lang": "en"}}
{"id": 2, "message": {"text": "General Kenobi!"}}
{"id": 3, "message": {"text": "oops"
{"id": 4, "message": {}}

{"id": 5, "message": {"text": "Caf\\u00e9 au lait."}}
"""


def test_jsonl_nested_field_and_a_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "chat.jsonl", CHAT)
    with pytest.raises(StylegenError, match=r"chat\.jsonl:3: not valid JSON"):
        extract(path, field="message.text")
    expected = "Hello there.\nSecond line.\n\nGeneral Kenobi!\n\nCafé au lait.\n"
    assert extract(path, "skip", field="message.text") == expected
    assert "skipped 1 line(s) not valid JSON (first: line 3), 1 record(s) without a field 'message.text'" in (
        capsys.readouterr().err
    )
    assert extract(path, "replace", field="message.text") == expected
    with pytest.raises(SkipFile, match=r"no record with text: .*4 record\(s\) without a field 'message.body'"):
        extract(path, "skip", field="message.body")


def test_jsonl_default_field(tmp_path: Path) -> None:
    lines = [{"text": "from text", "author": "ann"}, {"body": "the only string", "n": 3}, "a bare string", [1, 2]]
    path = write(tmp_path / "mixed.ndjson", "".join(json.dumps(x) + "\n" for x in lines))
    assert extract(path) == "from text\n\nthe only string\n\na bare string\n"
    assert extract(path, field="author") == "ann\n"
    with pytest.raises(SkipFile, match="no JSON records"):
        extract(write(tmp_path / "empty.jsonl", "\n\n"))
    with pytest.raises(SkipFile, match=r"use --field NAME"):
        extract(write(tmp_path / "numbers.jsonl", '{"a": 1, "b": "x", "c": "y"}\n'))


# --------------------------------------------------------------------------- csv / tsv

QUOTES_CSV = 'id,author,text\r\n1,Ann,"A quoted cell, with a comma\r\nand a second line"\r\n2,Bob,"She said ""hi""."\r\n3,Cy,\r\n'


def test_csv_quoted_multiline_cells(tmp_path: Path) -> None:
    path = write(tmp_path / "quotes.csv", QUOTES_CSV)
    assert extract(path) == 'A quoted cell, with a comma\nand a second line\n\nShe said "hi".\n'
    assert extract(path, column="Author") == "Ann\n\nBob\n\nCy\n"
    assert extract(path, column="2") == "Ann\n\nBob\n\nCy\n"  # a number counts from 1; the header is left out
    with pytest.raises(SkipFile, match=r"no 'body' column \(first row: 'id', 'author', 'text'"):
        extract(path, column="body")
    with pytest.raises(StylegenError, match="numbered from 1"):
        extract(path, column="0")


def test_csv_dialects_and_headers(tmp_path: Path) -> None:
    semicolons = write(tmp_path / "semi.csv", 'nr;Text\n1;"one; two"\n2;three\n')
    assert extract(semicolons) == "one; two\n\nthree\n"
    no_header = write(tmp_path / "rows.csv", "1,Ann,hello\n2,Bob,bye\n")
    assert extract(no_header, column="3") == "hello\n\nbye\n"
    with pytest.raises(SkipFile, match=r"no 'text' column \(first row: '1', 'Ann', 'hello'; use --column"):
        extract(no_header)


def test_tsv(tmp_path: Path) -> None:
    path = write(tmp_path / "lines.tsv", 'speaker\ttext\nAnn\tHello, "quoted" world\nBob\tTabs\tmore\nCy\n')
    assert extract(path) == 'Hello, "quoted" world\n\nTabs\n'


# --------------------------------------------------------------------------- subtitles

SRT = """
1
00:00:01,000 --> 00:00:03,500 X1:100 X2:200 Y1:10 Y2:20
{\\an8}<i>Hello there,</i>
<b>my friend.</b>

2
00:00:03,600 --> 00:00:05,000
- How are you?
- <font color="#ffff00">Fine.</font>

3
00:00:05,000 --> 00:00:06,000
- How are you?
- <font color="#ffff00">Fine.</font>

4
00:00:07,000 --> 00:00:09,000
Tom &amp; Jerry
"""

VTT = """
WEBVTT - Captions
Kind: captions
Language: en

NOTE a comment
over two lines

STYLE
::cue { color: yellow }

intro
00:00.000 --> 00:02.000 align:start position:10% line:0
<v Roger Bingham>We are in New York City

00:00:02.000 --> 00:00:04.000
We are in New York City
<c.yellow>and it is</c> <00:00:03.500>cold

3
00:00:04.000 --> 00:00:06.000
and it is cold

00:00:06.000 --> 00:00:08.000
on the <b>first</b> day.
"""


def test_srt(tmp_path: Path) -> None:
    path = write(tmp_path / "film.srt", SRT.replace("\n", "\r\n"))
    assert extract(path) == "Hello there, my friend.\n- How are you?\n- Fine.\nTom & Jerry\n"


def test_vtt(tmp_path: Path) -> None:
    assert extract(write(tmp_path / "talk.vtt", VTT)) == "We are in New York City\nand it is cold\non the first day.\n"
    with pytest.raises(SkipFile, match="no subtitle text"):
        extract(write(tmp_path / "empty.vtt", "WEBVTT\n\nNOTE nothing here\n"))


# --------------------------------------------------------------------------- binary and encodings

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"


def binary_files(folder: Path) -> dict[str, str]:
    """Binary files written into `folder`: name -> the reason it is skipped for."""
    (folder / "logo.png").write_bytes(PNG)
    with zipfile.ZipFile(folder / "notes.txt.zip", "w") as z:
        z.writestr("notes.txt", "text inside a zip\n")
    (folder / "data.bin").write_bytes(b"abc\x00def")
    (folder / "paper.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n")
    (folder / "log.md").write_bytes(gzip.compress(b"a gzipped markdown file\n", mtime=0))
    return {
        "logo.png": "binary file (PNG image)",
        "notes.txt.zip": "binary file (ZIP archive)",
        "data.bin": "binary file (contains NUL bytes)",
        "paper.pdf": "binary file (PDF document)",
        "log.md": "binary file (gzip archive)",
    }


def test_binary_files_are_skipped_with_the_reason(tmp_path: Path) -> None:
    for name, reason in binary_files(tmp_path).items():
        for errors in ("strict", "replace"):
            with pytest.raises(SkipFile, match=f"^{re.escape(reason)}$"):
                extract(tmp_path / name, errors)


def test_utf16_with_a_bom_is_text(tmp_path: Path) -> None:
    path = tmp_path / "windows.srt"
    path.write_bytes("1\r\n00:00:01,000 --> 00:00:02,000\r\nÇa va ?\r\n".encode("utf-16"))
    assert extract(path) == "Ça va ?\n"


# --------------------------------------------------------------------------- a whole corpus


def test_build_from_a_folder_of_mixed_files(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    write(folder / "README.md", README)
    write(folder / "page.html", PAGE)
    write(folder / "chat.jsonl", '{"text": "A line of chat."}\n{"user": 7}\n')
    write(folder / "quotes.csv", QUOTES_CSV)
    write(folder / "numbers.csv", "x,y\n1,2\n")
    write(folder / "film.srt", SRT)
    write(folder / "notes.txt", "Plain notes.\n")
    reasons = binary_files(folder)
    corpus = build_corpus("mixed", [str(folder)])

    skipped = {Path(s["origin"]).name: s["reason"] for s in corpus.manifest["skipped"]}
    assert skipped == {
        **reasons,
        "numbers.csv": "no 'text' column (first row: 'x', 'y'; use --column NAME or --column NUMBER)",
    }
    kept = [Path(s["origin"]).name for s in corpus.manifest["sources"]]
    assert kept == ["README.md", "chat.jsonl", "film.srt", "notes.txt", "page.html", "quotes.csv"]
    text = corpus.train_text() + corpus.val_text()
    for piece in ("Stylegen learns the style", "A line of chat.", "Tom & Jerry", "Plain notes.", "café ©", "She said"):
        assert piece in text
    for markup in ("<p", "](", "-->", "**", "{\\an8}", '"text"'):
        assert markup not in text


def test_extract_options_reach_the_extractors(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    write(folder / "a.jsonl", '{"msg": {"body": "from json"}, "text": "not this"}\n')
    write(folder / "b.csv", "body,text\nfrom csv,not this\n")
    corpus = build_corpus(
        "opts", [str(folder)], extract_options={"field": "msg.body", "column": "body"}, val_fraction=0.5
    )
    assert corpus.train_text() + corpus.val_text() == "from json\n\nfrom csv\n"


def test_field_and_column_options_on_the_command_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from stylegen.cli import cli
    from stylegen.corpus import load_corpus

    folder = tmp_path / "records"
    folder.mkdir()
    write(folder / "a.jsonl", '{"msg": {"body": "from json"}}\n')
    write(folder / "b.tsv", "id\tbody\n1\tfrom tsv\n")
    args = ["corpus", "build", "recs", str(folder), "--field", "msg.body", "--column", "body", "--val-fraction", "0.5"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    corpus = load_corpus("recs")
    assert corpus.train_text() + corpus.val_text() == "from json\n\nfrom tsv\n"
