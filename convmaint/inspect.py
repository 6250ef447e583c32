"""Corpus inspection: conversations, turns, words, speakers and roles per file and in total."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from convmaint.io.base import RoleMap
from convmaint.io.loader import ErrorLog, load

__all__ = ["Inspection", "SourceStats", "inspect"]


@dataclass
class SourceStats:
    """Counts for one source file (or folder read as one source)."""

    conversations: int = 0
    turns: int = 0
    words: int = 0
    speakers: set[str] = field(default_factory=set)
    roles: Counter = field(default_factory=Counter)
    formats: Counter = field(default_factory=Counter)
    gold_moves: int = 0

    def add(self, other: SourceStats) -> None:
        self.conversations += other.conversations
        self.turns += other.turns
        self.words += other.words
        self.speakers |= other.speakers
        self.roles.update(other.roles)
        self.formats.update(other.formats)
        self.gold_moves += other.gold_moves

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "turns": self.turns,
            "words": self.words,
            "speakers": len(self.speakers),
            "roles": {r: self.roles.get(r, 0) for r in ("human", "model", "unknown")},
            "formats": dict(sorted(self.formats.items())),
            "gold_moves": self.gold_moves,
        }


@dataclass
class Inspection:
    """The result of :func:`inspect`: per-source stats, totals, errors and skipped files."""

    sources: dict[str, SourceStats]
    total: SourceStats
    errors: ErrorLog

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": {k: v.to_dict() for k, v in self.sources.items()},
            "total": self.total.to_dict(),
            "errors": self.errors.to_records(),
            "skipped": list(self.errors.skipped),
        }

    def table(self, *, max_rows: int = 40) -> str:
        """A fixed-width summary; folders with many files are summarised after ``max_rows`` rows."""
        head = f"{'source':<50} {'format':<12} {'conv':>7} {'turns':>8} {'words':>10} {'spk':>6} {'human':>7} {'model':>7} {'unknown':>7}"
        lines = [head, "-" * len(head)]

        def row(name: str, s: SourceStats) -> str:
            fmt = ",".join(s.formats) or "-"
            name = name if len(name) <= 50 else "…" + name[-49:]
            return (f"{name:<50} {fmt[:12]:<12} {s.conversations:>7} {s.turns:>8} {s.words:>10} {len(s.speakers):>6} "
                    f"{s.roles.get('human', 0):>7} {s.roles.get('model', 0):>7} {s.roles.get('unknown', 0):>7}")

        items = list(self.sources.items())
        for name, s in items[:max_rows]:
            lines.append(row(name, s))
        if len(items) > max_rows:
            rest = SourceStats()
            for _, s in items[max_rows:]:
                rest.add(s)
            lines.append(row(f"({len(items) - max_rows} more sources)", rest))
        lines.append("-" * len(head))
        lines.append(row("TOTAL", self.total))
        lines.append("roles count turns; spk counts distinct speakers")
        if self.errors:
            lines.append(f"{len(self.errors)} error(s):")
            lines.extend(f"  {e}" for e in self.errors[:50])
            if len(self.errors) > 50:
                lines.append(f"  … {len(self.errors) - 50} more (use --errors-out FILE)")
        if self.errors.skipped:
            lines.append(f"{len(self.errors.skipped)} file(s) no reader recognises were skipped")
        return "\n".join(lines)


def inspect(
    paths: str | Iterable[str],
    *,
    format: str | None = None,
    roles: RoleMap | Mapping[str, str] | list[str] | None = None,
    options: Mapping[str, Any] | None = None,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Inspection:
    """Read transcripts and count what is there (``convmaint inspect``).

    Args:
        paths: Files or folders.
        format: Force a reader (see ``convmaint formats``).
        roles: Role map for formats without roles (``["A=human", "*=model"]``).
        options: Reader options.
        strict: Stop at the first bad file or record.
        progress: Called with the number of conversations read so far (every conversation).

    Example:
        >>> report = inspect("corpora/")  # doctest: +SKIP
        >>> report.total.conversations  # doctest: +SKIP
    """
    errors = ErrorLog()
    sources: dict[str, SourceStats] = {}
    total = SourceStats()
    n = 0
    for conv in load(paths, format=format, roles=roles, options=options, errors=errors, strict=strict):
        key = conv.source or "?"
        s = sources.setdefault(key, SourceStats())
        s.conversations += 1
        s.turns += len(conv.turns)
        s.words += conv.n_words
        s.speakers.update(conv.speakers)
        s.roles.update(t.role.value for t in conv.turns)
        s.formats[str(conv.metadata.get("format", "?"))] += 1
        s.gold_moves += len(conv.gold)
        n += 1
        if progress is not None:
            progress(n)
    for s in sources.values():
        total.add(s)
    return Inspection(sources=sources, total=total, errors=errors)
