"""The parsed-turn view every backend yields and every detector reads."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from functools import partial
from operator import add, is_not, or_
from typing import Any, Protocol

__all__ = ["ANNOTATIONS", "Backend", "ParsedTurn", "check_requirements"]

#: What a backend can provide and a detector can require.
#:
#: - ``tokens``: words with character offsets and lower-case forms (always present)
#: - ``sents``: sentence boundaries
#: - ``pos``: universal and fine-grained part-of-speech tags
#: - ``lemma``: lemmas (otherwise ``lemmas`` repeats the lower-case forms)
#: - ``dep``: dependency heads and labels
#: - ``noun_chunks``: base noun phrases
#: - ``ents``: named entities
ANNOTATIONS: tuple[str, ...] = ("tokens", "sents", "pos", "lemma", "dep", "noun_chunks", "ents")

_PUNCT_RE = re.compile(r"^[^\w]+$")
_PUNCT_TAGS = frozenset({"PUNCT", "SYM"})
_MATCHED = partial(is_not, None)  # _MATCHED(m) is m is not None


#: The ``annotations`` of a parse that has only tokens.
_TOKENS_ONLY = frozenset({"tokens"})


# (init=False: the __init__ below sets the same fields as the generated one would, at half its cost.)
@dataclass(frozen=True, slots=True, init=False)
class ParsedTurn:
    """One turn's parse, column by column (cheap to build, compare, cache and send between processes).

    Every tuple has one entry per token, except the span lists. Character offsets refer to
    ``text``, the turn text exactly as in :class:`~convmaint.model.Turn`.

    Attributes:
        text: The turn text.
        words: Token strings.
        starts: Character offset of each token.
        lower: Lower-cased tokens.
        lemmas: Lemmas (lower-cased); the lower-case form where ``lemma`` is not annotated.
        pos: Universal POS tags ("" when not annotated).
        tags: Fine-grained tags ("" when not annotated).
        deps: Dependency labels ("" when not annotated).
        heads: Index of each token's head (the token itself for a root; -1 when not annotated).
        sent_starts: Indexes of the tokens that start a sentence (always includes 0 for a non-empty turn).
        noun_chunks: ``(first_token, end_token)`` spans of base noun phrases.
        ents: ``(first_token, end_token, label)`` named entities.
        annotations: Which of :data:`ANNOTATIONS` are real in this parse.
    """

    text: str
    words: tuple[str, ...]
    starts: tuple[int, ...]
    lower: tuple[str, ...]
    lemmas: tuple[str, ...]
    pos: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    heads: tuple[int, ...] = ()
    sent_starts: tuple[int, ...] = (0,)
    noun_chunks: tuple[tuple[int, int], ...] = ()
    ents: tuple[tuple[int, int, str], ...] = ()
    annotations: frozenset[str] = _TOKENS_ONLY
    # Derived columns, computed on first use: detectors ask for them per token, many times per turn.
    # Unset until then (read with getattr and a default of None).
    _ends: tuple[int, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _punct: tuple[bool, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _sents: list[tuple[int, int]] | None = field(default=None, init=False, repr=False, compare=False)
    _sent_spans: list[tuple[int, int]] | None = field(default=None, init=False, repr=False, compare=False)

    def __init__(self, text: str, words: tuple[str, ...], starts: tuple[int, ...], lower: tuple[str, ...],
                 lemmas: tuple[str, ...], pos: tuple[str, ...] = (), tags: tuple[str, ...] = (),
                 deps: tuple[str, ...] = (), heads: tuple[int, ...] = (), sent_starts: tuple[int, ...] = (0,),
                 noun_chunks: tuple[tuple[int, int], ...] = (), ents: tuple[tuple[int, int, str], ...] = (),
                 annotations: frozenset[str] = _TOKENS_ONLY) -> None:
        # One of these per turn of a corpus: the generated __init__ looks up object.__setattr__
        # once per field and sets the derived columns too: 3.3 µs a turn against 2.0 here.
        set_ = object.__setattr__
        set_(self, "text", text)
        set_(self, "words", words)
        set_(self, "starts", starts)
        set_(self, "lower", lower)
        set_(self, "lemmas", lemmas)
        set_(self, "pos", pos)
        set_(self, "tags", tags)
        set_(self, "deps", deps)
        set_(self, "heads", heads)
        set_(self, "sent_starts", sent_starts)
        set_(self, "noun_chunks", noun_chunks)
        set_(self, "ents", ents)
        set_(self, "annotations", annotations)

    def __len__(self) -> int:
        return len(self.words)

    # Pickle the columns only (the derived ones are rebuilt on demand after unpickling).
    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _STATE)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(_STATE, state):
            object.__setattr__(self, name, value)
        for name in ("_ends", "_punct", "_sents", "_sent_spans"):
            object.__setattr__(self, name, None)

    @property
    def ends(self) -> tuple[int, ...]:
        """Character offset one past each token."""
        ends = getattr(self, "_ends", None)  # absent on objects pickled by older versions
        if ends is None:
            ends = tuple(map(add, self.starts, map(len, self.words)))  # (map: no Python frame per token)
            object.__setattr__(self, "_ends", ends)
        return ends

    @property
    def punct(self) -> tuple[bool, ...]:
        """Whether each token is punctuation (a PUNCT or SYM tag, or no word character)."""
        flags = getattr(self, "_punct", None)
        if flags is None:
            # match(w) is not None, token by token, in C (map) rather than a Python loop.
            no_word_char = map(_MATCHED, map(_PUNCT_RE.match, self.words))
            if self.pos:
                flags = tuple(map(or_, map(_PUNCT_TAGS.__contains__, self.pos), no_word_char))
            else:
                flags = tuple(no_word_char)
            object.__setattr__(self, "_punct", flags)
        return flags

    def end(self, i: int) -> int:
        """Character offset one past token ``i``."""
        return self.ends[i]

    def char_span(self, i: int, j: int) -> tuple[int, int]:
        """Character span of tokens ``i`` up to (not including) ``j``."""
        if j <= i:
            off = self.starts[i] if i < len(self.words) else len(self.text)
            return off, off
        return self.starts[i], self.end(j - 1)

    def is_punct(self, i: int) -> bool:
        return self.punct[i]

    def sentences(self) -> list[tuple[int, int]]:
        """Token spans ``(start, end)`` of the sentences."""
        sents = getattr(self, "_sents", None)
        if sents is None:
            n = len(self.words)
            if not n:
                sents = []
            else:
                starts = sorted(set(self.sent_starts) | {0})
                sents = [(s, (starts[k + 1] if k + 1 < len(starts) else n)) for k, s in enumerate(starts) if s < n]
            object.__setattr__(self, "_sents", sents)
        return list(sents)

    def sentence_spans(self) -> list[tuple[int, int]]:
        """Character spans of the sentences, trimmed of surrounding white space (the whole text,
        trimmed, when sentences are not annotated)."""
        spans = getattr(self, "_sent_spans", None)
        if spans is None:
            text = self.text
            if self.words and "sents" in self.annotations:
                raw = [self.char_span(i, j) for i, j in self.sentences()]
            else:
                raw = [(0, len(text))]
            spans = [trim_span(text, s, e) for s, e in raw]
            object.__setattr__(self, "_sent_spans", spans)
        return list(spans)

    def tokens_in(self, start: int, end: int) -> tuple[int, int]:
        """The token range ``(i, j)`` covering characters ``[start, end)``."""
        # Tokens do not overlap, so starts and ends both ascend: the first token ending after
        # ``start``, and the first one from there starting at or after ``end``.
        i = bisect_right(self.ends, start)
        j = bisect_left(self.starts, end)
        return i, max(i, j)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "words": list(self.words),
            "starts": list(self.starts),
            "lower": list(self.lower),
            "lemmas": list(self.lemmas),
            "pos": list(self.pos),
            "tags": list(self.tags),
            "deps": list(self.deps),
            "heads": list(self.heads),
            "sent_starts": list(self.sent_starts),
            "noun_chunks": [list(x) for x in self.noun_chunks],
            "ents": [list(x) for x in self.ents],
            "annotations": sorted(self.annotations),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ParsedTurn:
        return cls(
            text=d["text"],
            words=tuple(d["words"]),
            starts=tuple(d["starts"]),
            lower=tuple(d["lower"]),
            lemmas=tuple(d["lemmas"]),
            pos=tuple(d.get("pos", ())),
            tags=tuple(d.get("tags", ())),
            deps=tuple(d.get("deps", ())),
            heads=tuple(d.get("heads", ())),
            sent_starts=tuple(d.get("sent_starts", (0,))),
            noun_chunks=tuple(tuple(x) for x in d.get("noun_chunks", ())),
            ents=tuple((int(a), int(b), str(c)) for a, b, c in d.get("ents", ())),
            annotations=frozenset(d.get("annotations", ("tokens",))),
        )


def trim_span(text: str, s: int, e: int) -> tuple[int, int]:
    """``(s, e)`` without the white space at its edges."""
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


_STATE = tuple(f.name for f in fields(ParsedTurn) if f.init)


class Backend(Protocol):
    """What an NLP backend offers: the same :class:`ParsedTurn` view from spaCy or stanza."""

    name: str

    def provides(self) -> frozenset[str]:
        """The annotations this backend (as configured) fills in."""
        ...

    def info(self) -> dict[str, Any]:
        """Backend name, model name and version, and the components that run (for provenance)."""
        ...

    def parse(self, texts: Iterable[str], *, batch_size: int = 256) -> Iterator[ParsedTurn]:
        """Parse texts in order, one ParsedTurn per text."""
        ...


def check_requirements(required: Iterable[str], provided: Iterable[str], *, who: str, backend: str) -> None:
    """Raise MissingRequirementError when ``provided`` lacks something ``required`` names."""
    from convmaint.errors import MissingRequirementError

    unknown = set(required) - set(ANNOTATIONS)
    if unknown:
        raise MissingRequirementError(f"{who} requires unknown annotations {sorted(unknown)}; known: {', '.join(ANNOTATIONS)}")
    missing = set(required) - set(provided)
    if missing:
        raise MissingRequirementError(
            f"{who} requires {', '.join(sorted(missing))}, which the {backend} backend does not provide "
            f"as configured (it provides {', '.join(sorted(provided))}); choose --mode full or another backend"
        )
