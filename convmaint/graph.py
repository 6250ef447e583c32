"""Move graphs: one networkx MultiDiGraph per conversation, its graph measures, and export.

A move graph has one node per turn and one typed edge per link that a move makes between two
turns. Edge keys are the edge type, so ``g.edges[u, v, "repairs"]`` is the repair link from turn
``u`` to turn ``v``; several moves that make the same link are merged into one edge (``n_moves``).

Direction: every link points **from the later turn that holds the move to the earlier turn it
points at** (a repair points at its trouble source, an answer at the question); ``distance`` is
``source - target``, so back-links have a positive distance. ``next`` edges are the one exception
to "later to earlier": they run forward, ``i -> i + 1``, with distance ``-1``.

Node attributes (node key: the turn index, an ``int``):

==================  =======  ==================================================================
attribute           type     meaning
==================  =======  ==================================================================
``index``           int      the turn index (same as the node key)
``id``              str      ``Turn.id`` (exported as ``turn_id``; see :func:`write_graph`)
``speaker``         str      ``Turn.speaker``
``role``            str      ``human``, ``model`` or ``unknown``
``words``           int      ``Turn.n_words`` (whitespace words)
``labels``          tuple    sorted distinct labels of the moves in the turn
``labels_str``      str      ``labels`` joined by ``;`` (``""`` when none), for GraphML/GEXF
``n_moves``         int      number of moves in the turn (all labels)
``n_self_repairs``  int      number of ``repair.self`` moves (intra-turn: they make no edge)
==================  =======  ==================================================================

Edge attributes (edge key: the edge type):

================  =====  ======================================================================
attribute         type   meaning
================  =====  ======================================================================
``type``          str    the edge type (same as the key): see :data:`EDGE_TYPES`
``label``         str    label of the move that made the link (``""`` for ``next``); for an
                         inferred ``answers`` edge, ``clarification.request``
``detector``      str    that move's versioned detector (``""`` for ``next``)
``cue``           str    that move's cue (``""`` when none, for ``next`` and inferred edges)
``distance``      int    source index - target index (``-1`` for ``next``)
``inferred``      bool   True for an ``answers`` edge found from turn order, not from a
                         ``repair.completion`` move
``fallback``      bool   True when the target turn was found by a fallback rule
``score``         float  the move's score (``1.0`` for ``next``)
``n_moves``       int    moves merged into the edge (``0`` for ``next`` and inferred edges)
================  =====  ======================================================================

When several moves make the same (source, target, type) link, ``label``, ``detector``, ``cue``,
``score`` and ``fallback`` come from the first of them in (turn, span, label) order.

Edge types, from the move that holds the link (source) to the turn it points at (target):

* ``next``: turn ``i`` to turn ``i + 1``.
* ``initiates_repair``: ``clarification.request`` to the turn it clarifies (the trouble source).
* ``clarifies``: ``repair.completion`` to the clarification request it answers (its target).
* ``repairs``: ``repair.other`` and ``repair.third_position`` to their target;
  ``repair.completion`` to the trouble source, i.e. the target of the clarification request in
  the completion's target turn (or, with no request there, the completing speaker's last turn
  before it). ``repair.self`` makes no edge (it is counted in ``n_self_repairs``).
* ``answers``: for each clarification request, from the turn holding a ``repair.completion``
  that targets it (``inferred=False``), or else from the first later turn by the trouble-source
  speaker (``inferred=True``).
* ``hands_off``: ``topic.handoff`` to its target. ``resumes``: ``topic.resume`` to its target.
* ``acknowledges``: every ``grounding.*`` move to its target.
* ``refers_to``: ``repair.third_position`` to its ``via`` turn (the misunderstanding), and any
  move with an ``antecedent_turn`` or ``refers_to`` attribute to that turn when it is earlier.

Fallbacks when ``Move.target`` is ``None``: the previous turn by a different speaker; except
``repair.third_position``, whose ``via`` falls back to the previous turn by a different speaker
and whose target to the mover's own last turn before ``via``; and ``topic.resume``, which makes
no edge without a target (the resumed topic cannot be guessed from adjacency). When no such turn
exists, no edge is made. ``topic.shift`` and ``topic.close`` make no edges; topic segments are read
from node labels.

Graph attributes: ``conversation_id``, ``corpus`` (``metadata["corpus"]`` or ``None``),
``source``, ``n_turns``, ``convmaint_version`` and ``provenance`` (an empty dict for the caller to
fill, e.g. with detector versions and lexicon hashes).

See ``docs/graphs.md`` for the measures and a worked example.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import Enum
from json.encoder import encode_basestring as _quote  # a JSON string, non-ASCII kept
from pathlib import Path
from statistics import fmean
from typing import Any, Literal

import networkx as nx

from convmaint._version import __version__
from convmaint.errors import ConfigError, ConvmaintError
from convmaint.model import Conversation, FrozenDict, Move, Role

__all__ = [
    "ANSWER_WINDOW",
    "EDGE_TYPES",
    "GraphError",
    "GraphFormat",
    "flat_measures",
    "graph_measures",
    "graph_row",
    "move_graph",
    "node_link_json",
    "write_graph",
]

#: Every edge type, in the order they are documented.
EDGE_TYPES: tuple[str, ...] = (
    "next",
    "initiates_repair",
    "clarifies",
    "repairs",
    "answers",
    "hands_off",
    "resumes",
    "acknowledges",
    "refers_to",
)

#: Default ``k`` of :func:`graph_measures`: a request counts as answered within this many turns.
ANSWER_WINDOW = 3

GraphFormat = Literal["graphml", "gexf", "json"]
_FORMATS: tuple[str, ...] = ("graphml", "gexf", "json")

# Labels whose single target link is made the same way (target, else the fallback turn).
_SIMPLE_EDGE: dict[str, str] = {
    "repair.other": "repairs",
    "topic.handoff": "hands_off",
    "grounding.acknowledgement": "acknowledges",
    "grounding.follow_up": "acknowledges",
    "grounding.repeat": "acknowledges",
    "grounding.reformulation": "acknowledges",
    "grounding.completion": "acknowledges",
}
_ANTECEDENT_ATTRIBUTES = ("antecedent_turn", "refers_to")
# A next turn by the initiator holding one of these re-opens the trouble instead of accepting.
_REOPENING = frozenset({"clarification.request", "repair.other", "repair.third_position"})


class GraphError(ConvmaintError):
    """A move cannot be placed in its conversation's graph (a turn reference out of range)."""


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def move_graph(conv: Conversation, moves: Sequence[Move] | None = None) -> nx.MultiDiGraph:
    """Build the move graph of one conversation.

    Args:
        conv: The conversation (its turns become the nodes).
        moves: The moves found in ``conv`` (detected or gold); ``None`` takes ``conv.moves``.
            Their order does not matter: the graph is the same for any order.

    Returns:
        A ``networkx.MultiDiGraph`` with the node, edge and graph attributes of the module
        docstring; edge keys are edge types.

    Raises:
        GraphError: A move's ``turn``, ``target``, ``via``, ``antecedent_turn`` or ``refers_to``
            is not a turn of ``conv`` (or a link points a turn at itself).

    Example:
        >>> from convmaint.model import Conversation, Move, Turn
        >>> conv = Conversation("c1", (Turn(0, "t0", "A", "human", "Take the red one."),
        ...                            Turn(1, "t1", "B", "model", "Which one?"),
        ...                            Turn(2, "t2", "A", "human", "The red folder.")))
        >>> g = move_graph(conv, [Move("clarification.request", 1, 0, 10, target=0)])
        >>> sorted(g.edges(keys=True))
        [(0, 1, 'next'), (1, 0, 'initiates_repair'), (1, 2, 'next'), (2, 1, 'answers')]
        >>> g.edges[2, 1, "answers"]["inferred"]
        True
    """
    return _build(conv, moves).to_networkx()


def graph_row(conv: Conversation, moves: Sequence[Move]) -> tuple[dict[str, float | int | None], str]:
    """``flat_measures(move_graph(conv, moves))`` and ``node_link_json`` of that graph, without
    building the networkx graph (``convmaint analyze`` calls this once per conversation)."""
    b = _build(conv, moves)
    edges = list(b.edges())
    return _flatten(_measures(dict(b.nodes), edges)), _node_link(b.graph, b.nodes, edges)


def _build(conv: Conversation, moves: Sequence[Move] | None) -> _Builder:
    """The nodes and edges of :func:`move_graph`, in plain dicts."""
    moves = conv.moves if moves is None else moves
    ordered = sorted(moves, key=_move_order)
    b = _Builder(conv)
    for m in ordered:
        b.check_turn(m)

    per_turn: dict[int, list[Move]] = defaultdict(list)
    for m in ordered:
        per_turn[m.turn].append(m)
    empty: list[Move] = []
    nodes = b.nodes
    for t in conv.turns:
        ms = per_turn.get(t.index, empty)
        labels = tuple(sorted({m.label for m in ms})) if ms else ()
        nodes.append((t.index, {
            "index": t.index, "id": t.id, "speaker": t.speaker, "role": t.role._value_, "words": t.n_words,
            "labels": labels, "labels_str": ";".join(labels), "n_moves": len(ms),
            "n_self_repairs": sum(m.label == "repair.self" for m in ms),
        }))
    for i in range(len(conv.turns) - 1):
        b.add(i, i + 1, "next", _NEXT)

    # Requests first: a completion's trouble source is its request's target.
    requests: dict[tuple[int, int], Move] = {}
    for m in ordered:
        if m.label == "clarification.request":
            target, fallback = b.target(m)
            if target is not None:
                b.link(m.turn, target, "initiates_repair", m, fallback=fallback)
                requests.setdefault((m.turn, target), m)

    for m in ordered:
        if m.label in _SIMPLE_EDGE:
            target, fallback = b.target(m)
            if target is not None:
                b.link(m.turn, target, _SIMPLE_EDGE[m.label], m, fallback=fallback)
        elif m.label == "topic.resume":
            if m.target is not None:
                b.link(m.turn, b.turn_ref(m, m.target, "target"), "resumes", m)
        elif m.label == "repair.completion":
            b.completion(m, requests)
        elif m.label == "repair.third_position":
            b.third_position(m)
        for name in _ANTECEDENT_ATTRIBUTES:
            value = m.attributes.get(name)
            if value is not None:
                antecedent = b.turn_ref(m, value, name, allow_self=True)
                if antecedent > m.turn:
                    raise b.error(m, f"{name} {antecedent} is after the move's turn; expected an earlier turn")
                if antecedent < m.turn:
                    b.link(m.turn, antecedent, "refers_to", m)

    # Replies to requests that no repair.completion move answered.
    succ = b.succ
    for (c, t), m in requests.items():
        speaker = conv.turns[t].speaker
        if speaker == conv.turns[c].speaker:
            continue  # a request about one's own turn: no partner reply to look for
        if any("answers" in succ[r].get(c, ()) and b.speakers[r] == speaker for r in range(len(succ))):
            continue
        reply = b.next_by(speaker, c)
        if reply is not None:
            b.link(reply, c, "answers", m, inferred=True)
    return b


#: The attributes of a "next" edge. The builder gives all its next edges this one dict, which no
#: rule changes (links are made between other turns or with other keys); networkx copies it into
#: each edge's own dict in ``to_networkx``, and ``_link_json`` writes it from a fixed text.
_NEXT: Mapping[str, Any] = FrozenDict({"type": "next", "label": "", "detector": "", "cue": "", "distance": -1,
                                       "inferred": False, "fallback": False, "score": 1.0, "n_moves": 0})


def _move_order(m: Move) -> tuple:
    return (m.turn, m.start, m.end, m.label, -1 if m.target is None else m.target, m.detector, m.cue or "")


class _Builder:
    """The graph under construction and the turn look-ups the link rules need.

    The graph is kept in plain dicts laid out as networkx lays out a MultiDiGraph (``succ[u][v][key]``
    is the attribute dict of edge ``u -> v`` with key ``key``, in insertion order), so that
    :meth:`edges` lists the edges in the order ``g.edges(keys=True, data=True)`` would; ``added``
    keeps the order they were made in, which :meth:`to_networkx` repeats.
    """

    def __init__(self, conv: Conversation) -> None:
        self.conv = conv
        self.speakers = [t.speaker for t in conv.turns]
        self.graph: dict[str, Any] = {
            "conversation_id": conv.id,
            "corpus": conv.metadata.get("corpus"),
            "source": conv.source,
            "n_turns": len(conv.turns),
            "convmaint_version": __version__,
            "provenance": {},
        }
        self.nodes: list[tuple[int, dict[str, Any]]] = []
        self.succ: list[dict[int, dict[str, dict[str, Any]]]] = [{} for _ in conv.turns]
        self.added: list[tuple[int, int, str, dict[str, Any]]] = []

    def add(self, u: int, v: int, key: str, data: dict[str, Any]) -> None:
        nbrs = self.succ[u]
        keys = nbrs.get(v)
        if keys is None:
            keys = nbrs[v] = {}
        keys[key] = data
        self.added.append((u, v, key, data))

    def edges(self) -> Iterator[tuple[int, int, str, dict[str, Any]]]:
        """``(u, v, key, data)`` in networkx's order: by source, then target in order of first link, then key."""
        for u, nbrs in enumerate(self.succ):
            for v, keys in nbrs.items():
                for key, data in keys.items():
                    yield u, v, key, data

    def to_networkx(self) -> nx.MultiDiGraph:
        g = nx.MultiDiGraph(**self.graph)
        g.add_nodes_from(self.nodes)
        g.add_edges_from(self.added)
        return g

    def error(self, m: Move, reason: str) -> GraphError:
        return GraphError(f"{m.label} move: {reason}", record=f"{self.conv.id} turn {m.turn}")

    def span(self) -> str:
        if not self.speakers:
            return "no turn reference (the conversation is empty)"
        return f"a turn index in 0..{len(self.speakers) - 1}"

    def check_turn(self, m: Move) -> None:
        if not 0 <= m.turn < len(self.speakers):
            raise self.error(m, f"turn {m.turn} is not a turn of the conversation; expected {self.span()}")

    def turn_ref(self, m: Move, value: Any, what: str, *, allow_self: bool = False) -> int:
        """Validate a turn index that a move names (its target or an attribute)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(m, f"{what} {value!r} is not a turn index; expected an int")
        if not 0 <= value < len(self.speakers):
            raise self.error(m, f"{what} {value} is not a turn of the conversation; expected {self.span()}")
        if value == m.turn and not allow_self:
            raise self.error(m, f"{what} {value} is the move's own turn; expected another turn")
        return value

    def prev_other(self, i: int) -> int | None:
        """The previous turn by a different speaker than turn ``i``'s."""
        return next((j for j in range(i - 1, -1, -1) if self.speakers[j] != self.speakers[i]), None)

    def prev_by(self, speaker: str, before: int) -> int | None:
        return next((j for j in range(before - 1, -1, -1) if self.speakers[j] == speaker), None)

    def next_by(self, speaker: str, after: int) -> int | None:
        return next((j for j in range(after + 1, len(self.speakers)) if self.speakers[j] == speaker), None)

    def target(self, m: Move) -> tuple[int | None, bool]:
        """The move's target, or the fallback turn; and whether the fallback was used."""
        if m.target is not None:
            return self.turn_ref(m, m.target, "target"), False
        return self.prev_other(m.turn), True

    def link(self, source: int, target: int, etype: str, m: Move, *, fallback: bool = False,
             inferred: bool = False) -> None:
        old = self.succ[source].get(target, {}).get(etype)
        if old is not None:
            if not inferred:
                old["n_moves"] += 1
            return
        self.add(source, target, etype, {
            "type": etype, "label": m.label, "detector": m.detector, "cue": "" if inferred else (m.cue or ""),
            "distance": source - target, "inferred": inferred, "fallback": fallback, "score": float(m.score),
            "n_moves": 0 if inferred else 1,
        })

    def completion(self, m: Move, requests: Mapping[tuple[int, int], Move]) -> None:
        request, fallback = self.target(m)
        if request is None:
            return
        self.link(m.turn, request, "clarifies", m, fallback=fallback)
        self.link(m.turn, request, "answers", m, fallback=fallback)
        speaker = self.speakers[m.turn]
        sources = [t for (c, t) in requests if c == request]
        own = [t for t in sources if self.speakers[t] == speaker]
        if own or sources:
            trouble, derived = (own or sources)[0], fallback
        else:
            trouble, derived = self.prev_by(speaker, request), True
        if trouble is not None and trouble != m.turn:
            self.link(m.turn, trouble, "repairs", m, fallback=derived)

    def third_position(self, m: Move) -> None:
        via_value = m.attributes.get("via")
        if via_value is not None:
            via: int | None = self.turn_ref(m, via_value, "via")
            via_fallback = False
        else:
            via, via_fallback = self.prev_other(m.turn), True
        if m.target is not None:
            target: int | None = self.turn_ref(m, m.target, "target")
            fallback = False
        else:
            target = None if via is None else self.prev_by(self.speakers[m.turn], via)
            fallback = True
        if target is not None:
            self.link(m.turn, target, "repairs", m, fallback=fallback)
        if via is not None:
            self.link(m.turn, via, "refers_to", m, fallback=via_fallback)


# --------------------------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------------------------


def graph_measures(g: nx.MultiDiGraph, *, k: int = ANSWER_WINDOW) -> dict[str, Any]:
    """Measure the repair, topic and hand-off structure of one move graph.

    Definitions are in ``docs/graphs.md``. Shares and means are ``None`` when undefined (no
    requests, no sequences, no back-links; reciprocity outside two-party talk).

    Args:
        g: A graph from :func:`move_graph`.
        k: A clarification request counts as answered when an ``answers`` edge reaches it from at
            most ``k`` turns later.

    Returns:
        A dict with scalars and the lists and dicts behind them (``repair_sequences``,
        ``topic_segments``, ``segments_opened_by_role``, ``handoffs_by_role``, ``edges_by_type``);
        :func:`flat_measures` gives the scalar-only version for a table.

    Example:
        >>> from convmaint.model import Conversation, Move, Turn
        >>> conv = Conversation("c1", (Turn(0, "t0", "A", "human", "Take the red one."),
        ...                            Turn(1, "t1", "B", "model", "Which one?"),
        ...                            Turn(2, "t2", "A", "human", "The red folder."),
        ...                            Turn(3, "t3", "B", "model", "Got it.")))
        >>> moves = [Move("clarification.request", 1, 0, 10, target=0),
        ...          Move("grounding.acknowledgement", 3, 0, 7)]
        >>> m = graph_measures(move_graph(conv, moves))
        >>> m["n_repair_sequences"], m["mean_repair_sequence_length"], m["clarification_answered_share"]
        (1, 3.0, 1.0)
    """
    return _measures(dict(g.nodes(data=True)), g.edges(keys=True, data=True), k=k)


def _measures(data: dict[Any, dict[str, Any]], graph_edges: Iterable[tuple[Any, Any, Any, dict[str, Any]]], *,
              k: int = ANSWER_WINDOW) -> dict[str, Any]:
    """:func:`graph_measures` of the graph with these node attributes and ``(u, v, key, data)`` edges."""
    if k < 1:
        raise ConfigError(f"answer window k={k}; expected an int >= 1")
    nodes = sorted(data)
    speaker = {n: data[n]["speaker"] for n in nodes}
    role = {n: str(data[n]["role"]) for n in nodes}
    labels = {n: set(data[n].get("labels", ())) for n in nodes}
    edges = sorted(graph_edges)  # (u, v, key) is unique: the data dicts are never compared

    def next_by(who: str, after: int) -> int | None:
        return next((j for j in nodes if j > after and speaker[j] == who), None)

    requests = [(u, v) for u, v, key, _ in edges if key == "initiates_repair"]
    answers_into: dict[int, list[int]] = defaultdict(list)
    for u, v, key, _ in edges:
        if key == "answers" and u > v:
            answers_into[v].append(u)

    sequences: list[dict[str, Any]] = []
    n_answered = 0
    for c, t in requests:
        replies = sorted(answers_into.get(c, ()))
        if replies and replies[0] - c <= k:
            n_answered += 1
        if not replies:
            continue
        r = replies[0]
        acceptance = next_by(speaker[c], r)
        kind = None
        if acceptance is not None:
            if labels[acceptance] & _REOPENING:
                acceptance = None
            else:
                kind = "acknowledged" if "grounding.acknowledgement" in labels[acceptance] else "continued"
        last = r if acceptance is None else acceptance
        sequences.append({
            "trouble_source": t,
            "initiation": c,
            "completion": r,
            "acceptance": acceptance,
            "acceptance_kind": kind,
            "initiator_role": role[c],
            "length": last - c + 1,
        })

    starts = [n for n in nodes if n == nodes[0] or "topic.shift" in labels[n]] if nodes else []
    segments = [
        (s, (starts[i + 1] - 1) if i + 1 < len(starts) else nodes[-1], speaker[s], role[s])
        for i, s in enumerate(starts)
    ]
    present_roles = list(dict.fromkeys(role[n] for n in nodes))
    opened = Counter(seg[3] for seg in segments)
    segments_by_role = {r: opened.get(r, 0) for r in present_roles}

    handoffs = [(u, v) for u, v, key, _ in edges if key == "hands_off"]
    by_role = Counter(role[u] for u, _ in handoffs)
    handoffs_by_role = {r: by_role.get(r, 0) for r in present_roles}
    sides = set(speaker.values())
    if len(sides) == 2:
        handing = {speaker[u] for u, _ in handoffs}
        reciprocity: float | None = len(handing) / 2
    else:
        reciprocity = None

    backlinks = [d["distance"] for _, _, key, d in edges if key != "next"]
    by_type = Counter(key for _, _, key, _ in edges)
    return {
        "n_turns": len(nodes),
        "repair_sequences": sequences,
        "n_repair_sequences": len(sequences),
        "mean_repair_sequence_length": fmean(s["length"] for s in sequences) if sequences else None,
        "n_clarification_requests": len(requests),
        "n_clarification_requests_answered": n_answered,
        "clarification_answered_share": n_answered / len(requests) if requests else None,
        "topic_segments": segments,
        "n_topic_segments": len(segments),
        "segments_opened_by_role": segments_by_role,
        "handoffs_by_role": handoffs_by_role,
        "n_handoffs": len(handoffs),
        "handoff_reciprocity": reciprocity,
        "n_backlinks": len(backlinks),
        "mean_backlink_distance": fmean(backlinks) if backlinks else None,
        "edges_by_type": {t: by_type.get(t, 0) for t in EDGE_TYPES},
    }


def flat_measures(g: nx.MultiDiGraph, *, k: int = ANSWER_WINDOW) -> dict[str, float | int | None]:
    """The scalar measures of :func:`graph_measures`, one column each, for a polars table.

    Lists are dropped (their counts and means stay); per-role dicts become one column per role
    (``segments_opened_by_human``, ``handoffs_by_model``…; every :class:`~convmaint.model.Role`,
    0 when absent); ``edges_by_type`` becomes ``n_<type>_edges``. The keys and their order are the
    same for every graph, so rows stack into one table.

    Example:
        >>> from convmaint.model import Conversation, Turn
        >>> g = move_graph(Conversation("c", (Turn(0, "t0", "A", "human", "hi"),)), [])
        >>> flat_measures(g)["segments_opened_by_human"]
        1
    """
    return _flatten(graph_measures(g, k=k))


def _flatten(m: dict[str, Any]) -> dict[str, float | int | None]:
    flat: dict[str, float | int | None] = {
        key: value for key, value in m.items() if value is None or isinstance(value, int | float)
    }
    for r in Role:
        flat[f"segments_opened_by_{r.value}"] = m["segments_opened_by_role"].get(r.value, 0)
    for r in Role:
        flat[f"handoffs_by_{r.value}"] = m["handoffs_by_role"].get(r.value, 0)
    for t in EDGE_TYPES:
        flat[f"n_{t}_edges"] = m["edges_by_type"][t]
    return flat


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def write_graph(g: nx.MultiDiGraph, path: str | os.PathLike, *, format: GraphFormat = "graphml") -> Path:
    """Write a move graph to a file, atomically; the same graph always gives the same bytes.

    The graph itself is not changed; the export works on a copy in which:

    * the node attribute ``id`` (the turn id) is renamed ``turn_id`` in every format, because
      GEXF and node-link JSON use ``id`` for the node key;
    * GraphML and GEXF: tuples, lists, dicts and ``None`` become JSON strings (``labels`` →
      ``'["a", "b"]'``, ``provenance`` → ``'{}'``, ``None`` → ``'null'``);
    * GraphML: edge ids are ``e<source>-<target>-<type>`` (GraphML ids must be unique; networkx
      reads them back as edge keys, and ``type`` stays an attribute);
    * GEXF: the edge attribute ``type`` is renamed ``edge_type`` (GEXF reserves ``type`` for the
      edge direction), the edge key is kept as ``networkx_key``, the graph ``name`` is the
      conversation id, graph attributes are dropped (GEXF has none), and networkx's
      ``lastmodifieddate`` is left out so that reruns are byte-identical;
    * JSON: ``nx.node_link_data(g, edges="links")`` with sorted keys; read it back with
      ``nx.node_link_graph(data, edges="links")``.

    Args:
        g: A graph from :func:`move_graph`.
        path: The output file; parent folders are created.
        format: ``graphml``, ``gexf`` or ``json``.

    Returns:
        The path written.

    Raises:
        ConfigError: ``format`` is not one of the three.
        GraphError: An attribute value cannot be written as JSON.

    Example:
        >>> write_graph(g, "c1.graphml")  # doctest: +SKIP
        >>> nx.read_graphml("c1.graphml", node_type=int, force_multigraph=True)  # doctest: +SKIP
    """
    if format not in _FORMATS:
        raise ConfigError(f"unknown graph format {format!r}; expected one of {', '.join(_FORMATS)}")
    data = _serialise(g, format)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def node_link_json(g: nx.MultiDiGraph) -> str:
    """The graph as one line of node-link JSON (sorted keys; the same graph gives the same text),
    as written to ``graphs/<corpus>.jsonl`` by ``convmaint analyze``."""
    # What nx.node_link_data(_export_copy(g, scalar=False), edges="links") gives, built without
    # copying the graph (this runs once per conversation in analyze). Nodes and edges as
    # move_graph makes them are written from templates (the same text json.dumps writes for them,
    # about twice as fast); anything else goes through json.dumps.
    return _node_link(g.graph, g.nodes(data=True), g.edges(keys=True, data=True))


def _node_link(graph: Mapping[str, Any], nodes: Iterable[tuple[Any, dict[str, Any]]],
               edges: Iterable[tuple[Any, Any, Any, dict[str, Any]]]) -> str:
    attrs = json.dumps(dict(graph), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    links = ",".join([_link_json(u, v, key, d) for u, v, key, d in edges])
    node_text = ",".join([_node_json(n, d) for n, d in nodes])
    return f'{{"directed":true,"graph":{attrs},"links":[{links}],"multigraph":true,"nodes":[{node_text}]}}'


#: The attributes move_graph gives nodes and edges, in the order it gives them.
_NODE_KEYS = ("index", "id", "speaker", "role", "words", "labels", "labels_str", "n_moves", "n_self_repairs")
_EDGE_KEYS = ("type", "label", "detector", "cue", "distance", "inferred", "fallback", "score", "n_moves")
_JSON_BOOL = {True: "true", False: "false"}
#: A "next" edge as ``_link_json`` writes it, by source and target (``tests/test_graph.py`` checks
#: it against the general template).
_NEXT_JSON = ('{"cue":"","detector":"","distance":-1,"fallback":false,"inferred":false,"key":"next","label":"",'
              '"n_moves":0,"score":1.0,"source":%d,"target":%d,"type":"next"}')


def _node_json(n: Any, d: dict[str, Any]) -> str:
    """One node of :func:`node_link_json` (keys sorted, ``id`` renamed ``turn_id``)."""
    if type(n) is int and tuple(d) == _NODE_KEYS:
        index, tid, speaker, role, words, labels, labels_str, n_moves, n_self = d.values()
        if (type(index) is type(words) is type(n_moves) is type(n_self) is int
                and type(tid) is type(speaker) is type(role) is type(labels_str) is str
                and type(labels) is tuple and all(type(x) is str for x in labels)):
            return (f'{{"id":{n},"index":{index},"labels":[{",".join(map(_quote, labels))}],'
                    f'"labels_str":{_quote(labels_str)},"n_moves":{n_moves},"n_self_repairs":{n_self},'
                    f'"role":{_quote(role)},"speaker":{_quote(speaker)},"turn_id":{_quote(tid)},"words":{words}}}')
    node = {**{("turn_id" if k == "id" else k): v for k, v in d.items()}, "id": n}
    return json.dumps(node, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _link_json(u: Any, v: Any, key: Any, d: dict[str, Any]) -> str:
    """One edge of :func:`node_link_json` (keys sorted, with source, target and key)."""
    if d is _NEXT:
        return _NEXT_JSON % (u, v)
    if type(u) is type(v) is int and type(key) is str and tuple(d) == _EDGE_KEYS:
        etype, label, detector, cue, distance, inferred, fallback, score, n_moves = d.values()
        if (type(etype) is type(label) is type(detector) is type(cue) is str and type(distance) is type(n_moves) is int
                and type(inferred) is type(fallback) is bool and type(score) is float and score - score == 0.0):
            return (f'{{"cue":{_quote(cue)},"detector":{_quote(detector)},"distance":{distance},'
                    f'"fallback":{_JSON_BOOL[fallback]},"inferred":{_JSON_BOOL[inferred]},"key":{_quote(key)},'
                    f'"label":{_quote(label)},"n_moves":{n_moves},"score":{score!r},"source":{u},"target":{v},'
                    f'"type":{_quote(etype)}}}')
    link = {**d, "source": u, "target": v, "key": key}
    return json.dumps(link, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _serialise(g: nx.MultiDiGraph, fmt: str) -> bytes:
    if fmt == "json":
        h = _export_copy(g, scalar=False)
        data = nx.node_link_data(h, edges="links")
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1, default=_json_default)
        return (text + "\n").encode("utf-8")
    buf = io.BytesIO()
    if fmt == "graphml":
        h = _export_copy(g, scalar=True, edge_key=lambda u, v, key: f"e{u}-{v}-{key}")
        nx.write_graphml(h, buf, encoding="utf-8")
        return buf.getvalue()
    h = _export_copy(g, scalar=True, edge_rename={"type": "edge_type"}, graph_attributes=False)
    h.graph["name"] = str(g.graph.get("conversation_id", ""))
    nx.write_gexf(h, buf, encoding="utf-8")
    # networkx stamps the day of writing; leave it out so that a rerun writes the same bytes.
    return re.sub(rb' lastmodifieddate="[^"]*"', b"", buf.getvalue(), count=1)


def _export_copy(g: nx.MultiDiGraph, *, scalar: bool, edge_key=None, edge_rename: Mapping[str, str] | None = None,
                 graph_attributes: bool = True) -> nx.MultiDiGraph:
    value = _scalar if scalar else (lambda v: v)
    h = nx.MultiDiGraph()
    if graph_attributes:
        h.graph.update({k: value(v) for k, v in g.graph.items()})
    for n, d in g.nodes(data=True):
        h.add_node(n, **{("turn_id" if k == "id" else k): value(v) for k, v in d.items()})
    rename = edge_rename or {}
    for u, v, key, d in g.edges(keys=True, data=True):
        h.add_edge(u, v, key=edge_key(u, v, key) if edge_key else key,
                   **{rename.get(k, k): value(x) for k, x in d.items()})
    return h


def _scalar(value: Any) -> str | int | float | bool:
    """A GraphML/GEXF-safe value: str, int, float and bool stay; anything else becomes JSON."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise GraphError(f"graph attribute value of type {type(value).__name__} cannot be written; expected JSON data")
