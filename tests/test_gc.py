"""The collector settings analyze runs under: restored afterwards, start-up objects frozen meanwhile."""

from __future__ import annotations

import gc

from convmaint._gc import STREAMING_THRESHOLD, streaming_gc


def test_streaming_gc_freezes_then_restores():
    before = gc.get_threshold()
    keep = [{"a": [1]} for _ in range(10)]  # tracked objects that exist when the block starts
    with streaming_gc():
        assert gc.get_threshold()[0] == max(before[0], STREAMING_THRESHOLD)
        assert gc.get_freeze_count() >= len(keep)
        cycle: list = []
        cycle.append(cycle)  # cycles made inside the block are still collected
        del cycle
        assert gc.collect() >= 1
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_streaming_gc_restores_after_an_error():
    before = gc.get_threshold()
    try:
        with streaming_gc():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
