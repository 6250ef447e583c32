"""The ConvoKit corpus reader and writer."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import convmaint
from convmaint.errors import ConfigError, FormatError, RoleError
from convmaint.io.convokit import write_convokit
from convmaint.model import Conversation, Move, Role, Segment, Turn

UTTERANCES = [
    {"id": "u1", "conversation_id": "u1", "speaker": "alice", "reply-to": None, "timestamp": 1600000000,
     "text": "Can you book me a table for two tonight?", "meta": {}, "vectors": []},
    {"id": "u2", "conversation_id": "u1", "speaker": "bot", "reply-to": "u1", "timestamp": 1600000005,
     "text": "Sure, which restaurant did you have in mind?", "meta": {"intent": "clarify"}, "vectors": []},
    {"id": "u3", "conversation_id": "u1", "speaker": "alice", "reply-to": "u2", "timestamp": 1600000012,
     "text": "The Thai place on Main Street.", "meta": {}},
    {"id": "v1", "conversation_id": "v1", "speaker": "carol", "reply_to": None, "timestamp": "1600000100",
     "text": "Did you see the game last night?", "meta": {}},
    {"id": "v2", "conversation_id": "v1", "speaker": "dave", "reply_to": "v1", "timestamp": 1600000130,
     "text": "Which one, the Tuesday game?", "meta": {}},
]
SPEAKERS = {
    "alice": {"meta": {"role": "user"}, "vectors": []},
    "bot": {"meta": {"role": "assistant"}, "vectors": []},
    "carol": {"meta": {}, "vectors": []},
    "dave": {"meta": {}, "vectors": []},
}
CONVERSATIONS = {"u1": {"meta": {"title": "booking"}, "vectors": []}, "v1": {"meta": {"title": "sports"}, "vectors": []}}


def write_corpus(folder: Path, utterances=UTTERANCES, speakers=SPEAKERS, conversations=CONVERSATIONS, lines=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = lines if lines is not None else [json.dumps(u) for u in utterances]
    (folder / "utterances.jsonl").write_text("\n".join(body) + "\n", encoding="utf-8")
    if speakers is not None:
        (folder / "speakers.json").write_text(json.dumps(speakers), encoding="utf-8")
    if conversations is not None:
        (folder / "conversations.json").write_text(json.dumps(conversations), encoding="utf-8")
    (folder / "corpus.json").write_text(json.dumps({"name": "toy-corpus"}), encoding="utf-8")
    (folder / "index.json").write_text(json.dumps({"utterances-index": {}, "speakers-index": {},
                                                   "conversations-index": {}, "overall-index": {}, "version": 1}))
    return folder


def load(path, **kw) -> list[Conversation]:
    return list(convmaint.load(path, format="convokit", **kw))


def test_reads_conversations_turns_roles_and_metadata(tmp_path):
    convs = load(write_corpus(tmp_path / "toy"))
    assert [c.id for c in convs] == ["u1", "v1"]
    booking, sports = convs
    assert [t.text for t in booking.turns][0] == "Can you book me a table for two tonight?"
    assert [t.id for t in booking.turns] == ["u1", "u2", "u3"]
    assert [t.reply_to for t in booking.turns] == [None, "u1", "u2"]
    assert [t.role for t in booking.turns] == [Role.HUMAN, Role.MODEL, Role.HUMAN]
    assert [t.role for t in sports.turns] == [Role.UNKNOWN, Role.UNKNOWN]
    assert sports.turns[0].timestamp == 1600000100.0 and sports.turns[1].reply_to == "v1"
    assert booking.turns[1].metadata == {"intent": "clarify"}
    assert booking.metadata["title"] == "booking"
    assert booking.metadata["format"] == "convokit"
    assert booking.metadata["corpus"] == "toy"
    assert booking.metadata["convokit_corpus"] == {"name": "toy-corpus"}
    assert booking.source.endswith("utterances.jsonl")


def test_role_map_fills_speakers_without_a_role(tmp_path):
    convs = load(write_corpus(tmp_path / "toy"), roles={"carol": "human", "dave": "human", "bot": "human"})
    assert [t.role for t in convs[1].turns] == [Role.HUMAN, Role.HUMAN]
    assert convs[0].turns[1].role is Role.MODEL  # the corpus's own role wins over the map


def test_sniffed_as_a_corpus_folder(tmp_path):
    folder = write_corpus(tmp_path / "toy")
    convs = list(convmaint.load(folder))
    assert [c.id for c in convs] == ["u1", "v1"]
    assert convmaint.io.sniff(folder).name == "convokit"


def test_older_layout_user_root_and_bare_meta(tmp_path):
    utts = [
        {"id": "a", "root": "a", "user": "Jim", "reply_to": None, "timestamp": None, "text": "Where's the stapler?", "meta": {}},
        {"id": "b", "root": "a", "user": "Dwight", "reply_to": "a", "timestamp": None, "text": "Which stapler?", "meta": {}},
    ]
    speakers = {"Jim": {"role": "human"}, "Dwight": {"speaker_role": "human"}}
    conversations = {"a": {"office": "Scranton"}}
    [conv] = load(write_corpus(tmp_path / "old", utts, speakers, conversations))
    assert [t.speaker for t in conv.turns] == ["Jim", "Dwight"]
    assert [t.role for t in conv.turns] == [Role.HUMAN, Role.HUMAN]
    assert conv.metadata["office"] == "Scranton"
    assert conv.turns[0].timestamp is None


def test_interleaved_file_is_regrouped_by_seeking(tmp_path):
    order = [UTTERANCES[i] for i in (0, 3, 1, 4, 2)]
    folder = write_corpus(tmp_path / "mixed", order)
    convs = load(folder)
    assert [c.id for c in convs] == ["u1", "v1"]
    assert [t.id for t in convs[0].turns] == ["u1", "u2", "u3"]
    assert [t.id for t in convs[1].turns] == ["v1", "v2"]


def test_interleaved_file_with_a_bad_line_inside_a_run(tmp_path):
    lines = [json.dumps(UTTERANCES[0]), "{not json", json.dumps(UTTERANCES[1]), json.dumps(UTTERANCES[3]),
             json.dumps(UTTERANCES[2]), json.dumps(UTTERANCES[4])]
    errors: list = []
    convs = load(write_corpus(tmp_path / "mixed", lines=lines), errors=errors)
    assert [len(c) for c in convs] == [3, 2]
    assert len(errors) == 1 and isinstance(errors[0], FormatError)
    assert errors[0].line == 2 and errors[0].path.endswith("utterances.jsonl")


def test_contiguous_option_reads_in_one_pass_and_reports_reappearing_ids(tmp_path):
    order = [UTTERANCES[i] for i in (0, 1, 3, 2, 4)]
    errors: list = []
    convs = load(write_corpus(tmp_path / "mixed", order), options={"contiguous": True}, errors=errors)
    assert [t.id for t in convs[0].turns] == ["u1", "u2"]
    assert [t.id for t in convs[1].turns] == ["v1", "v2"]
    assert len(errors) == 1 and errors[0].line == 4 and "reappears" in errors[0].reason


def test_contiguous_option_from_the_command_line_is_a_string(tmp_path):
    folder = write_corpus(tmp_path / "toy")
    assert [len(c) for c in load(folder, options={"contiguous": "false"})] == [3, 2]
    assert [len(c) for c in load(folder, options={"contiguous": "true"})] == [3, 2]
    with pytest.raises(ConfigError):
        load(folder, options={"contiguous": "maybe"})


def test_bad_lines_are_reported_with_path_and_line_and_reading_goes_on(tmp_path):
    lines = [json.dumps(UTTERANCES[0]), "{\"id\": \"u2\", \"text\": ", "[1, 2]", "",
             json.dumps({**UTTERANCES[1], "conversation_id": None}),  # a reply without a conversation id
             json.dumps(UTTERANCES[2]), json.dumps({**UTTERANCES[3], "text": ""}), json.dumps(UTTERANCES[4])]
    errors: list = []
    convs = load(write_corpus(tmp_path / "bad", lines=lines), errors=errors)
    assert [(c.id, len(c)) for c in convs] == [("u1", 2), ("v1", 1)]
    assert [(type(e).__name__, e.line) for e in errors] == [
        ("FormatError", 2), ("FormatError", 3), ("FormatError", 5), ("EmptyTurnError", 7)]
    assert all(e.path.endswith("utterances.jsonl") for e in errors)
    with pytest.raises(FormatError) as exc:
        load(tmp_path / "bad")
    assert exc.value.line == 2


def test_bad_encoding_line_is_reported(tmp_path):
    folder = write_corpus(tmp_path / "enc")
    data = (folder / "utterances.jsonl").read_bytes().split(b"\n")
    data.insert(1, b'{"id": "x", "text": "caf\xe9"}')
    (folder / "utterances.jsonl").write_bytes(b"\n".join(data))
    errors: list = []
    convs = load(folder, errors=errors)
    assert [len(c) for c in convs] == [3, 2]
    assert [(type(e).__name__, e.line) for e in errors] == [("EncodingError", 2)]


def test_unknown_role_is_reported_and_the_role_map_decides(tmp_path):
    speakers = {**SPEAKERS, "bot": {"meta": {"role": "moderator"}, "vectors": []}}
    errors: list = []
    convs = load(write_corpus(tmp_path / "toy", speakers=speakers), errors=errors, roles={"bot": "model"})
    assert convs[0].turns[1].role is Role.MODEL
    assert len(errors) == 1 and isinstance(errors[0], RoleError) and errors[0].path.endswith("speakers.json")
    assert errors[0].record == "speaker bot"


def test_invalid_side_file_spoils_the_corpus(tmp_path):
    folder = write_corpus(tmp_path / "toy")
    (folder / "conversations.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(FormatError) as exc:
        load(folder)
    assert exc.value.path.endswith("conversations.json")


def test_missing_utterances_file_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    errors: list = []
    assert load(tmp_path / "empty", errors=errors) == []
    assert len(errors) == 1 and "utterances.jsonl" in errors[0].reason


def test_order_by_timestamp_option(tmp_path):
    utts = [{**UTTERANCES[2], "timestamp": 5}, {**UTTERANCES[0], "timestamp": 1}, {**UTTERANCES[1], "timestamp": 3}]
    folder = write_corpus(tmp_path / "ts", utts)
    assert [t.id for t in load(folder)[0].turns] == ["u3", "u1", "u2"]
    assert [t.id for t in load(folder, options={"order": "timestamp"})[0].turns] == ["u1", "u2", "u3"]


def test_gzipped_utterances(tmp_path):
    folder = write_corpus(tmp_path / "gz")
    raw = (folder / "utterances.jsonl").read_bytes()
    (folder / "utterances.jsonl").unlink()
    with gzip.open(folder / "utterances.jsonl.gz", "wb") as fh:
        fh.write(raw)
    assert [len(c) for c in load(folder)] == [3, 2]


# -------------------------------------------------------------------------------------- writing


def hand_built() -> list[Conversation]:
    turns = (
        Turn(0, "t0", "user", Role.HUMAN, "I went on Tuesday, no, Wednesday.", timestamp=12.5,
             segments=(Segment("s1", 0, 17),), metadata={"lang": "en"}),
        Turn(1, "t1", "assistant", Role.MODEL, "Wednesday? Which week?", reply_to="t0"),
        Turn(2, "t2", "user", Role.HUMAN, "Last week.", reply_to="t1"),
    )
    gold = (
        Move("repair.self", 0, 10, 33, cue="no", attributes={"kind": "replacement", "reparandum": [10, 17]},
             detector="gold:hand"),
        Move("clarification.request", 1, 0, 10, target=0, attributes={"format": "restricted_offer"}, detector="gold:hand"),
    )
    first = Conversation("c1", turns, metadata={"corpus": "hand", "format": "native", "split": "dev"}, gold=gold)
    second = Conversation("c2", (Turn(0, "0", "A", Role.HUMAN, "Hi there."), Turn(1, "1", "B", Role.UNKNOWN, "Hello.")),
                          metadata={"corpus": "hand"})
    return [first, second]


def test_round_trip_keeps_turns_roles_texts_reply_to_and_gold(tmp_path):
    convs = hand_built()
    assert write_convokit(convs, tmp_path / "out") == 2
    back = load(tmp_path / "out")
    assert [c.id for c in back] == ["c1", "c2"]
    for before, after in zip(convs, back, strict=True):
        assert after.turns == before.turns
        assert after.gold == before.gold
    assert back[0].metadata["split"] == "dev" and back[0].metadata["format"] == "convokit"


def test_round_trip_from_a_convokit_corpus_keeps_utterance_ids(tmp_path):
    original = load(write_corpus(tmp_path / "toy"))
    convmaint.save(original, tmp_path / "copy", to="convokit")
    again = load(tmp_path / "copy")
    assert [c.turns for c in again] == [c.turns for c in original]
    first = json.loads((tmp_path / "copy" / "utterances.jsonl").read_text().splitlines()[0])
    assert first["id"] == "u1" and "convmaint_turn_id" not in first["meta"]


def test_written_files_have_the_convokit_shape(tmp_path):
    write_convokit(hand_built(), tmp_path / "out")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["conversations.json", "corpus.json", "index.json", "speakers.json",
                                                     "utterances.jsonl"]
    utts = [json.loads(line) for line in (out / "utterances.jsonl").read_text().splitlines()]
    assert set(utts[0]) == {"id", "conversation_id", "text", "speaker", "meta", "reply-to", "timestamp", "vectors"}
    assert utts[0]["id"] == "c1/t0" and utts[1]["reply-to"] == "c1/t0"
    assert utts[0]["meta"]["role"] == "human" and utts[0]["meta"]["convmaint_turn_id"] == "t0"
    assert utts[0]["meta"]["convmaint_gold"][0]["label"] == "repair.self"
    assert utts[1]["meta"]["convmaint_gold"][0]["target_id"] == "t0"
    speakers = json.loads((out / "speakers.json").read_text())
    assert speakers["user"] == {"meta": {"role": "human"}, "vectors": []}
    assert speakers["assistant"]["meta"] == {"role": "model"}
    convs = json.loads((out / "conversations.json").read_text())
    assert convs["c1"]["meta"]["split"] == "dev" and "format" not in convs["c1"]["meta"]
    index = json.loads((out / "index.json").read_text())
    assert set(index) >= {"utterances-index", "speakers-index", "conversations-index", "overall-index", "version"}
    assert index["utterances-index"]["role"] == ["<class 'str'>"]
    assert json.loads((out / "corpus.json").read_text())["convmaint_version"] == convmaint.__version__


def test_speaker_with_several_roles_and_repeated_conversation_ids(tmp_path):
    a = Conversation("x", (Turn(0, "0", "S", Role.HUMAN, "Hello."),))
    b = Conversation("x", (Turn(0, "0", "S", Role.MODEL, "Hi."),))
    assert write_convokit([a, b], tmp_path / "out") == 2
    speakers = json.loads((tmp_path / "out" / "speakers.json").read_text())
    assert speakers["S"]["meta"] == {"roles": ["human", "model"]}
    back = load(tmp_path / "out")
    assert [c.id for c in back] == ["x", "x#2"]
    assert [c.turns[0].role for c in back] == [Role.HUMAN, Role.MODEL]


def test_writing_replaces_an_existing_corpus_and_leaves_no_temporary_files(tmp_path):
    out = tmp_path / "out"
    write_convokit(hand_built(), out)
    write_convokit(hand_built()[1:], out)
    assert [c.id for c in load(out)] == ["c2"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
