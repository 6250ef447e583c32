"""Loading conversations from files and folders: format choice, role maps, error collection."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from convmaint.errors import ConvmaintError, ReaderError, UnknownFormatError
from convmaint.io.base import ReadContext, RoleMap, folder_config, role_map_from_config
from convmaint.io.base import strip_gz
from convmaint.io.registry import get_reader, readers, sniff
from convmaint.model import Conversation

__all__ = ["ErrorLog", "iter_sources", "load"]

#: File names never treated as transcripts when walking a folder.
_IGNORED_NAMES = {"readme", "readme.md", "readme.txt", "license", "licence", "license.txt", "datalicense",
                  "convmaint.toml", ".ds_store", "manifest.json", "manifest.toml"}


class ErrorLog(list):
    """A list of :class:`ConvmaintError` plus the files no reader claimed (``skipped``)."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: list[str] = []

    def to_records(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self]


def _as_paths(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        return [Path(paths)]
    return [Path(p) for p in paths]


def iter_sources(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    format: str | None = None,
    errors: list | None = None,
) -> Iterator[tuple[Path, str, dict[str, Any]]]:
    """Walk paths and yield ``(path, reader_name, folder_config)`` for every readable source.

    Folders are walked in sorted order; a folder a directory reader claims (a ConvoKit corpus, the
    MRDA database) is one source. ``convmaint.toml`` files apply to their folder and below.
    """
    for root in _as_paths(paths):
        if not root.exists():
            err = ReaderError("no such file or folder", path=root)
            if errors is None:
                raise err
            errors.append(err)
            continue
        cfg_chain: dict[str, Any] = {}
        if root.is_file():
            cfg_chain = folder_config(root.parent)
        yield from _walk(root, format, cfg_chain, errors, explicit=True)


def _walk(path: Path, format: str | None, cfg: dict[str, Any], errors: list | None, explicit: bool):
    if path.is_dir():
        here = folder_config(path)
        cfg = {**cfg, **here, "roles": {**cfg.get("roles", {}), **here.get("roles", {})}}
        fmt = format or here.get("format")
        if fmt:
            reader = get_reader(fmt)
            if reader.directory:
                yield path, reader.name, cfg
                return
        else:
            reader = sniff(path)
            if reader is not None:
                yield path, reader.name, cfg
                return
        for child in sorted(path.iterdir()):
            if child.name.startswith(".") or child.name.lower() in _IGNORED_NAMES:
                continue
            yield from _walk(child, fmt, cfg, errors, explicit=False)
        return
    fmt = format or cfg.get("format")
    if fmt:
        reader = get_reader(fmt)
        # A forced reader takes a file named on the command line whatever its ending, but inside a
        # folder only the files with its endings (not a manual or a word list beside the corpus).
        fits = explicit or not reader.extensions or any(strip_gz(path).endswith(e) for e in reader.extensions)
        if not reader.directory and fits:
            yield path, reader.name, cfg
            return
        if not reader.directory and not fits:
            if isinstance(errors, ErrorLog):
                errors.skipped.append(str(path))
            return
    reader = sniff(path)
    if reader is None:
        # A file whose ending a reader handles but whose content none recognises is most likely a
        # corrupt transcript: report it. Other files (and generic .txt) in a folder are skipped.
        ending = strip_gz(path).rsplit(".", 1)[-1]
        suspicious = ending != "txt" and any(("." + ending) in r.extensions for r in readers().values())
        if explicit or suspicious:
            err = UnknownFormatError(
                "no reader recognises this file's content; it may be corrupt, or name a reader with --format "
                "(see `convmaint formats`)", path=path)
            if errors is None:
                raise err
            errors.append(err)
        elif isinstance(errors, ErrorLog):
            errors.skipped.append(str(path))
        return
    yield path, reader.name, cfg


def load(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    format: str | None = None,
    roles: RoleMap | Mapping[str, str] | list[str] | None = None,
    options: Mapping[str, Any] | None = None,
    errors: list | None = None,
    strict: bool = False,
    corpus: str | None = None,
) -> Iterator[Conversation]:
    """Stream conversations from transcript files and folders.

    Args:
        paths: Files or folders (folders are walked; see ``convmaint formats`` for what is read).
        format: Force one reader instead of sniffing by extension and content.
        roles: Role map for formats that do not label roles: a :class:`RoleMap`, a dict
            ``{"A": "human"}``, or CLI-style items ``["A=human", "*=model"]``.
        options: Reader options, e.g. ``{"side": "rejected"}`` for HH-RLHF.
        errors: A list that collects the errors of bad files and records; reading goes on. When
            None, the first error is raised.
        strict: Raise the first error even when ``errors`` is given.
        corpus: Corpus name stamped into ``metadata["corpus"]`` (default: the folder's name).

    Yields:
        Conversations, one at a time.

    Example:
        >>> import convmaint
        >>> errs = []
        >>> for conv in convmaint.load("corpora/", errors=errs):  # doctest: +SKIP
        ...     print(conv.id, len(conv.turns))
    """
    role_map = _role_map(roles)

    def report(err: ConvmaintError) -> None:
        if errors is None or strict:
            raise err
        errors.append(err)

    for path, reader_name, cfg in iter_sources(paths, format=format, errors=None if strict else errors):
        reader = get_reader(reader_name)
        cfg_roles = role_map_from_config({"roles": cfg.get("roles") or None, "all_human": cfg.get("all_human")}, path=path)
        rmap = (cfg_roles or RoleMap()).merged(role_map)
        opts = {**cfg.get("options", {}), **(options or {})}
        ctx = ReadContext(roles=rmap, options=opts, report=report, corpus=corpus or cfg.get("corpus"))
        try:
            yield from reader.read(path, ctx)
        except ConvmaintError as err:
            report(err)
        except RecursionError:
            report(ReaderError("input nested too deeply", path=path))


def _role_map(roles: RoleMap | Mapping[str, str] | list[str] | None) -> RoleMap | None:
    if roles is None or isinstance(roles, RoleMap):
        return roles
    if isinstance(roles, Mapping):
        return RoleMap.parse([f"{k}={v}" for k, v in roles.items()])
    return RoleMap.parse(list(roles))
