"""The reader registry: built-in readers, third-party readers from entry points, and sniffing."""

from __future__ import annotations

from pathlib import Path

from convmaint._plugins import load_plugins
from convmaint.errors import UnknownFormatError
from convmaint.io.base import Reader, read_head, strip_gz

__all__ = ["get_reader", "list_formats", "readers", "register_reader", "sniff"]

#: Modules holding the built-in readers; imported on first use so that ``convmaint --help`` stays fast.
_BUILTIN_MODULES = (
    "native",
    "plain",
    "chat",
    "sharegpt",
    "hh_rlhf",
    "convokit",
    "tabular",
    "cha",
    "swda",
    "mrda",
    "tiage",
    "topical_chat",
    "dailydialog",
)

_REGISTRY: dict[str, Reader] = {}
_loaded = False


def register_reader(cls: type[Reader]) -> type[Reader]:
    """Class decorator: register a reader under its ``name``.

    Third-party packages expose readers through the ``convmaint.readers`` entry-point group, each
    pointing at a :class:`~convmaint.io.base.Reader` subclass.
    """
    if not cls.name:
        raise ValueError(f"reader {cls.__name__} has no name")
    _REGISTRY[cls.name] = cls()
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for cls in load_plugins("convmaint.io", _BUILTIN_MODULES, "convmaint.readers", Reader):
        if cls.name not in _REGISTRY:
            register_reader(cls)


def readers() -> dict[str, Reader]:
    """All registered readers by name."""
    _load_all()
    return dict(_REGISTRY)


def get_reader(name: str) -> Reader:
    """The reader called ``name``.

    Raises:
        UnknownFormatError: no such reader.
    """
    regs = readers()
    if name not in regs:
        raise UnknownFormatError(f"unknown format {name!r}; known formats: {', '.join(sorted(regs))}")
    return regs[name]


def sniff(path: Path) -> Reader | None:
    """The reader most sure it reads ``path`` (a file or a folder), or None."""
    regs = readers().values()
    if path.is_dir():
        scored = [(r.sniff(path, ""), r.name, r) for r in regs if r.directory]
    else:
        fname = strip_gz(path)
        candidates = [r for r in regs if not r.directory and any(fname.endswith(e) for e in r.extensions)]
        if not candidates:
            return None
        head = read_head(path)
        scored = [(r.sniff(path, head), r.name, r) for r in candidates]
    scored = [s for s in scored if s[0] > 0]
    if not scored:
        return None
    scored.sort(key=lambda s: (-s[0], s[1]))
    return scored[0][2]


def list_formats() -> list[dict[str, object]]:
    """Name, file endings, folder flag and description of every reader (``convmaint formats``)."""
    return [
        {"name": r.name, "extensions": list(r.extensions), "directory": r.directory, "description": r.description}
        for r in sorted(readers().values(), key=lambda r: r.name)
    ]
