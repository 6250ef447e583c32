"""Parse-once detection over a stream of conversations."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from convmaint.detect.base import Detector, Mode, make_detectors
from convmaint.lexicon import LexiconSet, load_lexicons
from convmaint.model import Conversation, Move
from convmaint.nlp import load_backend
from convmaint.nlp.base import Backend, ParsedTurn, check_requirements

__all__ = ["Annotator", "detect_moves"]


@dataclass
class Annotator:
    """Detectors plus the backend configured for exactly what they need.

    Example:
        >>> ann = Annotator.create()  # doctest: +SKIP
        >>> for conv, moves in ann.run(convmaint.load("corpora/")):  # doctest: +SKIP
        ...     print(conv.id, len(moves))
    """

    detectors: list[Detector]
    backend: Backend
    lexicons: LexiconSet
    mode: Mode = "full"

    @classmethod
    def create(
        cls,
        detectors: Iterable[str] | None = None,
        *,
        mode: Mode = "full",
        backend: str = "spacy",
        model: str | None = None,
        lexicons: LexiconSet | None = None,
        config: dict[str, dict[str, Any]] | None = None,
        cache: str | None = None,
    ) -> Annotator:
        lexset = lexicons if lexicons is not None else load_lexicons()
        dets = make_detectors(detectors, lexicons=lexset, mode=mode, config=config)
        requires: set[str] = {"tokens"}
        for d in dets:
            requires |= d.requirements()
        if mode == "fast":
            # Fast mode always tokenizes with regular expressions (cheaper than a cache lookup, so
            # its parses are never cached); --backend and --model apply to full and lite mode.
            from convmaint.nlp.regex_backend import RegexBackend

            be: Backend = RegexBackend(requires=requires, model=model)
            cache = None
        else:
            be = load_backend(backend, requires=requires, model=model)
        if cache:
            from convmaint.nlp.cache import CachedBackend

            be = CachedBackend(be, cache)
        for d in dets:
            check_requirements(d.requirements(), be.provides(), who=f"detector {d.id}", backend=backend)
        return cls(detectors=dets, backend=be, lexicons=lexset, mode=mode)

    def provenance(self) -> dict[str, Any]:
        from convmaint._version import __version__

        return {
            "convmaint": __version__,
            "mode": self.mode,
            "detectors": {d.id: d.config() for d in self.detectors},
            "lexicons": self.lexicons.hashes,
            "backend": self.backend.info(),
        }

    def detect(self, conv: Conversation, parsed: Sequence[ParsedTurn]) -> list[Move]:
        moves: list[Move] = []
        for det in self.detectors:
            moves.extend(det.detect(conv, parsed, tuple(moves)))
        moves.sort(key=lambda m: (m.turn, m.start, m.end, m.label))
        return moves

    def run(self, conversations: Iterable[Conversation], *, chunk_turns: int = 2000) -> Iterator[tuple[Conversation, list[Move]]]:
        """Parse each turn once (batched across conversations) and yield each conversation's moves."""
        from convmaint.parallel import chunked

        for chunk in chunked(conversations, max_turns=chunk_turns):
            yield from self._flush(chunk)

    def _flush(self, convs: list[Conversation]) -> Iterator[tuple[Conversation, list[Move]]]:
        texts = [t.text for c in convs for t in c.turns]
        # Each distinct text is parsed once: a parse depends on the text alone, and corpora repeat
        # texts (greetings, canned answers, pasted prompts, whole conversations: 15% of the words
        # of the Chatbot Arena development sample repeat a text of the same chunk).
        distinct = list(dict.fromkeys(texts))
        if len(distinct) < len(texts):
            by_text = dict(zip(distinct, self.backend.parse(distinct)))
            parsed = [by_text[t] for t in texts]
        else:
            parsed = list(self.backend.parse(texts))
        k = 0
        for conv in convs:
            n = len(conv.turns)
            yield conv, self.detect(conv, parsed[k:k + n])
            k += n


def detect_moves(conversations: Iterable[Conversation], **kwargs: Any) -> Iterator[tuple[Conversation, list[Move]]]:
    """Detect moves in conversations with a freshly created :class:`Annotator` (see its options)."""
    return Annotator.create(**kwargs).run(conversations)


def detect(
    paths: Any,
    *,
    format: str | None = None,
    roles: Any = None,
    options: dict[str, Any] | None = None,
    errors: list | None = None,
    strict: bool = False,
    detectors: Iterable[str] | None = None,
    mode: Mode = "full",
    backend: str = "spacy",
    model: str | None = None,
) -> tuple[Annotator, Iterator[tuple[Conversation, list[Move]]]]:
    """Read transcripts and detect moves (``convmaint detect``): the annotator (for provenance) and
    a stream of ``(conversation, moves)``."""
    from convmaint.io.loader import load

    ann = Annotator.create(detectors, mode=mode, backend=backend, model=model)
    convs = load(paths, format=format, roles=roles, options=options, errors=errors, strict=strict)
    return ann, ann.run(convs)
