"""Anthropic HH-RLHF preference pairs: JSON Lines (usually gzipped) of ``{"chosen": …, "rejected": …}``.

Each side is a transcript whose turns begin with ``\\n\\nHuman: `` or ``\\n\\nAssistant: ``::

    {"chosen": "\\n\\nHuman: hi\\n\\nAssistant: Hello!", "rejected": "\\n\\nHuman: hi\\n\\nAssistant: Go away."}

- Option ``side`` (``ctx.options``): ``chosen`` (default), ``rejected``, or ``both`` — two
  conversations per line, with ids ``<stem>:<line>:chosen`` and ``<stem>:<line>:rejected``.
- The conversation id is ``<file stem>:<line number>`` (``test.jsonl.gz`` line 7 → ``test:7``).
- A marker counts only after a blank line (or at the very start): ``Human:`` inside a turn, as in
  an assistant reply quoting the dialogue, stays text. Consecutive turns of one speaker are kept
  as they are. Turn texts are stripped of surrounding whitespace; a turn left empty (some
  transcripts end on an empty ``Assistant:``) is reported as an
  :class:`~convmaint.errors.EmptyTurnError` and left out.
- Metadata: ``side``, and ``shared_turns``: how many leading turns the chosen and rejected
  transcripts have in common (the turns after them are the compared endings).
- Text before the first marker, a missing side or a non-string side is a
  :class:`~convmaint.errors.FormatError` for that line; the next line is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from convmaint.errors import ConfigError, ConvmaintError, FormatError
from convmaint.io._json import file_stem, iter_json_records
from convmaint.io.base import ReadContext, Reader
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.registry import register_reader
from convmaint.model import Conversation, Role

__all__ = ["HHRLHFReader", "split_transcript"]

SIDES = ("chosen", "rejected", "both")
_MARKER = re.compile(r"(?:\A|\n\n)(Human|Assistant):[ \t]?")
_ROLES = {"Human": Role.HUMAN, "Assistant": Role.MODEL}


def split_transcript(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split an HH-RLHF transcript into the text before the first marker and ``(speaker, text)`` pairs.

    Example:
        >>> split_transcript("\\n\\nHuman: hi\\n\\nAssistant: Hello!")
        ('', [('Human', 'hi'), ('Assistant', 'Hello!')])
    """
    parts = _MARKER.split(text)
    return parts[0], [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]


@register_reader
class HHRLHFReader(Reader):
    name = "hh_rlhf"
    description = "Anthropic HH-RLHF JSONL: 'chosen' / 'rejected' Human:/Assistant: transcripts (option side)"
    extensions = (".jsonl", ".json", ".ndjson")

    def sniff(self, path: Path, head: str) -> float:
        if re.search(r'"(?:chosen|rejected)"\s*:\s*"', head) and "Human:" in head and "Assistant:" in head:
            return 0.85
        return 0.0

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        side = ctx.option("side", "chosen")
        if side not in SIDES:
            raise ConfigError(f"hh_rlhf option side={side!r}; expected one of {', '.join(SIDES)}", path=path)
        sides = ("chosen", "rejected") if side == "both" else (side,)
        stem = file_stem(path)
        for rec in iter_json_records(path, ctx):
            base_id = stem if rec.position is None else f"{stem}:{rec.position}"
            line = rec.line
            if not isinstance(rec.value, Mapping):
                ctx.report(FormatError(f"expected an object with 'chosen' and 'rejected', got {type(rec.value).__name__}",
                                       path=path, line=line, record=base_id))
                continue
            split = {s: _split(rec.value, s, path, line, base_id) for s in ("chosen", "rejected") if s in rec.value}
            shared = None
            if all(isinstance(split.get(s), list) for s in ("chosen", "rejected")):
                shared = _shared_prefix(split["chosen"], split["rejected"])  # type: ignore[arg-type]
            for s in sides:
                conv_id = f"{base_id}:{s}" if side == "both" else base_id
                turns = split.get(s)
                if s not in rec.value:
                    ctx.report(FormatError(f"no {s!r} transcript on this line", path=path, line=line, record=conv_id))
                    continue
                if isinstance(turns, ConvmaintError):
                    ctx.report(turns)
                    continue
                raws = [RawTurn(speaker=sp, text=text, role=_ROLES[sp], line=line) for sp, text in turns or ()]
                meta: dict[str, object] = {"side": s}
                if shared is not None:
                    meta["shared_turns"] = shared
                conv = make_conversation(conv_id, raws, ctx, path=path, fmt=self.name, metadata=meta, line=line)
                if conv is not None:
                    yield conv


def _split(record: Mapping, side: str, path: Path, line: int | None, record_id: str) -> list[tuple[str, str]] | ConvmaintError:
    """The turns of one side, or the error that spoils it (returned, so the other side can still be read)."""
    text = record[side]
    if not isinstance(text, str):
        return FormatError(f"{side!r} must be a string transcript, got {type(text).__name__}", path=path, line=line, record=record_id)
    before, turns = split_transcript(text)
    if before.strip():
        return FormatError(f"{side!r} has text before the first 'Human:' or 'Assistant:' marker",
                           path=path, line=line, record=record_id)
    if not turns:
        return FormatError(f"{side!r} has no 'Human:' or 'Assistant:' turns", path=path, line=line, record=record_id)
    return turns


def _shared_prefix(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
