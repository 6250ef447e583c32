"""Compiled regular expressions kept in the per-user cache behave exactly as re.compile's."""

from __future__ import annotations

import re

import pytest

from convmaint import _regex

PATTERNS = [
    (r"(?<![\w'’-])(?:i (?:mean|see)|uh-huh|by the way)(?![\w'’])", re.IGNORECASE),
    (r"(?P<word>\w+)-(?P<num>\d+)|(?:https?://)\S+", 0),
    (r"""\w+?(?=n['’]t\b) | n['’]t\b | \w+ | [^\w\s]""", re.VERBOSE | re.IGNORECASE),
]
TEXT = "Oh I see. By the way, I don't mean item-42; see https://x.org/a, uh-huh. ÉCOLE école"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVMAINT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_regex, "_MEMO", {})
    return tmp_path


@pytest.mark.parametrize("pattern, flags", PATTERNS)
def test_cached_pattern_matches_like_re_compile(cache, pattern, flags):
    want = re.compile(pattern, flags)
    first = _regex.compile(pattern, flags)
    assert len(list((cache / "regex").glob("*.pickle"))) == 1
    _regex._MEMO.clear()
    again = _regex.compile(pattern, flags)  # rebuilt from the cached program
    for rx in (first, again):
        assert (rx.pattern, rx.flags, rx.groups, rx.groupindex) == (want.pattern, want.flags, want.groups, want.groupindex)
        assert [(m.span(), m.groups()) for m in rx.finditer(TEXT)] == [(m.span(), m.groups()) for m in want.finditer(TEXT)]
    assert _regex.compile(pattern, flags) is again  # and kept for the process


def test_damaged_or_disabled_cache_falls_back(cache, monkeypatch):
    pattern, flags = PATTERNS[1]
    _regex.compile(pattern, flags)
    (f,) = (cache / "regex").glob("*.pickle")
    f.write_bytes(b"\x80\x05 not a program")
    _regex._MEMO.clear()
    assert _regex.compile(pattern, flags).match("ab-12").group("num") == "12"
    monkeypatch.setenv("CONVMAINT_CACHE_DIR", "")
    _regex._MEMO.clear()
    assert _regex.compile(r"a+b", 0).fullmatch("aab")
    with pytest.raises(re.error):
        _regex.compile(r"(unclosed", 0)


def test_bytes_patterns_are_cached_too(cache):
    pattern = b" (?:wh(?:at|o)|how) +(?:is|are) "
    want = re.compile(pattern)
    first = _regex.compile(pattern)
    _regex._MEMO.clear()
    again = _regex.compile(pattern)
    text = b" what  is it, how are you, who is "
    for rx in (first, again):
        assert (rx.pattern, rx.flags) == (want.pattern, want.flags)
        assert [m.span() for m in rx.finditer(text)] == [m.span() for m in want.finditer(text)]
