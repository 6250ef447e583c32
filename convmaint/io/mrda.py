"""ICSI Meeting Recorder Dialog Act corpus (MRDA): raw ``.dadb`` databases joined with ``.trans`` text.

The corpus folder holds ``database/<meeting>.dadb`` (CSV, no header, latin-1; one row per
dialogue-act segment: 0 start and 1 end seconds, 2 segment id ``<meeting>-<channel>_<start>_<end>``,
5 dialogue-act label, 7 speaker) and ``transcripts/<meeting>.trans`` (CSV: segment id, normalised
text, transcribed text). Two readers:

* ``mrda`` reads the folder (``database/`` + ``transcripts/``) and yields one conversation per
  meeting, in sorted order;
* ``mrda-dadb`` reads one ``.dadb`` file and finds ``../transcripts/<meeting>.trans``.

Structure: rows are ordered by start time (stable) and consecutive rows of one speaker form a
turn (turn id = its first segment id, timestamp = its first start). Every row with a dialogue-act
label is a :class:`~convmaint.model.Segment` with ``metadata={"unit", "tag", "start_time",
"end_time"}``. Rows labelled ``z`` (not coded) are speech without a unit: their text stays in the
turn (it is context the partner heard) but they get no segment and no gold. Rows with an empty
label are placeholders (``DIGIT_TASK``, ``BLEEPED``), not speech: they are left out entirely.

Text: the *transcribed* column (``mm-hmm``, ``o_k``, ``gonna``) is used, as it reads like speech,
where the normalised one has ``uhhuh`` and ``a. f``. Transcription markup that would leak the
gold or is not speech is removed: ``==`` (abandoned), ``-`` (interruption), ``|`` (act boundary),
``**``, ``@@``/``{@reject@}`` (unintelligible), ``<word>`` (words the normalised column leaves
out as well); ``{word}`` keeps the word; spelled letters lose their underscores (``o_k`` → ``ok``,
``x_m_l`` → ``xml``, ``p_file`` → ``p-file``); punctuation tokens are attached to the previous
word. Word fragments (``w-``) are kept. Text stays lower-case, as transcribed.

Gold moves (``detector="gold:mrda"``): one per segment and label its tag maps to (see
:data:`~convmaint.io.dialogue_acts.MRDA_MAP`), span = the segment, ``cue`` = the tag. A turn whose
text is empty after cleaning is left out; its units are counted in ``metadata["empty_units"]``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from convmaint.errors import ConvmaintError, FormatError, ReaderError
from convmaint.io.base import ReadContext, Reader, iter_lines
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.dialogue_acts import MRDA_MAP, labels_for
from convmaint.io.registry import register_reader
from convmaint.model import Conversation, FrozenDict, Move, Role, Segment

__all__ = ["MrdaDadbReader", "MrdaReader", "clean_transcript"]

DETECTOR = "gold:mrda"
ENCODING = "latin-1"
_MIN_COLUMNS = 8
_NOT_CODED = "z"

_DROP = frozenset({"-", "--", "==", "|", "**", "DIGIT_TASK", "BLEEPED"})
_PUNCT = frozenset(".,?!;:")
_WORD_START = re.compile(r"[a-z]{3}")


def _unspell(token: str) -> str:
    """``o_k`` → ``ok``, ``x_m_l`` → ``xml``, ``p_file`` → ``p-file``, ``t_i-digits`` → ``ti-digits``."""
    parts = token.split("_")
    out = parts[0]
    for prev, part in zip(parts, parts[1:]):
        # Spelled letters run together; a spelled letter before a whole word is a compound.
        compound = len(prev) == 1 and prev.isalpha() and _WORD_START.match(part) is not None
        out += ("-" if compound else "") + part
    return out


def clean_transcript(text: str) -> str:
    """The transcribed text of one MRDA segment without transcription markup.

    Args:
        text: The transcribed-form column of a ``.trans`` row.

    Returns:
        The cleaned text (may be empty).

    Example:
        >>> clean_transcript("o_k - so | w- - we use x_m_l ?==")
        'ok so w- we use xml?'
    """
    words: list[str] = []
    for tok in text.split():
        if tok.endswith("=="):
            tok = tok[:-2]
        if not tok or tok in _DROP or "@" in tok or (tok.startswith("<") and tok.endswith(">")):
            continue
        if tok.startswith("{") and tok.endswith("}"):
            tok = tok[1:-1]
        if "_" in tok:
            tok = _unspell(tok)
        if all(ch in _PUNCT for ch in tok):
            # Tokenised punctuation belongs to the previous word ("okay ." → "okay.").
            if words and words[-1][-1] not in _PUNCT:
                words[-1] += tok[0]
            continue
        if tok.strip("-"):
            words.append(tok)
    return " ".join(words)


@lru_cache(maxsize=2048)
def _tag_labels(tag: str) -> tuple[str, ...]:
    return tuple(sorted(labels_for(tag, MRDA_MAP)))


@dataclass
class _Row:
    start: float
    end: float
    seg_id: str
    label: str
    speaker: str
    text: str
    line: int


def _read_transcript(path: Path) -> dict[str, str]:
    """Segment id → transcribed text of one ``.trans`` file."""
    text: dict[str, str] = {}
    rows = csv.reader(line for _, line in iter_lines(path, ENCODING))
    try:
        for row in rows:
            if len(row) >= 3:
                text[row[0]] = row[2]
            elif len(row) == 2:
                text[row[0]] = row[1]
    except csv.Error as exc:
        raise FormatError(f"invalid CSV: {exc}", path=path, line=rows.line_num) from None
    return text


def _split(path: Path) -> dict[str, str]:
    """Meeting → ``train``/``val`` from the corpus folder's meeting lists, when present."""
    splits: dict[str, str] = {}
    for name, split in (("train_meetings.txt", "train"), ("val_meetings.txt", "val"), ("test_meetings.txt", "test")):
        lst = path / name
        if lst.is_file():
            for _, line in iter_lines(lst):
                if line.strip():
                    splits[line.strip()] = split
    return splits


def read_meeting(dadb: Path, trans: Path, ctx: ReadContext, *, split: str | None = None) -> Conversation | None:
    """Read one meeting from its ``.dadb`` database and ``.trans`` transcript.

    Args:
        dadb: The ``database/<meeting>.dadb`` file.
        trans: The matching ``transcripts/<meeting>.trans`` file.
        ctx: Read context; bad rows are reported through ``ctx.report`` and skipped.
        split: ``train``/``val``, stamped into the metadata when known.

    Returns:
        The meeting as a conversation, or None when no row had text.

    Raises:
        ReaderError: a file cannot be read; FormatError: a file is not CSV.
    """
    meeting = dadb.name.split(".")[0]
    if not trans.is_file():
        raise ReaderError(f"no transcript for meeting {meeting}: expected {trans}", path=dadb)
    texts = _read_transcript(trans)
    rows: list[_Row] = []
    reader = csv.reader(line for _, line in iter_lines(dadb, ENCODING))
    try:
        for rec in reader:
            lineno = reader.line_num
            if not rec or not any(rec):
                continue
            if len(rec) < _MIN_COLUMNS:
                ctx.report(FormatError(f"expected at least {_MIN_COLUMNS} comma-separated columns, got {len(rec)}",
                                       path=dadb, line=lineno, record=meeting))
                continue
            seg_id = rec[2].strip()
            try:
                start, end = float(rec[0]), float(rec[1])
            except ValueError:
                ctx.report(FormatError(f"segment {seg_id}: start and end must be seconds, got {rec[0]!r}, {rec[1]!r}",
                                       path=dadb, line=lineno, record=meeting))
                continue
            label = rec[5].strip()
            if not label:
                continue  # DIGIT_TASK / BLEEPED placeholders: not speech, not a unit
            if seg_id not in texts:
                ctx.report(FormatError(f"segment {seg_id} has no text in {trans.name}; it is left out",
                                       path=dadb, line=lineno, record=meeting))
                continue
            rows.append(_Row(start, end, seg_id, label, rec[7].strip(), clean_transcript(texts[seg_id]), lineno))
    except csv.Error as exc:
        raise FormatError(f"invalid CSV: {exc}", path=dadb, line=reader.line_num) from None
    if not rows:
        raise FormatError("no dialogue-act rows", path=dadb, record=meeting)
    rows.sort(key=lambda r: r.start)  # stable: simultaneous starts keep file order
    return _build(meeting, rows, dadb, ctx, split)


def _build(meeting: str, rows: list[_Row], path: Path, ctx: ReadContext, split: str | None) -> Conversation | None:
    groups: list[list[_Row]] = []
    for row in rows:
        if groups and groups[-1][0].speaker == row.speaker:
            groups[-1].append(row)
        else:
            groups.append([row])
    raw_turns: list[RawTurn] = []
    gold: list[Move] = []
    units = empty_units = 0
    for members in groups:
        parts: list[str] = []
        pos = 0
        spans: list[tuple[_Row, int, int]] = []
        for row in members:
            if row.text:
                if parts:
                    pos += 1
                parts.append(row.text)
                spans.append((row, pos, pos + len(row.text)))
                pos += len(row.text)
            else:
                spans.append((row, pos, pos))  # zero-width: the unit stays reachable
        coded = [(r, s, e) for r, s, e in spans if r.label != _NOT_CODED]
        units += len(coded)
        if not parts:
            empty_units += len(coded)
            continue
        turn = len(raw_turns)
        segments = []
        for row, s, e in coded:
            segments.append(Segment(id=row.seg_id, start=s, end=e, metadata=FrozenDict(
                unit=row.seg_id, tag=row.label, start_time=row.start, end_time=row.end)))
            labels = _tag_labels(row.label)
            if labels:
                attrs = FrozenDict(unit=row.seg_id, tag=row.label)
                gold.extend(Move(label=lab, turn=turn, start=s, end=e, cue=row.label, attributes=attrs,
                                 detector=DETECTOR) for lab in labels)
        first = members[0]
        raw_turns.append(RawTurn(
            speaker=first.speaker, text=" ".join(parts), role=Role.HUMAN, id=first.seg_id,
            timestamp=first.start, segments=tuple(segments),
            metadata={"end_time": max(r.end for r in members)}, line=first.line))
    meta = {"meeting": meeting, "units": units, "empty_units": empty_units}
    if split:
        meta["split"] = split
    return make_conversation(meeting, raw_turns, ctx, path=path, fmt="mrda", metadata=meta, gold=gold, corpus="mrda")


def _dadb_files(database: Path) -> list[Path]:
    return sorted(p for p in database.iterdir() if p.name.lower().endswith((".dadb", ".dadb.gz")))


def _trans_for(dadb: Path) -> Path:
    meeting = dadb.name.split(".")[0]
    folder = dadb.parent.parent / "transcripts"
    plain = folder / f"{meeting}.trans"
    gz = folder / f"{meeting}.trans.gz"
    return gz if not plain.exists() and gz.exists() else plain


@register_reader
class MrdaReader(Reader):
    """Reads an MRDA corpus folder (``database/*.dadb`` + ``transcripts/*.trans``), one meeting at a time."""

    name = "mrda"
    description = "ICSI MRDA corpus folder: database/*.dadb + transcripts/*.trans (dialogue-act gold)"
    directory = True

    def sniff(self, path: Path, head: str) -> float:
        database = path / "database"
        if database.is_dir() and (path / "transcripts").is_dir() and _dadb_files(database):
            return 0.95
        return 0.0

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        database = path / "database"
        if not database.is_dir() or not (path / "transcripts").is_dir():
            raise ReaderError("expected an MRDA folder with database/ and transcripts/", path=path)
        splits = _split(path)
        for dadb in _dadb_files(database):
            meeting = dadb.name.split(".")[0]
            try:
                conv = read_meeting(dadb, _trans_for(dadb), ctx, split=splits.get(meeting))
            except ConvmaintError as err:
                ctx.report(err)  # one broken meeting does not stop the others
                continue
            if conv is not None:
                yield conv


@register_reader
class MrdaDadbReader(Reader):
    """Reads one MRDA ``.dadb`` file, with its text from ``../transcripts/<meeting>.trans``."""

    name = "mrda-dadb"
    description = "one ICSI MRDA .dadb file (text from ../transcripts/<meeting>.trans)"
    extensions = (".dadb",)

    def sniff(self, path: Path, head: str) -> float:
        first = head.splitlines()[0] if head else ""
        fields = next(csv.reader([first]), [])
        if len(fields) >= _MIN_COLUMNS:
            try:
                float(fields[0]), float(fields[1])
            except ValueError:
                return 0.0
            return 0.9
        return 0.0

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        meeting = path.name.split(".")[0]
        conv = read_meeting(path, _trans_for(path), ctx, split=_split(path.parent.parent).get(meeting))
        if conv is not None:
            yield conv
