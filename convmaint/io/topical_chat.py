"""Topical-Chat: knowledge-grounded human-human written chat, one JSON object per split file.

A file (``valid_freq.json``, ``test_rare.json``…) is a JSON object keyed by conversation id; each
conversation has ``content`` (a list of turns with ``agent`` — ``agent_1``/``agent_2`` —,
``message``, ``sentiment``, ``knowledge_source``, ``turn_rating``) plus ``article_url``, ``config``
and ``conversation_rating``. Both agents are crowdworkers, so every turn is human. The agent is
the speaker; the other turn fields become turn metadata, the other conversation fields
conversation metadata, with ``split`` from the file name. There is no gold.

A malformed conversation (``content`` not a list, a turn without a string ``message`` or
``agent``) is reported and skipped; an empty message is reported and left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from convmaint.errors import FormatError
from convmaint.io.base import ReadContext, Reader, json_loads, read_text
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.registry import register_reader
from convmaint.model import Conversation, Role

__all__ = ["TopicalChatReader"]

# The start of a Topical-Chat file: {"<id>": {… "content": [{"message": … / "agent": …
_HEAD = re.compile(r'^\s*\{\s*"(?:[^"\\]|\\.)*"\s*:\s*\{')
_TURN_KEYS = ("message", "agent")


def _line_of_key(text: str, key: str) -> int | None:
    m = re.search(re.escape(json.dumps(key)) + r"\s*:", text)
    return text.count("\n", 0, m.start()) + 1 if m else None


@register_reader
class TopicalChatReader(Reader):
    """Reads Topical-Chat split files (``train.json``, ``valid_freq.json``…)."""

    name = "topical_chat"
    description = "Topical-Chat JSON (knowledge-grounded human-human chat, keyed by conversation id)"
    extensions = (".json",)

    def sniff(self, path: Path, head: str) -> float:
        if not _HEAD.match(head):
            return 0.0
        window = head[:6000]
        if '"content"' in window and '"agent"' in window and '"message"' in window:
            return 0.85
        return 0.0

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        text = read_text(path)
        data = json_loads(text, path=path)
        if not isinstance(data, Mapping):
            raise FormatError(f"expected a JSON object keyed by conversation id, got {type(data).__name__}",
                              path=path, line=1)
        split = path.name.split(".")[0]
        for conv_id, conv in data.items():
            try:
                built = self._conversation(path, ctx, split, conv_id, conv, lambda key=conv_id: _line_of_key(text, key))
            except FormatError as err:
                ctx.report(FormatError(err.reason, path=path, line=_line_of_key(text, conv_id), record=err.record))
                continue
            if built is not None:
                yield built

    def _conversation(self, path: Path, ctx: ReadContext, split: str, conv_id: str, conv: object,
                      where: Callable[[], int | None]) -> Conversation | None:
        if not isinstance(conv, Mapping) or not isinstance(conv.get("content"), list):
            raise FormatError("expected an object with a list 'content'", record=conv_id)
        raw_turns: list[RawTurn] = []
        for pos, turn in enumerate(conv["content"]):
            if not isinstance(turn, Mapping) or not all(isinstance(turn.get(k), str) for k in _TURN_KEYS):
                raise FormatError(f"turn {pos}: expected an object with string 'message' and 'agent'",
                                  record=f"{conv_id}/{pos}")
            extra = {k: v for k, v in turn.items() if k not in _TURN_KEYS}
            message = turn["message"].strip()
            # Line numbers cost a search of the file, so only turns that will be reported get one.
            raw_turns.append(RawTurn(speaker=turn["agent"], text=message, role=Role.HUMAN, id=str(pos),
                                     metadata=extra, line=None if message else where()))
        meta = {"split": split, **{k: v for k, v in conv.items() if k != "content"}}
        line = None if any(t.text for t in raw_turns) else where()
        return make_conversation(conv_id, raw_turns, ctx, path=path, fmt="topical_chat", metadata=meta, line=line, corpus="topical_chat")
