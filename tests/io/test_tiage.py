"""The TIAGE reader: alternating speakers and topic-shift gold per turn."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import convmaint
from convmaint.errors import EmptyTurnError, FormatError
from convmaint.io.registry import sniff
from convmaint.model import Role

DIALOGUES = {
    "1": [
        ["hi ! how is your day going ?", "-1"],
        ["good , i just fed my two goldfish .", "0"],
        ["nice . do you like hiking in the mountains ?", "1"],
        ["yes , every summer .", "0"],
    ],
    "2": [["hello there .", "-1"], ["what music do you play ?", "1"]],
}


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def test_dialogues_and_gold(tmp_path):
    path = write(tmp_path / "anno_train.json", DIALOGUES)
    assert sniff(path).name == "tiage"
    errors: list = []
    convs = list(convmaint.load(path, errors=errors))
    assert errors == []
    assert [c.id for c in convs] == ["train:1", "train:2"]
    conv = convs[0]
    assert conv.metadata["format"] == "tiage" and conv.metadata["split"] == "train" and conv.metadata["dialogue"] == "1"
    assert [t.speaker for t in conv.turns] == ["A", "B", "A", "B"]
    assert {t.role for t in conv.turns} == {Role.HUMAN}
    assert conv.turns[1].text == "good , i just fed my two goldfish ."
    (shift,) = conv.gold
    assert (shift.label, shift.turn, shift.start, shift.end) == ("topic.shift", 2, 0, len(conv.turns[2].text))
    assert shift.detector == "gold:tiage" and shift.cue == "1"
    assert [m.turn for m in convs[1].gold] == [1]
    # The label is gold only: it is not copied into the turn.
    assert all(not t.metadata for t in conv.turns)


def test_split_from_other_file_names(tmp_path):
    (conv, _) = convmaint.load(write(tmp_path / "my_dialogues.json", DIALOGUES))
    assert conv.id == "my_dialogues:1"


def test_bad_dialogue_is_reported_with_its_line(tmp_path):
    data = {
        "1": DIALOGUES["1"],
        "2": [["only text"], ["b", "0"]],
        "3": [["fine .", "-1"], ["a label out of range", "7"]],
        "4": [["first .", "-1"], ["   ", "0"], ["third turn .", "1"]],
        "5": "not a list",
    }
    path = write(tmp_path / "anno_dev.json", data)
    errors: list = []
    convs = list(convmaint.load(path, errors=errors))
    assert [c.id for c in convs] == ["dev:1", "dev:4"]
    assert [type(e) for e in errors] == [FormatError, FormatError, EmptyTurnError, FormatError]
    text = path.read_text()
    lines = text.splitlines()
    for err, key in zip(errors, ["2", "3", "4", "5"]):
        assert err.path == str(path)
        assert lines[err.line - 1].strip().startswith(f'"{key}"')
    assert errors[0].record == "dev:2" and errors[2].record == "dev:4/1"
    # Speakers keep alternating by position, and the shift points at the kept turn.
    conv4 = convs[1]
    assert [(t.id, t.speaker) for t in conv4.turns] == [("0", "A"), ("2", "A")]
    assert [m.turn for m in conv4.gold] == [1]
    with pytest.raises(FormatError):
        list(convmaint.load(path))


def test_not_an_object_is_a_file_error(tmp_path):
    path = write(tmp_path / "anno_x.json", [["a", "0"]])
    with pytest.raises(FormatError, match="JSON object"):
        list(convmaint.load(path, format="tiage"))


@pytest.mark.shared_data
def test_real_tiage(shared_data):
    folder = shared_data("tiage")
    counts = {}
    for name, split in (("anno_train.json", "train"), ("anno_dev.json", "dev")):
        path = folder / name
        assert sniff(path).name == "tiage"
        errors: list = []
        convs = list(convmaint.load(path, errors=errors))
        assert errors == []
        assert all(c.id.startswith(f"{split}:") for c in convs)
        assert all(not any(m.turn == 0 for m in c.gold) for c in convs)  # "-1" marks the first turn
        assert all(t.speaker == "AB"[t.index % 2] for c in convs for t in c.turns)
        counts[split] = (len(convs), sum(len(c.turns) for c in convs), Counter(m.label for c in convs for m in c.gold))
        if split == "train":
            first = convs[0]
            assert first.id == "train:1" and first.turns[0].text == "hey ! do you love cats ?"
            assert [m.turn for m in first.gold][:3] == [4, 6, 8]
    assert counts == {
        "train": (300, 4692, Counter({"topic.shift": 887})),
        "dev": (100, 1546, Counter({"topic.shift": 311})),
    }
