"""The OpenAI / Hugging Face chat format: ``{"messages": [{"role": "user", "content": "…"}, …]}``.

Accepted shapes, in ``.json`` (one object, a list of objects, or a bare list of messages = one
conversation; a ``.json`` file that is really JSON Lines is read as such) and in ``.jsonl`` /
``.ndjson`` (one object per line, streamed)::

    {"id": "c1", "model": "gpt-4",
     "messages": [{"role": "system", "content": "You are helpful."},
                  {"role": "user", "name": "ann", "content": "hi"},
                  {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]}]}

``conversation`` (LMSYS-Chat-1M, WildChat) is read as a synonym of ``messages``.

- Roles go through :func:`~convmaint.io.base.parse_role` (``user`` → human, ``assistant`` → model);
  an unknown role is a :class:`~convmaint.errors.RoleError` for that record, which is left out.
- ``system`` and ``developer`` messages are not turns: their texts are kept, in order, in the
  conversation's ``metadata["system"]``. ``tool`` / ``function`` / ``ipython`` messages and
  assistant messages holding only ``tool_calls`` are not turns either; they are counted in
  ``metadata["non_turn_messages"]``.
- ``content`` is a string or a list of parts; text parts (``text``, ``input_text``,
  ``output_text``) are joined with newlines, other parts (images, audio, files) are skipped and
  their types listed in the turn's ``metadata["skipped_parts"]``.
- The speaker is the message's ``name`` where present, else its role as written.
- Other keys of a record (model names, timestamps, language) become conversation metadata, and
  other keys of a message become turn metadata (scalars and flat dicts or lists of up to 20
  items; larger values are listed under ``dropped_keys``). A message ``timestamp`` or
  ``created_at`` (number or ISO 8601) becomes the turn's timestamp.
- The conversation id is the record's ``id`` (or ``conversation_id``), else ``<file stem>:<line>``
  in JSON Lines, ``<file stem>:<position>`` in a JSON array, or the file stem for a one-object file.
- Turn texts are stripped of surrounding whitespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convmaint.errors import FormatError
from convmaint.io._json import JsonRecord, JsonRecordReader, has_key, is_id, record_metadata, to_timestamp
from convmaint.io.base import ReadContext, parse_role
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.registry import register_reader
from convmaint.model import Conversation

__all__ = ["ChatReader", "message_text"]

_MESSAGE_KEYS = ("messages", "conversation")
_ID_KEYS = ("id", "conversation_id")
_SYSTEM_ROLES = frozenset({"system", "developer"})
_NON_TURN_ROLES = frozenset({"tool", "function", "ipython"})
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})
_TIME_KEYS = ("timestamp", "created_at")


def message_text(content: Any, *, path: Path, line: int | None, record: str) -> tuple[str, list[str]]:
    """The text of a chat ``content`` value and the types of the non-text parts it skipped.

    Raises:
        FormatError: ``content`` is neither a string, a list of parts, nor null.
    """
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    parts = [content] if isinstance(content, Mapping) else content
    if not isinstance(parts, list):
        raise FormatError(f"'content' must be a string or a list of parts, got {type(content).__name__}",
                          path=path, line=line, record=record)
    texts: list[str] = []
    skipped: list[str] = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, Mapping):
            raise FormatError(f"a content part must be an object or a string, got {type(part).__name__}",
                              path=path, line=line, record=record)
        kind = part.get("type", "text")
        if kind in _TEXT_PARTS and "text" in part:
            if not isinstance(part["text"], str):
                raise FormatError(f"a text part's 'text' must be a string, got {type(part['text']).__name__}",
                                  path=path, line=line, record=record)
            texts.append(part["text"])
        else:
            skipped.append(str(kind))
    return "\n".join(texts), skipped


def _is_message(value: Any) -> bool:
    """A chat message rather than a conversation record (for bare lists of messages)."""
    return isinstance(value, Mapping) and "role" in value and not any(k in value for k in _MESSAGE_KEYS)


@register_reader
class ChatReader(JsonRecordReader):
    name = "chat"
    description = "OpenAI / Hugging Face chat messages: {'messages': [{'role', 'content'}…]} in JSON or JSONL"
    extensions = (".json", ".jsonl", ".ndjson")
    whole_list = staticmethod(_is_message)

    def sniff(self, path: Path, head: str) -> float:
        if not has_key(head, "role"):
            return 0.0
        if has_key(head, "messages"):
            return 0.85
        if has_key(head, "conversation") and has_key(head, "content"):
            return 0.7
        start = head.lstrip()
        if start.startswith("[") and start[1:].lstrip().startswith("{") and has_key(head, "content"):
            return 0.6  # a bare list of messages
        return 0.0

    def _conversation(self, rec: JsonRecord, default_id: str, path: Path, ctx: ReadContext) -> Conversation | None:
        value, line = rec.value, rec.line
        record: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
        id_key = next((k for k in _ID_KEYS if is_id(record.get(k))), None)
        conv_id = str(record[id_key]) if id_key else default_id
        if isinstance(value, list):
            messages = value
        elif isinstance(value, Mapping):
            key = next((k for k in _MESSAGE_KEYS if k in record), None)
            if key is None:
                raise FormatError("expected an object with a 'messages' list", path=path, line=line, record=conv_id)
            messages = record[key]
            if not isinstance(messages, list):
                raise FormatError(f"'{key}' must be a list of messages, got {type(messages).__name__}",
                                  path=path, line=line, record=conv_id)
        else:
            raise FormatError(f"expected an object with 'messages' or a list of messages, got {type(value).__name__}",
                              path=path, line=line, record=conv_id)

        raws: list[RawTurn] = []
        system: list[str] = []
        non_turn: dict[str, int] = {}
        for i, msg in enumerate(messages):
            where = f"{conv_id}/message {i}"
            if not isinstance(msg, Mapping) or "role" not in msg:
                raise FormatError("each message must be an object with 'role' and 'content'", path=path, line=line, record=where)
            role_name = msg["role"]
            key = str(role_name).strip().lower()
            text, skipped = message_text(msg.get("content"), path=path, line=line, record=where)
            if key in _SYSTEM_ROLES:
                system.append(text.strip())
                continue
            if key in _NON_TURN_ROLES:
                non_turn[key] = non_turn.get(key, 0) + 1
                continue
            role = parse_role(role_name, path=path, line=line, record=where)
            if not text.strip() and msg.get("tool_calls"):
                non_turn["tool_calls"] = non_turn.get("tool_calls", 0) + 1
                continue
            name = msg.get("name")
            speaker = str(name) if is_id(name) else str(role_name)
            timestamp = next((t for t in (to_timestamp(msg.get(k)) for k in _TIME_KEYS) if t is not None), None)
            # an unparsable time stays in the turn metadata as written
            meta = record_metadata(msg, {"role", "content", "name", "id", *(_TIME_KEYS if timestamp is not None else ())})
            if skipped:
                meta["skipped_parts"] = skipped
            raws.append(RawTurn(
                speaker=speaker, text=text.strip(), role=role,
                id=str(msg["id"]) if is_id(msg.get("id")) else None,
                timestamp=timestamp, metadata=meta, line=line,
            ))
        meta = record_metadata(record, {*_MESSAGE_KEYS, *(k for k in _ID_KEYS if k == id_key)})
        if system:
            meta["system"] = system
        if non_turn:
            meta["non_turn_messages"] = non_turn
        return make_conversation(conv_id, raws, ctx, path=path, fmt=self.name, metadata=meta, line=line)
