"""The fast-mode (scan) clarification detector: the parse detector's behaviour on the regex tokenizer's parse."""

from __future__ import annotations

import pytest

from convmaint.detect.base import detector_classes, make_detectors
from convmaint.detect.clarification import ClarificationDetector
from convmaint.detect.fast.clarification import FastClarificationDetector
from convmaint.errors import ConfigError
from convmaint.model import Role
from convmaint.nlp.regex_backend import RegexBackend
from tests.detect.helpers import family_lexicons, make_conv

LABEL = "clarification.request"
ASSISTANT = [Role.HUMAN, Role.MODEL]


@pytest.fixture(scope="module")
def lexicons():
    return family_lexicons("clarification")


def _run(lexicons, texts, *, speakers=None, roles=None, segments=None, debug=False, **kw):
    conv = make_conv(texts, speakers, roles, segments)
    parsed = list(RegexBackend(requires=("tokens", "sents")).parse(texts))
    det = FastClarificationDetector(lexicons=lexicons, **kw)
    det._debug = debug
    return det.detect(conv, parsed, ())


def _at(moves, turn):
    return [m for m in moves if m.turn == turn]


# (turns, index of the turn with the request, format, about); the request targets the turn before.
POSITIVES = [
    (["See you at the depot on Tuesday.", "Huh?"], 1, "open", "hearing"),
    (["See you at the depot on Tuesday.", "Sorry, what?"], 1, "open", "hearing"),
    (["Bring the form to the third floor.", "I'm sorry, I didn't catch that."], 1, "open", "hearing"),
    (["Bring the form to the third floor.", "Pardon me."], 1, "open", "hearing"),
    (["It's a long story.", "I don\u2019t understand."], 1, "open", "meaning"),  # typographic apostrophe
    (["He fixed it with crontab.", "What do you mean by crontab?"], 1, "restricted_request", "meaning"),
    (["I got a chowperd last week.", "You got a what?"], 1, "restricted_request", "hearing"),
    (["Pass me the folder, please.", "Which one?"], 1, "restricted_request", "reference"),
    (["Jimi Hendrix was the original.", "Who?"], 1, "restricted_request", "reference"),
    (["I'd take the red one.", "You mean the red folder?"], 1, "restricted_offer", "meaning"),
    (["I'd take the red one.", "So you mean the red folder?"], 1, "restricted_offer", "meaning"),
    (["My favorite team is the Pittsburgh Steelers.", "Pittsburgh?"], 1, "restricted_offer", "hearing"),
    (["Are you talking about the new budget?", "Are you referring to the draft from Monday?"], 1,
     "restricted_offer", "reference"),
    (["Can you write me a script that renames my photos?", "Do you want it in Python or in Bash?"], 1,
     "alternative", "intent"),
    (["How do I install numpy?", "Which version of Python are you using?"], 1, "specification", "intent"),
    (["Help me plan a holiday.", "What kind of trip are you planning?"], 1, "specification", "intent"),
    (["Recommend me a laptop.", "Could you clarify what you will mostly use it for?"], 1, "specification", "intent"),
]


@pytest.mark.parametrize("texts,turn,fmt,about", POSITIVES)
def test_positives(lexicons, texts, turn, fmt, about):
    roles = ASSISTANT if fmt in ("specification", "alternative") else None
    moves = _at(_run(lexicons, texts, roles=roles), turn)
    assert len(moves) == 1, moves
    m = moves[0]
    assert m.label == LABEL
    assert (m.attributes["format"], m.attributes["about"]) == (fmt, about)
    assert m.target == turn - 1
    assert m.detector == "clarification.fast.v1"
    assert m.cue and m.cue in texts[turn][m.start:m.end]


# Near misses: (turns, turn that must hold no clarification request, roles)
NEGATIVES = [
    (["We drove all the way to Phoenix.", "Huh."], 1, None),  # a continuer, not a question
    (["We drove all the way to Phoenix.", "Uh-huh?"], 1, None),  # "huh" glued to "uh-" is no open request
    (["Guess what?", "What?"], 1, None),  # the go-ahead to a pre-announcement
    (["I'll tell you what we could do.", "What?"], 1, None),
    (["It's hard to explain.", "I know what you mean."], 1, None),  # agreement
    (["We got the grant.", "Really?"], 1, None),  # backchannel in question form
    (["It's a good plan, right?", "Right."], 1, None),
    (["It's a good plan.", "Well, you know what?"], 1, None),  # an attention-getter
    (["I just bought a new car.", "What colour?"], 1, None),  # asks for more, having understood: a follow-up
    (["I just bought a new car.", "Do you like driving it?"], 1, None),  # a plain question
    (["I just got back from my first solo trip!", "Congratulations! Where did you go?"], 1, ASSISTANT),
    (["What?"], 0, None),  # nobody to clarify
    (["I'm sorry I'm late.", "No worries."], 1, None),
    (["Sorry about that.", "It's fine, don't worry."], 1, None),
    (["How do I sort a list in Python?",
      ("Use sorted(xs) for a new list or xs.sort() to sort in place. Both accept key= and reverse=True, and both "
       "are stable, so equal items keep their order, which matters when you sort by several keys one after another. "
       "Would you like me to show an example with several keys?")], 1, ASSISTANT),  # an offer after an answer
    (["Do you like football?", "Yes, I love it. What about you?"], 1, None),
    (["I'm going to Lisbon next week.", "What kind of trip are you planning?"], 1, None),  # no request to specify
    (["the meeting is at noon", "i mean we could also move it"], 1, None),  # "i mean" is no "you mean"
]


@pytest.mark.parametrize("texts,turn,roles", NEGATIVES)
def test_near_misses(lexicons, texts, turn, roles):
    assert _at(_run(lexicons, texts, roles=roles), turn) == []


def test_a_request_without_question_mark_needs_a_frame_that_needs_none(lexicons):
    # In text that uses "?", "what" without one is no request; "I didn't catch that" is.
    texts = ["See you at the depot.", "What.", "The depot, at noon?", "Sorry, I didn't catch that."]
    moves = _run(lexicons, texts)
    assert [(m.turn, m.attributes["format"]) for m in moves] == [(3, "open")]


def test_request_must_open_the_turn(lexicons):
    texts = ["See you at the depot.", "I went there yesterday and it was closed for the whole afternoon. What?"]
    assert _at(_run(lexicons, texts), 1) == []


def test_specification_in_a_turn_that_answers_needs_an_after_answer_frame(lexicons):
    answer = ("Sure! A few crowd-pleasers: Project Hail Mary, a funny science-fiction novel; The Remains of the "
              "Day, quiet literary fiction; and Piranesi, a short, strange mystery with a memorable narrator.")
    moves = _run(lexicons, ["recommend me a book", answer + " What kinds of books have you enjoyed?"], roles=ASSISTANT)
    assert [m.attributes["format"] for m in _at(moves, 1)] == ["specification"]
    moves = _run(lexicons, ["recommend me a book", answer + " Would you like a couple more?"], roles=ASSISTANT)
    assert _at(moves, 1) == []


def test_an_assistant_may_ask_for_a_parameter_of_a_reported_problem(lexicons):
    user = "my code works on my laptop but when my coworker runs it he gets a different answer"
    answer = "That usually points to unseeded randomness. Could you share what the code does?"
    moves = _run(lexicons, [user, answer], roles=ASSISTANT)
    assert [m.attributes["format"] for m in _at(moves, 1)] == ["specification"]
    moves = _run(lexicons, ["I liked the Martian", "Then try Project Hail Mary. Would you like a couple more?"],
                 roles=ASSISTANT)
    assert _at(moves, 1) == []


def test_target_skips_a_bare_acknowledgement(lexicons):
    texts = ["We ordered the steamed shellfish.", "Yeah.", "Uh-huh.", "What was the steamed shellfish you said?"]
    moves = _run(lexicons, texts, speakers=["A", "B", "A", "B"])
    # B's question follows A's "Uh-huh." (two words for the tokenizer); the clarified talk is A's first turn.
    assert [(m.turn, m.target, m.attributes["format"]) for m in moves] == [(3, 0, "restricted_request")]


def test_move_span_stays_inside_its_segment(lexicons):
    texts = ["We meet at the depot.", "Huh? Oh, the depot, right."]
    moves = _run(lexicons, texts, segments=[None, [(0, 4), (5, 26)]])
    assert [(m.start, m.end) for m in moves] == [(0, 4)]


def test_move_span_is_the_sentence_in_unsegmented_text(lexicons):
    texts = ["We meet at the depot at noon.", "Okay. Noon? I thought it was at one."]
    moves = _run(lexicons, texts)
    assert [(m.start, m.end, m.attributes["format"]) for m in moves] == [(6, 11, "restricted_offer")]


def test_unpunctuated_text_uses_the_partners_repeat(lexicons):
    # lower-cased text without "?": the partner's repeat of the trouble source shows "what" asked
    texts = ["the meeting moved to thursday", "what", "the meeting moved to thursday"]
    assert [m.turn for m in _run(lexicons, texts)] == [1]
    texts = ["the meeting moved to thursday", "what", "anyway i have to go"]
    assert _run(lexicons, texts) == []


def test_options_switch_rules_off(lexicons):
    texts = ["My favorite team is the Pittsburgh Steelers.", "Pittsburgh?"]
    assert _run(lexicons, texts, echo_questions=False) == []
    texts = ["the far right corner has the old recorder and the mixing desk",
             "so the old recorder sits in the far right corner?"]
    assert _run(lexicons, texts) == []  # a longer "so X?" check is left to grounding.reformulation
    moves = _run(lexicons, texts, declarative_checks="overlap")
    assert [m.attributes["format"] for m in moves] == ["restricted_offer"]
    texts = ["I work in the lab on the third floor.", "So you have a badge for the building?"]
    assert _run(lexicons, texts, declarative_checks="overlap") == []
    assert len(_run(lexicons, texts, declarative_checks="broad")) == 1


def test_debug_records_the_rule(lexicons):
    moves = _run(lexicons, ["My favorite team is the Pittsburgh Steelers.", "Pittsburgh?"], debug=True)
    assert [m.attributes["rule"] for m in moves] == ["echo"]
    assert "rule" not in _run(lexicons, ["My favorite team is the Pittsburgh Steelers.", "Pittsburgh?"])[0].attributes


# The fast detector follows the parse detector (lite mode, same tokens) on these, turn by turn.
AGREEMENT = [
    ["Are we meeting on Tuesday?", "Tuesday?", "Yes, at the depot.", "The what?", "The depot. By the station."],
    ["I saw Carla at the gym.", "Who's Carla?", "My cousin.", "Oh, right, the tall one?", "Yes."],
    ["fyi the printer on 3 is jammed again", "huh?", "the printer. on the third floor", "oh ok"],
    ["can you bring the chairs, the folding chairs, from the garage?", "sure, how many?", "six"],
    ["we could order in tonight", "yes please. pizza or curry?", "curry"],
    ["So I told him to take the 5:15.", "You said the 5:15?", "Yeah.", "Okay, so he'll be late then?"],
]


@pytest.mark.parametrize("texts", AGREEMENT)
def test_agrees_with_the_parse_detector_in_lite_mode(lexicons, texts):
    conv = make_conv(texts)
    parsed = list(RegexBackend(requires=("tokens", "sents")).parse(texts))
    fast = FastClarificationDetector(lexicons=lexicons).detect(conv, parsed, ())
    lite = ClarificationDetector(lexicons=lexicons, mode="lite").detect(conv, parsed, ())
    def key(ms):
        return sorted((m.turn, m.start, m.end, m.attributes["format"], m.attributes["about"], m.target) for m in ms)

    assert key(fast) == key(lite)
    assert fast  # each conversation holds at least one request


def test_registered_as_the_scan_detector_of_the_family(lexicons):
    classes = detector_classes()
    assert classes["clarification.fast.v1"] is FastClarificationDetector
    assert FastClarificationDetector.engine == "scan"
    assert FastClarificationDetector.order == ClarificationDetector.order
    assert FastClarificationDetector.requires <= frozenset({"tokens", "sents"})
    dets = make_detectors(["clarification"], lexicons=lexicons, mode="fast")
    assert [type(d) for d in dets] == [FastClarificationDetector]
    # the parse detector's options are accepted (one config serves every mode)
    make_detectors(["clarification"], lexicons=lexicons, mode="fast",
                   config={"clarification": {"max_lead_words": 2, "declarative_checks": "broad"}})
    with pytest.raises(ConfigError):
        FastClarificationDetector(lexicons=lexicons, mode="full")
