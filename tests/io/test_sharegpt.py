"""The ShareGPT reader: ``conversations`` of ``from`` / ``value`` messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import convmaint
from convmaint.errors import EncodingError, FormatError, RoleError
from convmaint.io.registry import sniff
from convmaint.model import Role


def sg(cid, *pairs, **extra) -> dict:
    return {"id": cid, "conversations": [{"from": f, "value": v} for f, v in pairs], **extra}


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def test_json_list_round_trip(tmp_path):
    path = tmp_path / "dump.json"
    path.write_text(json.dumps([
        sg("q1", ("system", "Be brief."), ("human", " hi there "), ("gpt", "Hello!"), ("human", "and?"), ("chatgpt", "Nothing."),
           model="gpt-3.5", lang="en"),
        sg("q2", ("user", "hey"), ("bing", "Hi."), ("bard", "Hello."), ("assistant", "Yo.")),
    ], indent=1), encoding="utf-8")
    assert sniff(path).name == "sharegpt"
    errs: list = []
    convs = list(convmaint.load(path, errors=errs))
    assert errs == []
    assert [c.id for c in convs] == ["q1", "q2"]
    a, b = convs
    assert [t.speaker for t in a.turns] == ["human", "gpt", "human", "chatgpt"]
    assert [t.role for t in a.turns] == [Role.HUMAN, Role.MODEL, Role.HUMAN, Role.MODEL]
    assert [t.text for t in a.turns] == ["hi there", "Hello!", "and?", "Nothing."]
    assert a.metadata["system"] == ("Be brief.",)
    assert a.metadata["model"] == "gpt-3.5" and a.metadata["lang"] == "en"
    assert a.metadata["format"] == "sharegpt"
    assert [t.role for t in b.turns] == [Role.HUMAN, Role.MODEL, Role.MODEL, Role.MODEL]

    out = tmp_path / "out.jsonl"
    assert convmaint.save(convs, out, to="jsonl") == 2
    back = list(convmaint.load(out, format="native"))
    assert [c.turns for c in back] == [c.turns for c in convs]


def test_jsonl_ids_and_role_content_variant(tmp_path):
    path = write_jsonl(tmp_path / "sg.jsonl", [
        {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},
        {"id": 7, "conversations": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}]},
    ])
    convs = list(convmaint.load(path))
    assert [c.id for c in convs] == ["sg:1", "7"]
    assert [t.role for t in convs[1].turns] == [Role.HUMAN, Role.MODEL]


def test_unknown_from_is_a_role_error_for_that_record(tmp_path):
    path = write_jsonl(tmp_path / "roles.jsonl", [
        sg("ok", ("human", "hi"), ("gpt", "hello")),
        sg("bad", ("human", "hi"), ("narrator", "Once upon a time")),
        sg("ok2", ("human", "bye"), ("gpt", "bye")),
    ])
    errs: list = []
    assert [c.id for c in convmaint.load(path, errors=errs)] == ["ok", "ok2"]
    (err,) = errs
    assert isinstance(err, RoleError)
    assert err.path == str(path) and err.line == 2 and err.record == "bad/message 1"
    assert "narrator" in err.reason


def test_tool_messages_are_not_turns(tmp_path):
    path = write_jsonl(tmp_path / "fc.jsonl", [
        sg("f", ("human", "weather?"), ("function_call", "{}"), ("observation", "{\"t\": 3}"), ("gpt", "3 degrees")),
    ])
    (conv,) = list(convmaint.load(path))
    assert [t.speaker for t in conv.turns] == ["human", "gpt"]
    assert conv.metadata["non_turn_messages"] == {"function_call": 1, "observation": 1}


def test_invalid_json_line_and_shape_errors(tmp_path):
    path = write_jsonl(tmp_path / "mixed.jsonl", [
        sg("a", ("human", "hi")),
        '{"id": "b", "conversations": [{"from": "human"',
        {"id": "c", "conversations": "hi"},
        {"id": "d", "conversations": [{"from": "human"}]},
        {"id": "e", "conversations": [{"from": "human", "value": ["x"]}]},
        sg("f", ("human", "last")),
    ])
    errs: list = []
    assert [c.id for c in convmaint.load(path, format="sharegpt", errors=errs)] == ["a", "f"]
    assert [e.line for e in errs] == [2, 3, 4, 5]
    assert all(isinstance(e, FormatError) and e.path == str(path) for e in errs)
    assert [e.record for e in errs[1:]] == ["c", "d/message 0", "e/message 0"]


def test_not_json_at_all(tmp_path):
    path = tmp_path / "junk.json"
    path.write_text("this is not json\n")
    with pytest.raises(FormatError) as info:
        list(convmaint.load(path, format="sharegpt"))
    assert info.value.path == str(path) and info.value.line == 1


def test_folder_with_a_corrupt_file(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([sg("a", ("human", "hi"), ("gpt", "hello"))]))
    (tmp_path / "b.json").write_text(json.dumps([sg("b", ("human", "hi"))])[:-3])
    (tmp_path / "c.json").write_text(json.dumps([sg("c", ("human", "hi"), ("gpt", "hello"))]))
    errs: list = []
    assert [c.id for c in convmaint.load(tmp_path, errors=errs)] == ["a", "c"]
    (err,) = errs
    assert isinstance(err, FormatError) and err.path == str(tmp_path / "b.json")


def test_non_utf8(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'[{"id": "x", "conversations": [{"from": "human", "value": "caf\xe9"}]}]')
    with pytest.raises(EncodingError) as info:
        list(convmaint.load(path, format="sharegpt"))
    assert info.value.line == 1


def test_chat_files_are_not_claimed(tmp_path):
    path = tmp_path / "chat.json"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "the conversations were from far"}]}))
    assert sniff(path).name == "chat"
