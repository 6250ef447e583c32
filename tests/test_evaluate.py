"""Scoring at the corpus unit, and the baselines, on cases with known answers."""

from __future__ import annotations

from convmaint.evaluate import baseline_texttiling, evaluate, iter_units
from convmaint.model import Conversation, Move, Role, Segment, Turn


def _conv():
    # Unit u1 is split over two turns (an SwDA-style continuation); u2 and u3 are ordinary units.
    t0 = Turn(0, "0", "A", Role.HUMAN, "I was, I was going", segments=(Segment("s1", 0, 18, {"unit": "u1"}),))
    t1 = Turn(1, "1", "B", Role.HUMAN, "Uh-huh. What?", segments=(Segment("s2", 0, 7, {"unit": "u2"}), Segment("s3", 8, 13, {"unit": "u3"})))
    t2 = Turn(2, "2", "A", Role.HUMAN, "to the store", segments=(Segment("s4", 0, 12, {"unit": "u1"}),))
    gold = (
        Move("repair.self", 0, 0, 18, detector="gold:test"),
        Move("grounding.acknowledgement", 1, 0, 7, detector="gold:test"),
        Move("clarification.request", 1, 8, 13, detector="gold:test"),
    )
    return Conversation("c", (t0, t1, t2), gold=gold)


def test_units_merge_continuations():
    units = iter_units(_conv())
    assert [u.id for u in units] == ["u1", "u2", "u3"]
    assert units[0].pieces == ((0, 0, 18), (2, 0, 12)) and units[0].text == "I was, I was going to the store"


def test_scores_known_answer():
    conv = _conv()
    predicted = [
        Move("repair.self", 2, 0, 3),  # hits u1 through its continuation piece: a true positive
        Move("grounding.acknowledgement", 1, 8, 13),  # wrong unit: false positive, and u2 is missed
    ]
    rep = evaluate([(conv, predicted)], labels=["repair.self", "grounding.acknowledgement", "clarification.request"], n_errors=5)
    by = {ls.label: ls.system for ls in rep.labels}
    assert rep.n_units == 3
    assert by["repair.self"]["precision"] == 1.0 and by["repair.self"]["recall"] == 1.0
    ack = by["grounding.acknowledgement"]
    assert (ack["gold"], ack["predicted"], ack["tp"], ack["precision"], ack["recall"], ack["f1"]) == (1, 1, 0, 0.0, 0.0, 0.0)
    assert by["clarification.request"]["recall"] == 0.0 and by["clarification.request"]["precision"] is None
    base = {ls.label: ls.baselines["all-positive"] for ls in rep.labels}
    assert base["repair.self"]["predicted"] == 3 and abs(base["repair.self"]["precision"] - 1 / 3) < 1e-9
    assert rep.errors["grounding.acknowledgement"]["false_positives"][0]["text"] == "What?"
    assert "convmaint" in rep.table() and "cue-list" in rep.table()


def test_cue_baseline_finds_backchannel_and_open_request():
    rep = evaluate([(_conv(), [])], labels=["grounding.acknowledgement", "clarification.request"])
    cue = {ls.label: ls.baselines["cue-list"] for ls in rep.labels}
    assert cue["grounding.acknowledgement"]["tp"] == 1 and cue["grounding.acknowledgement"]["predicted"] == 1
    assert cue["clarification.request"]["tp"] == 1


def test_texttiling_finds_the_splice():
    cats = ["my cat sleeps all day on the sofa", "cats love warm sofas and sleeping", "the cat food is expensive though"]
    cars = ["i fixed the engine of my car", "engines and car repairs cost money", "the car garage charged me for repairs"]
    bounds = baseline_texttiling(cats + cars)
    assert bounds[3] and not bounds[0]
    assert baseline_texttiling(["a", "b"]) == [False, False]


def test_native_reports_only_labels_with_gold():
    rep = evaluate([(_conv(), [])], corpus="native")
    assert [ls.label for ls in rep.labels] == ["repair.self", "clarification.request", "grounding.acknowledgement"]


def test_unsegmented_turns_are_not_units_in_a_segmented_source():
    conv = _conv()
    from dataclasses import replace

    extra = Turn(3, "3", "B", Role.HUMAN, "(not coded speech)")
    conv = replace(conv, turns=conv.turns + (extra,))
    assert [u.id for u in iter_units(conv)] == ["u1", "u2", "u3"]
