"""A regular-expression tokenizer and sentence splitter: the backend of ``--mode fast``.

Fast mode is for first passes over very large corpora; spaCy's tokenizer alone (with its rule
sentencizer) costs several times the whole budget of fast mode per word. This backend cuts text
into tokens with one compiled pattern, close to spaCy's English tokenizer on conversational text:

- contractions split as spaCy splits them ("don't" → "do" "n't", "can't" → "ca" "n't",
  "I'm" → "I" "'m", "she's" → "she" "'s");
- punctuation is a token of its own, except runs of dots or dashes ("...", "--") and common
  emoticons;
- URLs, e-mail addresses, numbers with separators ("3.5", "1,000", "10:30") and dotted
  abbreviations ("U.S.", "e.g.") stay whole; hyphenated words are split at the hyphen, but a
  cut-off word keeps its hyphen ("I- I went", "the red- the blue"), as spaCy keeps it.

Sentences follow spaCy's rule ``sentencizer``: after a ".", "!" or "?" token, the next token
that is not punctuation starts a sentence (closing quotes and brackets stay with the sentence).
Detectors see the same :class:`~convmaint.nlp.base.ParsedTurn` view as from spaCy, with
``tokens`` and ``sents`` annotated and lemmas equal to the lower-case forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import accumulate, chain
from typing import Any

from convmaint.nlp.base import ParsedTurn

__all__ = ["RegexBackend", "tokenize"]

# The token pattern, in parts: the costly branches (URLs and e-mail addresses, contractions) are
# left out of the pattern for texts that cannot contain them, which is most texts.
_URL = r"""(?:https?://|www\.)[^\s<>"']+[^\s<>"'.,;:!?)\]]   # URLs
    | [\w.+-]+@\w[\w-]*(?:\.\w[\w-]*)+                     # e-mail addresses
    | """
_APOSTROPHE = r"""\w+?(?=n['’]t\b)                          # the "do" of "don't", the "ca" of "can't"
    | n['’]t\b                                               # ... and its "n't"
    | (?<=\w)['’](?:s|m|d|ll|re|ve)\b                        # clitics: 's 'm 'd 'll 're 've
    | """
_BASE = r"""(?:[^\W\d_]\.){2,}                               # dotted abbreviations: U.S., e.g.
    | \d+(?:[.,:]\d+)+                                        # 3.5  1,000  10:30
    | \w+(?:-(?![\w-]))?                                      # words and numbers; cut-off words keep their
                                                            # hyphen: "I- I", "red- blue" (as spaCy keeps it)
    | [:;=]-?[()DPp/\\|]                                      # emoticons :) ;-) :D
    | \.{2,} | -{2,} | …                                      # ellipses and dashes
    | [^\w\s]                                                 # any other symbol, one at a time
    """
#: The pattern for a text, by (may hold a URL or e-mail address, may hold an apostrophe).
_TOKEN_RES = {(url, apos): re.compile((_URL if url else "") + (_APOSTROPHE if apos else "") + _BASE,
                                      re.VERBOSE | re.IGNORECASE)
              for url in (False, True) for apos in (False, True)}
_TOKEN_RE = _TOKEN_RES[True, True]  # the whole pattern
#: The same patterns with the white space before each token as a first group. Every character
#: that is not white space belongs to a token (the last branch takes any symbol), so the text is
#: exactly the concatenation of (white space, token) pairs plus trailing white space, and
#: ``findall``'s pairs give the offsets without a match object per token.
#:
#: They first try a word with white space (or the text's edge) on both sides, most of a text's
#: words, which is one token whatever the branches after it say: none of them matches within word
#: characters alone except the word branch, which takes all of them, and none looks past white
#: space. That spares the other branches' attempts on such words (findall 20% faster; the tests
#: check the tokens against the plain pattern).
_SPACED_RES = {key: re.compile(r"(\s*)((?<!\S)\w+(?!\S)|" + rx.pattern + ")", rx.flags) for key, rx in _TOKEN_RES.items()}

#: Tokens after which the next non-punctuation token starts a sentence (spaCy's sentencizer rule).
_SENT_END = frozenset({".", "!", "?", "。", "！", "？"})
_WORD_RE = re.compile(r"\w")


def tokenize(text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The tokens of ``text`` and their character offsets."""
    rx = _SPACED_RES["@" in text or "://" in text or "www." in text, "'" in text or "’" in text]
    pieces = list(chain.from_iterable(rx.findall(text)))  # space, token, space, token, ...
    return tuple(pieces[1::2]), tuple(accumulate(map(len, pieces)))[0::2]


def _sent_starts(words: tuple[str, ...]) -> tuple[int, ...]:
    out = [0]
    if not _SENT_END.isdisjoint(words):
        seen_end = False
        search = _WORD_RE.search
        for i, w in enumerate(words):
            if w in _SENT_END:
                seen_end = True
            elif seen_end and search(w) is not None:
                out.append(i)
                seen_end = False
    return tuple(out)


_ANNOTATIONS = frozenset({"tokens", "sents"})


def parse_text(text: str) -> ParsedTurn:
    """One text's :class:`ParsedTurn` (tokens, lower-case forms, sentence starts)."""
    words, starts = tokenize(text)
    lower = tuple(map(str.lower, words))
    return ParsedTurn(text=text, words=words, starts=starts, lower=lower, lemmas=lower,
                      sent_starts=_sent_starts(words), annotations=_ANNOTATIONS)


class RegexBackend:
    """The fast-mode backend: tokens and sentences from regular expressions, nothing else.

    Example:
        >>> p = next(RegexBackend().parse(["I don't know. Maybe?"]))
        >>> p.words, p.sent_starts
        (('I', 'do', "n't", 'know', '.', 'Maybe', '?'), (0, 5))
    """

    name = "regex"

    def __init__(self, *, requires: Iterable[str] = ("tokens",), model: str | None = None) -> None:
        from convmaint.errors import ConfigError

        wanted = set(requires) - _ANNOTATIONS
        if wanted:
            raise ConfigError(f"the regex backend (fast mode) provides only tokens and sents, not {', '.join(sorted(wanted))}")
        if model:
            raise ConfigError("the regex backend (fast mode) has no model; drop --model or use --mode full")

    def provides(self) -> frozenset[str]:
        return _ANNOTATIONS

    def info(self) -> dict[str, Any]:
        return {"backend": "regex", "model": None, "components": ["regex tokenizer", "rule sentencizer"],
                "provides": sorted(_ANNOTATIONS)}

    def parse(self, texts: Iterable[str], *, batch_size: int = 256) -> Iterator[ParsedTurn]:
        return map(parse_text, texts)
