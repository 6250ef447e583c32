"""Shared helpers for readers: turning (speaker, text) records into a Conversation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convmaint.errors import EmptyTurnError, FormatError
from convmaint.io.base import ReadContext
from convmaint.model import Conversation, Move, Role, Segment, Turn

__all__ = ["RawTurn", "make_conversation"]


@dataclass
class RawTurn:
    """A turn as a reader found it, before roles are resolved and indexes assigned."""

    speaker: str
    text: str
    role: Role | None = None
    id: str | None = None
    timestamp: float | None = None
    reply_to: str | None = None
    segments: tuple[Segment, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None


def make_conversation(
    conv_id: str,
    raw_turns: Iterable[RawTurn],
    ctx: ReadContext,
    *,
    path: Path,
    fmt: str,
    metadata: Mapping[str, Any] | None = None,
    gold: Iterable[Move] = (),
    line: int | None = None,
    allow_empty: bool = False,
    corpus: str | None = None,
) -> Conversation | None:
    """Resolve roles, number turns and build a Conversation.

    A turn with no text is reported through ``ctx.report`` (an :class:`EmptyTurnError` naming the
    path, line and turn) and left out; a conversation with no turns left is reported and None is
    returned. Readers of corpora whose units may be empty (non-verbal) pass ``allow_empty``;
    readers of named research corpora pass their ``corpus`` name as the default.
    """
    turns: list[Turn] = []
    seen_ids: set[str] = set()
    for pos, raw in enumerate(raw_turns):
        tid = str(raw.id) if raw.id is not None else str(pos)
        if not isinstance(raw.text, str):
            ctx.report(FormatError(f"turn {tid}: text must be a string, got {type(raw.text).__name__}",
                                   path=path, line=raw.line or line, record=f"{conv_id}/{tid}"))
            continue
        if not allow_empty and not raw.text.strip():
            ctx.report(EmptyTurnError(f"turn {tid} by {raw.speaker!r} has no text; it is left out",
                                      path=path, line=raw.line or line, record=f"{conv_id}/{tid}"))
            continue
        if tid in seen_ids:
            tid = f"{tid}#{pos}"
        seen_ids.add(tid)
        speaker = str(raw.speaker)
        role = ctx.roles.role_for(speaker, raw.role)
        turns.append(
            Turn(
                index=len(turns),
                id=tid,
                speaker=speaker,
                role=role,
                text=raw.text,
                timestamp=raw.timestamp,
                reply_to=raw.reply_to,
                segments=raw.segments,
                metadata=raw.metadata,
            )
        )
    if not turns:
        ctx.report(FormatError("conversation has no turns with text; it is left out", path=path, line=line, record=conv_id))
        return None
    # The reader's format wins over a key a record happens to carry. The corpus name is, in order:
    # the one the caller or the folder's convmaint.toml gave, the one in the record's metadata (a
    # native file written by convmaint), the reader's default for a named corpus, the folder name.
    meta = {**(metadata or {}), "format": fmt}
    meta["corpus"] = (ctx.corpus or (metadata or {}).get("corpus") or corpus
                      or (path.parent.name if path.is_file() else path.name))
    return Conversation(id=str(conv_id), turns=tuple(turns), metadata=meta, source=str(path), gold=tuple(gold))
