"""Lexicon files: validation with file and entry in errors, and the phrase/token matcher."""

from __future__ import annotations

import pytest

from convmaint.errors import LexiconError
from convmaint.lexicon import LexiconSet, Matcher, load_lexicon, load_lexicons
from convmaint.nlp.base import ParsedTurn

HEADER = '''[lexicon]
id = "t"
version = "1"
language = "en"
description = "test"
source = "written for the tests"
licence = "MIT"
'''


def _lex(tmp_path, body, name="t.toml"):
    p = tmp_path / name
    p.write_text(HEADER + body, encoding="utf-8")
    return p


def _parsed(text, pos=None):
    import re

    toks = [(m.group(0), m.start()) for m in re.finditer(r"\w+(?:-\w+)*|[^\w\s]", text)]
    words = tuple(w for w, _ in toks)
    return ParsedTurn(text=text, words=words, starts=tuple(s for _, s in toks), lower=tuple(w.lower() for w in words),
                      lemmas=tuple(w.lower() for w in words), pos=tuple(pos) if pos else (),
                      annotations=frozenset({"tokens", "pos"} if pos else {"tokens"}))


def test_phrase_and_token_matching(tmp_path):
    lex = load_lexicon(_lex(tmp_path, '''
[[entries]]
pattern = "I mean"
label = "editing_term"
match = "phrase"
[[entries]]
pattern = "uh-huh"
label = "grounding.acknowledgement"
attributes = { form = "continuer" }
[[entries]]
pattern = [{ LOWER = "which" }, { POS = "NOUN", OP = "?" }, { LOWER = { IN = ["one", "ones"] } }]
label = "clarification.cue"
match = "token"
'''))
    m = Matcher(lex.entries)
    p = _parsed("Uh-huh, I  mean which one?")
    hits = [(p.text[h.start:h.end], h.label) for h in m.find(p)]
    assert hits == [("Uh-huh", "grounding.acknowledgement"), ("I  mean", "editing_term"), ("which one", "clarification.cue")]
    assert m.find(p)[0].entry.attributes["form"] == "continuer"
    assert not m.find(_parsed("Romeaning"))  # word edges respected
    p2 = _parsed("which blue one", pos=["DET", "ADJ", "NOUN"])
    assert not [h for h in m.find(p2) if h.label == "clarification.cue"]  # ADJ is not NOUN
    assert m.find(p, 8) and all(h.start >= 8 for h in m.find(p, 8))


@pytest.mark.parametrize(
    "body, message",
    [
        ("", "at least one"),
        ('[[entries]]\npattern = "x"\n', "non-empty 'label'"),
        ('[[entries]]\npattern = "x"\nlabel = "l"\nmatch = "regex"\n', "'phrase' or 'token'"),
        ('[[entries]]\npattern = [{ SHAPE = "x" }]\nlabel = "l"\nmatch = "token"\n', "unknown token pattern key"),
        ('[[entries]]\npattern = "x"\nlabel = "l"\n[[entries]]\npattern = "X"\nlabel = "l"\n', "duplicate phrase"),
        ('[[entries]]\npattern = [{ LOWER = "a", OP = "{2}" }]\nlabel = "l"\nmatch = "token"\n', "OP must be"),
    ],
)
def test_invalid_entries_name_file_and_entry(tmp_path, body, message):
    with pytest.raises(LexiconError, match=message) as info:
        load_lexicon(_lex(tmp_path, body))
    assert info.value.path and info.value.path.endswith("t.toml")


def test_missing_header_fields(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('[lexicon]\nid = "x"\n[[entries]]\npattern = "a"\nlabel = "b"\n')
    with pytest.raises(LexiconError, match="lacks version, language, description, source, licence"):
        load_lexicon(p)


def test_bundled_lexicons_valid_with_provenance():
    lexset = load_lexicons()
    assert lexset.lexicons, "no bundled lexicons found"
    for lex in lexset.lexicons.values():
        assert lex.source and lex.licence and len(lex.hash) == 12
        assert all(e.source for e in lex.entries)


def test_user_lexicon_extends_and_hash_changes(tmp_path):
    p = _lex(tmp_path, '[[entries]]\npattern = "okey dokey"\nlabel = "grounding.acknowledgement"\n')
    lexset = load_lexicons(extra=[p])
    assert lexset["t"].entries[0].pattern == "okey dokey"
    h1 = lexset.hashes["t"]
    p.write_text(p.read_text() + '[[entries]]\npattern = "roger"\nlabel = "grounding.acknowledgement"\n')
    assert load_lexicons(extra=[p]).hashes["t"] != h1
    with pytest.raises(LexiconError, match="defined twice"):
        LexiconSet([lexset["t"], lexset["t"]])


def _flat_regex(phrases):
    """The matcher's phrase regex as a flat longest-first alternation: the reference for the trie."""
    import re

    alts = [r"\s+".join(re.escape(w).replace("'", "['\u2019]") for w in p.split(" "))
            for p in sorted(phrases, key=lambda s: (-len(s), s))]
    return re.compile(r"(?<![\w'’-])(?:" + "|".join(alts) + r")(?![\w'’])", re.IGNORECASE)


def test_phrase_trie_matches_like_a_flat_alternation():
    import random

    from convmaint.lexicon import Entry

    phrases = ["you know", "you know what", "you", "i mean", "i", "i'm sorry", "uh-huh", "uh", "oh", "oh well",
               "or rather", "or", "no", "no no", "not", "wait", "wait what", "what", "a", "a b c", "a.b.", "c++"]
    matcher = Matcher(Entry(pattern=p, label="x", match="phrase", lexicon="t") for p in phrases)
    flat = _flat_regex({p: None for p in phrases})
    rng = random.Random(7)
    pieces = ["you", "know", "what", "i", "I'm", "i’m", "sorry", "uh-huh", "uh", "-", "oh", "well", "OR", "rather",
              "no", "not", "wait", "a", "b", "c", "a.b.", "c++", ",", "?", "mean", "whatever", "knows", "'"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice([" ", "  ", "\n", "", ", "]) for _ in range(rng.randint(1, 12)))
        want = [(m.start(), m.end()) for m in flat.finditer(text)]
        assert [(m.start(), m.end()) for m in matcher._regex.finditer(text)] == want, text


def test_bundled_phrase_trie_matches_like_a_flat_alternation():
    lexset = load_lexicons()
    matcher = lexset.matcher()
    flat = _flat_regex(matcher._phrases)
    text = ("Uh-huh, you know what? I mean, I’m not sure... oh well, anyway, by the way, sorry, I meant the OTHER "
            "file -- no, wait, what do you mean? Mm-hmm. Got it, thanks! So, what about you? Let's move on.")
    assert [(m.start(), m.end()) for m in matcher._regex.finditer(text)] == [(m.start(), m.end()) for m in flat.finditer(text)]


def test_validated_lexicons_are_cached_per_file_content(tmp_path, monkeypatch):
    import convmaint.lexicon as lexicon

    monkeypatch.setenv("CONVMAINT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(lexicon, "_LOADED", {})
    f = _lex(tmp_path, "[[entries]]\npattern = \"I mean\"\nlabel = \"editing_term\"\n")
    parsed = []
    real = lexicon._parse_lexicon
    monkeypatch.setattr(lexicon, "_parse_lexicon", lambda *a: parsed.append(a[0]) or real(*a))
    first = load_lexicon(f)
    assert parsed == [f] and len(list((tmp_path / "cache" / "lexicons").glob("*.pickle"))) == 1
    # The same bytes again: from this process's memo, then (a fresh process) from the cache folder.
    assert load_lexicon(f) is first and parsed == [f]
    monkeypatch.setattr(lexicon, "_LOADED", {})
    again = load_lexicon(f)
    assert again == first and again.sha256 == first.sha256 and parsed == [f]
    # Changed content is parsed (and validated) anew.
    f.write_text(f.read_text(encoding="utf-8").replace("I mean", "you know"), encoding="utf-8")
    changed = load_lexicon(f)
    assert changed.entries[0].pattern == "you know" and parsed == [f, f]
    # A damaged cache file is only a miss; invalid content still raises even when cached before.
    monkeypatch.setattr(lexicon, "_LOADED", {})
    for c in (tmp_path / "cache" / "lexicons").glob("*.pickle"):
        c.write_bytes(b"not a pickle")
    assert load_lexicon(f) == changed and len(parsed) == 3
    f.write_text("[lexicon]\nid = \"x\"\n", encoding="utf-8")
    with pytest.raises(LexiconError):
        load_lexicon(f)


def test_lexicon_cache_can_be_disabled(tmp_path, monkeypatch):
    import convmaint.lexicon as lexicon

    monkeypatch.setenv("CONVMAINT_CACHE_DIR", "")
    assert lexicon.cache_dir() is None
    monkeypatch.setattr(lexicon, "_LOADED", {})
    f = _lex(tmp_path, "[[entries]]\npattern = \"I mean\"\nlabel = \"editing_term\"\n")
    assert load_lexicon(f).entries[0].pattern == "I mean"


def test_find_on_ascii_text_matches_the_ignorecase_scan():
    """ASCII text is scanned lower-cased without IGNORECASE: the same matches as the IGNORECASE trie."""
    import copy
    import random

    from convmaint.lexicon import Matcher, load_lexicons
    from convmaint.nlp.regex_backend import parse_text

    lexicons = load_lexicons()
    rnd = random.Random(3)
    for lex in lexicons.lexicons.values():
        m = Matcher(lex.entries)
        if m._lower_regex is None:
            continue
        reference = copy.copy(m)
        reference._lower_regex = None
        phrases = [e.pattern for e in lex.entries if e.match == "phrase"]
        for _ in range(200):
            words = [rnd.choice(phrases) if rnd.random() < 0.4 else rnd.choice(["so", "I", "the", "OK", "-", "'", "uh"])
                     for _ in range(rnd.randint(1, 6))]
            text = rnd.choice([" ", "  ", ", ", "-", "'"]).join(words)
            text = "".join(c.upper() if rnd.random() < 0.3 else c for c in text)
            p = parse_text(text)
            assert m.find(p) == reference.find(p), text
            if len(text) > 4:
                assert m.find(p, 2, len(text) - 1) == reference.find(p, 2, len(text) - 1), text


def test_trie_pattern_matches_as_the_longest_first_alternation():
    import re

    from convmaint.lexicon import trie_pattern

    words = ["i mean", "i", "in fact", "indeed", "mean", "me", "you know", "y'know"]
    flat = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    trie = trie_pattern(([re.escape(c) for c in w] for w in words), "")
    text = "i mean, indeed in fact y'know you know me mean i in"
    assert [m.span() for m in re.finditer(trie, text)] == [m.span() for m in re.finditer(flat, text)]
    assert trie_pattern([["a", "b"], ["a", "c"], ["a"]], "(?!x)") == "a(?:b(?!x)|c(?!x)|(?!x))"  # end closes each key
    assert trie_pattern([[b"a", b"b"], [b"a"]], b"") == b"a(?:b|)"  # bytes units too
