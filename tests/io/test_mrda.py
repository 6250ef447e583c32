"""The MRDA readers: the corpus folder and single .dadb files, text cleaning and dialogue-act gold."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

import convmaint
from convmaint.errors import FormatError, ReaderError
from convmaint.io.base import ReadContext
from convmaint.io.mrda import MrdaDadbReader, clean_transcript
from convmaint.io.registry import sniff
from convmaint.model import Role

M = "Xyz001"


def sid(channel: str, start: float, end: float) -> str:
    return f"{M}-{channel}_{round(start * 1000):07d}_{round(end * 1000):07d}"


def row(start, end, channel, label, speaker):
    ident = sid(channel, start, end)
    return [f"{start}", f"{end}", ident, "A", "", label, f"{M}-{channel}", speaker, label, *[""] * 5]


# (start, end, channel, label, speaker, normalised text, transcribed text)
ROWS = [
    (0.5, 1.2, "c1", "s", "me001", "okay let us start .", "o_k let's start ."),
    (1.0, 1.4, "c2", "b", "fe002", "uhhuh .", "mm-hmm ."),
    (1.3, 2.0, "c1", "qy^bu^rt", "me001", "is the a. f on ?", "is the a_f - the a_f on ?"),
    (2.1, 2.5, "c1", "z", "me001", "testing", "testing =="),
    (2.6, 2.9, "c3", "", "me003", "DIGIT_TASK", "DIGIT_TASK"),
    (3.1, 3.9, "c1", "s^bsc|s^tc", "me001",
     "so w- the caf\xe9 is closed | anyway the budget .", "so w- - the caf\xe9 is closed | anyway the budget ."),
    (3.0, 3.2, "c2", "s^m", "fe002", "on", "{on} <yeah> ?=="),
    (3.05, 3.08, "c2", "%--", "fe002", "@@", "{@@} =="),
]


def csv_line(fields: list[str]) -> str:
    return ",".join(fields)


def make_corpus(root: Path, extra_dadb: str = "", drop_trans: bool = False) -> Path:
    (root / "database").mkdir(parents=True)
    (root / "transcripts").mkdir()
    dadb = [csv_line(row(s, e, c, lab, spk)) for s, e, c, lab, spk, _, _ in ROWS]
    trans = [csv_line([sid(c, s, e), norm, raw]) for s, e, c, _, _, norm, raw in ROWS]
    (root / "database" / f"{M}.dadb").write_bytes(("\n".join(dadb) + "\n" + extra_dadb).encode("latin-1"))
    if not drop_trans:
        (root / "transcripts" / f"{M}.trans").write_bytes(("\n".join(trans) + "\n").encode("latin-1"))
    (root / "train_meetings.txt").write_text(f"{M}\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("o_k - so | w- - we use x_m_l ?==", "ok so w- we use xml?"),
        ("mm-hmm .", "mm-hmm."),
        ("i'm gonna use the p_file ==", "i'm gonna use the p-file"),
        ("the t_i-digits and the e_v_as .", "the ti-digits and the evas."),
        ("<mike> <number> {which} {is} it ** .", "which is it."),
        ("{@reject@} {@@} .", ""),
        ("s_- - s_d .", "s- sd."),
        ("BLEEPED", ""),
    ],
)
def test_clean_transcript(raw, clean):
    assert clean_transcript(raw) == clean


def test_folder_reader(tmp_path):
    root = make_corpus(tmp_path / "icsi")
    assert sniff(root).name == "mrda"
    errors: list = []
    (conv,) = convmaint.load(root, errors=errors)
    assert errors == []
    assert conv.id == M and conv.metadata["format"] == "mrda" and conv.metadata["split"] == "train"
    assert [t.speaker for t in conv.turns] == ["me001", "fe002", "me001", "fe002", "me001"]
    assert {t.role for t in conv.turns} == {Role.HUMAN}
    assert [t.text for t in conv.turns] == [
        "ok let's start.",
        "mm-hmm.",
        "is the af the af on? testing",  # the z row keeps its words, but is no unit
        "on?",
        "so w- the caf\xe9 is closed anyway the budget.",  # latin-1 decoded
    ]
    assert [t.timestamp for t in conv.turns] == [0.5, 1.0, 1.3, 3.0, 3.1]
    assert conv.turns[2].metadata["end_time"] == 2.5
    # Segments: every coded row, none for z and the empty-label placeholder.
    seg_ids = [s.id for t in conv.turns for s in t.segments]
    assert sid("c1", 2.1, 2.5) not in seg_ids and sid("c3", 2.6, 2.9) not in seg_ids
    assert len(seg_ids) == 6 and conv.metadata["units"] == 6
    s = conv.turns[2].segments[0]
    assert dict(s.metadata) == {"unit": sid("c1", 1.3, 2.0), "tag": "qy^bu^rt", "start_time": 1.3, "end_time": 2.0}
    assert conv.turns[2].text[s.start:s.end] == "is the af the af on?"
    # The unintelligible "{@@} ==" unit has no words: a zero-width segment at the end of its turn.
    last = conv.turns[3].segments[-1]
    assert last.start == last.end == len(conv.turns[3].text)


def test_gold(tmp_path):
    (conv,) = convmaint.load(make_corpus(tmp_path / "icsi"))
    gold = {(m.label, m.turn, m.cue) for m in conv.gold}
    assert gold == {
        ("grounding.acknowledgement", 1, "b"),
        ("clarification.request", 2, "qy^bu^rt"),
        ("repair.self", 4, "s^bsc|s^tc"),
        ("topic.shift", 4, "s^bsc|s^tc"),
        ("grounding.repeat", 3, "s^m"),
    }
    for m in conv.gold:
        assert m.detector == "gold:mrda"
        seg = next(s for s in conv.turns[m.turn].segments if s.id == m.attributes["unit"])
        assert (m.start, m.end) == (seg.start, seg.end)


def test_dadb_file_reader(tmp_path):
    root = make_corpus(tmp_path / "icsi")
    path = root / "database" / f"{M}.dadb"
    assert sniff(path).name == "mrda-dadb"
    (conv,) = convmaint.load(path)
    (whole,) = convmaint.load(root)
    assert conv.turns == whole.turns and conv.gold == whole.gold


def test_bad_rows_are_reported_and_reading_goes_on(tmp_path):
    extra = (
        "1.0,2.0,too,few\n"
        "soon,2.0,Xyz001-c2_x,A,,s,c2,fe002,s,,,,,\n"
        "5.0,5.5,Xyz001-c9_5000_5500,A,,s,c9,me009,s,,,,,\n"  # no row in the .trans file
    )
    root = make_corpus(tmp_path / "icsi", extra)
    errors: list = []
    (conv,) = convmaint.load(root, errors=errors)
    assert [e.line for e in errors] == [len(ROWS) + 1, len(ROWS) + 2, len(ROWS) + 3]
    assert all(isinstance(e, FormatError) and e.path.endswith(f"{M}.dadb") for e in errors)
    assert "columns" in errors[0].reason and "seconds" in errors[1].reason and "no text" in errors[2].reason
    assert len(conv.turns) == 5
    with pytest.raises(FormatError):
        list(convmaint.load(root))


def test_missing_transcript_is_a_file_error(tmp_path):
    root = make_corpus(tmp_path / "icsi", drop_trans=True)
    with pytest.raises(ReaderError, match="no transcript"):
        list(MrdaDadbReader().read(root / "database" / f"{M}.dadb", ReadContext()))
    errors: list = []
    assert list(convmaint.load(root, errors=errors)) == []
    assert len(errors) == 1 and "no transcript" in errors[0].reason


# ------------------------------------------------------------------------------ real data

MRDA_TURNS = 54_349
MRDA_SEGMENTS = 92_134
MRDA_UNITS = 92_206  # 94,827 rows minus 2,172 "z" and 449 empty-label rows
MRDA_EMPTY_UNITS = 72  # units whose whole turn is unintelligible ("{@@}", "{@reject@}")
MRDA_GOLD = {
    "grounding.acknowledgement": 19_336,
    "clarification.request": 2_098,
    "grounding.repeat": 1_081,
    "grounding.completion": 722,
    "topic.shift": 571,
    "repair.self": 146,
    "grounding.reformulation": 143,
    "repair.other": 43,
}


@lru_cache(maxsize=1)
def mrda_summary(folder: Path) -> dict:
    errors: list = []
    out = {"ids": [], "turns": 0, "segments": 0, "units": 0, "empty": 0, "labels": Counter(), "markup": [],
           "splits": Counter()}
    markup = re.compile(r"==|\||[{}<>@_*]|(^|\s)-(\s|$)")
    for conv in convmaint.load(folder, errors=errors):
        out["ids"].append(conv.id)
        out["splits"][conv.metadata.get("split")] += 1
        out["turns"] += len(conv.turns)
        out["units"] += conv.metadata["units"]
        out["empty"] += conv.metadata["empty_units"]
        for turn in conv.turns:
            out["segments"] += len(turn.segments)
            if markup.search(turn.text) and len(out["markup"]) < 5:
                out["markup"].append(turn.text)
        out["labels"].update(m.label for m in conv.gold)
    out["errors"] = errors
    return out


@pytest.mark.shared_data
def test_real_mrda_counts(shared_data):
    folder = shared_data("mrda")
    meetings = sorted(p.stem for p in (folder / "database").glob("*.dadb"))
    s = mrda_summary(folder)
    assert s["errors"] == []
    assert s["ids"] == meetings and len(meetings) == 63
    assert s["splits"] == {"train": 51, "val": 12}
    assert s["turns"] == MRDA_TURNS
    assert s["segments"] == MRDA_SEGMENTS
    assert s["units"] == MRDA_UNITS and s["segments"] + s["empty"] == MRDA_UNITS
    assert dict(s["labels"]) == MRDA_GOLD
    assert s["markup"] == []


@pytest.mark.shared_data
def test_real_mrda_spot_checks(shared_data):
    (conv,) = convmaint.load(shared_data("mrda", "database", "Bed002.dadb"))
    assert conv.id == "Bed002" and conv.metadata["split"] == "train"
    first, second = conv.turns[:2]
    assert (first.speaker, first.text, first.timestamp) == ("me003", "i guess.", 5.79)
    assert second.speaker == "me011" and second.text.startswith("ok we're on. so just make sure that th- your")
    assert [dict(s.metadata)["tag"] for s in second.segments] == ["s", "s^cs^rt"]
    tags = Counter(m.cue for m in conv.gold if m.label == "grounding.acknowledgement")
    assert tags["s^bk"] > 0 and tags["b"] > 0
