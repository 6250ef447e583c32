"""Malformed input thrown at the plain, chat, sharegpt and hh_rlhf readers: Conversations or a ConvmaintError, nothing else."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convmaint
from convmaint.errors import ConvmaintError
from convmaint.model import Conversation

READERS = {
    "plain": ".txt",
    "chat": ".json",
    "sharegpt": ".jsonl",
    "hh_rlhf": ".jsonl",
}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = st.sampled_from([
    "id", "messages", "conversation", "role", "content", "name", "type", "text", "conversations", "from",
    "value", "chosen", "rejected", "system", "timestamp", "format", "corpus", "tool_calls", "x",
])
ROLES = st.sampled_from(["user", "assistant", "system", "tool", "human", "gpt", "bing", "wizard", "", "USER"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), ROLES,
    st.sampled_from(["\n\nHuman: hi\n\nAssistant: ", "Human:", "2024-01-01T00:00:00", "text", "image_url"]),
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(KEYS, st.text(max_size=5)), children, max_size=5),
    ),
    max_leaves=25,
)
SPEAKER_LINES = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.tuples(st.sampled_from(["A", "User", "Dr. X", "[00:01] B", "C (1:2)", "12", "```", " ", "Bot"]), st.text(max_size=20))
        .map(lambda t: f"{t[0]}: {t[1]}"),
    ),
    max_size=12,
)


def outcome(path: Path, fmt: str, **kwargs) -> None:
    """Read ``path``; only Conversations or a ConvmaintError may come out, and collected errors are ConvmaintErrors."""
    try:
        convs = list(convmaint.load(path, format=fmt, **kwargs))
    except ConvmaintError:
        return
    assert all(isinstance(c, Conversation) for c in convs)
    for c in convs:
        assert all(t.text.strip() for t in c.turns)
    errs = []
    list(convmaint.load(path, format=fmt, errors=errs, **kwargs))
    assert all(isinstance(e, ConvmaintError) for e in errs)


def write_and_read(data: bytes, fmt: str, suffix: str, **kwargs) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        outcome(path, fmt, **kwargs)


@pytest.mark.parametrize("fmt", sorted(READERS))
@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes(fmt, data):
    write_and_read(data, fmt, READERS[fmt])


@pytest.mark.parametrize("fmt", sorted(READERS))
@FUZZ
@given(text=st.text(max_size=300))
def test_random_text(fmt, text):
    write_and_read(text.encode("utf-8", "surrogatepass"), fmt, READERS[fmt])


@pytest.mark.parametrize(("fmt", "suffix"), [(f, s) for f in sorted(READERS) if f != "plain" for s in (".json", ".jsonl")])
@FUZZ
@given(value=JSONISH)
def test_random_json_one_value(fmt, suffix, value):
    write_and_read(json.dumps(value).encode(), fmt, suffix)


@pytest.mark.parametrize("fmt", ["chat", "sharegpt", "hh_rlhf"])
@FUZZ
@given(values=st.lists(JSONISH, max_size=5), as_array=st.booleans(), side=st.sampled_from(["chosen", "rejected", "both", 3]))
def test_random_json_records(fmt, values, as_array, side):
    data = json.dumps(values, indent=1) if as_array else "\n".join(json.dumps(v) for v in values)
    write_and_read(data.encode(), fmt, ".json" if as_array else ".jsonl", options={"side": side})


@pytest.mark.parametrize("fmt", ["chat", "sharegpt"])
@FUZZ
@given(messages=st.lists(st.dictionaries(KEYS, st.one_of(ROLES, JSONISH), max_size=4), max_size=5), key=st.sampled_from(["messages", "conversations"]))
def test_almost_valid_conversations(fmt, messages, key):
    write_and_read(json.dumps({"id": "x", key: messages}).encode(), fmt, ".jsonl")


@FUZZ
@given(chosen=st.one_of(st.text(max_size=80), st.lists(st.tuples(st.sampled_from(["Human", "Assistant", "human"]), st.text(max_size=15)), max_size=6)
                        .map(lambda ts: "".join(f"\n\n{s}: {t}" for s, t in ts))))
def test_hh_transcripts(chosen):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(json.dumps({"chosen": chosen, "rejected": chosen[::-1]}) + "\n")
        outcome(path, "hh_rlhf", options={"side": "both"})


@FUZZ
@given(lines=SPEAKER_LINES)
def test_plain_speaker_like_lines(lines):
    write_and_read("\n".join(lines).encode("utf-8", "surrogatepass"), "plain", ".txt")


@pytest.mark.parametrize("fmt", ["chat", "sharegpt", "hh_rlhf"])
@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_deeply_nested_json(fmt, suffix):
    write_and_read(b"[" * 100_000 + b"]" * 100_000, fmt, suffix)
    write_and_read(b'{"messages": ' + b"[" * 5000 + b"]" * 5000 + b"}", fmt, suffix)
