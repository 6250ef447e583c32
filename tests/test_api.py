"""The Python API mirrors the CLI verbs and stays importable without heavy imports."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import convmaint
from convmaint.model import Conversation, Move, Role, Turn


def test_verbs_are_functions():
    for name in ("load", "save", "analyze", "compare", "summarize", "move_graph", "evaluate_corpus", "detect_moves",
                 "plot_rates", "plot_rate_ratios", "plot_timeline", "plot_move_graph", "plot_topic_segments"):
        assert callable(getattr(convmaint, name)), name
    importlib.import_module("convmaint.analysis")  # the module must not shadow the function

    assert callable(convmaint.analyze)


def test_import_is_light():
    code = "import sys, convmaint; print(sorted(m for m in ('spacy', 'polars', 'matplotlib', 'torch') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_summarize_on_hand_built_moves():
    turns = (Turn(0, "0", "u", Role.HUMAN, "can you fix my script"), Turn(1, "1", "a", Role.MODEL, "Which language is it?"),
             Turn(2, "2", "u", Role.HUMAN, "python. thanks"))
    conv = Conversation("c", turns, metadata={"corpus": "x"})
    moves = [Move("clarification.request", 1, 0, 21, target=0), Move("repair.completion", 2, 0, 7, target=1)]
    out = convmaint.summarize([(conv, moves)], n_boot=20, n_perm=20)
    assert set(out) >= {"moves", "turns", "conversation_roles", "rates", "comparison", "summary"}
    cr = out["rates"].filter((out["rates"]["role"] == "model") & (out["rates"]["label"] == "clarification.request"))
    assert cr["per_100_turns"][0] == pytest.approx(100.0)
    g = convmaint.move_graph(conv, moves)
    assert g.number_of_nodes() == 3
