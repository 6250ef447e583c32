"""The ShareGPT format: ``{"id": …, "conversations": [{"from": "human", "value": "…"}, …]}``.

Records come as a JSON array, one JSON object, or JSON Lines (streamed)::

    [{"id": "abc", "model": "gpt-4",
      "conversations": [{"from": "system", "value": "Be brief."},
                        {"from": "human", "value": "hi"},
                        {"from": "gpt", "value": "Hello!"}]}]

- ``from`` names the role: ``human`` / ``user`` → human; ``gpt``, ``chatgpt``, ``bing``, ``bard``,
  ``claude``, ``assistant``, ``model`` (and the other aliases of
  :data:`~convmaint.io.base.ROLE_ALIASES`) → model. ``system`` messages are not turns: their
  texts go to ``metadata["system"]``. ``tool``, ``function_call`` and ``observation`` messages
  (function-calling variants) are counted in ``metadata["non_turn_messages"]``. Any other
  ``from`` is a :class:`~convmaint.errors.RoleError` for that record, which is left out.
- Variants that write ``role`` / ``content`` instead of ``from`` / ``value`` are read too.
- The speaker is the ``from`` value as written; the conversation id is the record's ``id``, else
  ``<file stem>:<line>`` (JSON Lines) or ``<file stem>:<position>`` (JSON array).
- Other record keys become metadata (scalars and flat dicts or lists of up to 20 items; larger
  values are listed under ``dropped_keys``). Turn texts are stripped of surrounding whitespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from convmaint.errors import FormatError, RoleError
from convmaint.io._json import JsonRecord, JsonRecordReader, has_key, is_id, record_metadata
from convmaint.io.base import ROLE_ALIASES, ReadContext
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.registry import register_reader
from convmaint.model import Conversation, Role

__all__ = ["SHAREGPT_ROLES", "ShareGPTReader"]

#: ``from`` values of ShareGPT dumps, on top of the generic role aliases.
SHAREGPT_ROLES: dict[str, Role] = {
    **{k: v for k, v in ROLE_ALIASES.items() if k != "system"},
    "chatgpt": Role.MODEL,
    "bing": Role.MODEL,
    "bard": Role.MODEL,
    "claude": Role.MODEL,
    "gemini": Role.MODEL,
    "llama": Role.MODEL,
}
_SYSTEM = frozenset({"system"})
_NON_TURN = frozenset({"tool", "function_call", "observation"})


@register_reader
class ShareGPTReader(JsonRecordReader):
    name = "sharegpt"
    description = "ShareGPT dumps: {'conversations': [{'from': 'human'|'gpt'…, 'value'}…]} in JSON or JSONL"
    extensions = (".json", ".jsonl", ".ndjson")

    def sniff(self, path: Path, head: str) -> float:
        if not has_key(head, "conversations"):
            return 0.0
        if has_key(head, "from") and has_key(head, "value"):
            return 0.85
        if has_key(head, "role") and has_key(head, "content"):
            return 0.6
        return 0.0

    def _conversation(self, rec: JsonRecord, default_id: str, path: Path, ctx: ReadContext) -> Conversation | None:
        record, line = rec.value, rec.line
        if not isinstance(record, Mapping):
            raise FormatError(f"expected an object with a 'conversations' list, got {type(record).__name__}",
                              path=path, line=line, record=default_id)
        has_id = is_id(record.get("id"))
        conv_id = str(record["id"]) if has_id else default_id
        if not isinstance(record.get("conversations"), list):
            raise FormatError("expected an object with a 'conversations' list", path=path, line=line, record=conv_id)
        raws: list[RawTurn] = []
        system: list[str] = []
        non_turn: dict[str, int] = {}
        for i, msg in enumerate(record["conversations"]):
            where = f"{conv_id}/message {i}"
            if not isinstance(msg, Mapping):
                raise FormatError("each message must be an object with 'from' and 'value'", path=path, line=line, record=where)
            source = msg.get("from", msg.get("role"))
            text = msg.get("value", msg.get("content"))
            if source is None or ("value" not in msg and "content" not in msg):
                raise FormatError("each message must have 'from' and 'value'", path=path, line=line, record=where)
            if text is None:
                text = ""
            if not isinstance(text, str):
                raise FormatError(f"'value' must be a string, got {type(text).__name__}", path=path, line=line, record=where)
            key = str(source).strip().lower()
            if key in _SYSTEM:
                system.append(text.strip())
                continue
            if key in _NON_TURN:
                non_turn[key] = non_turn.get(key, 0) + 1
                continue
            if key not in SHAREGPT_ROLES:
                raise RoleError(f"unknown 'from' value {source!r}; expected human, user, gpt, chatgpt, bing, bard, "
                                "assistant, model or system", path=path, line=line, record=where)
            meta = record_metadata(msg, {"from", "role", "value", "content"})
            raws.append(RawTurn(speaker=str(source), text=text.strip(), role=SHAREGPT_ROLES[key], metadata=meta, line=line))
        meta = record_metadata(record, {"conversations", "id"} if has_id else {"conversations"})
        if system:
            meta["system"] = system
        if non_turn:
            meta["non_turn_messages"] = non_turn
        return make_conversation(conv_id, raws, ctx, path=path, fmt=self.name, metadata=meta, line=line)
