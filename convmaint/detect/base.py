"""Detector base class, the versioned detector registry, and the unit helper detectors share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from convmaint._plugins import load_plugins
from convmaint.errors import ConfigError
from convmaint.lexicon import LexiconSet
from convmaint.model import Conversation, FrozenDict, Move, Turn
from convmaint.nlp.base import ParsedTurn, trim_span

__all__ = ["Detector", "Mode", "detector_classes", "frozen_attributes", "make_detectors", "register_detector", "units"]

Mode = Literal["full", "lite", "fast"]

#: The modes, from the most accurate to the fastest: ``full`` runs the parse-based detectors on a
#: spaCy (or stanza) parse; ``lite`` runs the same detectors on tokens and sentences only; ``fast``
#: runs the scan detectors (``convmaint/detect/fast/``) on a regular-expression tokenizer.
MODES: tuple[str, ...] = ("full", "lite", "fast")

#: Built-in detector modules, one per move family (parse-based, then scan), imported on first use.
_BUILTIN_MODULES = ("clarification", "repair", "grounding", "topic",
                    "fast.clarification", "fast.repair", "fast.grounding", "fast.topic")
_REGISTRY: dict[str, type[Detector]] = {}
_loaded = False


class Detector:
    """A move detector for one family (or part of one).

    Subclasses set the class attributes, take keyword-only configuration in ``__init__`` (with
    documented defaults), build their matchers once there, and implement :meth:`detect`.

    Attributes:
        name: Family-level name, e.g. ``"grounding"``; registered as ``"<name>.v<version>"``.
        version: Bumped on any behaviour change (old names keep working where kept).
        labels: The move labels the detector emits.
        requires: Annotations needed in full mode (see :data:`convmaint.nlp.ANNOTATIONS`).
        requires_lite: Annotations needed in lite mode (tokens and sentence boundaries only).
        order: Detectors run in ascending order; later ones see earlier ones' moves in ``prior``.
        engine: ``parse`` for the detectors of full and lite mode; ``scan`` for those of fast mode
            (registered as ``"<name>.fast.v<version>"``).
    """

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    labels: ClassVar[tuple[str, ...]] = ()
    requires: ClassVar[frozenset[str]] = frozenset({"tokens"})
    requires_lite: ClassVar[frozenset[str]] = frozenset({"tokens", "sents"})
    order: ClassVar[int] = 50
    engine: ClassVar[str] = "parse"

    def __init__(self, *, lexicons: LexiconSet, mode: Mode = "full") -> None:
        allowed = _ENGINE_MODES[self.engine]
        if mode not in allowed:
            raise ConfigError(f"detector {self.qualified_name()} runs in {' or '.join(allowed)} mode, not {mode!r}"
                              if mode in MODES else f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        self.lexicons = lexicons
        self.mode = mode

    @classmethod
    def qualified_name(cls) -> str:
        return f"{cls.name}.fast.v{cls.version}" if cls.engine == "scan" else f"{cls.name}.v{cls.version}"

    @property
    def id(self) -> str:
        return self.qualified_name()

    def requirements(self) -> frozenset[str]:
        """What this detector needs from the backend in its mode."""
        return self.requires_lite if self.mode == "lite" else self.requires

    def config(self) -> dict[str, Any]:
        """The detector's effective configuration (for provenance)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and isinstance(v, int | float | str | bool)}

    def detect(self, conv: Conversation, parsed: Sequence[ParsedTurn], prior: Sequence[Move] = ()) -> list[Move]:
        """Return the moves found in ``conv``; ``parsed[i]`` is the parse of ``conv.turns[i]``."""
        raise NotImplementedError

    def move(self, label: str, turn: int, start: int, end: int, **kwargs: Any) -> Move:
        """Build a Move stamped with this detector's versioned name."""
        return Move(label=label, turn=turn, start=start, end=end, detector=self.id, **kwargs)


def register_detector(cls: type[Detector]) -> type[Detector]:
    """Class decorator: register a detector under ``<name>.v<version>``."""
    if not cls.name:
        raise ValueError(f"detector {cls.__name__} has no name")
    _REGISTRY[cls.qualified_name()] = cls
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for cls in load_plugins("convmaint.detect", _BUILTIN_MODULES, "convmaint.detectors", Detector):
        if cls.qualified_name() not in _REGISTRY:
            register_detector(cls)


def detector_classes() -> dict[str, type[Detector]]:
    """Registered detectors by versioned name."""
    _load_all()
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))


#: The modes each engine runs in.
_ENGINE_MODES = {"parse": ("full", "lite"), "scan": ("fast",)}


def engine_for(mode: str) -> str:
    """The detector engine of a mode: ``scan`` for fast mode, ``parse`` for full and lite."""
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    return "scan" if mode == "fast" else "parse"


def _latest(engine: str = "parse") -> dict[str, type[Detector]]:
    latest: dict[str, type[Detector]] = {}
    for cls in detector_classes().values():
        if cls.engine != engine:
            continue
        if cls.name not in latest or cls.version > latest[cls.name].version:
            latest[cls.name] = cls
    return latest


def make_detectors(
    names: Iterable[str] | None = None,
    *,
    lexicons: LexiconSet,
    mode: Mode = "full",
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Detector]:
    """Instantiate detectors, in run order.

    Args:
        names: Versioned names (``"repair.v1"``) or family names (``"repair"``: the newest
            version); all families when None. In fast mode a family's scan detector runs
            whichever of the family's names is given.
        lexicons: The loaded lexicons.
        mode: ``full`` (parse-based), ``lite`` (the same detectors on tokens and sentences) or
            ``fast`` (the scan detectors: tokenizer, matchers and lexical cohesion only).
        config: Per-detector keyword options, keyed by family or versioned name.
    """
    classes = detector_classes()
    engine = engine_for(mode)
    latest = _latest(engine)
    chosen: list[type[Detector]] = []
    for name in names if names is not None else list(latest):
        cls = classes.get(name) or latest.get(name)
        if cls is None:
            raise ConfigError(f"unknown detector {name!r}; registered: {', '.join(classes)}")
        if cls.engine != engine:
            if cls.name not in latest:
                raise ConfigError(f"detector {name!r} has no {mode}-mode counterpart")
            cls = latest[cls.name]
        if cls not in chosen:
            chosen.append(cls)
    chosen.sort(key=lambda c: (c.order, c.qualified_name()))
    config = config or {}
    out = []
    for cls in chosen:
        opts = dict(config.get(cls.name, {}))
        opts.update(config.get(cls.qualified_name(), {}))
        try:
            out.append(cls(lexicons=lexicons, mode=mode, **opts))
        except TypeError as exc:
            raise ConfigError(f"bad options for detector {cls.qualified_name()}: {exc}") from None
    return out


def units(turn: Turn, parsed: ParsedTurn) -> list[tuple[int, int]]:
    """The sub-turn units to look for moves in, as character spans.

    The segments a source annotated (SwDA utterances, MRDA dialogue acts) where there are any,
    else the parser's sentences, else the whole turn. Spans are trimmed of surrounding spaces.
    """
    if not turn.segments:
        return parsed.sentence_spans()  # computed once per turn, whichever detector asks first
    # Segment spans, likewise once per turn: remembered by the turn's identity (the entry keeps the
    # turn alive, so its id cannot be reused while cached).
    hit = _SEGMENT_UNITS.get(id(turn))
    if hit is not None and hit[0] is turn:
        return list(hit[1])
    text = turn.text
    spans = [trim_span(text, s.start, s.end) for s in turn.segments]
    if len(_SEGMENT_UNITS) >= 4096:
        _SEGMENT_UNITS.clear()
    _SEGMENT_UNITS[id(turn)] = (turn, spans)
    return list(spans)


_SEGMENT_UNITS: dict[int, tuple[Turn, list[tuple[int, int]]]] = {}


_FROZEN_ATTRIBUTES: dict[tuple[tuple[str, Any], ...], FrozenDict] = {}


def frozen_attributes(**attrs: Any) -> FrozenDict:
    """Move attributes (hashable values), frozen once per distinct set and shared: a Move keeps a
    FrozenDict as it is, so detectors that emit many moves with few attribute sets skip freezing."""
    key = tuple(attrs.items())
    got = _FROZEN_ATTRIBUTES.get(key)
    if got is None:
        if len(_FROZEN_ATTRIBUTES) > 10_000:
            _FROZEN_ATTRIBUTES.clear()
        got = _FROZEN_ATTRIBUTES[key] = FrozenDict(attrs)
    return got
