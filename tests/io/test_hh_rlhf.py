"""The HH-RLHF reader: chosen / rejected Human:/Assistant: transcripts in (gzipped) JSONL."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

import convmaint
from convmaint.errors import ConfigError, EmptyTurnError, EncodingError, FormatError, ReaderError
from convmaint.io.hh_rlhf import split_transcript
from convmaint.io.registry import sniff
from convmaint.model import Role

PAIR = {
    "chosen": "\n\nHuman: What is a pun?\n\nAssistant: A joke on words.\n\nHuman: Give one.\n\nAssistant: Time flies like an arrow.",
    "rejected": "\n\nHuman: What is a pun?\n\nAssistant: A joke on words.\n\nHuman: Give one.\n\nAssistant: No.",
}


def write_gz(path: Path, lines: list) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for x in lines:
            fh.write((x if isinstance(x, str) else json.dumps(x)) + "\n")
    return path


def test_chosen_by_default_round_trip(tmp_path):
    path = write_gz(tmp_path / "train.jsonl.gz", [PAIR, PAIR])
    assert sniff(path).name == "hh_rlhf"
    convs = list(convmaint.load(path))
    assert [c.id for c in convs] == ["train:1", "train:2"]
    conv = convs[0]
    assert [t.speaker for t in conv.turns] == ["Human", "Assistant", "Human", "Assistant"]
    assert [t.role for t in conv.turns] == [Role.HUMAN, Role.MODEL, Role.HUMAN, Role.MODEL]
    assert conv.turns[-1].text == "Time flies like an arrow."
    assert conv.metadata["side"] == "chosen" and conv.metadata["shared_turns"] == 3

    out = tmp_path / "saved.jsonl"
    convmaint.save(convs, out, to="jsonl")
    back = list(convmaint.load(out, format="native"))
    assert [c.turns for c in back] == [c.turns for c in convs]


def test_sides(tmp_path):
    path = write_gz(tmp_path / "t.jsonl.gz", [PAIR])
    (rej,) = convmaint.load(path, options={"side": "rejected"})
    assert rej.id == "t:1" and rej.turns[-1].text == "No."
    both = list(convmaint.load(path, options={"side": "both"}))
    assert [c.id for c in both] == ["t:1:chosen", "t:1:rejected"]
    assert [c.metadata["side"] for c in both] == ["chosen", "rejected"]
    with pytest.raises(ConfigError, match="side"):
        list(convmaint.load(path, options={"side": "best"}))


def test_split_keeps_inline_markers_and_repeated_speakers():
    before, turns = split_transcript(
        "\n\nHuman: Say 'Human: hi'.\n\nAssistant: Human: hi\n\nAssistant:  More.\n\nHuman: ok")
    assert before == ""
    assert turns == [("Human", "Say 'Human: hi'."), ("Assistant", "Human: hi"), ("Assistant", "More."), ("Human", "ok")]
    assert split_transcript("Human: no leading blank line")[1] == [("Human", "no leading blank line")]


def test_bad_lines_are_reported_and_skipped(tmp_path):
    path = write_gz(tmp_path / "bad.jsonl.gz", [
        PAIR,
        "{oops",
        ["not", "an", "object"],
        {"chosen": "Preface\n\nHuman: hi\n\nAssistant: hello", "rejected": PAIR["rejected"]},
        {"chosen": 5, "rejected": PAIR["rejected"]},
        {"rejected": PAIR["rejected"]},
        {"chosen": "\n\nHuman: hi\n\nAssistant: ", "rejected": PAIR["rejected"]},
        PAIR,
    ])
    errs: list = []
    convs = list(convmaint.load(path, errors=errs))
    assert [c.id for c in convs] == ["bad:1", "bad:7", "bad:8"]
    assert len(convs[1]) == 1  # the empty final assistant turn is left out
    assert [(type(e), e.line) for e in errs] == [
        (FormatError, 2), (FormatError, 3), (FormatError, 4), (FormatError, 5), (FormatError, 6), (EmptyTurnError, 7)]
    assert all(e.path == str(path) for e in errs)
    errs = []
    both = list(convmaint.load(path, errors=errs, options={"side": "both"}))
    assert "bad:4:rejected" in [c.id for c in both] and "bad:4:chosen" not in [c.id for c in both]


def test_corrupt_gzip_is_raised(tmp_path):
    path = tmp_path / "broken.jsonl.gz"
    data = gzip.compress((json.dumps(PAIR) + "\n").encode() * 50)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReaderError) as info:
        list(convmaint.load(path, format="hh_rlhf"))
    assert info.value.path == str(path)


def test_folder_with_corrupt_file_and_non_utf8(tmp_path):
    write_gz(tmp_path / "a.jsonl.gz", [PAIR])
    (tmp_path / "b.jsonl.gz").write_bytes(b"not gzip at all")
    (tmp_path / "c.jsonl").write_bytes(json.dumps(PAIR).encode() + b"\n" + b'{"chosen": "\\n\\nHuman: caf\xe9"}\n')
    errs: list = []
    convs = list(convmaint.load(tmp_path, format="hh_rlhf", errors=errs))
    assert [c.id for c in convs] == ["a:1", "c:1"]
    assert [type(e) for e in errs] == [ReaderError, EncodingError]
    assert errs[0].path == str(tmp_path / "b.jsonl.gz")
    assert errs[1].line == 2


@pytest.mark.shared_data
def test_real_test_split(shared_data):
    path = shared_data("hh_rlhf", "test.jsonl.gz")
    expected = {"chosen": (2312, 11516, 4), "rejected": (2312, 11517, 0), "both": (4624, 23033, 4)}
    for side, (n_convs, n_turns, n_empty) in expected.items():
        errs: list = []
        convs = list(convmaint.load(path, options={"side": side}, errors=errs))
        assert len(convs) == n_convs
        assert len({c.id for c in convs}) == n_convs
        assert sum(len(c) for c in convs) == n_turns
        assert Counter(t.role for c in convs for t in c.turns).keys() == {Role.HUMAN, Role.MODEL}
        # four chosen transcripts end on an empty "Assistant:": reported, the rest of each kept
        assert len(errs) == n_empty and all(isinstance(e, EmptyTurnError) for e in errs)
    assert convs[0].id == "test:1:chosen"
