"""The parse cache: hits on rerun, misses on a backend change, safe with parallel writers."""

from __future__ import annotations

import multiprocessing as mp

from convmaint.nlp.base import ParsedTurn
from convmaint.nlp.cache import CachedBackend


class FakeBackend:
    name = "fake"

    def __init__(self, version="1"):
        self.version = version
        self.calls = 0

    def provides(self):
        return frozenset({"tokens"})

    def info(self):
        return {"backend": "fake", "model": "m", "model_version": self.version, "components": []}

    def parse(self, texts, *, batch_size=256):
        for t in texts:
            self.calls += 1
            words = tuple(t.split())
            starts, pos = [], 0
            for w in words:
                pos = t.index(w, pos)
                starts.append(pos)
                pos += len(w)
            yield ParsedTurn(text=t, words=words, starts=tuple(starts), lower=tuple(w.lower() for w in words),
                             lemmas=tuple(w.lower() for w in words))


def test_hits_and_identity(tmp_path):
    inner = FakeBackend()
    cb = CachedBackend(inner, tmp_path)
    texts = ["hello there", "uh-huh", "hello there"]
    first = list(cb.parse(texts))
    assert inner.calls == 2 and cb.misses == 2  # duplicates parsed once
    again = list(CachedBackend(inner, tmp_path).parse(texts))
    assert again == first and inner.calls == 2


def test_model_change_invalidates(tmp_path):
    list(CachedBackend(FakeBackend("1"), tmp_path).parse(["a b"]))
    newer = FakeBackend("2")
    list(CachedBackend(newer, tmp_path).parse(["a b"]))
    assert newer.calls == 1


def _writer(args):
    folder, k = args
    cb = CachedBackend(FakeBackend(), folder)
    return len(list(cb.parse([f"text {k} {i}" for i in range(200)] + ["shared text"])))


def test_parallel_writers(tmp_path):
    with mp.get_context("fork").Pool(4) as pool:
        assert pool.map(_writer, [(str(tmp_path), k) for k in range(8)]) == [201] * 8
    inner = FakeBackend()
    list(CachedBackend(inner, tmp_path).parse(["text 3 17", "shared text"]))
    assert inner.calls == 0
