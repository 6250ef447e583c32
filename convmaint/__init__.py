"""convmaint: measure the relational work of dialogue — repair, clarification, topic and grounding moves.

The public API is imported lazily so that ``import convmaint`` (and ``convmaint --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from convmaint._version import __version__

if TYPE_CHECKING:
    from convmaint.analysis import analyze
    from convmaint.analysis import compare_dirs as compare
    from convmaint.errors import ConvmaintError
    from convmaint.evaluate import evaluate_corpus
    from convmaint.graph import move_graph
    from convmaint.pipeline import Annotator, detect_moves
    from convmaint.plot import plot_move_graph, plot_rate_ratios, plot_rates, plot_timeline, plot_topic_segments
    from convmaint.stats import summarize
    from convmaint.io.base import RoleMap
    from convmaint.io.loader import load
    from convmaint.io.save import save
    from convmaint.model import Conversation, Move, Role, Segment, Turn

__all__ = [
    "Annotator",
    "Conversation",
    "ConvmaintError",
    "Move",
    "Role",
    "RoleMap",
    "Segment",
    "Turn",
    "__version__",
    "analyze",
    "compare",
    "detect_moves",
    "evaluate_corpus",
    "load",
    "move_graph",
    "plot_move_graph",
    "plot_rate_ratios",
    "plot_rates",
    "plot_timeline",
    "plot_topic_segments",
    "save",
    "summarize",
]

_LAZY = {
    "Conversation": "convmaint.model",
    "Move": "convmaint.model",
    "Role": "convmaint.model",
    "Segment": "convmaint.model",
    "Turn": "convmaint.model",
    "ConvmaintError": "convmaint.errors",
    "RoleMap": "convmaint.io.base",
    "load": "convmaint.io.loader",
    "save": "convmaint.io.save",
    "analyze": "convmaint.analysis",
    "compare": ("convmaint.analysis", "compare_dirs"),
    "summarize": "convmaint.stats",
    "move_graph": "convmaint.graph",
    "detect_moves": "convmaint.pipeline",
    "Annotator": "convmaint.pipeline",
    "evaluate_corpus": "convmaint.evaluate",
    "plot_rates": "convmaint.plot",
    "plot_rate_ratios": "convmaint.plot",
    "plot_timeline": "convmaint.plot",
    "plot_move_graph": "convmaint.plot",
    "plot_topic_segments": "convmaint.plot",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        where = _LAZY[name]
        module, attr = where if isinstance(where, tuple) else (where, name)
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'convmaint' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
