"""Loading built-in and third-party (entry-point) classes into a registry, shared by readers and detectors."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points


def load_plugins(package: str, modules: Iterable[str], group: str, base: type) -> list[type]:
    """Import ``package.<module>`` for each built-in module (they register themselves) and return
    the subclasses of ``base`` that installed packages expose in the entry-point ``group``."""
    for mod in modules:
        importlib.import_module(f"{package}.{mod}")
    found = []
    for ep in entry_points(group=group):
        cls = ep.load()
        if isinstance(cls, type) and issubclass(cls, base):
            found.append(cls)
    return found
