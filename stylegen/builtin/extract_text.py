"""Plain text: decoding with binary detection, the `text` fallback and the verbatim `code` extractor."""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
from typing import BinaryIO

from stylegen.errors import StylegenError
from stylegen.protocols import SkipFile

SNIFF = 8192  # bytes looked at to tell text from binary

#: Signatures of common binary formats (prefixes of the file), with the name given in the reason.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b\x08", "gzip archive"),
    (b"\x7fELF", "ELF executable"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x28\xb5\x2f\xfd", "zstd archive"),
    (b"OggS\x00", "Ogg media"),
    (b"fLaC", "FLAC audio"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Microsoft Office document"),
    (b"\xca\xfe\xba\xbe", "Java class or Mach-O file"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
)
#: Byte values that text files practically never hold (C0 controls except \t \n \v \f \r and ESC).
_CONTROL = frozenset(range(1, 32)) - {9, 10, 11, 12, 13, 27}
_UTF16_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def binary_reason(data: bytes) -> str | None:
    """Why `data` is not text (`"binary file (PNG image)"` ...), or None if it may be text."""
    head = data[:SNIFF]
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return f"binary file ({kind})"
    if head[:3] == b"BZh" and head[4:10] == b"1AY&SY":
        return "binary file (bzip2 archive)"
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"WEBP", b"AVI "):
        return f"binary file (RIFF {head[8:12].decode().strip()})"
    if head[4:8] == b"ftyp":
        return "binary file (MP4/QuickTime media)"
    if b"\x00" in head:
        return "binary file (contains NUL bytes)"
    controls = sum(1 for b in head if b in _CONTROL)
    if head and controls > len(head) // 20:  # more than 5% control bytes
        return "binary file (control bytes)"
    return None


#: The most bytes read as one document: a longer file is skipped, a longer stream (stdin) refused.
#: (A document is held in memory whole while it is cleaned.)
MAX_DOCUMENT_BYTES = 1 << 30
_BLOCK = 1 << 20


def _size(n: int) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GiB"
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def read_document(f: BinaryIO, origin: str, *, sniff: bool = True) -> bytes:
    """The bytes of an open file or stream `f`, read only as far as needed: with `sniff`, the
    first `SNIFF` bytes tell a binary file (`SkipFile`) before the rest is read (a sparse 3 GB
    file costs 8 KB). A regular file larger than `MAX_DOCUMENT_BYTES` is skipped unread; a
    stream (stdin, a pipe, /dev/zero) is read up to that limit and refused beyond it."""
    limit = MAX_DOCUMENT_BYTES
    try:
        st = os.fstat(f.fileno())
    except (OSError, AttributeError, io.UnsupportedOperation):
        st = None
    regular = st is not None and stat.S_ISREG(st.st_mode)
    head = f.read(SNIFF)
    if sniff and not head.startswith(_UTF16_BOMS):
        reason = binary_reason(head)
        if reason:
            raise SkipFile(reason)
    if regular and st is not None and st.st_size > limit:
        raise SkipFile(f"larger than {_size(limit)} ({_size(st.st_size)}); split it into smaller files")
    parts = [head]
    total = len(head)
    while block := f.read(_BLOCK):
        total += len(block)
        if total > limit:
            if regular:  # it grew while being read
                raise SkipFile(f"larger than {_size(limit)}; split it into smaller files")
            raise StylegenError(
                f"{origin}: more than {_size(limit)} without an end; a stream is read as one document of at most "
                f"{_size(limit)} (save it into smaller files and build from those)"
            )
        parts.append(block)
    return b"".join(parts)


#: A UTF-16 surrogate code point on its own: JSON's `"\ud83d"` decodes to one, but it is no
#: character and cannot be written as UTF-8.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogates(text: str, where: str, errors: str) -> str | None:
    """`text` with its lone surrogates handled by `errors`: replaced by U+FFFD (replace), None
    (skip: leave this text out), or an error naming `where` (strict). Text without any is
    returned as it is."""
    found = LONE_SURROGATE.search(text)
    if found is None:
        return text
    if errors == "replace":
        return LONE_SURROGATE.sub("\ufffd", text)
    if errors == "skip":
        return None
    raise StylegenError(
        f"{where}: a lone surrogate ({found.group()!a}) where a character should be; use --errors "
        "replace to write U+FFFD for it, or --errors skip to leave such text out"
    )


def decode_text(data: bytes, origin: str, errors: str) -> str:
    """Decode UTF-8 (a BOM is dropped; a UTF-16/32 BOM switches to that encoding).

    Binary files raise `SkipFile` with the reason. `errors` is strict, skip or replace:
    undecodable text is an error naming `origin`, a skipped file, or U+FFFD characters.
    """
    encoding = "utf-8-sig"
    if data.startswith(_UTF16_BOMS):
        encoding = "utf-32" if data[:4] in _UTF16_BOMS[:2] else "utf-16"
    else:
        reason = binary_reason(data)
        if reason:
            raise SkipFile(reason)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        name = "UTF-8" if encoding == "utf-8-sig" else encoding.upper()
        if errors == "replace":
            return data.decode(encoding, errors="replace")
        if errors == "skip":
            raise SkipFile(f"not valid {name} (byte {e.start})") from None
        raise StylegenError(
            f"{origin}: not valid {name} at byte {e.start} (use --errors skip or --errors replace)"
        ) from None


class TextExtractor:
    name = "text"
    description = "Any other file as UTF-8 text, verbatim (the fallback); binary files are skipped"
    suffixes = ("*",)

    def extract(self, data: bytes, origin: str, errors: str) -> str:
        return decode_text(data, origin, errors)


_CODE_SUFFIXES = (
    "py pyi pyw js mjs cjs ts jsx tsx c h cc cpp cxx hpp hh java go rs rb php sh bash zsh fish ps1 "
    "lua swift kt kts scala sql r jl hs ml mli cs fs m mm pl pm el lisp scm clj cljs ex exs erl dart "
    "zig nim vim css scss sass less vue svelte toml yaml yml ini cfg conf json"
)


class CodeExtractor:
    name = "code"
    description = "Source code and configuration files (.py .js .c .go .rs .toml .yaml .json ...), verbatim"
    suffixes = tuple(f".{s}" for s in _CODE_SUFFIXES.split())

    def extract(self, data: bytes, origin: str, errors: str) -> str:
        return decode_text(data, origin, errors)
