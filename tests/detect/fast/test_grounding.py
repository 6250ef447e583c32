"""The fast-mode (scan) grounding detector: acknowledgements, repeats, reformulations, completions, follow-ups."""

from __future__ import annotations

import pytest

from convmaint.detect.base import detector_classes, make_detectors
from convmaint.detect.fast.grounding import FastGroundingDetector, _question_kind
from convmaint.errors import ConfigError
from convmaint.model import Conversation, Move, Role, Segment, Turn
from convmaint.nlp.regex_backend import RegexBackend
from tests.detect.helpers import family_lexicons, make_conv

ACK = "grounding.acknowledgement"
FOLLOW_UP = "grounding.follow_up"
REPEAT = "grounding.repeat"
REFORMULATION = "grounding.reformulation"
COMPLETION = "grounding.completion"
ASSISTANT = [Role.HUMAN, Role.MODEL]


@pytest.fixture(scope="module")
def lexicons():
    return family_lexicons("backchannels", "reformulation_frames", "grounding_frames")


def _parse(texts):
    return list(RegexBackend(requires=("tokens", "sents")).parse(texts))


def _run(lexicons, texts, *, prior=(), speakers=None, roles=None, segments=None, **kw):
    conv = make_conv(texts, speakers, roles, segments)
    return FastGroundingDetector(lexicons=lexicons, **kw).detect(conv, _parse(texts), tuple(prior))


def _of(moves, label, turn=None):
    return [m for m in moves if m.label == label and (turn is None or m.turn == turn)]


def _text(texts, m):
    return texts[m.turn][m.start:m.end]


# ------------------------------------------------------------------------------------ registry


def test_registered_as_the_fast_grounding_detector(lexicons):
    cls = detector_classes()["grounding.fast.v1"]
    assert cls is FastGroundingDetector
    assert cls.engine == "scan" and cls.order == 40
    assert set(cls.labels) == {ACK, FOLLOW_UP, REPEAT, REFORMULATION, COMPLETION}
    assert cls.requires <= {"tokens", "sents"}
    dets = make_detectors(["grounding"], lexicons=lexicons, mode="fast")
    assert [type(d) for d in dets] == [FastGroundingDetector]


def test_runs_in_fast_mode_only(lexicons):
    with pytest.raises(ConfigError):
        FastGroundingDetector(lexicons=lexicons, mode="lite")


def test_empty_conversation_and_empty_turns(lexicons):
    det = FastGroundingDetector(lexicons=lexicons)
    assert det.detect(Conversation("e", ()), []) == []
    assert _run(lexicons, ["", "Uh-huh."]) == []


# ------------------------------------------------------------------------------ acknowledgement


@pytest.mark.parametrize("reply, form", [
    ("uh-huh", "continuer"),
    ("Mm-hmm.", "continuer"),
    ("uh-huh, yeah", "continuer"),
    ("ok got it", "receipt"),
    ("Oh, I see.", "receipt"),
    ("OKAY.", "receipt"),
    ("oh really?", "question_form"),
    ("Oh, did you?", "question_form"),
    ("gotcha, makes sense", "receipt"),
    ("thanks, that makes sense", "receipt"),
])
def test_acknowledgement_positive(lexicons, reply, form):
    texts = ["My sister moved to Lisbon last month for a new job at the port.", reply]
    acks = _of(_run(lexicons, texts), ACK, 1)
    assert len(acks) == 1, acks
    assert acks[0].attributes["form"] == form
    assert acks[0].target == 0 and acks[0].detector == "grounding.fast.v1"


def test_cue_is_the_backchannel_text(lexicons):
    texts = ["We fixed the leak in the kitchen.", "Oh, I see."]
    (ack,) = _of(_run(lexicons, texts), ACK)
    assert ack.cue == "Oh I see"
    assert _text(texts, ack) == "Oh, I see."


@pytest.mark.parametrize("texts", [
    ["Do you like living in Lisbon?", "Yeah."],                          # an answer
    ["The meeting is at nine tomorrow.", "At nine, right?"],             # a tag question
    ["We won the regional final on penalties yesterday.", "Wow."],       # an assessment (ba)
    ["Prices just keep going up everywhere.", "Exactly."],               # an agreement (aa)
    ["Okay.", "So what are we talking about today?"],                    # nothing to acknowledge yet
    ["We drove all the way to Denver.", "It was,"],                      # an elliptical echo, no receipt
    ["My cat likes the sun.", "I think she likes warm places."],         # no backchannel at all
])
def test_acknowledgement_negative(lexicons, texts):
    assert not _of(_run(lexicons, texts), ACK)


def test_sure_complying_with_a_request_is_not_an_acknowledgement(lexicons):
    texts = ["Can you write a function that reverses a string?",
             "Sure! Here is a short function that does it with slicing: def rev(s): return s[::-1]."]
    assert not _of(_run(lexicons, texts, roles=ASSISTANT), ACK)


def test_got_it_opening_an_assistant_reply_acknowledges(lexicons):
    texts = ["The report is due on Friday and it has to be under ten pages.",
             "Got it. I will keep the draft short and send it by Thursday."]
    acks = _of(_run(lexicons, texts, roles=ASSISTANT), ACK, 1)
    assert len(acks) == 1 and _text(texts, acks[0]).startswith("Got it")


def test_clusters_set_off_in_written_chat_are_units_of_their_own(lexicons):
    texts = ["Run the migration first, then restart the web server.", "ok got it, but what about the worker queue?"]
    acks = _of(_run(lexicons, texts), ACK, 1)
    assert len(acks) == 1
    assert _text(texts, acks[0]).startswith("ok got it") and "worker" not in _text(texts, acks[0])
    texts = ["The bus stop is at gate fourteen, by the post office.", "gate fourteen, got it. on my way"]
    moves = _run(lexicons, texts)
    assert [_text(texts, m) for m in _of(moves, ACK, 1)] == ["gate fourteen,", "got it."]  # (the echo, too)
    assert [_text(texts, m) for m in _of(moves, REPEAT, 1)] == ["gate fourteen"]


def test_a_cluster_closing_a_question_is_a_tag(lexicons):
    texts = ["The meeting is at nine tomorrow.", "and it is in the big room, right?"]
    assert not _of(_run(lexicons, texts), ACK)


def test_yeah_followed_by_agreement_is_agreement(lexicons):
    texts = ["I think the new library is a great idea.", "Yeah. Me too."]
    assert not _of(_run(lexicons, texts, segments=[[(0, len(texts[0]))], [(0, 5), (6, 13)]]), ACK)
    # a discourse particle before an agreement word is no agreement statement ("so true" opens the phrase)
    texts = ["TRUE is approximate and FALSE is exact.", "right, so TRUE is for bands and ranges"]
    assert _of(_run(lexicons, texts), ACK, 1)


def test_yeah_after_own_talk_is_no_backchannel(lexicons):
    texts = ["We moved the servers last week.", "I heard about that. Yeah."]
    assert not _of(_run(lexicons, texts, segments=[[(0, len(texts[0]))], [(0, 19), (20, 25)]]), ACK)


def test_assessments_and_agreements_only_when_configured(lexicons):
    texts = ["We won the regional final on penalties yesterday.", "Wow."]
    assert _of(_run(lexicons, texts, count_assessments=True), ACK)
    texts = ["Prices just keep going up everywhere.", "Exactly."]
    assert _of(_run(lexicons, texts, count_agreements=True), ACK)


def test_okay_before_goodbye_closes(lexicons):
    texts = ["Well, I should let you go now.", "Okay.", "It was nice talking to you. Bye."]
    assert not _of(_run(lexicons, texts), ACK, 1)


def test_thanks_receipts_only_an_answer_that_was_asked_for(lexicons):
    asked = ["What time does the pharmacy close?", "It closes at eight tonight.", "thanks"]
    assert _of(_run(lexicons, asked), ACK, 2)
    unasked = ["Let me tell you about my weekend.", "I spent it repainting the fence.", "thanks"]
    assert not _of(_run(lexicons, unasked), ACK, 2)


def test_units_claimed_as_clarification_are_left_alone(lexicons):
    texts = ["He bought a boat last week.", "Really?"]
    assert _of(_run(lexicons, texts), ACK, 1)
    claimed = Move("clarification.request", 1, 0, 7, detector="clarification.fast.v1")
    assert not _of(_run(lexicons, texts, prior=[claimed]), ACK)


def test_backchannels_of_third_parties_are_passed_over(lexicons):
    # B's "yeah" acknowledges A's news, not C's "mm-hmm"; after A's question it answers A
    texts = ["We are still on for Friday.", "Mm-hmm.", "Yeah."]
    moves = _run(lexicons, texts, speakers=["A", "C", "B"])
    assert [(m.turn, m.target) for m in _of(moves, ACK)] == [(1, 0), (2, 0)]
    texts = ["Are we still on for Friday?", "Mm-hmm.", "Yeah."]
    assert not _of(_run(lexicons, texts, speakers=["A", "C", "B"]), ACK)


def test_a_pause_in_a_merged_meeting_turn_starts_it_afresh(lexicons):
    # A reader merged A's rows into one turn; A's "yeah" comes after a long pause (B spoke meanwhile).
    a_text = "so the budget is done. yeah."
    b_text = "and we still need the slides for the review next week"

    def conv(timed):
        def seg(i, s, e, t0, t1):
            return Segment(i, s, e, {"start_time": t0, "end_time": t1} if timed else {})
        return Conversation("m", (
            Turn(0, "0", "B", Role.HUMAN, b_text, segments=(seg("b1", 0, len(b_text), 0.0, 2.0),)),
            Turn(1, "1", "A", Role.HUMAN, a_text, segments=(seg("a1", 0, 22, 2.5, 3.5), seg("a2", 23, 28, 6.0, 6.3))),
        ))

    det = FastGroundingDetector(lexicons=lexicons)
    parsed = _parse([b_text, a_text])
    assert [a_text[m.start:m.end] for m in _of(det.detect(conv(True), parsed), ACK)] == ["yeah."]
    assert not _of(det.detect(conv(False), parsed), ACK)


def test_many_words_are_no_acknowledgement(lexicons):
    texts = ["We fixed the leak.", "Yeah yeah yeah yeah yeah yeah yeah yeah yeah yeah."]
    assert not _of(_run(lexicons, texts), ACK)
    assert _of(_run(lexicons, texts, max_ack_words=12), ACK)


def test_text_whose_lower_case_moves_offsets(lexicons):
    # "İ" lower-cases to two characters: the detector matches the text as is, ignoring case
    texts = ["İstanbul was cold and we walked a lot.", "OH, REALLY?"]
    acks = _of(_run(lexicons, texts), ACK, 1)
    assert acks and _text(texts, acks[0]) == "OH, REALLY?" and acks[0].attributes["form"] == "question_form"


# ------------------------------------------------------------------------------------ follow-up


@pytest.mark.parametrize("texts, basis", [
    (["I just got back from two weeks in Japan.", "Oh nice! How long were you in Japan?"], "overlap"),
    (["We adopted a dog from the shelter last week.", "What breed is it?"], "reference"),
    (["The interview took almost three hours.", "Why?"], "frame"),
    (["The interview took almost three hours.", "how come?"], "frame"),
    (["my sister is doing her driving lessons", "oh brilliant. does she need to do a theory exam first, or"], "reference"),
])
def test_follow_up_positive(lexicons, texts, basis):
    fus = _of(_run(lexicons, texts), FOLLOW_UP, 1)
    assert len(fus) == 1 and fus[0].target == 0
    assert fus[0].attributes["basis"] == basis


@pytest.mark.parametrize("texts", [
    ["My favourite season is autumn.", "What about you?"],                 # reciprocal hand-off
    ["Are you coming to the party tonight?", "Is Sam coming?"],             # counter-question
    ["I adopted a dog last week.", "That is lovely news."],                 # not a question
    ["I adopted a dog last week.", "Please send me the report?"],           # a request
    ["I adopted a dog last week.", "Did you finish the report?"],           # nothing in common
])
def test_follow_up_negative(lexicons, texts):
    assert not _of(_run(lexicons, texts), FOLLOW_UP)


def test_topic_moves_and_clarifications_are_not_follow_ups(lexicons):
    texts = ["Put the files in the shared folder.", "Which folder do you mean?"]
    assert _of(_run(lexicons, texts), FOLLOW_UP)
    claimed = Move("clarification.request", 1, 0, len(texts[1]), detector="clarification.fast.v1")
    assert not _of(_run(lexicons, texts, prior=[claimed]), FOLLOW_UP)
    shift = Move("topic.shift", 1, 0, len(texts[1]), detector="topic.fast.v1")
    assert not _of(_run(lexicons, texts, prior=[shift]), FOLLOW_UP)


# --------------------------------------------------------------------------------------- repeat


def test_repeat_echoes_partner_words(lexicons):
    texts = ["Let's meet on Tuesday at the library.", "Tuesday."]
    moves = _run(lexicons, texts)
    reps = _of(moves, REPEAT, 1)
    assert len(reps) == 1 and reps[0].target == 0
    s, e = reps[0].attributes["span"]
    assert texts[0][s:e] == "Tuesday"
    assert _text(texts, reps[0]) == "Tuesday"
    acks = _of(moves, ACK, 1)  # a declarative echo also displays hearing (SWBD-DAMSL b^m)
    assert acks and acks[0].attributes == {"form": "receipt", "repeat": True}


def test_a_backchannel_mimicking_the_partners_is_a_repeat(lexicons):
    reps = _of(_run(lexicons, ["Yeah.", "Yeah."]), REPEAT, 1)
    assert len(reps) == 1 and reps[0].attributes == {"span": (0, 5), "echo": "backchannel"}
    assert not _of(_run(lexicons, ["Yeah.", "Uh-huh."]), REPEAT)
    assert not _of(_run(lexicons, ["Well, bye then.", "Bye."]), REPEAT)  # a closing exchange


def test_repeat_in_chat_opening_a_longer_message(lexicons):
    texts = ["gate fourteen. one four", "ok, one four, on my way"]
    reps = _of(_run(lexicons, texts), REPEAT, 1)
    assert reps and _text(texts, reps[0]) == "one four"


@pytest.mark.parametrize("texts", [
    ["Are you from Southern or Northern California?", "Northern."],      # an answer
    ["Did you do your military service?", "I was in the military."],     # a clause of its own
    ["It was nice talking to you, bye.", "Bye."],                         # a closing exchange
    ["I drove to Denver and back.", "Oh."],                               # backchannels only
    ["did you drive to Denver", "did you drive to Denver?"],              # a question
    ["Let's meet on Tuesday at the library.", "The library is closed on Tuesdays, I think."],  # new words
])
def test_repeat_negative(lexicons, texts):
    assert not _of(_run(lexicons, texts), REPEAT)


# -------------------------------------------------------------------------------- reformulation


@pytest.mark.parametrize("reply, frame", [
    ("So you're saying the deadline moved to Friday.", "strong"),
    ("In other words, the budget is frozen until March.", "strong"),
    ("Oh, so basically the old server stays up until the migration is done.", "strong"),
    ("So you think the old server stays up.", "weak"),
])
def test_reformulation_positive(lexicons, reply, frame):
    texts = ["They pushed the deadline, the budget is frozen until March and the old server stays up.", reply]
    refs = _of(_run(lexicons, texts), REFORMULATION, 1)
    assert len(refs) == 1 and refs[0].target == 0
    assert refs[0].attributes["frame"] == frame


@pytest.mark.parametrize("reply", [
    "So I went to the store and bought some bread.",        # no frame
    "So you have to restart it after every update.",        # generic "you", no shared word
    "I was saying that the weather is nice in other words.",  # a frame, but not up front
])
def test_reformulation_negative(lexicons, reply):
    texts = ["They pushed the deadline to Friday.", reply]
    assert not _of(_run(lexicons, texts), REFORMULATION)


def test_weak_frame_on_a_clarified_unit_is_left_to_clarification(lexicons):
    texts = ["Can you grab the folder from my desk?", "You mean the red folder on the desk."]
    assert _of(_run(lexicons, texts), REFORMULATION)
    claimed = Move("clarification.request", 1, 0, len(texts[1]), detector="clarification.fast.v1")
    assert not _of(_run(lexicons, texts, prior=[claimed]), REFORMULATION)


# ----------------------------------------------------------------------------------- completion


def test_completion_of_unfinished_syntax(lexicons):
    texts = ["go past the church and then take the", "second left?"]
    comps = _of(_run(lexicons, texts), COMPLETION, 1)
    assert len(comps) == 1 and comps[0].target == 0
    assert comps[0].attributes["kind"] == "syntactic" and comps[0].cue == "the"


def test_completion_of_a_word_search(lexicons):
    texts = ["what's the word for it? it's German, schaden something", "Schadenfreude!"]
    comps = _of(_run(lexicons, texts), COMPLETION, 1)
    assert comps and comps[0].attributes["kind"] == "word_search"


@pytest.mark.parametrize("texts", [
    ["I went to the store.", "Milk and eggs."],               # the partner finished
    ["and then we took the", "I think we should leave."],     # a clause of its own
    ["and then we took the", "yeah."],                        # a response
    ["well I", "the second one"],                              # the partner abandoned a clause of their own
])
def test_completion_negative(lexicons, texts):
    assert not _of(_run(lexicons, texts), COMPLETION)


# ------------------------------------------------------------------------------ spans and units


def test_moves_stay_inside_their_units(lexicons):
    texts = ["I finally finished the thesis draft.", "Uh-huh. So what did your supervisor say about the draft?"]
    segs = [[(0, len(texts[0]))], [(0, 7), (8, len(texts[1]))]]
    moves = _run(lexicons, texts, segments=segs)
    assert {m.label for m in moves} == {ACK, FOLLOW_UP}
    for m in moves:
        assert any(s <= m.start and m.end <= e for s, e in segs[m.turn]), m


@pytest.mark.parametrize("text, kind", [
    ("do you like it?", "polar"),
    ("so what do you think", "wh"),
    ("and what we did was fine", None),
    ("you know, how long have you been there", "wh"),
    ("please send it", "request"),
    ("i want you to send it", "request"),
    ("i think so", None),
    ("it's cold, isn't it", "tag"),
    ("at nine, right?", "tag"),
    ("at nine?", "decl"),
    ("?", None),
])
def test_question_kind(text, kind):
    (p,) = _parse([text])
    assert _question_kind(p.lower, "?" in text[-3:]) == kind
