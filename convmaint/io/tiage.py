"""TIAGE topic-shift annotations over PersonaChat: JSON dialogues of ``[utterance, label]`` pairs.

A TIAGE file (``anno_train.json``, ``anno_dev.json``) is one JSON object: dialogue id → list of
``[utterance, label]``. Labels are strings: ``"1"`` the turn introduces a new topic, ``"0"`` it does
not, ``"-1"`` the first turn. Speakers alternate; they are called ``A`` and ``B`` and are all human
(crowdworkers). Text is kept as the corpus has it (lower-cased, tokenised).

Dialogue ids restart in every file, so the conversation id is ``<split>:<dialogue id>``
(``train:1``, ``dev:1``), the split taken from the file name (``anno_<split>.json``, else the stem);
the original id is ``metadata["dialogue"]``.

Gold: a ``topic.shift`` move spanning the whole turn for label ``"1"`` (``detector="gold:tiage"``).
A malformed dialogue (an entry that is not a ``[text, label]`` pair, an unknown label) is reported
and skipped; an empty utterance is reported and left out, and speakers still alternate by position.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from convmaint.errors import EmptyTurnError, FormatError
from convmaint.io.base import ReadContext, Reader, json_loads, read_text
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.registry import register_reader
from convmaint.model import Conversation, FrozenDict, Move, Role

__all__ = ["TiageReader"]

DETECTOR = "gold:tiage"
SHIFT, NO_SHIFT, FIRST = "1", "0", "-1"
_LABELS = frozenset({SHIFT, NO_SHIFT, FIRST})
_SPEAKERS = ("A", "B")
# The start of a TIAGE file: {"<id>": [["<text>", "<label>"] …
_HEAD = re.compile(r'^\s*\{\s*"(?:[^"\\]|\\.)*"\s*:\s*\[\s*\[\s*"(?:[^"\\]|\\.)*"\s*,\s*"?-?\d"?\s*\]')


def _line_of_key(text: str, key: str) -> int | None:
    """The 1-based line of a top-level key in a JSON text (for error messages), or None."""
    m = re.search(re.escape(json.dumps(key)) + r"\s*:", text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _split_name(path: Path) -> str:
    stem = path.name.split(".")[0]
    return stem[len("anno_"):] if stem.startswith("anno_") and len(stem) > len("anno_") else stem


@register_reader
class TiageReader(Reader):
    """Reads TIAGE JSON files with per-turn topic-shift labels."""

    name = "tiage"
    description = "TIAGE topic-shift JSON (PersonaChat dialogues with per-turn shift labels)"
    extensions = (".json",)

    def sniff(self, path: Path, head: str) -> float:
        return 0.85 if _HEAD.match(head) else 0.0

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        text = read_text(path)
        data = json_loads(text, path=path)
        if not isinstance(data, Mapping):
            raise FormatError("expected a JSON object of dialogue id → [[utterance, label], …], "
                              f"got {type(data).__name__}",
                              path=path, line=1)
        split = _split_name(path)
        for did, entries in data.items():
            try:
                conv = self._dialogue(path, ctx, text, split, did, entries)
            except FormatError as err:
                ctx.report(err)
                continue
            if conv is not None:
                yield conv

    def _dialogue(
        self, path: Path, ctx: ReadContext, text: str, split: str, did: str, entries: object
    ) -> Conversation | None:
        conv_id = f"{split}:{did}"

        def bad(reason: str, cls: type[FormatError] = FormatError, record: str = conv_id) -> FormatError:
            # The line is looked up only when there is something to report.
            return cls(reason, path=path, line=_line_of_key(text, did), record=record)

        if not isinstance(entries, list):
            raise bad(f"expected a list of [utterance, label] pairs, got {type(entries).__name__}")
        raw_turns: list[RawTurn] = []
        shifts: list[int] = []
        for pos, entry in enumerate(entries):
            if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
                shape = f"a list of {len(entry)}" if isinstance(entry, list) else type(entry).__name__
                raise bad(f"turn {pos}: expected a pair [utterance text, label], got {shape}")
            utterance, label = entry[0], str(entry[1]).strip()
            if label not in _LABELS:
                raise bad(f"turn {pos}: label {entry[1]!r} is not one of '1', '0', '-1'")
            if not utterance.strip():
                ctx.report(bad(f"turn {pos} has no text; it is left out", EmptyTurnError, f"{conv_id}/{pos}"))
                continue
            if label == SHIFT:
                shifts.append(len(raw_turns))
            raw_turns.append(RawTurn(speaker=_SPEAKERS[pos % 2], text=utterance.strip(), role=Role.HUMAN, id=str(pos)))
        if not raw_turns:
            raise bad("dialogue has no turns with text; it is left out")
        gold = [
            Move(label="topic.shift", turn=i, start=0, end=len(raw_turns[i].text), cue=SHIFT,
                 attributes=FrozenDict(unit=raw_turns[i].id), detector=DETECTOR)
            for i in shifts
        ]
        meta = {"split": split, "dialogue": did}
        return make_conversation(conv_id, raw_turns, ctx, path=path, fmt="tiage", metadata=meta, gold=gold, corpus="tiage")
