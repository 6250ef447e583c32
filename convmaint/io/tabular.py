"""Delimited tables (CSV, TSV) with one row per turn.

A header row is required. Columns are found by name (case-insensitive); the reader options name
them when the defaults do not fit. Each option's default is the first column present of:

- ``conversation``: ``conversation_id``, ``conv_id``, ``dialogue_id``, ``dialog_id``, ``conversation``
- ``speaker``: ``speaker``, ``speaker_id``, ``author``, ``user``, ``from``
- ``text``: ``text``, ``utterance``, ``message``, ``content``
- ``role``: ``role``; ``timestamp``: ``timestamp``, ``time``; ``turn_id``: ``turn_id``, ``id``;
  ``reply_to``: ``reply_to``

An option set to ``""`` (or false) switches its column off. ``text`` is required, and so is
``speaker`` unless there is a ``role`` column (the role then doubles as the speaker). A file
without a conversation column is one conversation, named after the file. Other columns go into
turn metadata (empty cells are left out). Roles go through :func:`~convmaint.io.base.parse_role`;
timestamps are numbers (seconds) or ISO 8601 date-times (naive ones taken as UTC).

The delimiter is a tab for ``.tsv`` and ``.tab``; for ``.csv`` it is sniffed (``,``, ``;``, tab or
``|``, and it must occur in the header line, else ``,``); the option ``delimiter`` overrides both.

The file is streamed and rows are grouped while reading: the rows of one conversation must be
consecutive. A row whose conversation id already ended (the id reappears after another
conversation) is reported as a :class:`~convmaint.errors.FormatError` and left out, and does not
end the conversation being read; sort such files by conversation first. (Merging them instead
would need a second, indexing pass over every file for the sake of a few unsorted ones.)

Rows with the wrong number of fields, an empty speaker or conversation id, an unknown role or a
bad timestamp are reported with the path and line and left out; a turn with no text is reported
by :func:`~convmaint.io.build.make_conversation`. A missing header or missing required column
raises a FormatError naming the columns found and expected.
Fields longer than the :mod:`csv` module's field size limit (128 KiB) are reported as malformed
rows: convmaint does not change that process-wide limit.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from convmaint.errors import ConfigError, ConvmaintError, FormatError
from convmaint.io.base import ReadContext, Reader, iter_lines, parse_role, read_head, strip_gz
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.registry import register_reader
from convmaint.model import Conversation

__all__ = ["COLUMN_DEFAULTS", "TabularReader"]

#: Column option → candidate header names, first present wins.
COLUMN_DEFAULTS: dict[str, tuple[str, ...]] = {
    "conversation": ("conversation_id", "conv_id", "dialogue_id", "dialog_id", "conversation"),
    "speaker": ("speaker", "speaker_id", "author", "user", "from"),
    "text": ("text", "utterance", "message", "content"),
    "role": ("role",),
    "timestamp": ("timestamp", "time"),
    "turn_id": ("turn_id", "id"),
    "reply_to": ("reply_to",),
}
_SNIFF_DELIMITERS = ",;\t|"


def _delimiter(path: Path, ctx: ReadContext) -> str:
    opt = ctx.option("delimiter")
    if opt is not None:
        value = {"tab": "\t", "\\t": "\t"}.get(str(opt), str(opt))
        if len(value) != 1:
            raise ConfigError(f"option delimiter={opt!r}: expected one character (or 'tab')", path=path)
        return value
    name = strip_gz(path)
    if name.endswith((".tsv", ".tab")):
        return "\t"
    lines = read_head(path, 16384).splitlines()[:50]
    if not lines:
        return ","
    try:
        found = csv.Sniffer().sniff("\n".join(lines), delimiters=_SNIFF_DELIMITERS).delimiter
    except csv.Error:
        return ","
    return found if found in lines[0] else ","


def _timestamp(value: str) -> float:
    """Seconds from a number or an ISO 8601 date-time; raises ValueError."""
    try:
        number = float(value)
    except ValueError:
        dt = datetime.fromisoformat(value)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.timestamp()
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


class _Columns:
    """Header positions of the columns the reader uses."""

    def __init__(self, header: list[str], ctx: ReadContext, path: Path, line: int) -> None:
        self.header = header
        lowered = [h.strip().lower() for h in header]
        self.found = ", ".join(h.strip() for h in header) or "(none)"
        self.pos: dict[str, int | None] = {}
        for key, candidates in COLUMN_DEFAULTS.items():
            if key in ctx.options:
                opt = ctx.options[key]
                if not opt:
                    self.pos[key] = None
                    continue
                name = str(opt).strip().lower()
                if name not in lowered:
                    raise FormatError(
                        f"the column {str(opt)!r} named by the option {key} is not in the header; "
                        f"columns found: {self.found}", path=path, line=line)
                self.pos[key] = lowered.index(name)
            else:
                self.pos[key] = next((lowered.index(c) for c in candidates if c in lowered), None)
        if self.pos["text"] is None:
            raise FormatError(self._missing("text"), path=path, line=line)
        if self.pos["speaker"] is None and self.pos["role"] is None:
            raise FormatError(self._missing("speaker") + " (or a role column)", path=path, line=line)
        used = {p for p in self.pos.values() if p is not None}
        self.extra = [(i, h.strip()) for i, h in enumerate(header) if i not in used and h.strip()]

    def _missing(self, key: str) -> str:
        return (f"no {key} column: expected one of {', '.join(COLUMN_DEFAULTS[key])} "
                f"(or name it with the option {key}=...); columns found: {self.found}")

    def cell(self, row: list[str], key: str) -> str | None:
        i = self.pos[key]
        return None if i is None else row[i]


@register_reader
class TabularReader(Reader):
    name = "csv"
    description = "CSV/TSV table, one row per turn (columns: conversation, speaker, text, role, timestamp…)"
    extensions = (".csv", ".tsv", ".tab")

    def sniff(self, path: Path, head: str) -> float:
        first = head.splitlines()[0] if head else ""
        names = {c.strip().strip('"').strip().lower() for c in re.split(r"[,;\t|]", first)}
        if names & set(COLUMN_DEFAULTS["text"]):
            has_speaker = names & (set(COLUMN_DEFAULTS["speaker"]) | {"role"})
            return 0.85 if has_speaker else 0.7
        return 0.3

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        delimiter = _delimiter(path, ctx)
        consumed = 0  # number of the last physical line the csv module has taken

        def lines() -> Iterator[str]:
            nonlocal consumed
            for lineno, line in iter_lines(path):
                consumed = lineno
                yield line + "\n"  # iter_lines strips newlines; quoted fields need them back

        reader = csv.reader(lines(), delimiter=delimiter)
        cols: _Columns | None = None
        default_id = Path(strip_gz(path)).stem
        current: str | None = None
        first_line: int | None = None
        raws: list[RawTurn] = []
        done: set[str] = set()
        while True:
            start = consumed + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                err = FormatError(f"malformed row: {exc}; it is left out", path=path, line=start)
                if cols is None:
                    raise FormatError(f"malformed header row: {exc}", path=path, line=start) from None
                ctx.report(err)
                continue
            if not row or all(not c.strip() for c in row):
                continue
            if cols is None:
                cols = _Columns(row, ctx, path, start)
                continue
            if len(row) != len(cols.header):
                ctx.report(FormatError(f"row has {len(row)} fields, the header has {len(cols.header)}; it is left out",
                                       path=path, line=start))
                continue
            cid_cell = cols.cell(row, "conversation")
            cid = default_id if cid_cell is None else cid_cell.strip()
            if not cid:
                ctx.report(FormatError("empty conversation id; the row is left out", path=path, line=start))
                continue
            if cid != current:
                if cid in done:
                    ctx.report(FormatError(
                        f"conversation {cid!r} reappears after other conversations; the rows of a conversation "
                        "must be consecutive (sort the file by conversation); the row is left out",
                        path=path, line=start, record=cid))
                    continue
                if current is not None:
                    done.add(current)
                    conv = self._build(current, raws, ctx, path, first_line)
                    if conv is not None:
                        yield conv
                current, raws, first_line = cid, [], start
            try:
                raws.append(self._turn(row, cols, path, start, cid))
            except ConvmaintError as err:
                ctx.report(err)
        if cols is None:
            raise FormatError("no header row: the file is empty", path=path)
        if current is not None:
            conv = self._build(current, raws, ctx, path, first_line)
            if conv is not None:
                yield conv

    @staticmethod
    def _turn(row: list[str], cols: _Columns, path: Path, line: int, cid: str) -> RawTurn:
        turn_id = cols.cell(row, "turn_id")
        turn_id = turn_id.strip() or None if turn_id is not None else None
        record = f"{cid}/{turn_id}" if turn_id else cid
        role_cell = (cols.cell(row, "role") or "").strip()
        role = parse_role(role_cell, path=path, line=line, record=record) if role_cell else None
        speaker = (cols.cell(row, "speaker") or "").strip() if cols.pos["speaker"] is not None else role_cell
        if not speaker:
            raise FormatError("empty speaker; the row is left out", path=path, line=line, record=record)
        ts_cell = (cols.cell(row, "timestamp") or "").strip()
        try:
            timestamp = _timestamp(ts_cell) if ts_cell else None
        except (ValueError, OverflowError, OSError):
            raise FormatError(f"bad timestamp {ts_cell!r}: expected seconds or an ISO 8601 date-time; the row is left out",
                              path=path, line=line, record=record) from None
        reply = (cols.cell(row, "reply_to") or "").strip() or None
        meta: dict[str, Any] = {name: row[i] for i, name in cols.extra if row[i] != ""}
        return RawTurn(speaker=speaker, text=cols.cell(row, "text") or "", role=role, id=turn_id,
                       timestamp=timestamp, reply_to=reply, metadata=meta, line=line)

    @staticmethod
    def _build(cid: str, raws: list[RawTurn], ctx: ReadContext, path: Path, line: int | None) -> Conversation | None:
        if not raws:  # every row was bad, and each was reported
            return None
        return make_conversation(cid, raws, ctx, path=path, fmt="csv", line=line)
