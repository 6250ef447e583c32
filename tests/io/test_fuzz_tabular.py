"""Malformed input thrown at the csv, cha and convokit readers: Conversations or a ConvmaintError, nothing else."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convmaint
from convmaint.errors import ConvmaintError
from convmaint.io.cha import clean_main_tier
from convmaint.model import Conversation

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "c1", "c2", "user", "assistant", "wizard", "A", "B", "12", "1e400", "nan", "2024-01-01T00:00:00Z",
                     "\"", "\"\"", "a,b", "line\nbreak", "\r", "\t", ";", "|"]),
)
HEADERS = st.lists(
    st.sampled_from(["conversation_id", "conv_id", "speaker", "author", "role", "text", "message", "timestamp",
                     "time", "turn_id", "id", "reply_to", "extra", "TEXT", " Speaker ", ""]),
    min_size=0, max_size=6,
)
CHAT_TOKENS = st.sampled_from([
    "@UTF8", "@Begin", "@End", "@Participants:\t", "CHI Target_Child, MOT Mother", "@ID:\t", "eng|c|CHI|||||Target_Child|||",
    "*CHI:\t", "*MOT:\t", "*X:", "%mor:\t", "%com:\t", "\t", "\n", " ", "<", ">", "[/]", "[//]", "[///]", "[/-]", "[/?]",
    "[: x]", "[= y]", "[+ bch]", "[!]", "[", "]", "xxx", "&-uh", "&+fr", "&=laughs", "&", "0is", "0", "(.)", "(1.5)",
    "\x15", "\x1512_34\x15", "+...", "+/.", "+<", "+", ".", "?", "!", ",", "‡", "the", "red", "dog@b", "(be)cause", "a_b",
    "no:", "ice+cream", "@", "*", "%",
])
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                         st.text(max_size=10), st.sampled_from(["u1", "c1", "human", "assistant", "moderator", ""]))
JSONISH = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["id", "text", "speaker", "user", "conversation_id", "root", "reply-to",
                                         "reply_to", "timestamp", "meta", "role", "convmaint_gold", "convmaint_turn_id",
                                         "convmaint_segments", "label", "turn", "start", "end", "target_id", "x"]),
                        children, max_size=6),
    ),
    max_leaves=20,
)
UTTERANCE = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["u1", "u2", "u3"]), JSON_SCALARS),
     "conversation_id": st.one_of(st.sampled_from(["c1", "c2"]), JSON_SCALARS),
     "speaker": st.one_of(st.sampled_from(["a", "b"]), JSON_SCALARS),
     "text": st.one_of(st.text(max_size=20), JSON_SCALARS)},
    optional={"reply-to": JSON_SCALARS, "timestamp": JSON_SCALARS, "meta": JSONISH},
)


def outcome(path: Path, fmt: str, **kwargs) -> None:
    """Read ``path`` strictly, then collecting errors: only Conversations and ConvmaintErrors may come out."""
    try:
        convs = list(convmaint.load(path, format=fmt, **kwargs))
    except ConvmaintError:
        pass
    else:
        assert all(isinstance(c, Conversation) for c in convs)
    errors: list = []
    convs = list(convmaint.load(path, format=fmt, errors=errors, **kwargs))
    assert all(isinstance(c, Conversation) for c in convs)
    assert all(isinstance(e, ConvmaintError) for e in errors)
    for conv in convs:
        for move in conv.gold:
            assert 0 <= move.start <= move.end <= len(conv.turns[move.turn].text) or fmt == "convokit"


def in_tmp(name: str, data: bytes, fmt: str, **kwargs) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        outcome(path, fmt, **kwargs)


# ------------------------------------------------------------------------------------------ csv


@FUZZ
@given(st.text(max_size=300), st.sampled_from(["x.csv", "x.tsv", "x.tab"]))
def test_csv_random_text(text, name):
    in_tmp(name, text.encode("utf-8"), "csv")


@FUZZ
@given(HEADERS, st.lists(st.lists(CELLS, max_size=7), max_size=8), st.sampled_from([",", "\t", ";"]))
def test_csv_random_rows(header, rows, sep):
    text = "\n".join(sep.join(r) for r in [header, *rows])
    in_tmp("rows.csv", text.encode("utf-8"), "csv")


@FUZZ
@given(st.binary(max_size=300))
def test_csv_random_bytes(data):
    in_tmp("bytes.csv", data, "csv")


@FUZZ
@given(st.lists(st.lists(CELLS, min_size=3, max_size=3), max_size=8),
       st.dictionaries(st.sampled_from(["conversation", "speaker", "text", "role", "delimiter", "timestamp"]),
                       st.one_of(st.none(), st.sampled_from(["", "a", "b", "c", ",", "tab", "xx", "speaker"])), max_size=3))
def test_csv_random_options(rows, options):
    text = "\n".join(",".join(r) for r in [["a", "b", "c"], *rows])
    in_tmp("opts.csv", text.encode("utf-8"), "csv", options=options)


# ------------------------------------------------------------------------------------------ cha


@FUZZ
@given(st.lists(CHAT_TOKENS, max_size=60))
def test_cha_random_chat_tokens(tokens):
    in_tmp("t.cha", " ".join(tokens).encode("utf-8"), "cha")
    in_tmp("u.cha", ("@Begin\n*CHI:\t" + " ".join(tokens)).encode("utf-8"), "cha")


@FUZZ
@given(st.text(max_size=300))
def test_cha_random_text(text):
    in_tmp("t.cha", text.encode("utf-8"), "cha")


@FUZZ
@given(st.binary(max_size=300))
def test_cha_random_bytes(data):
    in_tmp("b.cha", data, "cha")


@FUZZ
@given(st.lists(st.one_of(CHAT_TOKENS, st.text(max_size=5)), max_size=40))
def test_cha_cleaning_spans_stay_inside_the_text(tokens):
    u = clean_main_tier(" ".join(tokens))
    for move in u.moves:
        for key in ("reparandum", "repair", "editing_term"):
            if key in move:
                s, e = move[key]
                assert 0 <= s <= e <= len(u.text)
        assert 0 <= move["start"] <= move["end"] <= len(u.text)


# ------------------------------------------------------------------------------------- convokit


def corpus(lines: list[bytes], side: dict[str, bytes], **kwargs) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        (folder / "utterances.jsonl").write_bytes(b"\n".join(lines))
        for name, data in side.items():
            (folder / name).write_bytes(data)
        outcome(folder, "convokit", **kwargs)


SIDE = st.dictionaries(
    st.sampled_from(["speakers.json", "conversations.json", "corpus.json"]),
    st.one_of(JSONISH.map(lambda v: json.dumps(v).encode()), st.binary(max_size=30)),
    max_size=3,
)


@FUZZ
@given(st.lists(st.one_of(JSONISH.map(json.dumps), st.text(max_size=30)), max_size=10), SIDE)
def test_convokit_random_json_lines(lines, side):
    corpus([line.encode("utf-8") for line in lines], side)


@FUZZ
@given(st.lists(UTTERANCE, max_size=10), st.booleans(), st.sampled_from(["file", "timestamp"]))
def test_convokit_random_utterances(utts, contiguous, order):
    corpus([json.dumps(u).encode("utf-8") for u in utts], {}, options={"contiguous": contiguous, "order": order})


@FUZZ
@given(st.lists(st.binary(max_size=40), max_size=8))
def test_convokit_random_bytes(lines):
    corpus(lines, {})
