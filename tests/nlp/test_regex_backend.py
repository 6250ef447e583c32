"""The regex backend of fast mode: tokens close to spaCy's English tokenizer, sentences by the sentencizer rule."""

from __future__ import annotations

import subprocess
import sys

import pytest

from convmaint.errors import ConfigError
from convmaint.nlp.regex_backend import RegexBackend, parse_text, tokenize


@pytest.mark.parametrize("text, words", [
    ("I don't know, can't say.", ["I", "do", "n't", "know", ",", "ca", "n't", "say", "."]),
    ("She’s here and I'm not; we'll see", ["She", "’s", "here", "and", "I", "'m", "not", ";", "we", "'ll", "see"]),
    ("the red- the blue folder", ["the", "red-", "the", "blue", "folder"]),
    ("I- I went, well-known e-mail", ["I-", "I", "went", ",", "well", "-", "known", "e", "-", "mail"]),
    ("It costs 3.5 or 1,000 at 10:30...", ["It", "costs", "3.5", "or", "1,000", "at", "10:30", "..."]),
    ("See https://example.org/a?b=1. Mail me@x.org", ["See", "https://example.org/a?b=1", ".", "Mail", "me@x.org"]),
    ("The U.S. e.g. -- okay :) \"quoted\"", ["The", "U.S.", "e.g.", "--", "okay", ":)", '"', "quoted", '"']),
    ("uh-huh ?!", ["uh", "-", "huh", "?", "!"]),
    ("", []),
    ("  \u00a0spaced\tout \u3000 words\n ", ["spaced", "out", "words"]),
])
def test_tokens(text, words):
    got, starts = tokenize(text)
    assert list(got) == words
    assert [text[s:s + len(w)] for s, w in zip(starts, got)] == words  # offsets point at the tokens


def test_parsed_turn_view_and_sentences():
    p = parse_text("Okay. So, uh, which one? (the red) Fine!")
    assert p.annotations == frozenset({"tokens", "sents"})
    assert p.lower == tuple(w.lower() for w in p.words) and p.lemmas == p.lower and not p.pos
    # A sentence starts after . ! ? at the next token that is not punctuation (an opening bracket
    # stays with the sentence before, as in spaCy's sentencizer).
    assert [p.words[i] for i in p.sent_starts] == ["Okay", "So", "the"]
    assert p.sentence_spans() == [(0, 5), (6, 26), (26, 40)]
    # "..." does not end a sentence (as in spaCy's sentencizer).
    assert parse_text("well... maybe").sent_starts == (0,)


def test_backend_contract():
    be = RegexBackend(requires={"tokens", "sents"})
    assert be.provides() == frozenset({"tokens", "sents"}) and be.info()["backend"] == "regex"
    assert [p.words for p in be.parse(["a b", "c"])] == [("a", "b"), ("c",)]
    with pytest.raises(ConfigError, match="only tokens and sents"):
        RegexBackend(requires={"tokens", "pos"})
    with pytest.raises(ConfigError, match="no model"):
        RegexBackend(model="en_core_web_sm")


@pytest.mark.model
def test_close_to_spacy_tokenizer_on_chat_text():
    from convmaint.errors import BackendError
    from convmaint.nlp import load_backend

    try:
        sp = load_backend(requires={"tokens", "sents"})
    except BackendError as exc:
        pytest.skip(f"no English spaCy pipeline installed: {exc}")
    texts = ["I don't think so, but maybe.", "Do you like dogs? I love them!", "That's what I meant - the other one.",
             "Wait, you mean the 2nd one?", "Haha yes, I've seen it... It's great!", "uh, I- I went on Tuesday, no, Wednesday.",
             "What about you?", "Ok, got it. Thanks!", "It's 3.5 hours (roughly) from here.", "Hmm. Which version?"]
    same = sum(r.words == s.words and r.sent_starts == s.sent_starts
               for r, s in zip(RegexBackend().parse(texts), sp.parse(texts)))
    assert same == len(texts)


def test_fast_annotator_loads_no_spacy():
    code = ("import sys; from convmaint.pipeline import Annotator; a = Annotator.create(mode='fast'); "
            "print(a.backend.info()['backend'], 'spacy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["regex", "False"]


def test_offsets_match_a_scan_with_match_objects():
    """The (space, token) pairs of findall give the same tokens and offsets as scanning match by match."""
    import random
    import re

    from convmaint.nlp import regex_backend

    rnd = random.Random(7)
    alphabet = list("ab n't'’s.,-:;)(DP/\\|@\u00a0\u2028\u3000\t\n x1_é…!?\u200b\u0301") + [
        "e.g.", "http://x.y/z.", "a@b.co", "don", "ca", "ai", "U.S.", "3.5", "www.x", "--", "²"]
    for _ in range(5000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        whole = regex_backend._TOKEN_RE
        found = list(re.finditer(whole.pattern, text, whole.flags))
        assert tokenize(text) == (tuple(m.group() for m in found), tuple(m.start() for m in found)), text
