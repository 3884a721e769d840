"""Records: the `jsonl` and `csv` extractors. Each record's text is one paragraph.

`corpus build --field NAME` picks the JSON field (a dotted path such as `message.text`;
list items by number: `turns.0.text`); `--column NAME` picks the CSV/TSV column, by its
header or by number counting from 1.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from stylegen.builtin.extract_text import decode_text, lone_surrogates
from stylegen.errors import StylegenError
from stylegen.plugins import warn
from stylegen.protocols import SkipFile

SNIFF_CHARS = 65536  # characters of a .csv file the dialect sniffer reads
SNIFF_LINE = 2_000  # ... of each line


def paragraphs(texts: Iterable[str]) -> str:
    """Texts as paragraphs: each stripped of its trailing whitespace, a blank line between."""
    kept = [t.replace("\r\n", "\n").replace("\r", "\n").rstrip() for t in texts]
    kept = [t for t in kept if t.strip()]
    return "\n\n".join(kept) + "\n" if kept else ""


def field_value(record: Any, path: str) -> Any:
    """The value at dotted `path` in a JSON record (digits index lists), or None."""
    value = record
    for key in path.split("."):
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def default_text(record: Any) -> str | None:
    """Without `--field`: the record itself if it is a string, its `text` field, or its only string value."""
    if isinstance(record, str):
        return record
    if not isinstance(record, dict):
        return None
    if isinstance(record.get("text"), str):
        return str(record["text"])
    strings = [v for v in record.values() if isinstance(v, str)]
    return strings[0] if len(strings) == 1 else None


def looks_like_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns, by `csv.Sniffer.has_header`'s vote: a column of
    numbers (or of values of one length) under a cell that is not one votes for a header."""
    header, body = rows[0], rows[1:21]
    votes = 0
    for i, name in enumerate(header):
        values = [row[i] for row in body if i < len(row)]
        if not values:
            continue
        if all(_is_number(v) for v in values):
            votes += -1 if _is_number(name) else 1
        elif len({len(v) for v in values}) == 1:
            votes += -1 if len(name) == len(values[0]) else 1
    return votes > 0


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


class JsonLinesExtractor:
    name = "jsonl"
    description = "JSON Lines: one paragraph per record, from --field (default: 'text', or the only string)"
    suffixes = (".jsonl", ".ndjson")
    options = ("field",)

    def extract(self, data: bytes, origin: str, errors: str, field: str | None = None) -> str:
        texts: list[str] = []
        bad: list[int] = []  # line numbers that are not JSON
        missing = 0  # records without the field (or where it is not a string)
        surrogates: list[int] = []  # line numbers whose text holds a lone surrogate (skipped)
        # (split on \n only: a JSON string may hold a raw U+2028, which splitlines() would split on)
        for number, line in enumerate(decode_text(data, origin, errors).split("\n"), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as e:  # RecursionError: nested thousands deep
                if errors == "strict":
                    why = e.msg if isinstance(e, json.JSONDecodeError) else "nested too deeply"
                    raise StylegenError(
                        f"{origin}:{number}: not valid JSON ({why}) (use --errors skip to skip such lines)"
                    ) from None
                bad.append(number)
                continue
            text = default_text(record) if field is None else field_value(record, field)
            if isinstance(text, str):
                kept = lone_surrogates(text, f"{origin}:{number}", errors)
                if kept is None:  # --errors skip
                    surrogates.append(number)
                else:
                    texts.append(kept)
            else:
                missing += 1
        what = f"field {field!r}" if field else "'text' field or single string value"
        problems = []
        if bad:
            problems.append(f"{len(bad)} line(s) not valid JSON (first: line {bad[0]})")
        if missing:
            problems.append(f"{missing} record(s) without a {what}")
        if surrogates:
            problems.append(f"{len(surrogates)} record(s) with a lone surrogate (first: line {surrogates[0]})")
        text = paragraphs(texts)
        if not text:
            if not texts and not missing and not bad and not surrogates:
                raise SkipFile("no JSON records")
            hint = "" if field else " (use --field NAME)"
            raise SkipFile(f"no record with text: {'; '.join(problems) or 'all empty'}{hint}")
        if problems:
            warn(f"{origin}: skipped {', '.join(problems)}")
        return text


class CsvExtractor:
    name = "csv"
    description = "CSV/TSV tables: one paragraph per row, from --column NAME or number (default: the 'text' column)"
    suffixes = (".csv", ".tsv")
    options = ("column",)

    def extract(self, data: bytes, origin: str, errors: str, column: str | int | None = None) -> str:
        text = decode_text(data, origin, errors)
        if origin.lower().endswith(".tsv"):
            delimiter, initial_space = "\t", False
        else:
            try:
                # lines cut short: the sniffer's regex is quadratic on a long line of quotes
                sample = "\n".join(line[:SNIFF_LINE] for line in text[:SNIFF_CHARS].split("\n"))
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
                delimiter, initial_space = dialect.delimiter, dialect.skipinitialspace
            except csv.Error:
                delimiter, initial_space = ",", False
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=initial_space)
        try:
            rows = list(reader)
        except csv.Error as e:
            if errors == "strict":
                raise StylegenError(f"{origin}:{reader.line_num}: not valid CSV ({e})") from None
            raise SkipFile(f"not valid CSV at line {reader.line_num} ({e})") from None
        rows = [row for row in rows if any(cell.strip() for cell in row)]
        if not rows:
            raise SkipFile("no rows")
        index, has_header = self._column(rows, column)
        body = rows[1:] if has_header else rows
        short = sum(1 for row in body if index >= len(row))
        if short:
            warn(f"{origin}: skipped {short} row(s) with no column {index + 1}")
        out = paragraphs(row[index] for row in body if index < len(row))
        if not out:
            raise SkipFile(f"column {index + 1} is empty")
        return out

    @staticmethod
    def _column(rows: list[list[str]], column: str | int | None) -> tuple[int, bool]:
        """(0-based column index, whether the first row is a header) for `--column`."""
        header = [cell.strip() for cell in rows[0]]
        wanted = "text" if column is None else str(column).strip()
        if wanted in header:
            return header.index(wanted), True
        lowered = [h.lower() for h in header]
        if wanted.lower() in lowered:
            return lowered.index(wanted.lower()), True
        if column is not None and wanted.isdigit():
            number = int(wanted)
            if number < 1:
                raise StylegenError(f"--column {wanted}: columns are numbered from 1")
            return number - 1, looks_like_header(rows)
        shown = ", ".join(repr(h) for h in header[:8]) + (", ..." if len(header) > 8 else "")
        hint = "use --column NAME or --column NUMBER" if column is None else "see the header"
        raise SkipFile(f"no {wanted!r} column (first row: {shown}; {hint})")
