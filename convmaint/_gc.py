"""Garbage-collector settings for long streaming runs.

Almost everything a run allocates (turns, parses, moves, rows) holds no reference cycle and is
freed by reference counting the moment it is dropped; CPython's cycle collector still walks the
young objects every 700 allocations and, now and then, every tracked object, the loaded lexicons,
models and tables included. With the default settings that walking took about a sixth of fast
mode's CPU time. While a job streams, the objects that exist at its start (models, lexicons,
compiled patterns) are frozen out of the collector's view and the young generation is collected
every :data:`STREAMING_THRESHOLD` allocations; cycles are still collected, only less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["STREAMING_THRESHOLD", "streaming_gc", "tune_for_streaming"]

#: Allocations between collections of the youngest generation while a job streams (CPython: 700).
STREAMING_THRESHOLD = 20000


def tune_for_streaming() -> None:
    """Freeze what exists now and collect less often, for the rest of this process (worker processes)."""
    gc.freeze()
    first, *rest = gc.get_threshold()
    gc.set_threshold(max(first, STREAMING_THRESHOLD), *rest)


@contextmanager
def streaming_gc() -> Iterator[None]:
    """:func:`tune_for_streaming` for the duration of a block; the previous settings come back after it."""
    old = gc.get_threshold()
    tune_for_streaming()
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()
