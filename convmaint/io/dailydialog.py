"""DailyDialog text files: one dialogue per line, utterances ended by ``__eou__``, speakers alternating."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from convmaint.io.base import ReadContext, Reader, iter_lines
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.registry import register_reader
from convmaint.model import Conversation, Role

_EOU = "__eou__"


@register_reader
class DailyDialogReader(Reader):
    name = "dailydialog"
    description = "DailyDialog dialogues_*.txt: one dialogue per line, utterances ended by __eou__ (speakers A/B, human)"
    extensions = (".txt",)

    def sniff(self, path: Path, head: str) -> float:
        lines = [ln for ln in head.splitlines()[:20] if ln.strip()]
        if lines and sum(ln.rstrip().endswith(_EOU) for ln in lines) >= max(1, len(lines) - 1):
            return 0.95
        return 0.0

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        for lineno, line in iter_lines(path, report=ctx.report):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split(_EOU)]
            if parts and not parts[-1]:
                parts.pop()
            raws = [RawTurn(speaker="AB"[i % 2], text=p, role=Role.HUMAN, id=str(i), line=lineno) for i, p in enumerate(parts)]
            conv = make_conversation(f"{path.stem}:{lineno}", raws, ctx, path=path, fmt=self.name, line=lineno)
            if conv is not None:
                yield conv
