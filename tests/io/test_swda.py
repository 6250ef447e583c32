"""The SwDA reader: markup stripping, turns and units, the continuation rule and dialogue-act gold."""

from __future__ import annotations

import re
import time
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convmaint
from convmaint.errors import FormatError
from convmaint.io.base import ReadContext
from convmaint.io.dialogue_acts import MRDA_MAP, SWDA_MAP, labels_for, split_tag
from convmaint.io.registry import sniff
from convmaint.io.swda import SwdaReader, clean_utterance
from convmaint.model import Role

HEADER = """\
*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*
*x*   A hand-written test file  *x*
*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*


FILENAME:\t9001_11_22
TOPIC#:\t\t7
DATE:\t\t990101
REMARKS:        Made up for the tests,
                over two lines.

  ===============================================================
"""

BODY = """\


o          A.1 utt1: {D Well, } [ I, + I ] think we should go <laughter>.  /
qy          A.1 utt2: {C and } [ the red, + {E I mean, } the blue ] one? /

b          B.2 utt1: Uh-huh. /
sd          B.2 utt2: [ [ We, + we ] could, +

br^m          A.3 utt1: Could? /

+@          B.4 utt1: -- we should ] leave now. /
b^m          @B.4 utt2: #  The blue one. # /

x          A.5 utt1: <Laughter>.

bf          B.6 utt1: *[[odd [ comment + here ]]] So you mean ((  Tuesday )) -/
^2          A.7 utt1: {F uh, } on Tuesday.  /
bh          A.7 utt2: Oh, really? /
bk*          A.7 utt3: Okay. <<pause>> /
"""


def write(tmp_path: Path, body: str = BODY, name: str = "sw_9001.utt", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def read_one(path: Path):
    errors: list = []
    convs = list(convmaint.load(path, errors=errors))
    assert len(convs) == 1
    return convs[0], errors


def seg_text(conv, turn_index: int, seg_id: str) -> str:
    turn = conv.turns[turn_index]
    (seg,) = [s for s in turn.segments if s.id == seg_id]
    return turn.text[seg.start:seg.end]


# ------------------------------------------------------------------------------------ tags


@pytest.mark.parametrize(
    ("tag", "components"),
    [
        ("br^m", ["br", "m"]),
        ("sd(^q)@", ["sd", "q"]),
        ("+@", ["+"]),
        ("sv,sd,o@", ["sv", "sd", "o"]),
        ("sd;sv", ["sd", "sv"]),
        ("s^bk|s.%--", ["s", "bk", "s", "%--"]),
        ("qy^d^bu", ["qy", "d", "bu"]),
        ("s:s", ["s", "s"]),
    ],
)
def test_split_tag(tag, components):
    assert split_tag(tag) == components


@pytest.mark.parametrize(
    ("tag", "labels"),
    [
        ("b", {"grounding.acknowledgement"}),
        ("br", {"clarification.request"}),
        ("br^m", {"clarification.request", "grounding.repeat"}),
        ("b^m", {"grounding.acknowledgement", "grounding.repeat"}),
        ("^m", {"grounding.repeat"}),
        ("bf", {"grounding.reformulation"}),
        ("bh", {"grounding.acknowledgement"}),
        ("bk@", {"grounding.acknowledgement"}),
        ("^2", {"grounding.completion"}),
        ("ba", set()),  # appreciation: not a mapped component, and not a prefix match of "b"
        ("bd", set()),
        ("b^r", {"grounding.acknowledgement"}),  # ^r is "repeat self" in SwDA, not a grounding repeat
        ("bc", set()),  # MRDA's other-correction is not an SwDA mapping
        ("sd", set()),
    ],
)
def test_swda_labels(tag, labels):
    assert labels_for(tag, SWDA_MAP) == labels


def test_mrda_labels_differ_where_moves_md_says():
    assert labels_for("s^bk|s^tc", MRDA_MAP) == {"grounding.acknowledgement", "topic.shift"}
    assert labels_for("qy^rt", MRDA_MAP) == set()  # rt (rising tone) is not r
    assert labels_for("s^ar^r", MRDA_MAP) == {"grounding.repeat"}
    assert labels_for("s^bsc", MRDA_MAP) == {"repair.self"}
    assert labels_for("s^bs", MRDA_MAP) == {"grounding.reformulation"}


# ---------------------------------------------------------------------------------- markup


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("{D Well, } [ I, + I ] think so <laughter>. /", "Well, I, I think so."),
        ("{C and } [ the red, + {E I mean, } the blue ] one? /", "and the red, I mean, the blue one?"),
        ("Does it make a recording or s-, /", "Does it make a recording or s-,"),
        ("{C and } see if it, {F uh, } -/", "and see if it, uh,"),
        ("-- we should ] leave now. /", "we should leave now."),
        ("#  The blue one. # /", "The blue one."),
        ("I think ((the)) five <noise> minutes,", "I think the five minutes,"),
        ("(( )) ., -/", ""),
        ("*[[listen; typo - stuff = tough?]] It was stuff. /", "It was stuff."),
        ("it's [ a, + a ] <+ typo: that for than +> unfair thing,", "it's a, a unfair thing,"),
        ("<<Very faint>> okay. <Throat_clearing>, /", "okay."),
        ("# (ONCE UPON A TIME )) , # /", "ONCE UPON A TIME,"),
        ("then we pick (A) or (B). /", "then we pick (A) or (B)."),
        ("that--/", "that"),
    ],
)
def test_clean_utterance(raw, clean):
    assert clean_utterance(raw) == clean


# ------------------------------------------------------------------------- a written file


def test_turns_segments_and_roles(tmp_path):
    path = write(tmp_path)
    assert sniff(path).name == "swda"
    conv, errors = read_one(path)
    assert errors == []
    assert conv.id == "9001_11_22"
    assert conv.metadata["format"] == "swda"
    assert conv.metadata["topic"] == "7"
    assert conv.metadata["remarks"] == "Made up for the tests, over two lines."
    # A.5 is pure non-speech: left out, and counted.
    assert [t.id for t in conv.turns] == ["A.1", "B.2", "A.3", "B.4", "B.6", "A.7"]
    assert conv.metadata["nonverbal_turns"] == 1 and conv.metadata["nonverbal_units"] == 1
    assert {t.role for t in conv.turns} == {Role.HUMAN}
    assert [t.speaker for t in conv.turns] == ["A", "B", "A", "B", "B", "A"]
    assert conv.turns[0].text == "Well, I, I think we should go. and the red, I mean, the blue one?"
    assert seg_text(conv, 0, "A.1.utt1") == "Well, I, I think we should go."
    assert seg_text(conv, 0, "A.1.utt2") == "and the red, I mean, the blue one?"
    assert conv.turns[4].text == "So you mean Tuesday"
    assert conv.turns[5].text == "uh, on Tuesday. Oh, really? Okay."
    for turn in conv.turns:
        assert not re.search(r"[\[\]{}+/<>#*]|\(\(|\)\)|--", turn.text), turn.text
        for seg in turn.segments:
            assert set(seg.metadata) == {"unit", "tag"}


def test_continuation_shares_unit_and_tag(tmp_path):
    conv, _ = read_one(write(tmp_path))
    b4 = conv.turns[3]
    first, second = b4.segments
    assert first.id == "B.4.utt1" and dict(first.metadata) == {"unit": "B.2.utt2", "tag": "sd"}
    assert dict(second.metadata) == {"unit": "B.4.utt2", "tag": "b^m"}
    assert b4.text[first.start:first.end] == "we should leave now."


def test_dialogue_act_gold(tmp_path):
    conv, _ = read_one(write(tmp_path))
    acts = {(m.label, m.attributes["unit"]) for m in conv.gold if m.label != "repair.self"}
    assert acts == {
        ("grounding.acknowledgement", "B.2.utt1"),
        ("clarification.request", "A.3.utt1"),
        ("grounding.repeat", "A.3.utt1"),
        ("grounding.acknowledgement", "B.4.utt2"),
        ("grounding.repeat", "B.4.utt2"),
        ("grounding.reformulation", "B.6.utt1"),
        ("grounding.completion", "A.7.utt1"),
        ("grounding.acknowledgement", "A.7.utt2"),
        ("grounding.acknowledgement", "A.7.utt3"),
    }
    (cr,) = [m for m in conv.gold if m.label == "clarification.request"]
    assert cr.turn == 2 and cr.cue == "br^m" and cr.detector == "gold:swda"
    assert conv.turns[cr.turn].text[cr.start:cr.end] == "Could?"
    (ok,) = [m for m in conv.gold if m.attributes["unit"] == "A.7.utt3"]
    assert ok.cue == "bk*" and conv.turns[ok.turn].text[ok.start:ok.end] == "Okay."


def test_disfluency_gold(tmp_path):
    conv, _ = read_one(write(tmp_path))
    repairs = [m for m in conv.gold if m.label == "repair.self"]
    by_unit = Counter(m.attributes["unit"] for m in repairs)
    # Inner and outer bracket of B.2.utt2 both have their "+" there; the continuation has none.
    assert by_unit == {"A.1.utt1": 1, "A.1.utt2": 1, "B.2.utt2": 2}
    text0 = conv.turns[0].text

    def part(m, key):
        start, end = m.attributes[key]
        return conv.turns[m.turn].text[start:end]

    rep1, rep2 = sorted((m for m in repairs if m.turn == 0), key=lambda m: m.start)
    assert part(rep1, "reparandum") == "I," and part(rep1, "repair") == "I"
    assert rep1.attributes["kind"] == "repetition" and rep1.attributes["ip"] == text0.index("I,") + 2
    assert part(rep2, "reparandum") == "the red,"
    assert part(rep2, "editing_term") == "I mean,"
    assert part(rep2, "repair") == "the blue"
    assert rep2.attributes["kind"] == "replacement"
    assert text0[rep2.start:rep2.end] == "and the red, I mean, the blue one?"

    inner, outer = sorted((m for m in repairs if m.turn == 1), key=lambda m: -m.attributes["depth"])
    assert inner.attributes["depth"] == 1 and part(inner, "reparandum") == "We,"
    assert part(inner, "repair") == "we"
    # The outer bracket closes in B.4: no spans, only the interruption point.
    assert outer.attributes["depth"] == 0 and "reparandum" not in outer.attributes
    assert conv.turns[1].text[: outer.attributes["ip"]].endswith("could,")
    assert dict(conv.metadata["disfluency_anomalies"]) == {"ip_outside_bracket": 0, "unopened_close": 0, "no_ip": 0}


def test_unbalanced_brackets_do_not_crash(tmp_path):
    body = """
sd          A.1 utt1: [ one, + two is never closed /
sd          A.1 utt2: three ] stray close, [ kept ] without a plus /
sd          A.1 utt3: four + five with no bracket /

sd          B.2 utt1: ] [ [ + ] /
sd          B.2 utt2: } {F  ((  okay /
"""
    conv, errors = read_one(write(tmp_path, body))
    assert errors == []
    anomalies = conv.metadata["disfluency_anomalies"]
    assert anomalies["ip_outside_bracket"] == 1 and anomalies["unopened_close"] == 1
    assert anomalies["no_ip"] == 2  # "[ kept ]" and B's outer "["
    units = Counter(m.attributes["unit"] for m in conv.gold if m.label == "repair.self")
    # A.1.utt2's "]" closes utt1's bracket, so utt2's own "]" is the stray one.
    assert units == {"A.1.utt1": 1, "A.1.utt3": 1, "B.2.utt1": 1}
    (stray,) = [m for m in conv.gold if m.attributes["unit"] == "A.1.utt3"]
    assert stray.attributes["unbalanced"] is True
    assert conv.turns[1].text == "okay"
    # B.2.utt1 has no words: a zero-width segment, still reachable.
    seg = conv.turns[1].segments[0]
    assert seg.id == "B.2.utt1" and seg.start == seg.end == 0


def test_bad_line_is_reported_and_reading_goes_on(tmp_path):
    body = """
sd          A.1 utt1: Fine. /
this line is not an utterance

sd          B.2 utt1: Good. /
"""
    path = write(tmp_path, body)
    conv, errors = read_one(path)
    assert [t.text for t in conv.turns] == ["Fine.", "Good."]
    (err,) = errors
    assert isinstance(err, FormatError)
    assert err.path == str(path) and err.line == HEADER.count("\n") + 3 and err.record == "9001_11_22"
    with pytest.raises(FormatError, match="utterance line"):
        list(convmaint.load(path))


def test_orphan_continuation_is_reported_and_kept(tmp_path):
    body = "\n+          A.1 utt1: and so on. /\n"
    conv, errors = read_one(write(tmp_path, body))
    (err,) = errors
    assert "continuation" in err.reason and err.record == "9001_11_22/A.1.utt1"
    assert dict(conv.turns[0].segments[0].metadata) == {"unit": "A.1.utt1", "tag": "+"}


def test_no_header_and_gzip(tmp_path):
    import gzip

    path = tmp_path / "sw_plain.utt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("sd          A.1 utt1: Hello there. /\n\nb          B.2 utt1: Hi. /\n")
    conv, errors = read_one(path)
    assert errors == [] and conv.id == "sw_plain"
    assert [t.text for t in conv.turns] == ["Hello there.", "Hi."]


def test_no_utterances_is_a_file_error(tmp_path):
    path = write(tmp_path, "\n\n")
    with pytest.raises(FormatError, match="no utterance lines"):
        list(SwdaReader().read(path, ReadContext()))


def test_round_trip_through_native_jsonl(tmp_path):
    conv, _ = read_one(write(tmp_path))
    out = tmp_path / "saved.jsonl"
    convmaint.save([conv], out, to="jsonl")
    (back,) = convmaint.load(out, format="native")
    assert back.turns == conv.turns
    assert back.gold == conv.gold


# ------------------------------------------------------------------------------ real data

SWDA_FILES = 999
SWDA_LINES = 190_071  # utterance lines in the development files
SWDA_SEGMENTS = 187_145  # ... minus the 2,926 in pure non-speech turns
SWDA_TURNS = 103_724
SWDA_GOLD = {
    "repair.self": 43_420,
    "grounding.acknowledgement": 34_522,
    "grounding.repeat": 1_075,
    "grounding.reformulation": 993,
    "grounding.completion": 667,
    "clarification.request": 274,
}
SWDA_GOLD_UNITS = {
    "repair.self": 30_922,
    "grounding.acknowledgement": 34_424,
    "grounding.repeat": 1_063,
    "grounding.reformulation": 863,
    "grounding.completion": 598,
    "clarification.request": 266,  # exactly the "br" tags of the files
}


@lru_cache(maxsize=1)
def swda_summary(folder: Path) -> dict:
    """Read the whole development SwDA once and keep only counts (the corpus is not held)."""
    errors: list = []
    started = time.perf_counter()
    out: dict = {"conversations": 0, "turns": 0, "segments": 0, "dropped": 0, "labels": Counter(),
                 "units": {}, "markup": [], "bad_spans": 0, "dup_segments": 0, "ids": []}
    units: dict[str, set] = {}
    markup = re.compile(r"[\[\]{}+/<>#]|\(\(|\)\)")
    for conv in convmaint.load(folder, errors=errors):
        out["conversations"] += 1
        out["ids"].append(conv.id)
        out["turns"] += len(conv.turns)
        out["dropped"] += conv.metadata["nonverbal_segments"]
        seg_ids = [s.id for t in conv.turns for s in t.segments]
        out["segments"] += len(seg_ids)
        out["dup_segments"] += len(seg_ids) - len(set(seg_ids))
        for turn in conv.turns:
            if markup.search(turn.text) and len(out["markup"]) < 5:
                out["markup"].append((conv.id, turn.id, turn.text))
        for m in conv.gold:
            out["labels"][m.label] += 1
            units.setdefault(m.label, set()).add((conv.id, m.attributes["unit"]))
            if not conv.turns[m.turn].text[m.start:m.end].strip():
                out["bad_spans"] += 1
    out["units"] = {k: len(v) for k, v in units.items()}
    out["errors"] = errors
    out["seconds"] = time.perf_counter() - started
    return out


@pytest.mark.shared_data
def test_real_swda_counts(shared_data):
    s = swda_summary(shared_data("swda"))
    assert s["errors"] == []
    assert s["conversations"] == SWDA_FILES and len(set(s["ids"])) == SWDA_FILES
    assert s["turns"] == SWDA_TURNS
    assert s["segments"] == SWDA_SEGMENTS
    assert s["segments"] + s["dropped"] == SWDA_LINES
    # The README says "~189k utterances".
    assert abs(s["segments"] - 189_000) / 189_000 < 0.01
    assert abs(SWDA_LINES - 189_000) / 189_000 < 0.01
    assert s["dup_segments"] == 0


@pytest.mark.shared_data
def test_real_swda_gold_and_clean_text(shared_data):
    s = swda_summary(shared_data("swda"))
    assert dict(s["labels"]) == SWDA_GOLD
    assert s["units"] == SWDA_GOLD_UNITS
    assert s["markup"] == []
    # Two gold units are pure non-speech inside a turn with words: zero-width, but kept.
    assert s["bad_spans"] == 2
    # Measured at about 4-6 s on two cores; a regression to, say, quadratic work would show here.
    assert s["seconds"] < 60


@pytest.mark.shared_data
def test_real_swda_spot_checks(shared_data):
    path = shared_data("swda", "sw00utt", "sw_0001_4325.utt")
    conv, errors = read_one(path)
    assert errors == [] and conv.id == "4325_1632_1519"
    b4 = conv.turns[3]
    assert b4.id == "B.4" and b4.text == "I think, uh, I wonder if that worked."
    # B.4 is a "+" line: it continues B.2's interrupted question and inherits qy^d.
    assert dict(b4.segments[0].metadata) == {"unit": "B.2.utt1", "tag": "qy^d"}
    a3 = conv.turns[2]
    assert a3.text == "What kind of experience do you, do you have, then with child care?"
    (rep,) = [m for m in conv.gold if m.label == "repair.self" and m.turn == 2]
    start, end = rep.attributes["reparandum"]
    assert a3.text[start:end] == "do you," and rep.attributes["kind"] == "repetition"
    # B.2's outer bracket opens in B.2 and has its "+" in B.4.
    assert {m.turn for m in conv.gold if m.attributes["unit"] == "B.2.utt1" and m.label == "repair.self"} == {1, 3}
    # The "(BONFIRE OF THE VANITY ))" typo for "((" does not leave a parenthesis behind.
    conv2, _ = read_one(shared_data("swda", "sw06utt", "sw_0610_3056.utt"))
    assert conv2.turns[[t.id for t in conv2.turns].index("B.64")].text == "BONFIRE OF THE VANITY,"


# --------------------------------------------------------------------------------- property

MARKUP_TOKENS = ["[", "]", "+", "{F", "{D", "{E", "{C", "{A", "{", "}", "((", "))", "<laughter>", "<<faint>>",
                 "</noise>", "#", "/", "-/", "--", "-", "*[[note [ + ]]]", "<+ typo +>", "uh,", "I", "the", "s-",
                 ".", ",", "?", "(A)", "((the))", "#Okay#"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(MARKUP_TOKENS), max_size=25),
    st.lists(st.sampled_from(["sd", "+", "b^m"]), min_size=1, max_size=4),
)
def test_any_markup_mix_reads_cleanly(tmp_path_factory, tokens, tags):
    body = "\n".join(f"{tag}   {'AB'[i % 2]}.{i + 1} utt1: {' '.join(tokens)}" for i, tag in enumerate(tags))
    path = tmp_path_factory.mktemp("swda") / "f.utt"
    path.write_text(body + "\n", encoding="utf-8")
    errors: list = []
    for conv in convmaint.load(path, format="swda", errors=errors):
        for turn in conv.turns:
            assert not re.search(r"[\[\]{}+/<>#*]|\(\(|\)\)|--", turn.text), turn.text
            for seg in turn.segments:
                assert 0 <= seg.start <= seg.end <= len(turn.text)
        for m in conv.gold:
            size = len(conv.turns[m.turn].text)
            assert 0 <= m.start <= m.end <= size
            for key in ("reparandum", "editing_term", "repair"):
                if key in m.attributes:
                    start, end = m.attributes[key]
                    assert 0 <= start <= end <= size
