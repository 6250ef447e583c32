"""The Topical-Chat reader: agents as speakers, turn and conversation metadata."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import convmaint
from convmaint.errors import EmptyTurnError, FormatError
from convmaint.io.registry import sniff
from convmaint.model import Role


def turn(agent: str, message: str) -> dict:
    return {"message": message, "agent": agent, "sentiment": "Neutral", "knowledge_source": ["FS1"],
            "turn_rating": "Good"}


DATA = {
    "t_aaa": {
        "article_url": "https://example.org/a",
        "config": "A",
        "content": [
            turn("agent_1", "Have you heard that owls can turn their heads a long way?"),
            turn("agent_2", "I did not know that! How far?"),
            turn("agent_2", "  Wait, is it 270 degrees?  "),
        ],
        "conversation_rating": {"agent_1": "Good", "agent_2": "Passable"},
    },
    "t_bbb": {"config": "B", "content": [turn("agent_1", "Hello."), turn("agent_2", "Hi!")],
              "conversation_rating": {}},
}


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def test_conversations_and_metadata(tmp_path):
    path = write(tmp_path / "valid_freq.json", DATA)
    assert sniff(path).name == "topical_chat"
    errors: list = []
    convs = list(convmaint.load(path, errors=errors))
    assert errors == []
    assert [c.id for c in convs] == ["t_aaa", "t_bbb"]
    conv = convs[0]
    assert conv.metadata["format"] == "topical_chat" and conv.metadata["split"] == "valid_freq"
    assert conv.metadata["config"] == "A" and conv.metadata["conversation_rating"]["agent_2"] == "Passable"
    assert [t.speaker for t in conv.turns] == ["agent_1", "agent_2", "agent_2"]
    assert {t.role for t in conv.turns} == {Role.HUMAN}
    assert conv.turns[2].text == "Wait, is it 270 degrees?"
    assert dict(conv.turns[0].metadata) == {"sentiment": "Neutral", "knowledge_source": ("FS1",), "turn_rating": "Good"}
    assert conv.gold == ()


def test_bad_records_are_reported_with_their_line(tmp_path):
    data = {
        "t_ok": DATA["t_bbb"],
        "t_nocontent": {"config": "A"},
        "t_badturn": {"content": [turn("agent_1", "Fine."), {"agent": "agent_2"}]},
        "t_empty": {"content": [turn("agent_1", "Fine."), turn("agent_2", " ")]},
    }
    path = write(tmp_path / "test_rare.json", data)
    errors: list = []
    convs = list(convmaint.load(path, errors=errors))
    assert [c.id for c in convs] == ["t_ok", "t_empty"]
    assert [type(e) for e in errors] == [FormatError, FormatError, EmptyTurnError]
    lines = path.read_text().splitlines()
    for err, key in zip(errors, ["t_nocontent", "t_badturn", "t_empty"]):
        assert err.path == str(path) and lines[err.line - 1].strip().startswith(f'"{key}"')
    assert errors[1].record == "t_badturn/1"
    assert [t.text for t in convs[1].turns] == ["Fine."]


def test_not_an_object_is_a_file_error(tmp_path):
    path = write(tmp_path / "x.json", [1, 2])
    with pytest.raises(FormatError, match="JSON object"):
        list(convmaint.load(path, format="topical_chat"))


@pytest.mark.shared_data
def test_real_topical_chat(shared_data):
    folder = shared_data("topical_chat")
    errors: list = []
    per_split: Counter = Counter()
    turns = 0
    agents: Counter = Counter()
    ids = set()
    for conv in convmaint.load(folder, errors=errors):
        per_split[conv.metadata["split"]] += 1
        ids.add(conv.id)
        turns += len(conv.turns)
        agents.update(t.speaker for t in conv.turns)
        assert all(t.role is Role.HUMAN and t.text for t in conv.turns)
    assert errors == []
    assert per_split == {"test_freq": 539, "test_rare": 539, "valid_freq": 539, "valid_rare": 539}
    assert len(ids) == 2156
    assert turns == 46_903 and abs(turns - 47_000) / 47_000 < 0.01
    assert agents == {"agent_1": 24_225, "agent_2": 22_678}
    (first, *_) = convmaint.load(folder / "test_freq.json")
    assert first.id == "t_d004c097-424d-45d4-8f91-833d85c2da31"
    assert first.turns[0].metadata["sentiment"] == "Curious to dive deeper"
    assert first.turns[0].text.startswith("Did you know that the University of Iowa's locker room is painted pink?")
