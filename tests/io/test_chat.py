"""The chat reader: OpenAI / Hugging Face ``messages`` in JSON and JSONL."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

import convmaint
from convmaint.errors import ConvmaintError, EmptyTurnError, EncodingError, FormatError, RoleError
from convmaint.io.registry import sniff
from convmaint.model import Role


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def record(cid: str, *pairs: tuple[str, str], **extra) -> dict:
    return {"id": cid, "messages": [{"role": r, "content": c} for r, c in pairs], **extra}


RICH = {
    "id": "c1",
    "model": "gpt-4",
    "created": 1700000000,
    "format": "openai",
    "usage": {"prompt_tokens": 12, "completion_tokens": 30},
    "moderation": [{"flagged": False, "scores": {"hate": 0.0}}],
    "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "name": "ann", "content": "  Where is the station?  ", "timestamp": "2024-01-02T03:04:05Z"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Which station do you mean?"},
            {"type": "image_url", "image_url": {"url": "http://example.org/x.png"}},
        ], "model": "gpt-4"},
        {"role": "user", "content": [{"type": "text", "text": "The main one."}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "t1", "function": {"name": "maps"}}]},
        {"role": "tool", "content": "{\"route\": \"north\"}"},
        {"role": "assistant", "content": "Go north for two blocks."},
    ],
}


def test_one_object_json_round_trip(tmp_path):
    path = write_json(tmp_path / "conv.json", RICH)
    errs: list = []
    (conv,) = list(convmaint.load(path, errors=errs))
    assert errs == []
    assert conv.id == "c1"
    assert [t.speaker for t in conv.turns] == ["ann", "assistant", "user", "assistant"]
    assert [t.role for t in conv.turns] == [Role.HUMAN, Role.MODEL, Role.HUMAN, Role.MODEL]
    assert [t.text for t in conv.turns] == [
        "Where is the station?", "Which station do you mean?", "The main one.", "Go north for two blocks."]
    assert conv.turns[0].timestamp == 1704164645.0
    assert conv.turns[1].metadata == {"skipped_parts": ("image_url",), "model": "gpt-4"}
    meta = conv.metadata
    assert meta["format"] == "chat"
    assert meta["system"] == ("You are helpful.",)
    assert meta["model"] == "gpt-4" and meta["created"] == 1700000000
    assert meta["usage"] == {"prompt_tokens": 12, "completion_tokens": 30}
    assert meta["record_format"] == "openai"
    assert meta["dropped_keys"] == ("moderation",)
    assert meta["non_turn_messages"] == {"tool_calls": 1, "tool": 1}

    out = tmp_path / "saved.jsonl"
    assert convmaint.save([conv], out, to="jsonl") == 1
    (back,) = list(convmaint.load(out, format="native"))
    assert back.turns == conv.turns
    assert back.id == conv.id


def test_list_of_objects_and_default_ids(tmp_path):
    path = write_json(tmp_path / "many.json", [
        record("a", ("user", "hi"), ("assistant", "hello")),
        {"messages": [{"role": "user", "content": "no id here"}]},
        record("c", ("user", "bye")),
    ])
    convs = list(convmaint.load(path, format="chat"))
    assert [c.id for c in convs] == ["a", "many:2", "c"]
    assert [len(c) for c in convs] == [2, 1, 1]


def test_bare_list_of_messages_is_one_conversation(tmp_path):
    path = write_json(tmp_path / "bare.json", [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}, {"role": "user", "content": "ok"}])
    assert sniff(path).name == "chat"
    (conv,) = list(convmaint.load(path))
    assert conv.id == "bare"
    assert [t.role for t in conv.turns] == [Role.HUMAN, Role.MODEL, Role.HUMAN]


def test_jsonl_streams_and_conversation_synonym(tmp_path):
    path = write_jsonl(tmp_path / "lmsys.jsonl", [
        {"conversation_id": "x1", "model": "vicuna-13b", "language": "English",
         "conversation": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}]},
        record("x2", ("user", "yo"), ("assistant", "hi")),
        [{"role": "user", "content": "a bare list on a line"}],
    ])
    convs = list(convmaint.load(path))
    assert [c.id for c in convs] == ["x1", "x2", "lmsys:3"]
    assert convs[0].metadata["model"] == "vicuna-13b"
    assert "conversation_id" not in convs[0].metadata


def test_gzipped_jsonl(tmp_path):
    path = tmp_path / "chats.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(record("g", ("user", "hi"), ("assistant", "hello"))) + "\n")
    assert sniff(path).name == "chat"
    assert [c.id for c in convmaint.load(path)] == ["g"]


def test_json_file_holding_json_lines(tmp_path):
    path = write_jsonl(tmp_path / "misnamed.json", [record("a", ("user", "hi")), "{not json", record("b", ("user", "yo"))])
    errs: list = []
    assert [c.id for c in convmaint.load(path, errors=errs)] == ["a", "b"]
    assert len(errs) == 1 and errs[0].line == 2


def test_bad_lines_are_reported_with_path_and_line(tmp_path):
    path = write_jsonl(tmp_path / "mixed.jsonl", [
        record("ok1", ("user", "hi"), ("assistant", "hello")),
        '{"id": "broken", "messages": [',
        {"id": "nomsg", "text": "no messages"},
        record("badrole", ("user", "hi"), ("wizard", "abracadabra")),
        record("ok2", ("user", "bye")),
        record("empty", ("user", "  ")),
    ])
    errs: list = []
    convs = list(convmaint.load(path, format="chat", errors=errs))
    assert [c.id for c in convs] == ["ok1", "ok2"]
    assert [(type(e), e.line) for e in errs] == [(FormatError, 2), (FormatError, 3), (RoleError, 4), (EmptyTurnError, 6), (FormatError, 6)]
    assert all(e.path == str(path) for e in errs)
    assert errs[0].reason.startswith("invalid JSON")
    assert "wizard" in errs[2].reason and errs[2].record == "badrole/message 1"
    assert f"{path}:2" in str(errs[0])


def test_first_error_is_raised_without_an_error_list(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [record("ok", ("user", "hi")), "nope"])
    with pytest.raises(FormatError) as info:
        list(convmaint.load(path, format="chat"))
    assert info.value.line == 2


def test_bad_element_of_a_json_array_names_its_line(tmp_path):
    path = tmp_path / "arr.json"
    path.write_text(json.dumps([record("a", ("user", "hi")), {"id": "b"}, record("c", ("user", "yo"))], indent=2))
    errs: list = []
    assert [c.id for c in convmaint.load(path, format="chat", errors=errs)] == ["a", "c"]
    (err,) = errs
    assert err.record == "b"
    assert path.read_text().splitlines()[err.line - 1].strip() == "{"
    assert '"id": "b"' in path.read_text().splitlines()[err.line]


def test_whole_file_not_json_is_raised(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"id": "x",\n "messages": [\n  {"role": "user" "content": "hi"}]}')
    with pytest.raises(FormatError) as info:
        list(convmaint.load(path, format="chat"))
    assert info.value.line == 3 and info.value.path == str(path)
    truncated = tmp_path / "trunc.json"
    truncated.write_text(json.dumps([record("a", ("user", "hi")), record("b", ("user", "yo"))])[:-5])
    errs: list = []
    assert [c.id for c in convmaint.load(truncated, format="chat", errors=errs)] == ["a"]
    assert isinstance(errs[0], FormatError)


def test_top_level_scalar_is_an_error(tmp_path):
    path = tmp_path / "num.json"
    path.write_text("42")
    with pytest.raises(FormatError, match="object or array"):
        list(convmaint.load(path, format="chat"))


def test_corrupt_file_in_a_folder_is_collected(tmp_path):
    write_json(tmp_path / "a.json", record("a", ("user", "hi"), ("assistant", "hello")))
    (tmp_path / "b.json").write_text('{"id": "b", "messages": [{"role": "user", "content": "hi"}')
    write_json(tmp_path / "c.json", record("c", ("user", "hi")))
    errs: list = []
    assert [c.id for c in convmaint.load(tmp_path, errors=errs)] == ["a", "c"]
    (err,) = errs
    assert isinstance(err, FormatError) and err.path == str(tmp_path / "b.json")


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(json.dumps(record("a", ("user", "hi"))).encode() + b"\n"
                     + '{"id": "b", "messages": [{"role": "user", "content": "café"}]}\n'.encode("latin-1"))
    errs: list = []
    assert [c.id for c in convmaint.load(path, format="chat", errors=errs)] == ["a"]
    (err,) = errs
    assert isinstance(err, EncodingError) and err.line == 2


def test_message_shape_errors(tmp_path):
    path = write_jsonl(tmp_path / "shapes.jsonl", [
        {"id": "1", "messages": "hello"},
        {"id": "2", "messages": ["hello"]},
        {"id": "3", "messages": [{"role": "user", "content": 5}]},
        {"id": "4", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
        {"id": "5", "messages": [{"role": "system", "content": "only a system prompt"}]},
        7,
    ])
    errs: list = []
    assert list(convmaint.load(path, format="chat", errors=errs)) == []
    assert [e.line for e in errs] == [1, 2, 3, 4, 5, 6]
    assert all(isinstance(e, FormatError) for e in errs)


def test_role_map_override_and_name(tmp_path):
    path = write_json(tmp_path / "named.json", record("n", ("user", "hi"), ("assistant", "hello")))
    rm = convmaint.RoleMap.parse(["user=model"])
    (conv,) = list(convmaint.load(path, roles=rm))
    assert conv.turns[0].role is Role.HUMAN  # the format's own role wins unless the map overrides


def test_one_large_object(tmp_path):
    big = "word " * 200_000
    path = write_json(tmp_path / "big.json", record("big", *[("user" if i % 2 == 0 else "assistant", big) for i in range(10)]))
    (conv,) = list(convmaint.load(path))
    assert len(conv) == 10 and conv.turns[3].n_words == 200_000


@pytest.mark.parametrize(("name", "body", "expected"), [
    ("chat.json", record("a", ("user", "hi")), "chat"),
    ("sg.json", [{"id": "s", "conversations": [{"from": "human", "value": "hi"}]}], "sharegpt"),
    ("hh.jsonl", {"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: no"}, "hh_rlhf"),
    ("dpo.jsonl", {"chosen": [{"role": "user", "content": "hi"}], "messages": [{"role": "user", "content": "x"}]}, "chat"),
    ("other.json", {"data": [1, 2, 3]}, None),
])
def test_sniffing_does_not_steal(tmp_path, name, body, expected):
    path = write_json(tmp_path / name, body)
    reader = sniff(path)
    assert (reader.name if reader else None) == expected


def test_native_output_is_not_claimed_by_chat(tmp_path):
    src = write_json(tmp_path / "c.json", record("a", ("user", "hi"), ("assistant", "hello")))
    out = tmp_path / "out" / "native.jsonl"
    convmaint.save(convmaint.load(src), out)
    assert sniff(out).name == "native"


@pytest.mark.shared_data
def test_chatbot_arena_folder(shared_data):
    folder = shared_data("chatbot_arena")
    errs: list = []
    n_convs = 0
    roles: Counter = Counter()
    for conv in convmaint.load(folder, errors=errs):
        n_convs += 1
        roles.update(t.role for t in conv.turns)
        assert conv.metadata["format"] == "chat"
    assert n_convs == 2129
    assert set(roles) == {Role.HUMAN, Role.MODEL}
    assert sum(roles.values()) == 12151
    assert roles == {Role.HUMAN: 6080, Role.MODEL: 6071}
    # nine assistant messages in the source are empty: reported and left out, nothing else goes wrong
    assert len(errs) == 9 and all(isinstance(e, EmptyTurnError) for e in errs)
    assert all(isinstance(e, ConvmaintError) and e.path for e in errs)
