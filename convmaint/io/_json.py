"""JSON plumbing shared by the JSON-family readers (chat, sharegpt, hh_rlhf): records, keys, metadata."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from convmaint.errors import ConvmaintError, FormatError
from convmaint.model import Conversation
from convmaint.io.base import ReadContext, Reader, iter_lines, json_loads, read_text, strip_gz

__all__ = [
    "JsonRecord",
    "file_stem",
    "has_key",
    "is_id",
    "is_jsonl",
    "iter_json_records",
    "record_metadata",
    "to_timestamp",
]

#: Metadata keys the loader sets itself; a record's own keys of these names are kept as ``record_<key>``.
_RESERVED = frozenset({"format", "corpus"})
#: A dict or list in a record is kept as metadata only up to this many items (and only if flat).
_SMALL = 20
_WS = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True, slots=True)
class JsonRecord:
    """One top-level record of a JSON or JSONL file.

    Attributes:
        value: The decoded record.
        line: 1-based line where the record starts (None for a file holding one value).
        position: The JSONL line number, or the 1-based position in a top-level array; None for a
            file holding one object.
    """

    value: Any
    line: int | None
    position: int | None


def file_stem(path: Path) -> str:
    """The file name without ``.gz`` and its last extension, case kept (``test.jsonl.gz`` → ``test``)."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    return Path(name).stem or name


def is_id(value: Any) -> bool:
    """Whether a JSON value can serve as an identifier (a non-empty string or an integer)."""
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value) != ""


def is_jsonl(path: Path) -> bool:
    """Whether the file name says JSON Lines (``.jsonl``, ``.ndjson``, optionally gzipped)."""
    return strip_gz(path).endswith((".jsonl", ".ndjson"))


def has_key(head: str, key: str) -> bool:
    """Whether ``"key":`` occurs in JSON text as a key (a quoted key inside a string value is escaped)."""
    return re.search(rf'"{re.escape(key)}"\s*:', head) is not None


def iter_json_records(
    path: Path,
    ctx: ReadContext,
    *,
    whole_list: Callable[[Any], bool] | None = None,
) -> Iterator[JsonRecord]:
    """Yield the top-level records of a JSON or JSONL file.

    JSONL (``.jsonl``, ``.ndjson``) is streamed line by line; a line that is not valid JSON is
    reported through ``ctx.report`` and the next line is read. A ``.json`` file holds one value, a
    top-level array (whose elements are yielded one at a time, decoded incrementally), or — a common
    misnaming — JSON Lines, recognised by a first line that is a complete object.

    Args:
        path: The file.
        ctx: The read context (for ``report``).
        whole_list: Called with the first element of a top-level array; when it returns true the
            whole array is yielded as one record (a bare list of chat messages is one conversation).

    Raises:
        FormatError: a ``.json`` file is not JSON, or holds neither an object nor an array.
        EncodingError: the file is not UTF-8.
    """
    if is_jsonl(path):
        for lineno, line in iter_lines(path, report=ctx.report):
            if line.strip():
                yield from _line_record(line, lineno, path, ctx)
        return
    text = read_text(path)
    if _looks_like_jsonl(text):
        for lineno, line in _text_lines(text):
            if line.strip():
                yield from _line_record(line, lineno, path, ctx)
        return
    start = _WS.match(text).end()  # type: ignore[union-attr]
    if start == len(text):
        raise FormatError("empty file; expected a JSON object or array", path=path)
    if text[start] == "[":
        yield from _iter_array(text, start, path, whole_list)
        return
    value = json_loads(text, path=path)
    if not isinstance(value, Mapping):
        raise FormatError(f"expected a JSON object or array at the top level, got {type(value).__name__}", path=path, line=1)
    yield JsonRecord(value, None, None)


def _line_record(line: str, lineno: int, path: Path, ctx: ReadContext) -> Iterator[JsonRecord]:
    try:
        value = json_loads(line, path=path, line=lineno)
    except ConvmaintError as err:
        ctx.report(err)
        return
    yield JsonRecord(value, lineno, lineno)


def _looks_like_jsonl(text: str) -> bool:
    """A ``.json`` file whose first line is a complete object or array and which has more lines."""
    nl = text.find("\n")
    if nl < 0 or _WS.match(text, nl).end() == len(text):  # type: ignore[union-attr]
        return False
    first = text[:nl].strip()
    if first[:1] not in ("{", "["):
        return False
    try:
        value = json.loads(first)
    except (json.JSONDecodeError, RecursionError):
        return False
    return isinstance(value, dict | list)


def _text_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(line_number, line)`` over text split on ``\\n`` only (JSON strings may hold U+2028)."""
    pos, lineno = 0, 0
    while pos < len(text):
        end = text.find("\n", pos)
        if end < 0:
            end = len(text)
        lineno += 1
        yield lineno, text[pos:end].rstrip("\r")
        pos = end + 1


def _iter_array(text: str, start: int, path: Path, whole_list: Callable[[Any], bool] | None) -> Iterator[JsonRecord]:
    """Decode a top-level array element by element, so that only one element is built at a time."""
    decoder = json.JSONDecoder()
    line, counted = 1 + text.count("\n", 0, start), start

    def line_at(pos: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, pos)
        counted = pos
        return line

    def decode(pos: int) -> tuple[Any, int]:
        try:
            return decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise FormatError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=path, line=exc.lineno) from None
        except RecursionError:
            raise FormatError("invalid JSON: nested too deeply", path=path, line=line_at(pos)) from None

    pos = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", pos):
        _expect_end(text, pos + 1, path, line_at)
        return
    index = 0
    while True:
        if pos >= len(text):
            raise FormatError("invalid JSON: unterminated array", path=path, line=line_at(len(text)))
        value, end = decode(pos)
        index += 1
        if index == 1 and whole_list is not None and whole_list(value):
            yield JsonRecord(json_loads(text, path=path), line_at(start), None)
            return
        yield JsonRecord(value, line_at(pos), index)
        pos = _WS.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            continue
        if text.startswith("]", pos):
            _expect_end(text, pos + 1, path, line_at)
            return
        raise FormatError("invalid JSON: expected ',' or ']' after an array element", path=path, line=line_at(min(pos, len(text))))


def _expect_end(text: str, pos: int, path: Path, line_at: Callable[[int], int]) -> None:
    pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
    if pos != len(text):
        raise FormatError("invalid JSON: extra data after the top-level array", path=path, line=line_at(pos))


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_small(value: Any) -> bool:
    if _is_scalar(value):
        return True
    if isinstance(value, Mapping):
        return len(value) <= _SMALL and all(_is_scalar(v) for v in value.values())
    if isinstance(value, list):
        return len(value) <= _SMALL and all(_is_scalar(v) for v in value)
    return False


def record_metadata(record: Mapping[str, Any], exclude: frozenset[str] | set[str]) -> dict[str, Any]:
    """The keys of a record worth keeping as metadata: scalars, and flat dicts and lists of ≤ 20 items.

    Larger or nested values (moderation scores, embeddings) are left out; their keys are listed
    under ``dropped_keys`` so that nothing disappears unnoticed. Keys named like the loader's own
    (``format``, ``corpus``) are kept as ``record_format``, ``record_corpus``.
    """
    meta: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in record.items():
        key = str(key)
        if key in exclude:
            continue
        if not _is_small(value):
            dropped.append(key)
            continue
        meta[f"record_{key}" if key in _RESERVED else key] = value
    if dropped:
        meta["dropped_keys"] = dropped
    return meta


def to_timestamp(value: Any) -> float | None:
    """Seconds from a number or an ISO 8601 string (epoch seconds for dates); None when not a time."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            ts = float(value)
        except OverflowError:
            return None
        return ts if ts == ts and abs(ts) != float("inf") else None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:  # a naive time is read as UTC, so results do not depend on the machine
            moment = moment.replace(tzinfo=timezone.utc)
        try:
            return moment.timestamp()
        except (OverflowError, OSError, ValueError):
            return None
    return None


class JsonRecordReader(Reader):
    """A reader of JSON / JSON Lines files holding one conversation per record.

    Subclasses implement ``_conversation(rec, default_id, path, ctx)``; a record that raises a
    ConvmaintError is reported and the next one is read. ``whole_list`` (a staticmethod) says
    whether a top-level array is itself one record (a bare list of messages).
    """

    whole_list: Callable[[Any], bool] | None = None

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        stem = file_stem(path)
        for rec in iter_json_records(path, ctx, whole_list=type(self).whole_list):
            default_id = stem if rec.position is None else f"{stem}:{rec.position}"
            try:
                conv = self._conversation(rec, default_id, path, ctx)
            except ConvmaintError as err:
                ctx.report(err)
                continue
            if conv is not None:
                yield conv

    def _conversation(self, rec: JsonRecord, default_id: str, path: Path, ctx: ReadContext) -> Conversation | None:
        raise NotImplementedError
