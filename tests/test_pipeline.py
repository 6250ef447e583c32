"""Annotator.run: each distinct text is parsed once per chunk, with the same moves as parsing every turn."""

from __future__ import annotations

import dataclasses

from convmaint.model import Conversation, Role, Turn
from convmaint.nlp.regex_backend import RegexBackend
from convmaint.pipeline import Annotator


class _CountingBackend(RegexBackend):
    def __init__(self) -> None:
        super().__init__(requires=("tokens", "sents"))
        self.seen: list[str] = []

    def parse(self, texts, *, batch_size=256):
        texts = list(texts)
        self.seen.extend(texts)
        return super().parse(texts)


def _conversations() -> list[Conversation]:
    def conv(cid: str, answer: str) -> Conversation:
        texts = ["Can you fix my script?", answer, "ok", "Which one do you mean, the red one?", "ok"]
        return Conversation(cid, tuple(Turn(i, str(i), "ab"[i % 2], (Role.HUMAN, Role.MODEL)[i % 2], t)
                                       for i, t in enumerate(texts)), metadata={"corpus": "x"})

    return [conv("a", "Sure. Which language is it?"), conv("b", "Sure, I mean, the the script?"), conv("c", "Sure.")]


def test_each_distinct_text_is_parsed_once_with_the_same_moves():
    convs = _conversations()
    ann = Annotator.create(mode="fast")
    counting = _CountingBackend()
    dedup = list(dataclasses.replace(ann, backend=counting).run(convs))
    texts = [t.text for c in convs for t in c.turns]
    assert sorted(counting.seen) == sorted(set(texts)) and len(counting.seen) < len(texts)
    # every turn parsed on its own, as before: the same moves
    one_by_one = [(c, ann.detect(c, [next(RegexBackend().parse([t.text])) for t in c.turns])) for c in convs]
    assert [(c.id, m) for c, m in dedup] == [(c.id, m) for c, m in one_by_one]
    assert any(m for _, m in dedup)
