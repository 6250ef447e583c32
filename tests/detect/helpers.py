"""Builders shared by the detector tests: hand-made conversations, lexicons and the spaCy backend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from convmaint.errors import BackendError
from convmaint.lexicon import LexiconSet, load_lexicon
from convmaint.model import Conversation, Role, Segment, Turn
from convmaint.nlp.base import ParsedTurn

ROOT = Path(__file__).resolve().parents[2]


def make_conv(texts, speakers=None, roles=None, segments=None) -> Conversation:
    """Turns alternating between A and B (human unless ``roles`` says otherwise); ``segments[i]``
    lists ``(start, end)`` spans for turn i."""
    speakers = speakers or ["A" if i % 2 == 0 else "B" for i in range(len(texts))]
    roles = roles or [Role.HUMAN] * len(texts)
    turns = []
    for i, t in enumerate(texts):
        segs = ()
        if segments is not None and segments[i]:
            segs = tuple(Segment(f"{i}.{k}", s, e) for k, (s, e) in enumerate(segments[i]))
        turns.append(Turn(i, str(i), speakers[i], roles[i], t, segments=segs))
    return Conversation("t", tuple(turns))


def family_lexicons(*names: str) -> LexiconSet:
    """Only the lexicons a detector reads, so that its tests do not depend on other families' files."""
    return LexiconSet(load_lexicon(ROOT / "lexicons" / "en" / f"{name}.toml") for name in names)


def spacy_backend(requires):
    """The spaCy backend for ``requires``; the test is skipped where no English pipeline is installed."""
    pytest.importorskip("spacy")
    from convmaint.nlp.spacy_backend import SpacyBackend

    try:
        return SpacyBackend(requires=requires)
    except BackendError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no spaCy English pipeline: {exc}")


#: Tokens as a tokenizer-only backend sees them: words (with inner hyphens) and punctuation.
WORDS_RE = r"[\w']+(?:-\w+)*|[^\w\s]"


def fast_parse(text: str, token_re: str = WORDS_RE) -> ParsedTurn:
    """A tokens-and-sentences parse by hand (what lite mode sees); sentences end at . ? !"""
    toks = [(m.group(0), m.start()) for m in re.finditer(token_re, text)]
    words = tuple(w for w, _ in toks)
    starts = [0] + [k + 1 for k, w in enumerate(words[:-1]) if w in {".", "?", "!"}]
    return ParsedTurn(text=text, words=words, starts=tuple(s for _, s in toks), lower=tuple(w.lower() for w in words),
                      lemmas=tuple(w.lower() for w in words), sent_starts=tuple(starts),
                      annotations=frozenset({"tokens", "sents"}))
