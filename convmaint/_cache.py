"""convmaint's per-user cache of derived data that is costly to rebuild at every start.

Validated lexicons and compiled regular expressions are stored here by the SHA-256 of what
they are derived from (the file's bytes, the pattern and the Python version), so a changed input
is simply a miss. A missing, unreadable or damaged entry is a miss too, and a cache folder that
cannot be written is skipped: the cache only ever saves time.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "read", "write"]


def cache_dir() -> Path | None:
    """The cache folder, or None when disabled.

    ``$CONVMAINT_CACHE_DIR`` when set (an empty value disables the cache), else
    ``$XDG_CACHE_HOME/convmaint``, else ``~/.cache/convmaint``.
    """
    env = os.environ.get("CONVMAINT_CACHE_DIR")
    if env is not None:
        return Path(env) if env.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "convmaint"


def _file(kind: str, key: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / kind / f"{key}.pickle"


def read(kind: str, key: str) -> Any:
    """The object cached under ``kind``/``key``, or None."""
    f = _file(kind, key)
    if f is None:
        return None
    try:
        return pickle.loads(f.read_bytes())
    except Exception:  # noqa: BLE001 (a missing, partial or stale file is only a cache miss)
        return None


def write(kind: str, key: str, obj: Any) -> None:
    """Store ``obj`` under ``kind``/``key`` (atomically; a folder that cannot be written is skipped)."""
    f = _file(kind, key)
    if f is None:
        return
    try:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        f.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=f.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, f)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return
