"""NLP backends: spaCy (default) and stanza (optional extra), both yielding ParsedTurn views.

Backends import their libraries lazily, so importing this package is cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from convmaint.errors import ConfigError
from convmaint.nlp.base import ANNOTATIONS, Backend, ParsedTurn, check_requirements

__all__ = ["ANNOTATIONS", "Backend", "ParsedTurn", "check_requirements", "load_backend"]

BACKENDS = ("spacy", "stanza")


def load_backend(name: str = "spacy", *, requires: Iterable[str] = ("tokens",), model: str | None = None, **kwargs: Any) -> Backend:
    """Load an NLP backend configured for the annotations ``requires`` names.

    Args:
        name: ``spacy`` (default) or ``stanza`` (needs ``pip install convmaint[stanza]`` and a
            local stanza model folder given as ``model``).
        requires: Annotations the detectors need; only the components for those are run.
        model: spaCy package name or path; stanza model directory.
    """
    if name == "spacy":
        from convmaint.nlp.spacy_backend import SpacyBackend

        return SpacyBackend(requires=requires, model=model, **kwargs)
    if name == "stanza":
        from convmaint.nlp.stanza_backend import StanzaBackend

        return StanzaBackend(requires=requires, model_dir=model, **kwargs)
    raise ConfigError(f"unknown NLP backend {name!r}; expected one of {', '.join(BACKENDS)}")
