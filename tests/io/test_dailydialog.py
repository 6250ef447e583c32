"""DailyDialog reader on a file written for the test."""

from __future__ import annotations

import convmaint
from convmaint.model import Role


def test_reads_eou_lines(tmp_path):
    p = tmp_path / "dialogues_text.txt"
    p.write_text("Hi , how are you ? __eou__ Fine , thanks . And you ? __eou__\n"
                 "Where is the bank ? __eou__ Next to the post office . __eou__ Thanks ! __eou__ \n", encoding="utf-8")
    convs = list(convmaint.load(p))
    assert [len(c.turns) for c in convs] == [2, 3]
    assert convs[0].metadata["format"] == "dailydialog"
    assert [t.speaker for t in convs[1].turns] == ["A", "B", "A"] and convs[1].turns[2].text == "Thanks !"
    assert all(t.role is Role.HUMAN for c in convs for t in c.turns)


def test_plain_transcripts_not_claimed(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("A: hello there\nB: hi\nA: how are you\n")
    assert list(convmaint.load(p))[0].metadata["format"] == "plain"
