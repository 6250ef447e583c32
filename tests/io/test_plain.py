"""The plain-text reader: ``Speaker: text`` transcripts."""

from __future__ import annotations

from pathlib import Path

import pytest

import convmaint
from convmaint.errors import EncodingError, FormatError
from convmaint.io import ErrorLog
from convmaint.io.plain import parse_speaker_line
from convmaint.io.registry import sniff
from convmaint.model import Role

INTERVIEW = """\
Interview with Dr. Smith, March 2021

[00:00:05] Dr. Smith: Shall we start?
[00:00:09] User 2: Yes.
I have a question first.

It is about the schedule, see https://example.org/a:b for it.
Dr. Smith (00:41): Go ahead.
  Indented: lines continue the turn.
[00:01:02.5] User 2: Thanks.
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_multi_line_turns_names_and_times(tmp_path):
    path = write(tmp_path / "interview.txt", INTERVIEW)
    assert sniff(path).name == "plain"
    (conv,) = list(convmaint.load(path))
    assert conv.id == "interview"
    assert [t.speaker for t in conv.turns] == ["Dr. Smith", "User 2", "Dr. Smith", "User 2"]
    assert conv.turns[1].text == (
        "Yes.\nI have a question first.\n\nIt is about the schedule, see https://example.org/a:b for it.")
    assert conv.turns[2].text == "Go ahead.\n  Indented: lines continue the turn."
    assert [t.timestamp for t in conv.turns] == [5.0, 9.0, 41.0, 62.5]
    assert conv.turns[2].metadata == {"time": "00:41"}
    assert [t.role for t in conv.turns] == [Role.UNKNOWN] * 4
    assert conv.metadata["preamble"] == "Interview with Dr. Smith, March 2021"
    assert conv.metadata["format"] == "plain"


def test_role_names_and_role_map(tmp_path):
    path = write(tmp_path / "chat.transcript", "User: hi\nAssistant: Hello!\nHuman: ok\nAI: fine\nBot: sure\n")
    (conv,) = list(convmaint.load(path))
    assert [t.role for t in conv.turns] == [Role.HUMAN, Role.MODEL, Role.HUMAN, Role.MODEL, Role.MODEL]
    other = write(tmp_path / "ab.txt", "A: hi\nB: hello\nA: bye\nC: who?\n")
    (conv,) = list(convmaint.load(other, roles={"A": "human", "B": "model"}))
    assert [t.role for t in conv.turns] == [Role.HUMAN, Role.MODEL, Role.HUMAN, Role.UNKNOWN]


def test_chat_log_mode_keeps_headings_inside_model_turns(tmp_path):
    text = """\
User: How do I boil an egg?
Assistant: Here is how.
Step 1: Boil water.
Note: be careful.
```
key: value
User: inside a fence
```
User: Thanks!
"""
    path = write(tmp_path / "log.txt", text)
    (conv,) = list(convmaint.load(path))
    assert [t.speaker for t in conv.turns] == ["User", "Assistant", "User"]
    assert "Step 1: Boil water.\nNote: be careful." in conv.turns[1].text
    assert "User: inside a fence" in conv.turns[1].text


def test_round_trip_through_native(tmp_path):
    path = write(tmp_path / "interview.txt", INTERVIEW)
    convs = list(convmaint.load(path))
    out = tmp_path / "out.jsonl"
    assert convmaint.save(convs, out, to="jsonl") == 1
    (back,) = list(convmaint.load(out, format="native"))
    assert back.turns == convs[0].turns
    assert back.metadata["preamble"] == convs[0].metadata["preamble"]


def test_empty_turn_is_reported(tmp_path):
    path = write(tmp_path / "e.txt", "A: hi\nB:\nA: anyone?\n")
    errs: list = []
    (conv,) = list(convmaint.load(path, errors=errs))
    assert [t.speaker for t in conv.turns] == ["A", "A"]
    (err,) = errs
    assert err.line == 2 and err.path == str(path)


def test_speaker_turn_on_its_own_line(tmp_path):
    path = write(tmp_path / "s.txt", "A:\nhello there\n\nB: hi\n")
    (conv,) = list(convmaint.load(path))
    assert [t.text for t in conv.turns] == ["hello there", "hi"]


@pytest.mark.parametrize(("line", "speaker"), [
    ("A: hi", "A"),
    ("Dr. Smith: hello", "Dr. Smith"),
    ("User 2: hi", "User 2"),
    ("user 2: hi", "user 2"),
    ("Jean-Luc Picard: Engage.", "Jean-Luc Picard"),
    ("Ludwig van Beethoven: hi", "Ludwig van Beethoven"),
    ("A (12:03): hi", "A"),
    ("10:30 Bob: hi", "Bob"),
    ("Note that the ratio is 3:1.", None),
    ("The reason is simple: it works.", None),
    ("However, he said: no", None),
    ("http://example.org", None),
    ("1: first item", None),
    ("10:30: standup", None),
    ("- Ann: send the report", None),
    ("  A: indented", None),
    ("A very long speaker name that goes on and on: hi", None),
])
def test_speaker_line_rules(line, speaker):
    parsed = parse_speaker_line(line)
    assert (parsed.speaker if parsed else None) == speaker


@pytest.mark.parametrize("text", [
    # a README
    "convmaint\n=========\n\nMeasure conversation maintenance.\n\nUsage: convmaint analyze corpora/\n"
    "See docs/ for more.\nLicence: MIT\n",
    # a meeting list
    "Meeting: Weekly sync\nDate: 2024-03-01\nTime: 10:00\nLocation: Room 4\nAgenda:\n1. Budget\n2. Hiring\n",
    "Team meeting 2024-03-01\nAttendees: Ann, Bo, Cy\n- budget review\n- hiring\nAction items:\n- Ann: send report\n",
    # prose
    "It was late. The reason was simple: nobody had called.\nShe waited.\nThen she left.\n",
    "",
])
def test_sniff_does_not_claim_non_transcripts(tmp_path, text):
    path = write(tmp_path / "notes.txt", text)
    assert sniff(path) is None


def test_sniff_claims_long_turn_chat_logs(tmp_path):
    body = "\n".join(f"line {i} of a long answer" for i in range(20))
    path = write(tmp_path / "long.txt", f"User: explain\nAssistant: {body}\nUser: thanks\nAssistant: {body}\n")
    assert sniff(path).name == "plain"


def test_no_speaker_lines_is_an_error(tmp_path):
    path = write(tmp_path / "none.txt", "just some text\nwith no speakers\n")
    with pytest.raises(FormatError) as info:
        list(convmaint.load(path, format="plain"))
    assert info.value.path == str(path)


def test_non_utf8_and_folder_collection(tmp_path):
    write(tmp_path / "a.txt", "A: hi\nB: hello\n")
    (tmp_path / "b.txt").write_bytes(b"A: hi\nB: caf\xe9\n")
    write(tmp_path / "c.txt", "A: bye\nB: bye\n")
    write(tmp_path / "d.txt", "A list:\n- milk\n- eggs\n")  # not claimed: skipped, not an error
    errs = ErrorLog()
    assert [c.id for c in convmaint.load(tmp_path, errors=errs)] == ["a", "c"]
    (err,) = errs
    assert isinstance(err, EncodingError) and err.line == 2 and err.path == str(tmp_path / "b.txt")
    assert errs.skipped == [str(tmp_path / "d.txt")]
