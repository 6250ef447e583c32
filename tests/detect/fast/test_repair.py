"""The fast-mode (scan) repair detector: self-repair from interruption points, and the cross-turn repairs."""

from __future__ import annotations

import pytest

from convmaint.detect.base import detector_classes, make_detectors
from convmaint.detect.fast.repair import FastRepairDetector
from convmaint.errors import ConfigError
from convmaint.model import Conversation, Move, Role, Segment, Turn
from convmaint.nlp.regex_backend import RegexBackend
from tests.detect.helpers import family_lexicons, make_conv


@pytest.fixture(scope="module")
def lexicons():
    return family_lexicons("editing_terms", "repair_markers", "repair_words")


def _run(lexicons, texts, *, prior=(), speakers=None, roles=None, segments=None, **kw):
    conv = make_conv(texts, speakers, roles, segments)
    parsed = list(RegexBackend().parse(texts))
    return FastRepairDetector(lexicons=lexicons, **kw).detect(conv, parsed, tuple(prior))


def _labels(moves, label):
    return [m for m in moves if m.label == label]


def _cr(turn, target, fmt="open", about="hearing"):
    """A clarification request as the clarification detector would report it (``prior``)."""
    return Move("clarification.request", turn, 0, 1, target=target, attributes={"format": fmt, "about": about},
                detector="clarification.fast.v1")


# ----------------------------------------------------------------------------- registry and config


def test_registered_as_the_scan_detector_of_the_family(lexicons):
    assert detector_classes()["repair.fast.v1"] is FastRepairDetector
    assert FastRepairDetector.order == 20 and FastRepairDetector.engine == "scan"
    (det,) = make_detectors(["repair"], lexicons=lexicons, mode="fast")
    assert isinstance(det, FastRepairDetector)


def test_runs_in_fast_mode_only(lexicons):
    with pytest.raises(ConfigError):
        FastRepairDetector(lexicons=lexicons, mode="lite")


def test_bad_emit_levels(lexicons):
    with pytest.raises(ConfigError):
        FastRepairDetector(lexicons=lexicons, emit_levels=("typo",))


# ----------------------------------------------------------------------------- self-repair


@pytest.mark.parametrize("text, kind, rule", [
    ("we went to the, uh, the store", "repetition", "repetition"),
    ("I, I think so", "repetition", "repetition"),
    ("do you, do you have kids", "repetition", "repetition"),
    ("um so I went there and I I saw it", "repetition", "repetition"),
    ("uh I'm I'm doing a lot more cooking now", "repetition", "repetition"),
    ("so, so there's different types", "repetition", "repetition"),
    ("he was- she was there", "replacement", "fragment"),
    ("th- the store is closed", "repetition", "fragment"),
    ("we could- actually, why don't we order in", "restart", "fragment"),
    ("Are we meeting on Tuesday, no, Wednesday?", "replacement", "editing_term"),
    ("we, they have a dog", "replacement", "parallel"),
    ("and there's, it's completely generic", "insertion", "insertion"),
    ("the chairs, the folding chairs are out", "insertion", "onset"),
])
def test_self_repair(lexicons, text, kind, rule):
    (m,) = _labels(_run(lexicons, [text]), "repair.self")
    assert (m.attributes["kind"], m.attributes["rule"]) == (kind, rule)
    rs, re_ = m.attributes["reparandum"]
    fs, fe = m.attributes["repair"]
    assert m.start <= rs < re_ <= fs < fe <= m.end <= len(text)
    assert m.detector == "repair.fast.v1" and m.cue == text[m.start:m.end]


@pytest.mark.parametrize("text", [
    "the train was really really slow",
    "the train was really, really slow",
    "the menu looks so so good",
    "bye-bye",
    "no no, don't worry about it",
    "if I do do it, I'll tell you",
    "I mean, the acting was great",
    "sorry I'm late",
    "we watch C N N a lot",
    "it is what it is",
    "you know, you can come to south Tyler",
    "money, money, money, that's all they want",
    "I went home. I went to bed.",
    "I love college, I went there for years",
    "I do, I think it's great",
    "then- still impressed me",
    "a six-goal goal attack",
    "25 + 25 = 50, and 1, 1, 2, 3 is how Fibonacci starts.",
    "I'm sorry, I'm not sure what you mean",
    "<p>You who bring light,\nYou who bring warmth,\nYou who stand before me</p>",
])
def test_no_self_repair(lexicons, text):
    assert _labels(_run(lexicons, [text]), "repair.self") == []


def test_words_said_twice_without_a_pause_count_in_unedited_speech_only(lexicons):
    # "the the", "I'm I'm" are repairs where the conversation shows other signs of speech (a filled
    # pause, a cut-off word), as in a transcript; in edited writing they are emphasis or typos
    moves = _labels(_run(lexicons, ["um, yeah", "I'm I'm doing more cooking", "and the the kids like it"]), "repair.self")
    assert [(m.turn, m.cue) for m in moves] == [(1, "I'm I'm"), (2, "the the")]
    assert _labels(_run(lexicons, ["yeah", "I'm I'm doing more cooking", "busy busy week"]), "repair.self") == []
    (f,) = _labels(_run(lexicons, ["I w- I mean", "we went to the the store"]), "repair.self")  # a cut-off word
    assert f.turn == 1 and f.cue == "the the"


def test_editing_term_span_and_level(lexicons):
    text = "Are we meeting on Tuesday, no, Wednesday?"
    (m,) = _labels(_run(lexicons, [text]), "repair.self")
    es, ee = m.attributes["editing_term"]
    assert text[es:ee] == "no"
    assert m.attributes["level"] == "correction" and m.attributes["reference"] is False
    (d,) = _labels(_run(lexicons, ["we went to the, uh, the store"]), "repair.self")
    assert d.attributes["level"] == "disfluency"
    (r,) = _labels(_run(lexicons, ["I saw Tom, uh, Tom yesterday"]), "repair.self")
    assert r.attributes["reference"] is True


def test_emit_levels_correction_only(lexicons):
    texts = ["we went to the, uh, the store. Are we meeting on Tuesday, no, Wednesday?"]
    moves = _labels(_run(lexicons, texts, emit_levels=("correction",)), "repair.self")
    assert [m.attributes["level"] for m in moves] == ["correction"]


def test_segments_are_the_units(lexicons):
    # a repetition across two source segments is not found inside one; inside a segment it is
    text = "I went, I went home."
    assert _labels(_run(lexicons, [text], segments=[[(0, 6), (7, 20)]]), "repair.self") == []
    (m,) = _labels(_run(lexicons, [text], segments=[[(0, 20)]]), "repair.self")
    assert m.attributes["kind"] == "repetition"


def test_written_non_talk_is_not_repair(lexicons):
    """Code, and list lines, repeat words without repairing anything."""
    texts = ["Here:\n```\nx, x = x + 1, x\n```", "Titles:\n* Frolics of the Sunshine\n* Frolics of the Moon"]
    assert _labels(_run(lexicons, texts, speakers=["A", "B"]), "repair.self") == []
    assert len(_labels(_run(lexicons, ["I went to the, the store"]), "repair.self")) == 1


def test_repairs_in_several_turns_land_on_their_turns(lexicons):
    texts = ["ok", "I, I think so", "right", "we went to the, uh, the store"]
    moves = _labels(_run(lexicons, texts), "repair.self")
    assert [(m.turn, texts[m.turn][m.start:m.end]) for m in moves] == [(1, "I, I"), (3, "the, uh, the")]


def test_cross_turn_restart(lexicons):
    moves = _run(lexicons, ["I guess", "uh-huh", "I guess we can start"])
    (m,) = _labels(moves, "repair.self")
    assert m.turn == 2 and m.attributes["reparandum_turn"] == 0 and m.attributes["rule"] == "cross_turn"


def test_no_cross_turn_restart_after_a_question_or_a_full_stop(lexicons):
    assert _labels(_run(lexicons, ["go past the church and then take the", "second left?", "the first right"]),
                   "repair.self") == []
    assert _labels(_run(lexicons, ["I guess.", "uh-huh", "I guess we can start"]), "repair.self") == []


def test_written_followup_correction(lexicons):
    moves = _run(lexicons, ["see you on Tuesday", "*Wednesday"], speakers=["A", "A"])
    (m,) = _labels(moves, "repair.self")
    assert m.turn == 1 and m.attributes["reparandum_turn"] == 0 and m.attributes["level"] == "correction"
    apology = _run(lexicons, ["sorry I'm late", "sorry, the train was slow"], speakers=["A", "A"])
    assert _labels(apology, "repair.self") == []


# ----------------------------------------------------------------------------- cross-turn labels


def test_other_correction(lexicons):
    moves = _run(lexicons, ["The deadline for the grant is the 15th, right?", "No, it's the 12th."])
    (m,) = _labels(moves, "repair.other")
    assert m.turn == 1 and m.target == 0
    strong = _run(lexicons, ["The Eiffel tower is in Berlin.", "Not quite - it is in Paris."], roles=[Role.HUMAN, Role.MODEL])
    (s,) = _labels(strong, "repair.other")
    assert s.cue.lower() == "not quite" and s.score == 0.8


@pytest.mark.parametrize("texts", [
    ["have you ever been to Iceland?", "no, never. you?"],
    ["Would you like 2 sugars?", "No, 1 please."],
    ["what time is it?", "4pm."],
    ["I broke the vase", "oh no. are you ok?"],
    ["that was fun", "no problem at all"],
])
def test_no_other_correction(lexicons, texts):
    assert _labels(_run(lexicons, texts), "repair.other") == []


def test_third_position(lexicons):
    moves = _run(lexicons, ["can you list the planets by size", "Sure! Mercury, Venus, Earth, Mars.",
                            "no, I meant by size, biggest first"], speakers=["user", "assistant", "user"])
    (m,) = _labels(moves, "repair.third_position")
    assert m.turn == 2 and m.target == 0 and m.attributes["via"] == 1
    assert _labels(moves, "repair.other") == []


def test_no_third_position_when_confirming(lexicons):
    moves = _run(lexicons, ["can you list the planets", "Mercury, Venus, Earth, Mars.", "yes, that's exactly what I meant"],
                 speakers=["user", "assistant", "user"])
    assert _labels(moves, "repair.third_position") == []


def test_no_third_position_after_a_clarification_request(lexicons):
    texts = ["can you list the planets", "which ones?", "I meant the big ones"]
    moves = _run(lexicons, texts, prior=[_cr(1, 0, "restricted_request", "reference")])
    assert _labels(moves, "repair.third_position") == []
    (c,) = _labels(moves, "repair.completion")
    assert c.turn == 2 and c.target == 1 and c.attributes["reference"] is True


def test_completion(lexicons):
    texts = ["meet you at gate 14", "sorry?", "gate 14. by the coffee place", "ok"]
    (m,) = _labels(_run(lexicons, texts, prior=[_cr(1, 0)]), "repair.completion")
    assert m.turn == 2 and m.target == 1


def test_no_completion_for_a_bare_confirmation_or_without_a_request(lexicons):
    texts = ["can you grab the folder?", "you mean the red one?", "yes", "ok"]
    assert _labels(_run(lexicons, texts, prior=[_cr(1, 0, "restricted_offer", "reference")]), "repair.completion") == []
    assert _labels(_run(lexicons, ["meet you at gate 14", "ok", "gate 14. by the coffee place"]), "repair.completion") == []


def test_empty_and_tiny_conversations(lexicons):
    assert _run(lexicons, [""]) == []
    assert _run(lexicons, ["ok"]) == []
    turn = Turn(0, "0", "A", Role.HUMAN, "I, I", segments=(Segment("s", 0, 4),))
    conv = Conversation("t", (turn,))
    det = FastRepairDetector(lexicons=family_lexicons("editing_terms", "repair_markers", "repair_words"))
    (m,) = det.detect(conv, list(RegexBackend().parse([turn.text])))
    assert (m.start, m.end) == (0, 4)
