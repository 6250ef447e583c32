"""Run the per-conversation work on a Dask distributed cluster (optional extra ``convmaint[dask]``).

The client streams chunks of conversations to the cluster with a bounded number in flight; each
worker process builds the annotator (and loads the NLP model) once and keeps it; results come back
in input order, so the tables are identical to a local run. Start a cluster with Dask's own
commands (``dask scheduler`` on one machine, ``dask worker tcp://HOST:8786 --nworkers N
--nthreads 1`` on each of the others) and pass ``--scheduler tcp://HOST:8786``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from convmaint.errors import ConfigError
from convmaint.model import Conversation

__all__ = ["dask_stream"]

_ANNOTATORS: dict[str, Any] = {}
_LOCK = threading.Lock()


def _annotator(settings: dict[str, Any]) -> Any:
    import json

    from convmaint.parallel import _make_annotator

    key = json.dumps(settings, sort_keys=True, default=str)
    with _LOCK:
        if key not in _ANNOTATORS:
            _ANNOTATORS[key] = _make_annotator(settings)
        return _ANNOTATORS[key]


def _dask_work(chunk: list[Conversation], settings: dict[str, Any]) -> list[Any]:
    from convmaint.parallel import _process

    return _process(_annotator(settings), chunk)


def _dask_provenance(settings: dict[str, Any]) -> dict[str, Any]:
    return _annotator(settings).provenance()


def dask_stream(convs: Iterable[Conversation], settings: dict[str, Any], scheduler: str | Any,
                *, in_flight: int | None = None) -> tuple[dict[str, Any], Iterator[Any]]:
    """Provenance and an ordered iterator of per-conversation results computed on a Dask cluster.

    Args:
        convs: The conversations (read by the client, by path from local or shared storage).
        settings: Annotator settings (detectors, mode, backend, model, config, cache — a cache
            folder must be on storage every worker can reach).
        scheduler: A scheduler address ``tcp://host:8786`` or a ``distributed.Client``.
        in_flight: Chunks submitted ahead (default: twice the cluster's worker threads).
    """
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("running on a Dask cluster needs the optional extra: pip install 'convmaint[dask]'") from None
    from convmaint.parallel import _drain, chunked

    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler, set_as_default=False) if own else scheduler
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"cannot connect to the Dask scheduler {scheduler}: {exc}") from None
    n_threads = sum(client.nthreads().values()) or 1
    ahead = in_flight or 2 * n_threads
    provenance = client.submit(_dask_provenance, settings, pure=False).result()
    provenance = {**provenance, "scheduler": str(getattr(client, "scheduler", None) and client.scheduler.address),
                  "dask_workers": len(client.nthreads())}

    def run() -> Iterator[Any]:
        queue: deque = deque()
        try:
            for chunk in chunked(convs):
                queue.append((chunk, client.submit(_dask_work, chunk, settings, pure=False)))
                if len(queue) >= ahead:
                    yield from _drain(queue.popleft())
            while queue:
                yield from _drain(queue.popleft())
        finally:
            for _, fut in queue:
                fut.cancel()
            if own:
                client.close()

    return provenance, run()

