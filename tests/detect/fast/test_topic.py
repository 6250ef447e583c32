"""The fast-mode (scan) topic detector: shifts, hand-offs, resumptions and closings, on hand-built conversations."""

from __future__ import annotations

import numpy as np
import pytest

from convmaint.detect.base import detector_classes, make_detectors
from convmaint.detect.fast import topic as fast_topic
from convmaint.detect.fast.topic import FastTopicDetector
from convmaint.errors import ConfigError
from convmaint.model import Move, Role
from convmaint.nlp.regex_backend import RegexBackend
from tests.detect.helpers import family_lexicons, make_conv

pytest.importorskip("wordllama")


@pytest.fixture(scope="module")
def lexicons():
    return family_lexicons("topic_markers", "handoff", "backchannels")


@pytest.fixture(scope="module")
def detector(lexicons):
    return FastTopicDetector(lexicons=lexicons)


def _parse(texts):
    return list(RegexBackend(requires=("tokens", "sents")).parse(texts))


def _run(det, texts, *, speakers=None, roles=None, prior=()):
    conv = make_conv(texts, speakers, roles)
    return det.detect(conv, _parse(texts), tuple(prior))


def _of(moves, label, turn=None):
    return [m for m in moves if m.label == label and (turn is None or m.turn == turn)]


# ----------------------------------------------------------------------------- registry and config


def test_registered_as_the_scan_detector_of_the_family(lexicons):
    assert detector_classes()["topic.fast.v1"] is FastTopicDetector
    assert FastTopicDetector.order == 30 and FastTopicDetector.engine == "scan"
    (det,) = make_detectors(["topic"], lexicons=lexicons, mode="fast")
    assert isinstance(det, FastTopicDetector)


def test_runs_in_fast_mode_only_and_checks_its_options(lexicons):
    with pytest.raises(ConfigError):
        FastTopicDetector(lexicons=lexicons, mode="lite")
    with pytest.raises(ConfigError):
        FastTopicDetector(lexicons=lexicons, dims=0)


def test_empty_conversation(detector):
    assert _run(detector, []) == []
    assert _run(detector, ["", "   "]) == []


# ----------------------------------------------------------------------------- topic.shift

COOKING = [
    "I spent the whole afternoon making lasagna from scratch.",
    "Nice, did you make the pasta sheets yourself?",
    "Yes, and the sauce simmered for three hours.",
]


def test_marked_shift_on_the_marker_sentence(detector):
    last = "Sounds great. By the way, did you see the game last night?"
    (m,) = _of(_run(detector, [*COOKING, last]), "topic.shift", 3)
    assert m.attributes == {"marked": True, "kind": "disjunctive"} and m.cue == "by the way"
    # The span is the sentence with the marker, not the acknowledgement before it.
    assert last[m.start:m.end] == "By the way, did you see the game last night?"
    assert m.detector == "topic.fast.v1"


def test_speaking_of_is_stepwise(detector):
    (m,) = _of(_run(detector, [*COOKING, "Speaking of sauce, my brother just opened an Italian restaurant."]), "topic.shift", 3)
    assert m.attributes == {"marked": True, "kind": "stepwise"} and m.cue == "speaking of"


def test_anyway_inside_a_sentence_is_no_marker(detector):
    moves = _run(detector, [*COOKING, "It was raining but I went to the market anyway."])
    assert not [m for m in _of(moves, "topic.shift") if m.attributes["marked"]]


def test_marker_under_typographic_apostrophes_and_changed_case_folding(detector):
    # "İ" lower-cases to two characters: the cue search falls back to the text itself.
    texts = ["İstanbul was lovely, the mosques were stunning.", "Oh nice! By the way, what’s your favorite food?"]
    (m,) = _of(_run(detector, texts), "topic.shift", 1)
    assert m.cue == "by the way" and texts[1][m.start:m.end].startswith("By the way")


PETS = ["hi ! i just got back from work at the hospital .",
        "oh , are you a nurse ?",
        "yes , i work nights in the children s ward .",
        "that is cool . do you have any pets ?",
        "yes , two cats . they sleep all day .",
        "what are their names ?"]


def test_unmarked_proffer_opens_a_topic(detector):
    moves = _run(detector, PETS)
    (m,) = _of(moves, "topic.shift", 3)
    assert m.attributes == {"marked": False, "kind": "disjunctive"} and m.cue == "do you have any"
    assert PETS[3][m.start:m.end] == "do you have any pets ?"  # the unit with the proffer
    assert not _of(moves, "topic.shift", 0)  # the first turn is never scored


def test_a_follow_up_scores_below_the_proffer(detector):
    cand, X = detector.shift_features(make_conv(PETS), _parse(PETS))
    assert cand == [1, 2, 3, 4, 5] and X.shape == (5, len(fast_topic._FEATURES))
    col = dict(zip(fast_topic._FEATURES, X.T))
    row = {i: k for k, i in enumerate(cand)}
    assert col["proffer"][row[3]] == 1 and col["anaphoric_question"][row[3]] == 0
    assert col["anaphoric_question"][row[5]] == 1  # "their names": a question pointing back
    z = X @ np.asarray(list(fast_topic._TURN_WEIGHTS.values()))
    assert z[row[3]] > z[row[5]] + 1


def test_echo_question_is_no_shift(detector):
    assert not _of(_run(detector, ["my sister won the lottery last week", "oh really?", "yes, ten thousand pounds"]),
                   "topic.shift", 1)


def test_turn_path_is_for_dyads_only(detector):
    texts = ["so the budget for the next quarter is tight", "we could cut travel",
             "do you have any pets?", "anyway, let's move on to the hiring plan"]
    shifted = {m.turn: m for m in _of(_run(detector, texts, speakers=["A", "B", "C", "A"]), "topic.shift")}
    assert 2 not in shifted  # unmarked: the turn path does not run with three speakers
    assert shifted[3].attributes["marked"] and shifted[3].cue == "anyway"
    # With two speakers the proffer is a shift.
    assert 2 in {m.turn for m in _of(_run(detector, texts), "topic.shift")}


def test_model_turns_need_a_marker(detector):
    texts = ["recommend me a book", "Try Piranesi by Susanna Clarke: a strange, short mystery about a house of tides."]
    assert not _of(_run(detector, texts, roles=[Role.HUMAN, Role.MODEL]), "topic.shift")


def test_repair_and_clarification_work_is_no_shift(detector):
    texts = PETS[:4]
    assert _of(_run(detector, texts), "topic.shift", 3)
    start = texts[3].index("do you")
    busy = Move("clarification.request", 3, start, len(texts[3]), target=2, detector="clarification.fast.v1")
    assert not _of(_run(detector, texts, prior=[busy]), "topic.shift", 3)


# ----------------------------------------------------------------------------- topic.handoff


def test_reciprocal_handoff(detector):
    (m,) = _of(_run(detector, ["what do you do for work?", "I teach maths at a high school. What about you?"]),
               "topic.handoff", 1)
    assert m.attributes == {"reciprocal": True, "kind": "reciprocal", "to": "A"}
    assert m.target == 0 and m.cue == "what about you"


def test_bare_you_question_and_mirrored_question(detector):
    texts = ["how are your knees holding up?", "sore but alive. how's your running going?", "slowly. I'm good, you?"]
    moves = _run(detector, texts)
    (mirror,) = _of(moves, "topic.handoff", 1)
    assert mirror.attributes["reciprocal"] is True and texts[1][mirror.start:mirror.end] == "how's your running going?"
    (bare,) = _of(moves, "topic.handoff", 2)
    assert bare.attributes["reciprocal"] is True and bare.cue == ", you?" and bare.target == 1


def test_invitation_and_yield(detector):
    moves = _run(detector, ["I think we should repaint the kitchen blue.", "Hmm. Blue or green, what do you think?",
                            "Fine, your turn to choose."])
    assert _of(moves, "topic.handoff", 1)[0].attributes == {"reciprocal": False, "kind": "invitation", "to": "A"}
    assert _of(moves, "topic.handoff", 2)[0].attributes["kind"] == "yield"


def test_handoff_near_misses(detector):
    moves = _run(detector, ["hi how are you?", "thank you for asking, I am fine.", "what do you mean by fine?", "I love you too"])
    assert not _of(moves, "topic.handoff")


def test_opening_turn_handoff_has_no_target(detector):
    (m,) = _of(_run(detector, ["my favourite season is autumn. what's yours?"]), "topic.handoff")
    assert m.target is None and m.attributes == {"reciprocal": True, "kind": "reciprocal"}


# ----------------------------------------------------------------------------- topic.resume

TRIP = [
    "We just got back from Lisbon, the trams and the custard tarts were amazing.",
    "Oh nice, did you ride the famous yellow tram up to the castle?",
    "We did! Oh sorry, the dog is barking at the door again.",
    "Ha, what breed is your dog?",
    "A beagle, very loud.",
]


def test_resume_targets_the_earlier_topic(detector):
    moves = _run(detector, [*TRIP, "Anyway, back to Lisbon: the tram to the castle was packed."])
    (m,) = _of(moves, "topic.resume", 5)
    assert m.target in (0, 1) and m.cue == "back to"
    assert not _of(moves, "topic.shift", 5)  # a return is not a new topic


def test_back_to_inside_a_sentence_is_no_resume(detector):
    assert not _of(_run(detector, [*TRIP, "My cousin went back to Lisbon last year."]), "topic.resume")


# ----------------------------------------------------------------------------- topic.close


def test_close(detector):
    moves = _run(detector, ["how did the boiler repair go?", "finally fixed, £95 with the part. so yeah.",
                            "good. anyway, that's that."])
    assert {m.turn for m in _of(moves, "topic.close")} == {1, 2}
    assert not _of(moves, "topic.shift", 2)  # "anyway, that's that" closes, it opens nothing


def test_close_near_misses(detector):
    texts = ["any plans for the weekend?",
             "so yeah I think we should drive to the coast on Saturday and hike the cliffs all day.",
             "that's all the money I have left."]
    assert not _of(_run(detector, texts), "topic.close")


# ----------------------------------------------------------------------------- unit path (meetings)


def test_opener_after_a_lull_in_a_meeting(detector):
    texts = ["the recognizer output goes into the parser and then into the dialogue manager",
             "uh-huh", "yeah", "mm-hmm",
             "okay so next the budget for travel in the spring semester"]
    moves = _run(detector, texts, speakers=["A", "B", "C", "B", "A"])
    (m,) = _of(moves, "topic.shift", 4)
    assert m.attributes == {"marked": False, "kind": "disjunctive"}
    # Without the lull (the talk goes on, on the same words) the opener is no boundary.
    texts[1:4] = ["the parser then passes the dialogue manager its output", "right the recognizer output",
                  "and the parser output"]
    assert not _of(_run(detector, texts, speakers=["A", "B", "C", "B", "A"]), "topic.shift", 4)


# ----------------------------------------------------------------------------- the cohesion arithmetic


@pytest.mark.parametrize("n", [2, 3, 7, 40])  # 40 turns: the row-wise dot products of long talk
def test_cohesion_features_are_the_plain_formulas(detector, n):
    rng = np.random.default_rng(n)
    words = ["cat", "dog", "tea", "rain", "train", "music", "river", "garden", "bread", "film", "snow", "coffee", "chess"]
    texts = [" ".join(rng.choice(words, size=rng.integers(2, 9))) + (". " + " ".join(rng.choice(words, 3)) if i % 3 else "")
             for i in range(n)]
    conv, parsed = make_conv(texts), _parse(texts)
    cand, X = detector.shift_features(conv, parsed)
    sc = detector._scan(conv, parsed)
    rows = detector._table.rows

    def vec(ids):
        v = rows[ids].sum(axis=0).astype(np.float64) if ids else np.zeros(rows.shape[1])
        norm = np.linalg.norm(v)
        return v / norm if norm else v

    ids = [sc.idl[a:b] for a, b in zip(sc.off, sc.off[1:])]  # each turn's word rows
    T = [vec(turn) for turn in ids]
    L = [vec(turn[cut:]) for turn, cut in zip(ids, sc.last_cut)]
    zero = np.zeros(rows.shape[1])
    col = {name: k for k, name in enumerate(fast_topic._FEATURES)}
    for r, i in enumerate(cand):
        before = (T[i - 2] if i >= 2 else zero) + T[i - 1]
        after = T[i] + (T[i + 1] if i + 1 < n else zero)
        den = np.linalg.norm(before) * np.linalg.norm(after)
        assert X[r, col["gap"]] == pytest.approx(before @ after / den if den else 0.0, abs=1e-4)
        assert X[r, col["next_sim_prev"]] == pytest.approx(T[i + 1] @ T[i - 1] if i + 1 < n else 0.5, abs=1e-4)
        assert X[r, col["last_unit_sim_prev"]] == pytest.approx(L[i] @ T[i - 1], abs=1e-4)


def test_a_full_word_table_starts_afresh_with_the_same_results(detector, monkeypatch):
    texts = [*COOKING, "Zorblat quixotic flibbertigibbet. By the way, did you see the gryphon match last night?"]
    before = _run(detector, texts)
    _run(detector, ["the quuxly weather", "is quuxly indeed"])
    table = detector._table
    assert "zorblat" in table.index and "quuxly" in table.index
    monkeypatch.setattr(fast_topic, "_MAX_WORDS", table.base)  # full: the next conversation starts afresh
    assert _run(detector, texts) == before
    assert "zorblat" in table.index and "quuxly" not in table.index
    assert "the" in table.index  # the tokenizer's words stay


def test_word_vectors_are_the_tokenizers(detector):
    """Each word's row is the sum of WordLlama's embeddings of the tokens the tokenizer gives it."""
    table = detector._table
    model = table.model
    words = ["zanzibarian", "n't", "'s", "222", "na\u00efve", "\U0001f600", "o'clock", "re-do", "<unk>", "x\u2581y", "quokkas"]
    table.add(words)
    for w in words:
        ids = model.tokenizer.encode(w, add_special_tokens=False).ids
        want = model.table[ids].sum(axis=0)[:table.dims] if ids else np.zeros(table.dims)
        np.testing.assert_allclose(table.rows[table.index[w]], want, rtol=1e-5, atol=1e-6, err_msg=w)


def test_content_word_flags_by_row(detector):
    table = detector._table
    table.add(["gardening", "the", "ok", "dad's"])
    flags = {w: table.content[table.index[w]] for w in ("gardening", "the", "ok", "dad's")}
    assert flags == {"gardening": True, "the": False, "ok": False, "dad's": True}
    assert len(table.content) == table.size


def test_the_vocabulary_words_are_cached_per_tokenizer_file(detector, monkeypatch, tmp_path):
    """The tokenizer's one-token words (``_vocab_words``) are read from convmaint's cache once
    listed: the same words, ids and flags as listed afresh; a damaged entry is listed afresh."""
    import pickle

    model = detector._table.model
    monkeypatch.setenv("CONVMAINT_CACHE_DIR", "")
    want = fast_topic._vocab_words(model)
    assert "the" in want[0] and len(want[0]) == len(want[1]) == len(want[2])
    monkeypatch.setenv("CONVMAINT_CACHE_DIR", str(tmp_path))
    listed = fast_topic._vocab_words(model)
    (entry,) = (tmp_path / "wordllama").glob("*.pickle")
    read = fast_topic._vocab_words(model)
    for got in (listed, read):
        assert got[0] == want[0] and got[1].tolist() == want[1].tolist() and got[2] == want[2]
    # What is read is the entry (a stand-in here), not a fresh listing.
    entry.write_bytes(pickle.dumps((["zz"], np.array([7], dtype=np.int64).tobytes(), b"\x01")))
    got = fast_topic._vocab_words(model)
    assert got[0] == ["zz"] and got[1].tolist() == [7] and got[2] == [True]
    entry.write_bytes(b"damaged")
    got = fast_topic._vocab_words(model)
    assert got[0] == want[0] and got[1].tolist() == want[1].tolist() and got[2] == want[2]


def test_an_odd_number_of_dimensions(lexicons):
    """Odd ``dims`` cannot sum the rows as pairs of floats: they are summed one by one."""
    texts = [*PETS, "By the way, did you see the game last night?"]
    (m,) = _of(_run(FastTopicDetector(lexicons=lexicons, dims=63), texts), "topic.shift", 6)
    assert m.cue == "by the way"
    assert fast_topic._word_vectors(63).rows.shape[1] == 63


# ----------------------------------------------------------------------------- the scan's shortcuts


def test_every_cue_is_found_where_a_text_search_finds_it(detector):
    """The cue pattern is tried only where the first tokens of some cue stand: every cue of the
    lexicons (and in typographic-apostrophe spelling) must still be found, as the pattern
    searched over the whole text finds it."""
    phrases = sorted(detector._cue_entries)
    texts = [f"Well. {p.capitalize()} then." for p in phrases]
    texts += [f"ok, {p.replace(chr(39), chr(0x2019))}!" for p in phrases if "'" in p]
    sc = detector._scan(make_conv(texts), _parse(texts))
    got = {(sc.uturn[u], m.start, m.end) for hs in sc.hits.values() for u, m, _, _ in hs}
    rx = detector._cue_rx
    for i, text in enumerate(texts):
        low = "\x00" + text.lower()
        m = rx.search(low)
        while m is not None:
            assert (i, m.start("cue") - 1, m.end() - 1) in got, (text, m.group("cue"))
            m = rx.search(low, m.end() - 1)


def test_many_party_talk_leaves_vectors_for_later(detector):
    """Talk with more than two speakers enters new words without their vectors (it needs none but
    for a resumption's target); two-party talk with those words computes them, as the tokenizer
    would."""
    table = detector._table
    texts = ["the blorptastic snarfwidget is broken", "which snarfwidget", "the blorptastic one"]
    _run(detector, texts, speakers=["A", "B", "C"])
    assert "blorptastic" in table.pending and "snarfwidget" in table.pending
    _run(detector, ["my blorptastic plan", "tell me more"])
    assert "blorptastic" not in table.pending and "snarfwidget" in table.pending
    ids = table.model.tokenizer.encode("blorptastic", add_special_tokens=False).ids
    np.testing.assert_allclose(table.rows[table.index["blorptastic"]], table.model.table[ids].sum(axis=0)[:table.dims],
                               rtol=1e-5, atol=1e-6)
