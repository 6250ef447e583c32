"""Writing conversations: the native JSONL format or a ConvoKit corpus folder."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Literal

from convmaint.errors import ConfigError
from convmaint.model import Conversation

__all__ = ["save"]


def save(
    conversations: Iterable[Conversation],
    out: str | os.PathLike,
    *,
    to: Literal["jsonl", "convokit"] = "jsonl",
) -> int:
    """Write conversations to ``out`` and return how many were written.

    Args:
        conversations: Any iterable (streamed; never held whole for ``jsonl``).
        out: A ``.jsonl`` file for ``jsonl``; a folder for ``convokit``.
        to: ``jsonl`` (the native format) or ``convokit`` (``utterances.jsonl``, ``speakers.json``,
            ``conversations.json``, ``corpus.json``).

    Example:
        >>> import convmaint
        >>> convmaint.save(convmaint.load("corpora/"), "all.jsonl")  # doctest: +SKIP
    """
    if to == "jsonl":
        from convmaint.io.native import write_jsonl

        return write_jsonl(conversations, out)
    if to == "convokit":
        from convmaint.io.convokit import write_convokit

        return write_convokit(conversations, out)
    raise ConfigError(f"unknown output format {to!r}; expected jsonl or convokit")
