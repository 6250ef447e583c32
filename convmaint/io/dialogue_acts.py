"""Dialogue-act tags of SwDA and MRDA: splitting compound tags and mapping them onto move labels."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["MRDA_MAP", "SWDA_MAP", "labels_for", "split_tag"]

#: SwDA (SWBD-DAMSL) tag component → move label, as docs/MOVES.md fixes it.
SWDA_MAP: dict[str, str] = {
    "br": "clarification.request",
    "b": "grounding.acknowledgement",
    "bk": "grounding.acknowledgement",
    "bh": "grounding.acknowledgement",
    "m": "grounding.repeat",
    "bf": "grounding.reformulation",
    "2": "grounding.completion",
}

#: ICSI MRDA tag component → move label, as docs/MOVES.md fixes it.
MRDA_MAP: dict[str, str] = {
    "bsc": "repair.self",
    "bc": "repair.other",
    "br": "clarification.request",
    "bu": "clarification.request",
    "tc": "topic.shift",
    "b": "grounding.acknowledgement",
    "bk": "grounding.acknowledgement",
    "bh": "grounding.acknowledgement",
    "m": "grounding.repeat",
    "r": "grounding.repeat",
    "bs": "grounding.reformulation",
    "2": "grounding.completion",
}

# Decorations that qualify a tag without being a component: SwDA's ``@`` (segmentation
# questioned), ``*`` (coder comment) and the parentheses of ``sd(^q)``.
_DECORATION = re.compile(r"[@*()]")
_SEPARATORS = re.compile(r"[\^,;|.:]")


def split_tag(tag: str) -> list[str]:
    """Split a compound dialogue-act tag into its components, in order.

    Decorations (``@``, ``*``, parentheses) are dropped and empty components skipped, so
    components are compared whole: ``br`` never matches ``b``.

    Args:
        tag: A tag as the corpus writes it, e.g. ``"qy^d(^q)@"`` or ``"s^bk|s.%--"``.

    Returns:
        The components, e.g. ``["qy", "d", "q"]`` or ``["s", "bk", "s", "%--"]``.

    Example:
        >>> split_tag("br^m")
        ['br', 'm']
        >>> split_tag("sd(^q)@")
        ['sd', 'q']
    """
    cleaned = _DECORATION.sub("", tag.strip())
    return [part for part in _SEPARATORS.split(cleaned) if part]


def labels_for(tag: str, mapping: Mapping[str, str]) -> set[str]:
    """The move labels a tag maps to: each component is looked up on its own.

    Args:
        tag: A possibly compound tag.
        mapping: Component → move label, e.g. :data:`SWDA_MAP` or :data:`MRDA_MAP`.

    Returns:
        The set of labels (empty when no component is mapped).

    Example:
        >>> sorted(labels_for("b^m", SWDA_MAP))
        ['grounding.acknowledgement', 'grounding.repeat']
        >>> labels_for("bf", SWDA_MAP)
        {'grounding.reformulation'}
    """
    return {mapping[c] for c in split_tag(tag) if c in mapping}
