"""Where the bundled lexicons and sample corpora are, installed or in a source checkout."""

from __future__ import annotations

from pathlib import Path

from convmaint.errors import ConfigError

__all__ = ["resource_dir"]

_PKG = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder of a bundled resource (``lexicons`` or ``corpora``).

    A wheel carries them as ``convmaint/_data/<name>``; an editable install or a source checkout
    has them at the top of the repository.
    """
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"bundled resource folder {name!r} not found (looked in {_PKG / '_data'} and {_PKG.parent})")
