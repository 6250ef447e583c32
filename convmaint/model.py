"""The conversation model: frozen Conversation, Turn, Segment and Move records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

__all__ = [
    "FAMILIES",
    "LABELS",
    "Conversation",
    "FrozenDict",
    "Move",
    "Role",
    "Segment",
    "Turn",
    "freeze",
]

#: Every move label of docs/MOVES.md; the contract between detectors, graphs, stats and evaluation.
LABELS: tuple[str, ...] = (
    "repair.self",
    "repair.completion",
    "repair.other",
    "repair.third_position",
    "clarification.request",
    "topic.shift",
    "topic.handoff",
    "topic.resume",
    "topic.close",
    "grounding.acknowledgement",
    "grounding.follow_up",
    "grounding.repeat",
    "grounding.reformulation",
    "grounding.completion",
)
FAMILIES: tuple[str, ...] = ("repair", "clarification", "topic", "grounding")


class Role(str, Enum):
    """Who produced a turn: a person, a language model, or not known."""

    HUMAN = "human"
    MODEL = "model"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


class FrozenDict(dict):
    """A read-only dict that pickles (unlike MappingProxyType), for metadata and attributes."""

    __slots__ = ()

    def _readonly(self, *args: Any, **kwargs: Any):
        raise TypeError("FrozenDict is read-only; build a new one with dataclasses.replace")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]
    __ior__ = _readonly  # type: ignore[assignment]

    def __reduce__(self):
        return (FrozenDict, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted((k, _hashable(v)) for k, v in self.items())))


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    return value


#: Types :func:`freeze` returns unchanged without further checks (readers build every turn's
#: metadata from these, so the common case skips the isinstance chain).
_ATOMS = frozenset({str, int, float, bool, type(None)})


def freeze(value: Any) -> Any:
    """Deep-freeze JSON-like data: dicts become FrozenDict, lists become tuples."""
    cls = type(value)
    if cls in _ATOMS or cls is FrozenDict:
        return value
    if cls is dict:
        atoms = _ATOMS
        return FrozenDict({k if type(k) is str else str(k): v if type(v) in atoms else freeze(v) for k, v in value.items()})
    if cls is list or cls is tuple:
        return tuple([v if type(v) in _ATOMS else freeze(v) for v in value])
    if isinstance(value, FrozenDict):
        return value
    if isinstance(value, Mapping):
        return FrozenDict({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of :func:`freeze`, for writing JSON."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def _freeze_field(obj: Any, name: str) -> None:
    value = getattr(obj, name)
    if type(value) is not FrozenDict:  # already frozen (the default, or a copied record's)
        object.__setattr__(obj, name, freeze(value or {}))


@dataclass(frozen=True, slots=True)
class Segment:
    """A span of a turn annotated below the turn (an SwDA utterance, an MRDA segment).

    Attributes:
        id: Identifier unique within the conversation.
        start: Character offset of the segment in the turn text.
        end: Character offset one past the segment's end.
        metadata: Anything the reader keeps (speaker-time, original tag).
    """

    id: str
    start: int
    end: int
    metadata: Mapping[str, Any] = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"segment {self.id!r}: bad span {self.start}..{self.end}")
        _freeze_field(self, "metadata")


@dataclass(frozen=True, slots=True)
class Turn:
    """One contribution by one speaker.

    Attributes:
        index: Position in the conversation, from 0.
        id: Identifier unique within the conversation.
        speaker: Speaker name or id as the source gives it.
        role: Human, model or unknown.
        text: The text with transcription markup removed.
        timestamp: Seconds (or epoch seconds) where the source has times.
        reply_to: The id of the turn this one replies to, where the source says.
        segments: Sub-turn units (for corpora annotated below the turn).
        metadata: Anything else the reader keeps.
    """

    index: int
    id: str
    speaker: str
    role: Role
    text: str
    timestamp: float | None = None
    reply_to: str | None = None
    segments: tuple[Segment, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=FrozenDict)
    # The word count, computed on first use (analyze asks for it three times per turn).
    _n_words: int = field(default=-1, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.role, Role):
            object.__setattr__(self, "role", Role(self.role))
        if not isinstance(self.segments, tuple):
            object.__setattr__(self, "segments", tuple(self.segments))
        for seg in self.segments:
            if seg.end > len(self.text):
                raise ValueError(f"turn {self.id!r}: segment {seg.id!r} ends past the text")
        _freeze_field(self, "metadata")

    @property
    def n_words(self) -> int:
        """Whitespace word count: a tokenizer-independent size for rates per 1,000 words."""
        n = getattr(self, "_n_words", -1)  # absent on turns pickled by older versions
        if n < 0:
            n = len(self.text.split())
            object.__setattr__(self, "_n_words", n)
        return n


@dataclass(frozen=True, slots=True)
class Move:
    """One detected (or gold) move.

    Attributes:
        label: One of :data:`LABELS`.
        turn: Index of the turn that holds the move.
        start: Character offset of the move's span in that turn.
        end: One past the end of the span.
        cue: The words that triggered the detection (or the gold tag).
        target: Index of the turn the move points back at, where it has one.
        attributes: Label-specific attributes (``kind``, ``format``, ``reference``…).
        detector: Versioned detector name, or ``gold:<corpus>`` for gold moves.
        score: Detector confidence in [0, 1].
    """

    label: str
    turn: int
    start: int
    end: int
    cue: str | None = None
    target: int | None = None
    attributes: Mapping[str, Any] = field(default_factory=FrozenDict)
    detector: str = ""
    score: float = 1.0

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown move label {self.label!r}; expected one of {', '.join(LABELS)}")
        if not 0 <= self.start <= self.end:
            raise ValueError(f"move {self.label}: bad span {self.start}..{self.end}")
        _freeze_field(self, "attributes")

    @property
    def family(self) -> str:
        return self.label.split(".", 1)[0]

    def overlaps(self, start: int, end: int) -> bool:
        """Whether the move's span overlaps ``[start, end)`` (a zero-width move counts at its point)."""
        if self.start == self.end:
            return start <= self.start < end or (start == end == self.start)
        return self.start < end and start < self.end


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation: ordered turns, metadata, where it came from, and any gold moves.

    Attributes:
        id: Identifier unique within its corpus.
        turns: The turns in order; ``turns[i].index == i``.
        metadata: Reader metadata (corpus name, split, format).
        source: The path the conversation was read from.
        gold: Gold moves a reader found in annotated corpora, never mixed into the text.
        moves: Detected moves, when a conversation is read back from saved detector output.
    """

    id: str
    turns: tuple[Turn, ...]
    metadata: Mapping[str, Any] = field(default_factory=FrozenDict)
    source: str | None = None
    gold: tuple[Move, ...] = ()
    moves: tuple[Move, ...] = ()

    def __post_init__(self) -> None:
        for name in ("turns", "gold", "moves"):
            if not isinstance(getattr(self, name), tuple):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        for i, turn in enumerate(self.turns):
            if turn.index != i:
                raise ValueError(f"conversation {self.id!r}: turn {turn.id!r} has index {turn.index}, expected {i}")
        _freeze_field(self, "metadata")

    def __len__(self) -> int:
        return len(self.turns)

    def __iter__(self) -> Iterator[Turn]:
        return iter(self.turns)

    @property
    def speakers(self) -> tuple[str, ...]:
        """Speakers in order of first appearance."""
        return tuple(dict.fromkeys(t.speaker for t in self.turns))

    @property
    def roles(self) -> tuple[Role, ...]:
        return tuple(dict.fromkeys(t.role for t in self.turns))

    @property
    def n_words(self) -> int:
        return sum(t.n_words for t in self.turns)

    def with_gold(self, moves: Iterable[Move]) -> Conversation:
        return replace(self, gold=tuple(moves))


def renumber(turns: Iterable[Turn]) -> tuple[Turn, ...]:
    """Give turns consecutive indexes (after a reader dropped or merged some)."""
    return tuple(t if t.index == i else replace(t, index=i) for i, t in enumerate(turns))
