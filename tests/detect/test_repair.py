"""The repair detector: self-repair, repair completion, other-correction and third-position repair."""

from __future__ import annotations

from pathlib import Path

import pytest

from convmaint.detect.base import detector_classes
from convmaint.detect.repair import RepairDetector
from convmaint.errors import ConfigError
from convmaint.model import Conversation, Move, Role, Turn
from tests.detect.helpers import fast_parse, family_lexicons, make_conv, spacy_backend

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lexicons():
    return family_lexicons("editing_terms", "repair_markers", "repair_words")


@pytest.fixture(scope="module")
def backend():
    return spacy_backend(RepairDetector.requires)


_conv = make_conv


def _fast_parse(text):
    # cut-off words keep their hyphen ("th-"), as a tokenizer splitting on spaces leaves them
    return fast_parse(text, r"[\w']+-(?=[\s,.]|$)|[\w']+|[^\w\s]")


def _run(lexicons, backend, texts, *, prior=(), **kw):
    conv = _conv(texts, kw.pop("speakers", None), kw.pop("roles", None))
    if backend is None:
        parsed = [_fast_parse(t) for t in texts]
        det = RepairDetector(lexicons=lexicons, mode="lite", **kw)
    else:
        parsed = list(backend.parse(texts))
        det = RepairDetector(lexicons=lexicons, **kw)
    return det.detect(conv, parsed, tuple(prior))


def _labels(moves, label):
    return [m for m in moves if m.label == label]


def _cr(turn, target, fmt="open", about="hearing"):
    """A clarification request as the clarification detector would report it (``prior``)."""
    return Move("clarification.request", turn, 0, 1, target=target, attributes={"format": fmt, "about": about},
                detector="clarification.v1")


# ----------------------------------------------------------------------------- registry and config


def test_registered_with_order_after_clarification():
    classes = detector_classes()
    assert classes["repair.v1"] is RepairDetector
    assert RepairDetector.order > classes["clarification.v1"].order if "clarification.v1" in classes else True
    assert set(RepairDetector.labels) == {"repair.self", "repair.completion", "repair.other", "repair.third_position"}
    assert "ents" not in RepairDetector.requires
    assert RepairDetector.requires_lite == frozenset({"tokens", "sents"})


def test_bad_emit_levels(lexicons):
    with pytest.raises(ConfigError, match="emit_levels"):
        RepairDetector(lexicons=lexicons, emit_levels=("meaning",))
    with pytest.raises(ConfigError):
        RepairDetector(lexicons=lexicons, emit_levels=())


def test_config_is_reported(lexicons):
    cfg = RepairDetector(lexicons=lexicons, max_gap=2).config()
    assert cfg["max_gap"] == 2 and cfg["emit_levels"] == ["disfluency", "correction"]


def test_lexicons_carry_provenance(lexicons):
    for lex_id in ("editing_terms", "repair_markers", "repair_words"):
        lex = lexicons[lex_id]
        assert lex.licence == "MIT" and lex.source
    assert any(e.pattern == "I mean" for e in lexicons["editing_terms"].entries)


# ----------------------------------------------------------------------------- self-repair, lite mode (no model)


@pytest.mark.parametrize("text, kind", [
    ("we went to the, uh, the store", "repetition"),
    ("I, I think so", "repetition"),
    ("he was- she was there", "replacement"),
    ("th- the store is closed", "repetition"),
    ("Are we meeting on Tuesday, no, Wednesday?", "replacement"),
])
def test_self_repair_lite(lexicons, text, kind):
    moves = _labels(_run(lexicons, None, [text]), "repair.self")
    assert [m.attributes["kind"] for m in moves] == [kind]
    m = moves[0]
    rs, re_ = m.attributes["reparandum"]
    fs, fe = m.attributes["repair"]
    assert m.start <= rs < re_ <= fs < fe <= m.end <= len(text)


@pytest.mark.parametrize("text", [
    "the train was really really slow",
    "the menu looks so so good",
    "bye-bye",
    "no no, don't worry about it",
    "if I do do it, I'll tell you",
    "I mean, the acting was great",
    "sorry I'm late",
    "we watch C N N a lot",
    "it is what it is",
    "you know, you can come to south Tyler",
])
def test_no_self_repair_lite(lexicons, text):
    assert _labels(_run(lexicons, None, [text]), "repair.self") == []


# The cheap tests that leave a turn out of the full search must keep every turn with a repair.
_REPAIRS = [
    "we went to the, uh, the store",
    "I, I think so",
    "how to how to do it",
    "Are we meeting on Tuesday, no, Wednesday?",
    "he, I mean Tom, called",
    "so I, maybe I misunderstood",
    "the chairs, the folding chairs were gone",
    "we, they have a dog",
    "I guess, you know, I guess we can start",
    "The planner is done. Or rather the manager.",
    "Let's see, let's see what they say",
    "I'm, I'm not sure",
]


@pytest.mark.parametrize("text", _REPAIRS)
def test_turn_test_keeps_repairs_lite(lexicons, text):
    det = RepairDetector(lexicons=lexicons, mode="lite")
    conv, parsed = _conv([text]), [_fast_parse(text)]
    found = _labels(det.detect(conv, parsed), "repair.self")
    assert det._self_repair_turns(conv, parsed) == [True] or not found


def test_turn_test_leaves_out_turns_without_cues_lite(lexicons):
    texts = ["I love that movie so much.", "What did you think of it?", "It was great, I think"]
    det = RepairDetector(lexicons=lexicons, mode="lite")
    assert det._self_repair_turns(_conv(texts), [_fast_parse(t) for t in texts]) == [False, False, False]


def test_turn_test_is_the_same_per_turn_and_per_conversation_lite(lexicons):
    texts = [*_REPAIRS, "I love that movie so much.", "th- the store", "", "ok, sure"]
    det = RepairDetector(lexicons=lexicons, mode="lite")
    conv, parsed = _conv(texts), [_fast_parse(t) for t in texts]
    assert det._self_repair_turns(conv, parsed) == [bool(len(p)) and det._may_self_repair(t, p)
                                                    for t, p in zip(conv.turns, parsed)]


def test_tokens_trie_takes_clitics_cut_or_not():
    from convmaint.detect.repair import _tokens_trie

    rx = _tokens_trie(["let's see", "i'm sorry", "so", "so what"])
    joined = "\x01let\x01's\x01see\x01i'm\x01\n\x01sorry\x01so\x01sorry\x01so\x01what\x01"
    assert [m.group(1) for m in rx.finditer(joined)] == [
        "let\x01's\x01see", "i'm\x01\n\x01sorry", "so", "so\x01what"]


def test_cue_turns_lite(lexicons):
    texts = ["The file is on the desk.", "Which one?", "No, I meant the other file.", "ok", "Not quite: it is 5."]
    det = RepairDetector(lexicons=lexicons, mode="lite")
    cues = det._cue_turns(_conv(texts), [_fast_parse(t) for t in texts])
    assert cues["third"] == {2} and cues["strong"] == {4}
    assert {2, 4} <= cues["other"] and 0 not in cues["other"]


def test_editing_term_span_and_level_lite(lexicons):
    text = "Are we meeting on Tuesday, no, Wednesday?"
    (m,) = _labels(_run(lexicons, None, [text]), "repair.self")
    es, ee = m.attributes["editing_term"]
    assert text[es:ee] == "no"
    assert m.attributes["level"] == "correction"
    assert m.attributes["reference"] is False  # a day is not a referring expression
    (d,) = _labels(_run(lexicons, None, ["we went to the, uh, the store"]), "repair.self")
    assert d.attributes["level"] == "disfluency"


def test_emit_levels_correction_only(lexicons):
    texts = ["we went to the, uh, the store. Are we meeting on Tuesday, no, Wednesday?"]
    moves = _labels(_run(lexicons, None, texts, emit_levels=("correction",)), "repair.self")
    assert [m.attributes["level"] for m in moves] == ["correction"]


def test_segments_are_the_units(lexicons):
    # with source segments, a repetition across two segments is not found inside one
    text = "I went. I went home."
    turn = Turn(0, "0", "A", Role.HUMAN, text, segments=())
    conv = Conversation("t", (turn,))
    det = RepairDetector(lexicons=lexicons, mode="lite")
    assert _labels(det.detect(conv, [_fast_parse(text)]), "repair.self") == []


def test_units_without_repair_cues_are_skipped_but_kept_lite(lexicons):
    # a word said again with no pause mark or editing term still opens the full search
    (m,) = _labels(_run(lexicons, None, ["so I went there and I I saw it"]), "repair.self")
    assert m.attributes["kind"] == "repetition" and (m.start, m.end) == (20, 23)
    # the unit before a correcting unit holds no cue of its own, but its words are still there
    text = "We need the red box. Or rather the blue box."
    (c,) = _labels(_run(lexicons, None, [text]), "repair.self")
    rs, re_ = c.attributes["reparandum"]
    assert c.attributes["rule"] == "correction_unit" and text[rs:re_] == "box"


def test_cross_turn_restart_lite(lexicons):
    moves = _run(lexicons, None, ["I guess", "uh-huh", "I guess we can start"])
    (m,) = _labels(moves, "repair.self")
    assert m.turn == 2 and m.attributes["reparandum_turn"] == 0 and m.attributes["rule"] == "cross_turn"


def test_no_cross_turn_restart_after_a_question(lexicons):
    moves = _run(lexicons, None, ["go past the church and then take the", "second left?", "the first right"])
    assert _labels(moves, "repair.self") == []


def test_written_followup_correction_lite(lexicons):
    moves = _run(lexicons, None, ["see you on Tuesday", "*Wednesday"], speakers=["A", "A"])
    (m,) = _labels(moves, "repair.self")
    assert m.turn == 1 and m.attributes["reparandum_turn"] == 0 and m.attributes["level"] == "correction"
    apology = _run(lexicons, None, ["sorry I'm late", "sorry, the train was slow"], speakers=["A", "A"])
    assert _labels(apology, "repair.self") == []


# ----------------------------------------------------------------------------- cross-turn labels, lite mode


def test_other_correction_lite(lexicons):
    moves = _run(lexicons, None, ["The deadline for the grant is the 15th, right?", "No, it's the 12th."])
    (m,) = _labels(moves, "repair.other")
    assert m.turn == 1 and m.target == 0


@pytest.mark.parametrize("texts", [
    ["have you ever been to Iceland?", "no, never. you?"],
    ["Would you like 2 sugars?", "No, 1 please."],
    ["what time is it?", "4pm."],
    ["I broke the vase", "oh no. are you ok?"],
])
def test_no_other_correction_lite(lexicons, texts):
    assert _labels(_run(lexicons, None, texts), "repair.other") == []


def test_third_position_lite(lexicons):
    moves = _run(lexicons, None, ["can you list the planets by size",
                                  "Sure! Mercury, Venus, Earth, Mars.",
                                  "no, I meant by size, biggest first"], speakers=["user", "assistant", "user"])
    (m,) = _labels(moves, "repair.third_position")
    assert m.turn == 2 and m.target == 0 and m.attributes["via"] == 1
    assert _labels(moves, "repair.other") == []


def test_no_third_position_after_a_clarification_request(lexicons):
    texts = ["can you list the planets", "which ones?", "I meant the big ones"]
    moves = _run(lexicons, None, texts, prior=[_cr(1, 0, "restricted_request", "reference")])
    assert _labels(moves, "repair.third_position") == []
    (c,) = _labels(moves, "repair.completion")
    assert c.turn == 2 and c.target == 1 and c.attributes["reference"] is True


def test_completion_lite(lexicons):
    texts = ["meet you at gate 14", "sorry?", "gate 14. by the coffee place", "ok"]
    (m,) = _labels(_run(lexicons, None, texts, prior=[_cr(1, 0)]), "repair.completion")
    assert m.turn == 2 and m.target == 1


def test_no_completion_for_a_bare_confirmation(lexicons):
    texts = ["can you grab the folder?", "you mean the red one?", "yes", "ok"]
    moves = _run(lexicons, None, texts, prior=[_cr(1, 0, "restricted_offer", "reference")])
    assert _labels(moves, "repair.completion") == []


def test_no_completion_without_a_request(lexicons):
    assert _labels(_run(lexicons, None, ["meet you at gate 14", "ok", "gate 14. by the coffee place"]),
                   "repair.completion") == []


# ----------------------------------------------------------------------------- full mode (spaCy)


@pytest.mark.model
@pytest.mark.parametrize("text, kind, reference", [
    ("we went to the, uh, the store", "repetition", False),
    ("he was- she was there", "replacement", True),
    ("she would, she'd put her arm around the kids", "replacement", True),
    ("I, maybe I misunderstood what they meant", "insertion", True),
    ("did you hear that he, I mean Tom, is leaving the team?", "replacement", True),
    ("can you bring the chairs, the folding chairs, from the garage?", "insertion", True),
    ("What kind of things are you, do you like in classical music?", "replacement", True),
    ("we could- actually, why don't we just order in tonight?", "restart", False),
])
def test_self_repair_full(lexicons, backend, text, kind, reference):
    moves = _labels(_run(lexicons, backend, [text]), "repair.self")
    assert [m.attributes["kind"] for m in moves] == [kind]
    assert moves[0].attributes["reference"] is reference


@pytest.mark.model
@pytest.mark.parametrize("text", [
    "I said that that was fine",
    "what we had had been sold",
    "like I said, I think it does",
    "I guess, I just wanted more news",
    "and they had some names, some companies that sold parts",
    "Well, this is a good subject, isn't it?",
    "got it, bringing it up now",
    "the train was really, really slow",
    "I'm not saying the film was bad. I mean, the acting was great.",
])
def test_no_self_repair_full(lexicons, backend, text):
    assert _labels(_run(lexicons, backend, [text]), "repair.self") == []


@pytest.mark.model
def test_cross_turn_labels_full(lexicons, backend):
    moves = _run(lexicons, backend, ["oh no. did you see the email about the reunion? it's on the 3rd",
                                     "the 4th, I think. but yes, can't wait"])
    (m,) = _labels(moves, "repair.other")
    assert m.target == 0
    moves = _run(lexicons, backend, ["so basically it's the chance that the null is true?",
                                     "Not quite — that's a very common misreading."])
    assert len(_labels(moves, "repair.other")) == 1
    declined = _run(lexicons, backend, ["Would you like a couple more in that vein?", "no that's fine, thanks"])
    assert _labels(declined, "repair.other") == []
    request = _run(lexicons, backend, ["Now write a birthday card message in German.", "Alles Gute zum Geburtstag!"])
    assert _labels(request, "repair.other") == []


# ----------------------------------------------------------------------------- real corpora (regression floors)


@pytest.mark.model
@pytest.mark.shared_data
def test_swda_slice(shared_data):
    from convmaint.evaluate import evaluate_corpus

    folder = shared_data("swda", "sw09utt")
    files = sorted(str(p) for p in folder.glob("*.utt"))[:8]
    rep = evaluate_corpus(files, corpus="swda", detectors=["repair"], labels=["repair.self"])
    (score,) = rep.labels
    # measured 0.838 on this slice (0.886-0.898 on 200-conversation slices); the floor guards regressions
    assert score.system["f1"] >= 0.80
    assert score.system["f1"] > score.baselines["cue-list"]["f1"]


@pytest.mark.model
def test_native_gold():
    from convmaint.evaluate import evaluate_corpus

    path = ROOT / "corpora" / "gold" / "chat_gold.jsonl"
    if not path.exists():
        pytest.skip(f"no native gold file at {path}")
    rep = evaluate_corpus([str(path)], corpus="native", detectors=["repair"],
                          labels=["repair.self", "repair.other", "repair.third_position"])
    f1 = {ls.label: ls.system["f1"] for ls in rep.labels}
    # these floors guard regressions; the file was used while writing the detector (not held out)
    assert f1["repair.self"] >= 0.7 and f1["repair.other"] >= 0.6 and f1["repair.third_position"] >= 0.6


@pytest.mark.model
def test_written_non_talk_is_not_repair(lexicons, backend):
    """Sums, code and list lines repeat words without repairing anything."""
    texts = ["what is 25 + 25?", "25 + 25 = 50, and 1, 1, 2, 3 is how Fibonacci starts.",
             "Here:\n```\nx = x + 1\nx = x + 1\n```", "Titles:\n* Frolics of the Sunshine\n* Frolics of the Moon"]
    assert not _labels(_run(lexicons, backend, texts), "repair.self")
    assert len(_labels(_run(lexicons, backend, ["I went to the, the store"]), "repair.self")) == 1
