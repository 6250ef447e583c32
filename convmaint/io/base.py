"""Reader protocol, read context, role maps and the text helpers every reader shares."""

from __future__ import annotations

import gzip
import io
import json
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from convmaint.errors import (
    ConfigError,
    ConvmaintError,
    EncodingError,
    FormatError,
    ReaderError,
    RoleError,
)
from convmaint.model import Conversation, Role

__all__ = [
    "ROLE_ALIASES",
    "ReadContext",
    "Reader",
    "RoleMap",
    "folder_config",
    "iter_lines",
    "json_loads",
    "parse_role",
    "read_head",
    "read_text",
    "strip_gz",
]

#: Names formats use for roles; anything else is looked up in the role map or stays unknown.
ROLE_ALIASES: dict[str, Role] = {
    "human": Role.HUMAN,
    "user": Role.HUMAN,
    "person": Role.HUMAN,
    "customer": Role.HUMAN,
    "model": Role.MODEL,
    "assistant": Role.MODEL,
    "gpt": Role.MODEL,
    "bot": Role.MODEL,
    "chatbot": Role.MODEL,
    "ai": Role.MODEL,
    "system": Role.UNKNOWN,
    "unknown": Role.UNKNOWN,
}


def parse_role(
    name: str, *, path: str | Path | None = None, line: int | None = None, record: str | None = None
) -> Role:
    """Map a role name (``human``, ``user``, ``assistant``, ``gpt``…) to a :class:`Role`.

    Raises:
        RoleError: the name is not a known role name.
    """
    key = str(name).strip().lower()
    if key in ROLE_ALIASES:
        return ROLE_ALIASES[key]
    raise RoleError(
        f"unknown role {name!r}; expected one of human, model, unknown "
        f"(or an alias: {', '.join(sorted(ROLE_ALIASES))})",
        path=path,
        line=line,
        record=record,
    )


@dataclass(frozen=True)
class RoleMap:
    """Assigns roles to speakers for formats that do not know them.

    Attributes:
        speakers: Speaker name → role.
        default: Role for speakers not in ``speakers`` (``unknown`` unless a folder is declared all human).
        override: When true, the map also overrides roles a format sets itself.
    """

    speakers: Mapping[str, Role] = field(default_factory=dict)
    default: Role = Role.UNKNOWN
    override: bool = False

    @classmethod
    def parse(cls, items: list[str] | tuple[str, ...] | None = None, *, default: str | None = None) -> RoleMap:
        """Build from CLI items like ``A=human`` (``*=human`` sets the default).

        Example:
            >>> RoleMap.parse(["A=human", "B=model"]).role_for("B")
            <Role.MODEL: 'model'>
        """
        speakers: dict[str, Role] = {}
        dflt = parse_role(default) if default else Role.UNKNOWN
        for item in items or ():
            if "=" not in item:
                raise RoleError(f"role map item {item!r}: expected SPEAKER=ROLE, e.g. A=human")
            speaker, _, role = item.partition("=")
            if speaker.strip() == "*":
                dflt = parse_role(role)
            else:
                speakers[speaker.strip()] = parse_role(role)
        return cls(speakers=speakers, default=dflt)

    def merged(self, other: RoleMap | None) -> RoleMap:
        """This map with ``other``'s entries on top (other wins)."""
        if other is None:
            return self
        default = other.default if other.default is not Role.UNKNOWN else self.default
        return RoleMap({**self.speakers, **other.speakers}, default, self.override or other.override)

    def role_for(self, speaker: str, known: Role | None = None) -> Role:
        """The role of ``speaker``; ``known`` is what the format itself said, if anything."""
        if speaker in self.speakers and (known is None or known is Role.UNKNOWN or self.override):
            return self.speakers[speaker]
        if known is not None and known is not Role.UNKNOWN:
            return known
        return self.speakers.get(speaker, self.default)

    def to_dict(self) -> dict[str, Any]:
        return {"speakers": {k: v.value for k, v in self.speakers.items()}, "default": self.default.value}


ErrorSink = Callable[[ConvmaintError], None]


def _raise(err: ConvmaintError) -> None:
    raise err


@dataclass
class ReadContext:
    """What a reader gets besides the path.

    Attributes:
        roles: Role map for speakers the format does not label.
        options: Reader options (``hh_rlhf``'s ``side``, ``csv`` columns…), from the API, the CLI or
            the folder's ``convmaint.toml``.
        report: Called with a non-fatal error for one record; the reader then goes on with the next.
            In strict mode it raises.
        corpus: Corpus name to stamp into conversation metadata.
    """

    roles: RoleMap = field(default_factory=RoleMap)
    options: Mapping[str, Any] = field(default_factory=dict)
    report: ErrorSink = _raise
    corpus: str | None = None

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


class Reader:
    """Base class of transcript readers. Subclasses set the class attributes and implement ``read``.

    A reader streams: ``read`` yields one :class:`Conversation` at a time. Errors in one record are
    passed to ``ctx.report`` and reading goes on; errors that spoil the whole file are raised.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: File name endings the reader handles (without ``.gz``), e.g. ``(".jsonl", ".json")``.
    extensions: ClassVar[tuple[str, ...]] = ()
    #: True for readers of whole folders (a ConvoKit corpus, the MRDA database).
    directory: ClassVar[bool] = False

    def sniff(self, path: Path, head: str) -> float:
        """How sure (0..1) the reader is that it reads ``path``, whose first characters are ``head``.

        For directory readers ``head`` is empty and ``path`` is the folder.
        """
        return 0.0

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        raise NotImplementedError


# ----------------------------------------------------------------------------------------- text


def strip_gz(path: Path) -> str:
    """The file name without a trailing ``.gz``, lower-cased, for extension matching."""
    name = path.name.lower()
    return name[:-3] if name.endswith(".gz") else name


def _open_bytes(path: Path) -> io.BufferedIOBase:
    try:
        if path.name.lower().endswith(".gz"):
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return open(path, "rb")
    except OSError as exc:
        raise ReaderError(f"cannot open file: {exc.strerror or exc}", path=path) from None


def iter_lines(
    path: Path, encoding: str = "utf-8", *, report: Callable[[ConvmaintError], None] | None = None
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` without the newline; gzip transparent; streaming.

    Args:
        report: When given, a line that is not valid ``encoding`` is passed to it as an
            EncodingError and skipped (for line-oriented formats, where one bad line should not
            cost the rest of the file); otherwise the error is raised.

    Raises:
        EncodingError: a line is not valid ``encoding``, with its line number.
        ReaderError: the file cannot be read (or is a corrupt gzip).
    """
    with _open_bytes(path) as fh:
        lineno = 0
        try:
            for raw in fh:
                lineno += 1
                try:
                    line = raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    err = EncodingError(
                        f"not valid {encoding} text (byte {exc.start} of the line); "
                        "convert the file to UTF-8",
                        path=path,
                        line=lineno,
                    )
                    if report is None:
                        raise err from None
                    report(err)
                    continue
                if lineno == 1 and line.startswith("\ufeff"):
                    line = line[1:]
                yield lineno, line.rstrip("\r\n")
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ReaderError(f"cannot read file: {exc}", path=path, line=lineno + 1) from None


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The whole decoded text of a (possibly gzipped) file.

    Raises:
        EncodingError: with the line number of the first invalid byte.
    """
    with _open_bytes(path) as fh:
        try:
            data = fh.read()
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ReaderError(f"cannot read file: {exc}", path=path) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise EncodingError(f"not valid {encoding} text; convert the file to UTF-8", path=path, line=line) from None
    return text[1:] if text.startswith("\ufeff") else text


def read_head(path: Path, size: int = 65536) -> str:
    """The first ``size`` bytes decoded leniently (for sniffing only); '' when unreadable."""
    try:
        with _open_bytes(path) as fh:
            data = fh.read(size)
    except (ReaderError, OSError, EOFError, gzip.BadGzipFile):
        return ""
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def json_loads(text: str, *, path: Path, line: int | None = None, record: str | None = None) -> Any:
    """``json.loads`` that raises a FormatError naming the path, line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at_line = exc.lineno if line is None else line
        raise FormatError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=path, line=at_line, record=record) from None
    except RecursionError:
        raise FormatError("invalid JSON: nested too deeply", path=path, line=line, record=record) from None


def folder_config(folder: Path) -> dict[str, Any]:
    """The ``convmaint.toml`` of a folder, or ``{}``.

    Recognised keys: ``format``, ``corpus``, ``[roles]`` (speaker = role, with ``"*"`` the default),
    ``all_human = true``, and ``[options]`` passed to the reader.
    """
    cfg_path = folder / "convmaint.toml"
    if not cfg_path.is_file():
        return {}
    try:
        cfg = tomllib.loads(read_text(cfg_path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=cfg_path) from None
    return cfg


def role_map_from_config(cfg: Mapping[str, Any], *, path: Path | None = None) -> RoleMap | None:
    """The role map a ``convmaint.toml`` declares, if any."""
    roles = cfg.get("roles")
    items: list[str] = []
    if roles is not None:
        if not isinstance(roles, Mapping):
            raise ConfigError("[roles] must be a table of speaker = role", path=path)
        items = [f"{k}={v}" for k, v in roles.items()]
    default = "human" if cfg.get("all_human") else None
    if not items and default is None:
        return None
    try:
        return RoleMap.parse(items, default=default)
    except RoleError as exc:
        raise RoleError(exc.reason, path=path) from None
