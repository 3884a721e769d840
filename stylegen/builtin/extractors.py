"""The `text` extractor: any file read as UTF-8 text; binary files are skipped with a reason."""

from __future__ import annotations

from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl
from stylegen.protocols import SkipFile


def decode_text(data: bytes, origin: str, errors: str) -> str:
    """Decode UTF-8 (a BOM is dropped). `errors` is strict, skip or replace."""
    if b"\x00" in data[:8192]:
        raise SkipFile("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if errors == "replace":
            return data.decode("utf-8-sig", errors="replace")
        if errors == "skip":
            raise SkipFile(f"not valid UTF-8 (byte {e.start})") from None
        raise StylegenError(
            f"{origin}: not valid UTF-8 at byte {e.start} (use --errors skip or --errors replace)"
        ) from None


class TextExtractor:
    name = "text"
    description = "Any file as UTF-8 text (the fallback for unknown suffixes); binary files are skipped"
    suffixes = ("*",)

    def extract(self, data: bytes, origin: str, errors: str) -> str:
        return decode_text(data, origin, errors)


@hookimpl
def register_extractors(register: Register) -> None:
    register(TextExtractor())
