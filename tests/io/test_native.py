"""The native JSONL format, the loader's error handling and role maps."""

from __future__ import annotations

import json

import pytest

import convmaint
from convmaint.errors import ConvmaintError, EncodingError, RoleError, UnknownFormatError
from convmaint.io.base import RoleMap
from convmaint.model import Move, Role


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"id": "c1", "turns": [
    {"speaker": "A", "role": "user", "text": "Can you send the file?"},
    {"speaker": "B", "role": "assistant", "text": "Which file?", "segments": [{"id": "s1", "start": 0, "end": 11}]},
], "gold": [{"label": "clarification.request", "turn": 1, "start": 0, "end": 11, "target": 0,
             "attributes": {"format": "restricted_request"}}]})


def test_round_trip(tmp_path):
    src = _write(tmp_path / "a.jsonl", [GOOD])
    convs = list(convmaint.load(src))
    assert len(convs) == 1
    c = convs[0]
    assert [t.role for t in c.turns] == [Role.HUMAN, Role.MODEL]
    assert c.gold[0].attributes["format"] == "restricted_request" and c.gold[0].detector == "gold:native"
    out = tmp_path / "out.jsonl"
    assert convmaint.save([c], out) == 1
    again = list(convmaint.load(out))[0]
    assert again.turns == c.turns and again.gold == c.gold and again.id == c.id


def test_detected_moves_round_trip(tmp_path):
    from dataclasses import replace

    c = list(convmaint.load(_write(tmp_path / "a.jsonl", [GOOD])))[0]
    c = replace(c, moves=(Move("grounding.acknowledgement", 0, 0, 3, detector="grounding.v1", attributes={"form": "receipt"}),))
    out = tmp_path / "moves.jsonl"
    convmaint.save([c], out)
    assert list(convmaint.load(out))[0].moves == c.moves


def test_bad_lines_reported_rest_read(tmp_path):
    lines = [GOOD] * 3
    lines[1] = '{"id": "broken", "turns": [}'
    src = _write(tmp_path / "a.jsonl", lines)
    errors = []
    convs = list(convmaint.load(src, errors=errors))
    assert len(convs) == 2
    assert len(errors) == 1 and errors[0].line == 2 and errors[0].path == str(src)
    assert "invalid JSON" in str(errors[0])


def test_strict_raises_first_error(tmp_path):
    src = _write(tmp_path / "a.jsonl", ['{"id": 1, "turns": 3}', GOOD])
    with pytest.raises(ConvmaintError, match=r"a.jsonl:1"):
        list(convmaint.load(src, errors=[], strict=True))
    with pytest.raises(ConvmaintError):
        list(convmaint.load(src))  # no error list: raise


def test_unknown_role_and_empty_turn(tmp_path):
    bad_role = json.dumps({"id": "c", "turns": [{"speaker": "A", "role": "alien", "text": "hi"}]})
    empty = json.dumps({"id": "d", "turns": [{"speaker": "A", "text": "  "}, {"speaker": "B", "text": "hi"}]})
    errors = []
    convs = list(convmaint.load(_write(tmp_path / "a.jsonl", [bad_role, empty]), errors=errors))
    assert [c.id for c in convs] == ["d"] and len(convs[0].turns) == 1
    kinds = {type(e).__name__ for e in errors}
    assert kinds == {"RoleError", "EmptyTurnError"}
    assert all(e.line in (1, 2) for e in errors)


def test_non_utf8_file(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(GOOD.encode() + b"\n" + b'{"id": "x\xff"}\n' + GOOD.encode() + b"\n")
    errors = []
    convs = list(convmaint.load(p, format="native", errors=errors))
    assert len(convs) == 2  # the bad line is reported and skipped; the line after it is read
    assert isinstance(errors[0], EncodingError) and errors[0].line == 2


def test_folder_with_corrupt_file_and_unknown_files(tmp_path):
    _write(tmp_path / "a.jsonl", [GOOD])
    (tmp_path / "b.jsonl").write_bytes(b"\x00\x01garbage")
    (tmp_path / "notes.bin").write_bytes(b"\x00")
    from convmaint.io import ErrorLog

    errors = ErrorLog()
    convs = list(convmaint.load(tmp_path, errors=errors))
    assert len(convs) == 1
    assert str(tmp_path / "notes.bin") in errors.skipped
    assert [e.path for e in errors] == [str(tmp_path / "b.jsonl")] and "corrupt" in errors[0].reason


def test_explicit_unknown_file_is_an_error(tmp_path):
    p = tmp_path / "x.weird"
    p.write_text("hello")
    with pytest.raises(UnknownFormatError, match="x.weird"):
        list(convmaint.load(p))


def test_missing_path_reported(tmp_path):
    errors = []
    assert list(convmaint.load(tmp_path / "nope", errors=errors)) == []
    assert "no such file" in str(errors[0])


def test_role_map_parsing_and_precedence():
    rm = RoleMap.parse(["A=human", "B=assistant", "*=model"])
    assert rm.role_for("A") is Role.HUMAN and rm.role_for("B") is Role.MODEL and rm.role_for("Z") is Role.MODEL
    # a role the format knows wins unless the map names the speaker
    assert RoleMap.parse(["*=human"]).role_for("bot", Role.MODEL) is Role.MODEL
    with pytest.raises(RoleError, match="unknown role 'robot'"):
        RoleMap.parse(["A=robot"])
    with pytest.raises(RoleError, match="SPEAKER=ROLE"):
        RoleMap.parse(["A"])


def test_folder_toml_sets_roles(tmp_path):
    (tmp_path / "convmaint.toml").write_text('corpus = "mine"\n[roles]\nA = "human"\nB = "model"\n')
    _write(tmp_path / "a.jsonl", [json.dumps({"id": "c", "turns": [{"speaker": "A", "text": "hi"}, {"speaker": "B", "text": "hello"}]})])
    c = list(convmaint.load(tmp_path))[0]
    assert [t.role for t in c.turns] == [Role.HUMAN, Role.MODEL]
    assert c.metadata["corpus"] == "mine"


def test_move_pointing_past_turns_rejected(tmp_path):
    bad = json.dumps({"id": "c", "turns": [{"speaker": "A", "text": "hi"}], "gold": [{"label": "repair.self", "turn": 3}]})
    errors = []
    assert list(convmaint.load(_write(tmp_path / "a.jsonl", [bad]), errors=errors)) == []
    assert "points at turn 3" in str(errors[0])


def test_forced_format_in_folder_only_takes_its_endings(tmp_path):
    from convmaint.io import ErrorLog

    _write(tmp_path / "a.jsonl", [GOOD])
    (tmp_path / "manual.html").write_text("<html>not a transcript</html>")
    errors = ErrorLog()
    assert len(list(convmaint.load(tmp_path, format="native", errors=errors))) == 1
    assert not errors and errors.skipped == [str(tmp_path / "manual.html")]
