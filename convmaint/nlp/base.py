"""The parsed-turn view every backend yields and every detector reads."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
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
    annotations: frozenset[str] = field(default_factory=lambda: frozenset({"tokens"}))

    def __len__(self) -> int:
        return len(self.words)

    def end(self, i: int) -> int:
        """Character offset one past token ``i``."""
        return self.starts[i] + len(self.words[i])

    def char_span(self, i: int, j: int) -> tuple[int, int]:
        """Character span of tokens ``i`` up to (not including) ``j``."""
        if j <= i:
            off = self.starts[i] if i < len(self.words) else len(self.text)
            return off, off
        return self.starts[i], self.end(j - 1)

    def is_punct(self, i: int) -> bool:
        if self.pos:
            return self.pos[i] in ("PUNCT", "SYM") or bool(_PUNCT_RE.match(self.words[i]))
        return bool(_PUNCT_RE.match(self.words[i]))

    def sentences(self) -> list[tuple[int, int]]:
        """Token spans ``(start, end)`` of the sentences."""
        n = len(self.words)
        if not n:
            return []
        starts = sorted(set(self.sent_starts) | {0})
        return [(s, (starts[k + 1] if k + 1 < len(starts) else n)) for k, s in enumerate(starts) if s < n]

    def tokens_in(self, start: int, end: int) -> tuple[int, int]:
        """The token range ``(i, j)`` covering characters ``[start, end)``."""
        i = 0
        n = len(self.words)
        while i < n and self.end(i) <= start:
            i += 1
        j = i
        while j < n and self.starts[j] < end:
            j += 1
        return i, j

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
