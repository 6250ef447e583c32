"""The ConvmaintError family: every error names where it happened and what was expected."""

from __future__ import annotations

from pathlib import Path


class ConvmaintError(Exception):
    """Base of all errors convmaint raises on bad input or configuration.

    Args:
        reason: What is wrong and, where it helps, what was expected.
        path: The file the problem was found in.
        line: 1-based line number inside ``path``.
        record: A record identifier (conversation id, turn id, CSV row, JSON key).

    Example:
        >>> str(ConvmaintError("expected a JSON object", path="a.jsonl", line=812))
        'a.jsonl:812: expected a JSON object'
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        record: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = str(path) if path is not None else None
        self.line = line
        self.record = record
        super().__init__(self.__str__())

    def where(self) -> str:
        parts = []
        if self.path:
            parts.append(self.path if self.line is None else f"{self.path}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.record:
            parts.append(f"[{self.record}]")
        return " ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.reason}" if where else self.reason

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready record of this error, for error reports."""
        return {
            "type": type(self).__name__,
            "path": self.path,
            "line": self.line,
            "record": self.record,
            "reason": self.reason,
        }

    def __reduce__(self):  # keep path/line/record across processes
        return (_rebuild, (type(self), self.reason, self.path, self.line, self.record))


def _rebuild(cls, reason, path, line, record):
    return cls(reason, path=path, line=line, record=record)


class ReaderError(ConvmaintError):
    """A transcript file or record could not be read."""


class FormatError(ReaderError):
    """The content does not have the shape its format requires."""


class EncodingError(ReaderError):
    """The file is not valid text in the expected encoding."""


class EmptyTurnError(FormatError):
    """A turn has no text."""


class UnknownFormatError(ReaderError):
    """No reader claims the file, or the named format does not exist."""


class RoleError(ConvmaintError):
    """A role name or a role map entry is not one of human / model / unknown."""


class LexiconError(ConvmaintError):
    """A lexicon file or entry is invalid."""


class ConfigError(ConvmaintError):
    """An option, a configuration file or a registry name is invalid."""


class MissingRequirementError(ConvmaintError):
    """A detector needs an annotation the chosen NLP backend does not provide."""


class BackendError(ConvmaintError):
    """An NLP backend or its model cannot be loaded."""
