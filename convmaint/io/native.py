"""The native format: JSONL, one conversation per line, with turns, roles, metadata and moves.

Each line is an object::

    {"convmaint": "0.1.0", "id": "c1", "source": "…", "metadata": {…},
     "turns": [{"id": "0", "speaker": "A", "role": "human", "text": "…",
                "timestamp": null, "reply_to": null,
                "segments": [{"id": "u1", "start": 0, "end": 5, "metadata": {}}], "metadata": {}}],
     "gold":  [{"label": "repair.self", "turn": 0, "start": 0, "end": 5, "cue": "…",
                "target": null, "attributes": {…}, "detector": "gold:hand", "score": 1.0}],
     "moves": [… same shape, detected …]}

Only ``id``, ``turns`` and each turn's ``speaker`` and ``text`` are required. ``gold`` carries
hand-labelled moves for ``convmaint evaluate`` (see docs/formats.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from convmaint._version import __version__
from convmaint.errors import ConvmaintError, FormatError
from convmaint.io.base import (
    ROLE_ALIASES,
    ReadContext,
    Reader,
    iter_lines,
    json_loads,
    parse_role,
)
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.registry import register_reader
from convmaint.model import Conversation, Move, Segment, thaw

__all__ = ["NativeReader", "conversation_from_dict", "conversation_to_dict", "move_from_dict", "move_to_dict", "write_jsonl"]


def move_to_dict(move: Move) -> dict[str, Any]:
    return {
        "label": move.label,
        "turn": move.turn,
        "start": move.start,
        "end": move.end,
        "cue": move.cue,
        "target": move.target,
        "attributes": thaw(move.attributes),
        "detector": move.detector,
        "score": move.score,
    }


def move_from_dict(d: Mapping[str, Any], *, default_detector: str = "") -> Move:
    if not isinstance(d, Mapping):
        raise ValueError("a move must be a JSON object")
    return Move(
        label=str(d["label"]),
        turn=int(d["turn"]),
        start=int(d.get("start", 0)),
        end=int(d.get("end", 0)),
        cue=d.get("cue"),
        target=None if d.get("target") is None else int(d["target"]),
        attributes=d.get("attributes") or {},
        detector=str(d.get("detector") or default_detector),
        score=float(d.get("score", 1.0)),
    )


def conversation_to_dict(conv: Conversation, *, moves: Iterable[Move] | None = None) -> dict[str, Any]:
    """A JSON-ready dict of a conversation in the native format."""
    out: dict[str, Any] = {
        "convmaint": __version__,
        "id": conv.id,
        "source": conv.source,
        "metadata": thaw(conv.metadata),
        "turns": [
            {
                "id": t.id,
                "speaker": t.speaker,
                "role": t.role.value,
                "text": t.text,
                "timestamp": t.timestamp,
                "reply_to": t.reply_to,
                "segments": [{"id": s.id, "start": s.start, "end": s.end, "metadata": thaw(s.metadata)} for s in t.segments],
                "metadata": thaw(t.metadata),
            }
            for t in conv.turns
        ],
    }
    if conv.gold:
        out["gold"] = [move_to_dict(m) for m in conv.gold]
    detected = list(moves) if moves is not None else list(conv.moves)
    if detected:
        out["moves"] = [move_to_dict(m) for m in detected]
    return out


def conversation_from_dict(d: Any, ctx: ReadContext, *, path: Path, line: int | None = None) -> Conversation | None:
    """Build a conversation from a native-format dict; malformed parts raise FormatError."""
    if not isinstance(d, Mapping):
        raise FormatError(f"expected a JSON object, got {type(d).__name__}", path=path, line=line)
    if "id" not in d or not isinstance(d.get("turns"), list):
        raise FormatError("expected an object with 'id' and a list 'turns'", path=path, line=line)
    conv_id = str(d["id"])
    raws = []
    for i, t in enumerate(d["turns"]):
        if not (type(t) is dict or isinstance(t, Mapping)) or "speaker" not in t or "text" not in t:
            raise FormatError("each turn must be an object with 'speaker' and 'text'", path=path, line=line,
                              record=f"{conv_id}/turn {i}")
        try:
            role = t.get("role")
            if role is not None:
                # (a role named exactly as an alias needs no normalising)
                role = ROLE_ALIASES.get(role) if type(role) is str else None
                if role is None:
                    role = parse_role(t["role"], path=path, line=line, record=f"{conv_id}/turn {i}")
            raw_segs = t.get("segments")
            segs = tuple(
                Segment(id=str(s["id"]), start=int(s["start"]), end=int(s["end"]), metadata=s.get("metadata") or {})
                for s in raw_segs
            ) if raw_segs else ()
            ts = t.get("timestamp")
            raws.append(RawTurn(
                speaker=str(t["speaker"]), text=t["text"], role=role,
                id=None if t.get("id") is None else str(t["id"]),
                timestamp=None if ts is None else float(ts),
                reply_to=None if t.get("reply_to") is None else str(t["reply_to"]),
                segments=segs, metadata=t.get("metadata") or {}, line=line,
            ))
        except ConvmaintError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"bad turn: {exc}", path=path, line=line, record=f"{conv_id}/turn {i}") from None
    try:
        gold = [move_from_dict(m, default_detector="gold:native") for m in d.get("gold") or ()]
        moves = [move_from_dict(m) for m in d.get("moves") or ()]
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"bad move: {exc}", path=path, line=line, record=conv_id) from None
    meta = d.get("metadata") or {}
    if not isinstance(meta, Mapping):
        raise FormatError("'metadata' must be an object", path=path, line=line, record=conv_id)
    try:
        conv = make_conversation(conv_id, raws, ctx, path=path, fmt="native", metadata=dict(meta), gold=gold, line=line)
    except ValueError as exc:  # segment past the text and similar model checks
        raise FormatError(str(exc), path=path, line=line, record=conv_id) from None
    if conv is None:
        return None
    n = len(conv.turns)
    for m in (*conv.gold, *moves):
        if m.turn >= n or (m.target is not None and m.target >= n):
            raise FormatError(f"move {m.label} points at turn {max(m.turn, m.target or 0)}, but there are {n} turns",
                              path=path, line=line, record=conv_id)
    if moves:
        from dataclasses import replace

        conv = replace(conv, moves=tuple(moves))
    return conv


@register_reader
class NativeReader(Reader):
    name = "native"
    description = "convmaint JSONL: one conversation per line with turns, roles, metadata, gold and detected moves"
    extensions = (".jsonl", ".json", ".ndjson")

    def sniff(self, path: Path, head: str) -> float:
        first = head.lstrip()[:4000]
        if first.startswith("{") and '"turns"' in first and ('"convmaint"' in first or '"speaker"' in first):
            return 0.9
        return 0.0

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        for lineno, line in iter_lines(path, report=ctx.report):
            if not line.strip():
                continue
            try:
                conv = conversation_from_dict(json_loads(line, path=path, line=lineno), ctx, path=path, line=lineno)
            except ConvmaintError as err:
                ctx.report(err)
                continue
            if conv is not None:
                yield conv


def write_jsonl(conversations: Iterable[Conversation], out: str | os.PathLike | IO[str]) -> int:
    """Write conversations in the native format; returns how many were written.

    A path is written atomically (to a temporary file renamed into place).
    """
    if hasattr(out, "write"):
        n = 0
        for conv in conversations:
            out.write(json.dumps(conversation_to_dict(conv), ensure_ascii=False) + "\n")  # type: ignore[union-attr]
            n += 1
        return n
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            n = write_jsonl(conversations, fh)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n
