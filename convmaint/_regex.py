"""Large regular expressions compiled once per machine, not once per run.

The lexicon matchers and the fast-mode detectors compile a few dozen patterns of up to 8,000
characters each (tries of lexicon phrases). Python compiles patterns in pure Python, about 0.2 s
for all of them: a fifth of a small run's own work. :func:`compile` keeps the compiled program
(``re._compiler``'s output: flags, code words, groups) in the per-user cache
(:mod:`convmaint._cache`), keyed by the pattern, the flags and the exact Python build, and
rebuilds the pattern from it with ``_sre.compile``, which checks the program before accepting
it. Any failure falls back to plain :func:`re.compile`, so the cache can only save time.
"""

from __future__ import annotations

import hashlib
import re
import sys
from typing import Any

from convmaint import _cache

__all__ = ["compile"]

_MEMO: dict[tuple[Any, int], re.Pattern[Any]] = {}


def compile(pattern: Any, flags: int = 0) -> re.Pattern[Any]:
    """``re.compile(pattern, flags)`` (a str or bytes pattern), from the per-user cache when it was compiled before."""
    flags = int(flags)
    hit = _MEMO.get((pattern, flags))
    if hit is not None:
        return hit
    try:
        import _sre

        key = hashlib.sha256(f"{sys.version}\0{_sre.MAGIC}\0{_sre.CODESIZE}\0{flags}\0{pattern}".encode()).hexdigest()
    except (ImportError, AttributeError):
        return re.compile(pattern, flags)
    rx = _load(pattern, _cache.read("regex", key))
    if rx is None:
        rx, program = _compile(pattern, flags)
        if program is not None:
            _cache.write("regex", key, program)
    _MEMO[(pattern, flags)] = rx
    return rx


def _compile(pattern: str, flags: int) -> tuple[re.Pattern[str], tuple[Any, ...] | None]:
    """The pattern and its compiled program (None when the program cannot be had)."""
    try:
        import _sre
        from re import _compiler, _parser

        parsed = _parser.parse(pattern, flags)
        code = _compiler._code(parsed, flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup = [None] * parsed.state.groups
        for name, i in groupindex.items():
            indexgroup[i] = name
        # (plain ints: the code holds named int constants, which do not pickle)
        program = (int(flags | parsed.state.flags), [int(c) for c in code], int(parsed.state.groups - 1),
                   {str(k): int(v) for k, v in groupindex.items()}, tuple(indexgroup))
        rx = _sre.compile(pattern, *program)
    except Exception:  # noqa: BLE001 (re's internals differ in this Python: compile the usual way)
        return re.compile(pattern, flags), None
    return rx, program


def _load(pattern: str, program: Any) -> re.Pattern[str] | None:
    if not isinstance(program, tuple) or len(program) != 5:
        return None
    try:
        import _sre

        return _sre.compile(pattern, *program)
    except Exception:  # noqa: BLE001 (a damaged or foreign program: a miss)
        return None
