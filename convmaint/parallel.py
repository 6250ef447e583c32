"""Run detection over a conversation stream in one process or several, with identical results.

Workers each load the NLP model once (in the pool initializer) and process chunks of
conversations; chunks are submitted with a bounded number in flight (memory stays flat) and
results are yielded in input order.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from convmaint.model import Conversation

__all__ = ["chunked", "detect_stream"]

_WORKER: Any = None


def chunked(convs: Iterable[Conversation], *, max_turns: int = 1000, max_convs: int = 500) -> Iterator[list[Conversation]]:
    """Group conversations into chunks of about ``max_turns`` turns."""
    chunk: list[Conversation] = []
    n = 0
    for conv in convs:
        chunk.append(conv)
        n += len(conv.turns)
        if n >= max_turns or len(chunk) >= max_convs:
            yield chunk
            chunk, n = [], 0
    if chunk:
        yield chunk


def _make_annotator(settings: dict[str, Any]):
    from convmaint.pipeline import Annotator

    return Annotator.create(settings.get("detectors"), mode=settings.get("mode", "full"),
                            backend=settings.get("backend", "spacy"), model=settings.get("model"),
                            config=settings.get("config"), cache=settings.get("cache"))


def _init_worker(settings: dict[str, Any]) -> None:
    from convmaint._gc import tune_for_streaming

    global _WORKER
    _WORKER = _make_annotator(settings)
    tune_for_streaming()  # the worker process lives for one job


def _provenance() -> dict[str, Any]:
    return _WORKER.provenance()


def _process(ann: Any, chunk: Sequence[Conversation]) -> list[Any]:
    from convmaint.analysis import process_conversation

    out = []
    for conv, moves in ann.run(chunk):
        res = process_conversation(conv, moves)
        res.moves = tuple(moves)
        out.append(res)
    return out


def _work(chunk: Sequence[Conversation]) -> list[Any]:
    return _process(_WORKER, chunk)


def detect_stream(
    convs: Iterable[Conversation],
    *,
    detectors: Sequence[str] | None = None,
    mode: str = "full",
    backend: str = "spacy",
    model: str | None = None,
    config: dict[str, Any] | None = None,
    cache: str | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
) -> tuple[dict[str, Any], Iterator[Any]]:
    """Provenance of the run and an iterator of per-conversation results (in input order).

    Args:
        jobs: Worker processes; 1 runs in this process.
        scheduler: A Dask scheduler address (``tcp://host:8786``) to run the chunks on a cluster.
    """
    settings = {"detectors": list(detectors) if detectors else None, "mode": mode, "backend": backend, "model": model,
                "config": config, "cache": cache}
    if scheduler:
        from convmaint.distributed import dask_stream

        return dask_stream(convs, settings, scheduler)
    if jobs <= 1:
        ann = _make_annotator(settings)

        def local() -> Iterator[Any]:
            for chunk in chunked(convs):
                for conv, res in zip(chunk, _process(ann, chunk)):
                    res.conversation = conv
                    yield res

        return ann.provenance(), local()

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(settings,))
    provenance = pool.submit(_provenance).result()

    def run() -> Iterator[Any]:
        in_flight: deque[tuple[list[Conversation], Future]] = deque()
        try:
            for chunk in chunked(convs):
                in_flight.append((chunk, pool.submit(_work, chunk)))
                if len(in_flight) >= 2 * jobs:
                    yield from _drain(in_flight.popleft())
            while in_flight:
                yield from _drain(in_flight.popleft())
        finally:
            for _, fut in in_flight:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    return provenance, run()


def _drain(item: tuple[list[Conversation], Any]) -> Iterator[Any]:
    """The results of one finished chunk (a concurrent or a Dask future), with their conversations."""
    chunk, fut = item
    for conv, res in zip(chunk, fut.result()):
        res.conversation = conv
        yield res
