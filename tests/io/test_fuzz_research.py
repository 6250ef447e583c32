"""Hypothesis throws malformed input at the native and research-corpus readers: the only outcomes
allowed are conversations or a ConvmaintError (anything else is a bug)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convmaint
from convmaint.errors import ConvmaintError
from convmaint.model import Conversation

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["id", "turns", "speaker", "text", "role", "gold", "label", "turn", "start", "end", "segments", "content",
         "agent", "message", "0", "1"]), inner, max_size=5),
    max_leaves=20,
)


def _check(data: bytes, name: str, fmt: str | None) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        for errors in (None, []):
            try:
                for conv in convmaint.load(p, format=fmt, errors=errors):
                    assert isinstance(conv, Conversation)
            except ConvmaintError:
                pass


@SETTINGS
@given(st.lists(json_values, min_size=1, max_size=4))
def test_native_random_records(values):
    _check("\n".join(json.dumps(v) for v in values).encode(), "a.jsonl", "native")


@SETTINGS
@given(st.binary(max_size=300))
def test_native_random_bytes(data):
    _check(data, "a.jsonl", "native")


utt_line = st.builds(
    lambda tag, spk, n, u, text: f"{tag}   {spk}.{n} utt{u}: {text}",
    st.sampled_from(["sd", "b", "+", "br^m", "qy^d", "%", "x", "+@", "b^m", "aa,o@"]),
    st.sampled_from(["A", "B"]), st.integers(1, 4), st.integers(1, 3),
    st.text(alphabet=" abc[]+{}FDE/<>-,.#()*", max_size=30),
)


@SETTINGS
@given(st.lists(utt_line, max_size=12), st.booleans())
def test_swda_random_utterances(lines, header):
    head = "FILENAME:\t1_2_3\n==========\n" if header else ""
    _check((head + "\n\n".join(lines)).encode(), "sw_0001_1.utt", "swda")


@SETTINGS
@given(st.binary(max_size=300))
def test_swda_random_bytes(data):
    _check(data, "sw_0001_1.utt", "swda")


@SETTINGS
@given(json_values)
def test_tiage_and_topical_chat_random_json(value):
    data = json.dumps(value).encode()
    _check(data, "anno_dev.json", "tiage")
    _check(data, "valid_freq.json", "topical_chat")


@SETTINGS
@given(st.lists(st.lists(st.text(alphabet="ab,.0123456789_-zBed", max_size=8), max_size=9), max_size=6),
       st.lists(st.text(alphabet="ab,.0_- =?", max_size=20), max_size=6))
def test_mrda_random_rows(rows, trans):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "database").mkdir()
        (root / "transcripts").mkdir()
        (root / "database" / "Bxx001.dadb").write_text("\n".join(",".join(r) for r in rows), encoding="latin-1")
        (root / "transcripts" / "Bxx001.trans").write_text("\n".join(trans), encoding="latin-1")
        for target, fmt in ((root, "mrda"), (root / "database" / "Bxx001.dadb", "mrda-dadb")):
            try:
                for conv in convmaint.load(target, format=fmt, errors=[]):
                    assert isinstance(conv, Conversation)
            except ConvmaintError:
                pass


@SETTINGS
@given(st.text(alphabet="ab _eou,.\n", max_size=200))
def test_dailydialog_random_text(text):
    _check(text.encode(), "dialogues_text.txt", "dailydialog")
