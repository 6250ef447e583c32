"""The frozen data model."""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError, replace

import pytest

from convmaint.model import LABELS, Conversation, FrozenDict, Move, Role, Segment, Turn


def _conv():
    turns = (
        Turn(0, "t0", "A", Role.HUMAN, "I went on Tuesday, no, Wednesday.", segments=(Segment("u1", 0, 33),)),
        Turn(1, "t1", "B", "model", "Wednesday?"),
    )
    return Conversation("c1", turns, metadata={"corpus": "x", "nested": {"a": [1, 2]}})


def test_frozen_everywhere():
    conv = _conv()
    with pytest.raises(FrozenInstanceError):
        conv.id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        conv.metadata["corpus"] = "y"  # type: ignore[index]
    assert isinstance(conv.metadata["nested"], FrozenDict)
    assert conv.metadata["nested"]["a"] == (1, 2)
    assert conv.turns[1].role is Role.MODEL


def test_replace_and_pickle_round_trip():
    conv = _conv()
    moved = replace(conv, gold=(Move("repair.self", 0, 16, 33, cue="no"),))
    back = pickle.loads(pickle.dumps(moved))
    assert back == moved and back.gold[0].attributes == {}
    assert isinstance(back.metadata, FrozenDict)


def test_move_validates_label_and_span():
    with pytest.raises(ValueError, match="unknown move label"):
        Move("repair.selfie", 0, 0, 1)
    with pytest.raises(ValueError, match="bad span"):
        Move("repair.self", 0, 5, 1)
    assert set(LABELS) >= {"topic.handoff", "grounding.completion"}


def test_move_overlap():
    m = Move("grounding.repeat", 1, 0, 10)
    assert m.overlaps(5, 20) and not m.overlaps(10, 20)
    assert Move("repair.self", 0, 4, 4).overlaps(0, 5)


def test_turn_indexes_and_segments_checked():
    with pytest.raises(ValueError, match="expected 0"):
        Conversation("c", (Turn(1, "t", "A", Role.HUMAN, "hi"),))
    with pytest.raises(ValueError, match="ends past the text"):
        Turn(0, "t", "A", Role.HUMAN, "hi", segments=(Segment("s", 0, 9),))


def test_speakers_roles_and_words():
    conv = _conv()
    assert conv.speakers == ("A", "B")
    assert conv.roles == (Role.HUMAN, Role.MODEL)
    assert conv.n_words == 7
