"""The topic detector: shifts, hand-offs, resumptions and closings, on hand-built conversations."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from convmaint.detect.topic import TopicDetector
from convmaint.errors import BackendError, ConfigError
from convmaint.model import Role
from tests.detect.helpers import fast_parse, family_lexicons, make_conv, spacy_backend

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lexicons():
    return family_lexicons("topic_markers", "handoff", "backchannels")


@pytest.fixture(scope="module")
def backend():
    return spacy_backend({"tokens", "sents", "pos", "lemma"})


_conv = make_conv


_fast_parse = fast_parse


def _run(lexicons, backend, texts, *, similarity="lexical", **kw):
    conv = _conv(texts, kw.pop("speakers", None), kw.pop("roles", None))
    if backend is None:
        parsed = [_fast_parse(t) for t in texts]
        det = TopicDetector(lexicons=lexicons, mode="fast", similarity=similarity, **kw)
    else:
        parsed = list(backend.parse(texts))
        det = TopicDetector(lexicons=lexicons, similarity=similarity, **kw)
    return det.detect(conv, parsed)


def _of(moves, label, turn=None):
    return [m for m in moves if m.label == label and (turn is None or m.turn == turn)]


# ---------------------------------------------------------------------------------- topic.shift

COOKING = [
    "I spent the whole afternoon making lasagna from scratch.",
    "Nice, did you make the pasta sheets yourself?",
    "Yes, and the sauce simmered for three hours.",
]


@pytest.mark.model
@pytest.mark.parametrize("similarity", ["lexical", "wordllama"])
def test_marked_shift(lexicons, backend, similarity):
    last = "Sounds great. By the way, did you see the game last night?"
    moves = _run(lexicons, backend, COOKING + [last], similarity=similarity)
    shifts = _of(moves, "topic.shift", 3)
    assert len(shifts) == 1
    m = shifts[0]
    assert m.attributes["marked"] is True and m.cue == "by the way" and m.attributes["kind"] == "disjunctive"
    # The span is the sentence with the marker, not the acknowledgement before it.
    assert last[m.start:m.end] == "By the way, did you see the game last night?"


@pytest.mark.model
def test_speaking_of_is_stepwise(lexicons, backend):
    moves = _run(lexicons, backend, COOKING + ["Speaking of sauce, my brother just opened an Italian restaurant."])
    (m,) = _of(moves, "topic.shift", 3)
    assert m.attributes == {"marked": True, "kind": "stepwise"}


@pytest.mark.model
def test_anyway_inside_a_sentence_is_not_a_marker(lexicons, backend):
    moves = _run(lexicons, backend, COOKING + ["It was raining but I went to the market anyway."])
    assert not [m for m in _of(moves, "topic.shift") if m.attributes.get("marked")]


@pytest.mark.model
@pytest.mark.parametrize("similarity", ["lexical", "wordllama"])
def test_unmarked_proffer_opens_a_topic_but_a_follow_up_does_not(lexicons, backend, similarity):
    texts = ["hi ! i just got back from work at the hospital .",
             "oh , are you a nurse ?",
             "yes , i work nights in the children s ward .",
             "that is cool . do you have any pets ?",
             "yes , two cats . they sleep all day .",
             "what are their names ?"]
    moves = _run(lexicons, backend, texts, similarity=similarity)
    shifted = {m.turn for m in _of(moves, "topic.shift")}
    assert 3 in shifted
    assert 5 not in shifted  # anaphoric follow-up on the cats
    assert 0 not in shifted  # the first turn is never scored
    (m,) = _of(moves, "topic.shift", 3)
    assert m.attributes["marked"] is False and texts[3][m.start:m.end].startswith("do you have any pets")


@pytest.mark.model
def test_repeat_and_echo_questions_are_not_shifts(lexicons, backend):
    moves = _run(lexicons, backend, ["my sister won the lottery last week", "oh really?", "yes, ten thousand pounds"])
    assert not _of(moves, "topic.shift", 1)


@pytest.mark.model
def test_turn_path_is_for_dyads_only(lexicons, backend):
    texts = ["so the budget for the next quarter is tight", "we could cut travel",
             "do you have any pets?", "anyway, let's move on to the hiring plan"]
    moves = _run(lexicons, backend, texts, speakers=["A", "B", "C", "A"])
    shifted = {m.turn: m for m in _of(moves, "topic.shift")}
    assert 2 not in shifted  # unmarked: the turn path does not run with three speakers
    assert 3 in shifted and shifted[3].attributes["marked"]


@pytest.mark.model
def test_model_turns_need_a_marker(lexicons, backend):
    texts = ["recommend me a book", "Try Piranesi by Susanna Clarke: a strange, short mystery."]
    moves = _run(lexicons, backend, texts, roles=[Role.HUMAN, Role.MODEL])
    assert not _of(moves, "topic.shift")


def test_fast_mode_finds_a_marked_shift(lexicons):
    moves = _run(lexicons, None, COOKING + ["ok. anyway, how is your new job going?"])
    (m,) = _of(moves, "topic.shift", 3)
    assert m.attributes["marked"] and m.cue == "anyway"


# ---------------------------------------------------------------------------------- topic.handoff


@pytest.mark.model
def test_reciprocal_handoff(lexicons, backend):
    moves = _run(lexicons, backend, ["what do you do for work?", "I teach maths at a high school. What about you?"])
    (m,) = _of(moves, "topic.handoff", 1)
    assert m.attributes["reciprocal"] is True and m.target == 0 and m.attributes["to"] == "A"
    assert m.cue == "what about you"


@pytest.mark.model
def test_bare_you_question_and_mirrored_question(lexicons, backend):
    moves = _run(lexicons, backend, ["how are your knees holding up?", "sore but alive. how's your running going?",
                                     "slowly. I'm good, you?"])
    assert _of(moves, "topic.handoff", 1)[0].attributes["reciprocal"] is True
    assert _of(moves, "topic.handoff", 2)[0].attributes["reciprocal"] is True


@pytest.mark.model
def test_invitation_and_yield(lexicons, backend):
    moves = _run(lexicons, backend, ["I think we should repaint the kitchen blue.", "Hmm. Blue or green, what do you think?",
                                     "Fine, your turn to choose."])
    assert _of(moves, "topic.handoff", 1)[0].attributes == {"reciprocal": False, "kind": "invitation", "to": "A"}
    assert _of(moves, "topic.handoff", 2)[0].attributes["kind"] == "yield"


@pytest.mark.model
def test_handoff_near_misses(lexicons, backend):
    moves = _run(lexicons, backend, ["hi how are you?", "thank you for asking, I am fine.",
                                     "what do you mean by fine?", "I love you too"])
    assert not _of(moves, "topic.handoff")


@pytest.mark.model
def test_opening_turn_handoff_has_no_target(lexicons, backend):
    moves = _run(lexicons, backend, ["my favourite season is autumn. what's yours?"])
    (m,) = _of(moves, "topic.handoff")
    assert m.target is None and m.attributes["reciprocal"] is True


# ---------------------------------------------------------------------------------- topic.resume

TRIP = [
    "We just got back from Lisbon, the trams and the custard tarts were amazing.",
    "Oh nice, did you ride the famous yellow tram up to the castle?",
    "We did! Oh sorry, the dog is barking at the door again.",
    "Ha, what breed is your dog?",
    "A beagle, very loud.",
]


@pytest.mark.model
@pytest.mark.parametrize("similarity", ["lexical", "wordllama"])
def test_resume_targets_the_earlier_topic(lexicons, backend, similarity):
    moves = _run(lexicons, backend, TRIP + ["Anyway, back to Lisbon: the tram to the castle was packed."],
                 similarity=similarity)
    (m,) = _of(moves, "topic.resume", 5)
    assert m.target in (0, 1) and m.cue == "back to"
    assert not _of(moves, "topic.shift", 5)  # a return is not a new topic


@pytest.mark.model
def test_back_to_in_a_sentence_is_not_a_resume(lexicons, backend):
    moves = _run(lexicons, backend, TRIP + ["My cousin went back to Lisbon last year."])
    assert not _of(moves, "topic.resume")


# ---------------------------------------------------------------------------------- topic.close


@pytest.mark.model
def test_close(lexicons, backend):
    texts = ["how did the boiler repair go?", "finally fixed, £95 with the part. so yeah.",
             "good. anyway, that's that."]
    moves = _run(lexicons, backend, texts)
    assert {m.turn for m in _of(moves, "topic.close")} == {1, 2}
    assert not _of(moves, "topic.shift", 2)  # "anyway, that's that" closes, it opens nothing


@pytest.mark.model
def test_close_near_misses(lexicons, backend):
    texts = ["any plans for the weekend?",
             "so yeah I think we should drive to the coast on Saturday and hike the cliffs all day.",
             "that's all the money I have left."]
    moves = _run(lexicons, backend, texts)
    assert not _of(moves, "topic.close")


# ---------------------------------------------------------------------------------- configuration


def test_bad_similarity(lexicons):
    with pytest.raises(ConfigError):
        TopicDetector(lexicons=lexicons, similarity="bert")  # type: ignore[arg-type]


def test_missing_wordllama_is_a_clear_backend_error(lexicons, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wordllama" else real(name, *a))
    with pytest.raises(BackendError, match="wordllama"):
        TopicDetector(lexicons=lexicons, similarity="wordllama")
    TopicDetector(lexicons=lexicons, similarity="lexical")  # the dependency-free option still works


def test_wordllama_loads_offline_and_leaves_logging_alone(lexicons, monkeypatch):
    pytest.importorskip("wordllama")
    root = logging.getLogger()
    before = (list(root.handlers), root.level)

    def no_network(*args, **kwargs):
        raise AssertionError("the wordllama load tried to open a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    moves = _run(lexicons, None, COOKING + ["by the way, how is your new job?"], similarity="wordllama")
    assert _of(moves, "topic.shift", 3)
    assert (list(root.handlers), root.level) == before


# ---------------------------------------------------------------------------------- corpora


@pytest.mark.model
@pytest.mark.shared_data
def test_tiage_regression(shared_data):
    from convmaint.evaluate import evaluate_corpus

    path = shared_data("tiage", "anno_dev.json")
    rep = evaluate_corpus(str(path), corpus="tiage", detectors=["topic"], limit=40)
    (ls,) = rep.labels
    # Measured 0.57 on the first 50 dev dialogues (0.57 on all 100); TextTiling 0.33.
    assert ls.system["f1"] >= 0.50
    assert ls.system["f1"] > ls.baselines["texttiling"]["f1"] + 0.1


@pytest.mark.model
def test_native_gold_regression():
    from convmaint.evaluate import evaluate_corpus

    path = ROOT / "corpora" / "gold" / "chat_gold.jsonl"
    if not path.exists():
        pytest.skip(f"no native gold file at {path}")
    labels = ["topic.shift", "topic.handoff", "topic.resume", "topic.close"]
    rep = evaluate_corpus(str(path), corpus="native", detectors=["topic"], labels=labels)
    f1 = {ls.label: ls.system["f1"] or 0.0 for ls in rep.labels}
    assert f1["topic.shift"] >= 0.4
    assert f1["topic.handoff"] >= 0.6 and f1["topic.resume"] >= 0.6 and f1["topic.close"] >= 0.6
