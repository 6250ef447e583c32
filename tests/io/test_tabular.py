"""The CSV/TSV reader (format name ``csv``)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import convmaint
from convmaint.errors import EmptyTurnError, FormatError, RoleError
from convmaint.model import Conversation, Role

SUPPORT = """\
conversation_id,speaker,role,text,timestamp,channel
c1,cust,user,"Hi, my order hasn't arrived.",1700000000,web
c1,agent7,assistant,Sorry to hear that. Which order number?,1700000004,web
c1,cust,user,"It's 4471, placed on Monday.",1700000010,
c2,cust2,user,Can I change my address?,1700000100,app
c2,agent7,assistant,"Sure, to which address?",1700000103,app
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load(path, **kw) -> list[Conversation]:
    return list(convmaint.load(path, format="csv", **kw))


def test_reads_rows_as_turns_grouped_by_conversation(tmp_path):
    convs = load(write(tmp_path / "support.csv", SUPPORT))
    assert [c.id for c in convs] == ["c1", "c2"]
    c1 = convs[0]
    assert [t.speaker for t in c1.turns] == ["cust", "agent7", "cust"]
    assert [t.role for t in c1.turns] == [Role.HUMAN, Role.MODEL, Role.HUMAN]
    assert c1.turns[0].text == "Hi, my order hasn't arrived."
    assert c1.turns[1].timestamp == 1700000004.0
    assert c1.turns[0].metadata == {"channel": "web"} and c1.turns[2].metadata == {}
    assert c1.metadata["format"] == "csv"


def test_sniffed_by_extension(tmp_path):
    path = write(tmp_path / "support.csv", SUPPORT)
    assert convmaint.io.sniff(path).name == "csv"
    assert [c.id for c in convmaint.load(path)] == ["c1", "c2"]


def test_tsv_and_sniffed_semicolons(tmp_path):
    tsv = write(tmp_path / "chat.tsv", "dialogue_id\tfrom\tmessage\nd1\tA\tHello, you there?\nd1\tB\tYes; go on.\n")
    [conv] = load(tsv)
    assert conv.id == "d1" and [t.text for t in conv.turns] == ["Hello, you there?", "Yes; go on."]
    semi = write(tmp_path / "chat.csv", "dialog_id;author;content\nd1;A;Hello, you there?\nd1;B;Yes, go on.\n")
    [conv] = load(semi)
    assert [t.speaker for t in conv.turns] == ["A", "B"] and conv.turns[0].text == "Hello, you there?"


def test_configurable_columns_and_delimiter(tmp_path):
    path = write(tmp_path / "forum.csv", "thread|who|body|posted\nt9|ann|Is the fix in 2.1?|2024-03-01T10:00:00Z\n"
                                          "t9|ben|No, in 2.2.|2024-03-01 10:05:00\n")
    [conv] = load(path, options={"conversation": "thread", "speaker": "who", "text": "body", "timestamp": "posted",
                                 "delimiter": "|"})
    assert conv.id == "t9" and [t.speaker for t in conv.turns] == ["ann", "ben"]
    assert conv.turns[1].timestamp - conv.turns[0].timestamp == 300.0


def test_role_map_applies_to_rows_without_roles(tmp_path):
    path = write(tmp_path / "pairs.csv", "conversation_id,speaker,text\nx,A,Hi.\nx,B,Hello.\n")
    [conv] = load(path, roles=["A=human", "*=model"])
    assert [t.role for t in conv.turns] == [Role.HUMAN, Role.MODEL]


def test_role_column_without_speaker_column(tmp_path):
    path = write(tmp_path / "msgs.csv", "conv_id,role,content\nk,user,What is 2+2?\nk,assistant,4.\n")
    [conv] = load(path)
    assert [(t.speaker, t.role) for t in conv.turns] == [("user", Role.HUMAN), ("assistant", Role.MODEL)]


def test_turn_id_and_reply_to_columns(tmp_path):
    path = write(tmp_path / "thread.csv", "conversation_id,id,reply_to,user,text\nq,p1,,ann,Anyone tried it?\n"
                                          "q,p2,p1,ben,Tried what?\n")
    [conv] = load(path)
    assert [t.id for t in conv.turns] == ["p1", "p2"] and [t.reply_to for t in conv.turns] == [None, "p1"]


def test_file_without_conversation_column_is_one_conversation(tmp_path):
    [conv] = load(write(tmp_path / "interview_07.csv", "speaker,text\nI,So where did you grow up?\nR,In Leeds.\n"))
    assert conv.id == "interview_07" and len(conv) == 2


def test_missing_required_column_names_what_was_found_and_expected(tmp_path):
    path = write(tmp_path / "bad.csv", "conversation_id,speaker,body\nc,A,hi\n")
    with pytest.raises(FormatError) as exc:
        load(path)
    err = exc.value
    assert err.line == 1 and err.path.endswith("bad.csv")
    assert "columns found: conversation_id, speaker, body" in err.reason
    assert "text, utterance, message, content" in err.reason


def test_option_naming_an_absent_column(tmp_path):
    path = write(tmp_path / "x.csv", "speaker,text\nA,hi\n")
    with pytest.raises(FormatError, match="'msg' named by the option text"):
        load(path, options={"text": "msg"})


def test_missing_speaker_column(tmp_path):
    with pytest.raises(FormatError, match="no speaker column"):
        load(write(tmp_path / "x.csv", "conversation_id,text\nc,hi\n"))


def test_empty_file_raises(tmp_path):
    errors: list = []
    assert load(write(tmp_path / "empty.csv", ""), errors=errors) == []
    assert len(errors) == 1 and "no header row" in errors[0].reason


def test_bad_rows_are_reported_with_path_and_line_and_the_rest_is_read(tmp_path):
    text = (
        "conversation_id,speaker,role,text\n"      # 1
        "c1,A,user,Hello.\n"                       # 2
        "c1,B,assistant\n"                         # 3 too few fields
        "c1,B,assistant,Hi!,extra\n"               # 4 too many
        "c1,B,wizard,I am a wizard.\n"             # 5 unknown role
        "c1,B,assistant,\n"                        # 6 empty text
        "c1,,user,Who said that?\n"                # 7 empty speaker
        "c1,B,assistant,How can I help?\n"         # 8
    )
    errors: list = []
    [conv] = load(write(tmp_path / "rows.csv", text), errors=errors)
    assert [t.text for t in conv.turns] == ["Hello.", "How can I help?"]
    assert [(type(e), e.line) for e in errors] == [
        (FormatError, 3), (FormatError, 4), (RoleError, 5), (FormatError, 7), (EmptyTurnError, 6)]
    assert all(e.path.endswith("rows.csv") for e in errors)


def test_reappearing_conversation_rows_are_reported(tmp_path):
    text = "conversation_id,speaker,text\na,X,one\nb,Y,two\na,X,three\na,X,four\nb,Y,five\nc,Z,six\n"
    errors: list = []
    convs = load(write(tmp_path / "mixed.csv", text), errors=errors)
    # the left-out rows of "a" do not end "b", which goes on at line 6
    assert [(c.id, [t.text for t in c.turns]) for c in convs] == [("a", ["one"]), ("b", ["two", "five"]), ("c", ["six"])]
    assert [e.line for e in errors] == [4, 5] and all("reappears" in e.reason for e in errors)
    assert all(e.record == "a" for e in errors)


def test_quoted_newlines_keep_text_and_line_numbers(tmp_path):
    text = 'conversation_id,speaker,text\nc,A,"First line\nsecond line"\nc,B,"x"\nc,C,\n'
    errors: list = []
    [conv] = load(write(tmp_path / "multi.csv", text), errors=errors)
    assert conv.turns[0].text == "First line\nsecond line"
    assert [e.line for e in errors] == [5]


def test_bad_timestamp_is_reported(tmp_path):
    errors: list = []
    [conv] = load(write(tmp_path / "t.csv", "speaker,text,time\nA,hi,yesterday\nB,hello,12\n"), errors=errors)
    assert [t.timestamp for t in conv.turns] == [12.0]
    assert errors[0].line == 2 and "yesterday" in errors[0].reason


def test_gzipped_csv(tmp_path):
    path = tmp_path / "support.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(SUPPORT)
    assert [c.id for c in convmaint.load(path)] == ["c1", "c2"]
