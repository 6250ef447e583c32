"""convmaint: measure the relational work of dialogue — repair, clarification, topic and grounding moves.

The public API is imported lazily so that ``import convmaint`` (and ``convmaint --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from convmaint._version import __version__

if TYPE_CHECKING:
    from convmaint.errors import ConvmaintError
    from convmaint.io.base import RoleMap
    from convmaint.io.loader import load
    from convmaint.io.save import save
    from convmaint.model import Conversation, Move, Role, Segment, Turn

__all__ = [
    "Conversation",
    "ConvmaintError",
    "Move",
    "Role",
    "RoleMap",
    "Segment",
    "Turn",
    "__version__",
    "load",
    "save",
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
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'convmaint' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
