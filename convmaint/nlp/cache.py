"""A content-addressed parse cache: a rerun, a changed lexicon or a new detector does not parse again.

Parses are stored in one SQLite file (WAL mode, so parallel workers can read and write it at
once) keyed by the SHA-256 of the text together with a fingerprint of the backend: its name,
library and model versions, the components that ran, and the ParsedTurn format version. Any
model, component or version change therefore misses the cache instead of returning stale parses.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from convmaint.errors import ConfigError
from convmaint.nlp.base import ParsedTurn

__all__ = ["PARSE_FORMAT", "CachedBackend"]

#: Bumped whenever ParsedTurn's fields or their meaning change.
PARSE_FORMAT = 1


class CachedBackend:
    """Wrap a backend so that parses are looked up in, and written to, a cache folder.

    Args:
        backend: The real backend.
        folder: Cache folder (created); the database is ``parses.sqlite`` inside it.
    """

    def __init__(self, backend: Any, folder: str | Path) -> None:
        self.backend = backend
        self.name = backend.name
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create parse cache folder: {exc.strerror or exc}", path=self.folder) from None
        info = backend.info()
        fp = {k: info.get(k) for k in sorted(info) if k != "provides"}
        fp["format"] = PARSE_FORMAT
        self.fingerprint = hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:16]
        self.path = self.folder / "parses.sqlite"
        self._db = self._connect()
        self.hits = 0
        self.misses = 0

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        # Switching to WAL and creating the table take locks that SQLite may refuse at once (without
        # waiting) when several workers open a new cache together: retry them.
        for attempt in range(50):
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("CREATE TABLE IF NOT EXISTS parses (key TEXT PRIMARY KEY, data BLOB NOT NULL)")
                return db
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise ConfigError(f"cannot open parse cache: {exc}", path=self.path) from None
                time.sleep(0.02 * (attempt + 1))
        raise ConfigError("parse cache stayed locked while opening; is another process holding it?", path=self.path)

    def __getstate__(self) -> dict[str, Any]:  # connections do not cross processes
        state = dict(self.__dict__)
        state.pop("_db", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._db = self._connect()

    def provides(self) -> frozenset[str]:
        return self.backend.provides()

    def info(self) -> dict[str, Any]:
        return {**self.backend.info(), "cache": str(self.path), "cache_fingerprint": self.fingerprint}

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.fingerprint}\x00{text}".encode()).hexdigest()

    def parse(self, texts: Iterable[str], *, batch_size: int = 256) -> Iterator[ParsedTurn]:
        texts = list(texts)
        keys = [self._key(t) for t in texts]
        found: dict[str, ParsedTurn] = {}
        uniq = list(dict.fromkeys(keys))
        for i in range(0, len(uniq), 500):
            part = uniq[i:i + 500]
            q = f"SELECT key, data FROM parses WHERE key IN ({','.join('?' * len(part))})"
            for key, data in self._db.execute(q, part):
                found[key] = ParsedTurn.from_dict(json.loads(zlib.decompress(data)))
        missing = [(k, t) for k, t in dict(zip(keys, texts)).items() if k not in found]
        if missing:
            new = list(self.backend.parse([t for _, t in missing], batch_size=batch_size))
            rows = [(k, zlib.compress(json.dumps(p.to_dict(), separators=(",", ":")).encode(), 1)) for (k, _), p in zip(missing, new)]
            self._write(rows)
            for (k, _), p in zip(missing, new):
                found[k] = p
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        for k in keys:
            yield found[k]

    def _write(self, rows: list[tuple[str, bytes]]) -> None:
        for attempt in range(20):
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT OR IGNORE INTO parses (key, data) VALUES (?, ?)", rows)
                self._db.execute("COMMIT")
                return
            except sqlite3.OperationalError:  # locked by another writer past the timeout: retry
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.OperationalError:
                    pass
                time.sleep(0.05 * (attempt + 1))
        raise ConfigError("parse cache stayed locked; is another process holding it?", path=self.path)
