"""Move graphs: edges, fallbacks, measures and export, on hand-built conversations."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import networkx as nx
import pytest

from convmaint.errors import ConfigError, ConvmaintError
from convmaint.graph import EDGE_TYPES, GraphError, flat_measures, graph_measures, move_graph, write_graph
from convmaint.model import Conversation, Move, Role, Turn

ROOT = Path(__file__).resolve().parents[1]
ROLE_OF = {"A": "human", "B": "model", "C": "human"}


def conv(speakers: str, *, cid: str = "c1", **kwargs) -> Conversation:
    """A conversation whose turn i is spoken by speakers[i] (A human, B model, C human)."""
    turns = tuple(Turn(i, f"t{i}", s, ROLE_OF[s], f"turn {i} text") for i, s in enumerate(speakers))
    return Conversation(cid, turns, **kwargs)


def mv(label: str, turn: int, target: int | None = None, **attributes) -> Move:
    return Move(label, turn, 0, 4, cue=f"cue{turn}", target=target, attributes=attributes, detector="test.v1")


def keys(g: nx.MultiDiGraph, etype: str) -> list[tuple[int, int]]:
    return sorted((u, v) for u, v, k in g.edges(keys=True) if k == etype)


# -- nodes and graph attributes ---------------------------------------------------------------


def test_nodes_carry_turn_and_move_attributes():
    c = conv("AB", metadata={"corpus": "sample"}, source="x.jsonl")
    g = move_graph(c, [mv("repair.self", 0), mv("repair.self", 0), mv("grounding.acknowledgement", 1),
                       mv("clarification.request", 1)])
    assert dict(g.nodes[0]) == {
        "index": 0, "id": "t0", "speaker": "A", "role": "human", "words": 3,
        "labels": ("repair.self",), "labels_str": "repair.self", "n_moves": 2, "n_self_repairs": 2,
    }
    assert g.nodes[1]["labels"] == ("clarification.request", "grounding.acknowledgement")
    assert g.nodes[1]["labels_str"] == "clarification.request;grounding.acknowledgement"
    assert g.nodes[1]["role"] == "model" and isinstance(g.nodes[1]["role"], str)
    assert g.graph["conversation_id"] == "c1" and g.graph["corpus"] == "sample"
    assert g.graph["source"] == "x.jsonl" and g.graph["provenance"] == {} and g.graph["n_turns"] == 2


def test_moves_default_to_conversation_moves():
    c = conv("AB", moves=(mv("clarification.request", 1, 0),))
    assert keys(move_graph(c), "initiates_repair") == [(1, 0)]


def test_next_edges_run_forward():
    g = move_graph(conv("ABA"), [])
    assert sorted(g.edges(keys=True)) == [(0, 1, "next"), (1, 2, "next")]
    d = g.edges[0, 1, "next"]
    assert d["distance"] == -1 and d["label"] == "" and d["type"] == "next" and d["n_moves"] == 0


# -- edges of each type -----------------------------------------------------------------------


def test_clarification_request_points_back_and_gets_an_inferred_answer():
    g = move_graph(conv("ABBA"), [mv("clarification.request", 2, 0)])
    e = g.edges[2, 0, "initiates_repair"]
    assert e["distance"] == 2 and e["label"] == "clarification.request" and e["cue"] == "cue2"
    assert e["detector"] == "test.v1" and not e["fallback"] and e["n_moves"] == 1
    # the first later turn by the trouble-source speaker (A) answers, even with no completion move
    a = g.edges[3, 2, "answers"]
    assert a["inferred"] and a["distance"] == 1 and a["n_moves"] == 0 and a["cue"] == ""
    assert a["label"] == "clarification.request"
    assert keys(g, "clarifies") == [] and keys(g, "repairs") == []


def test_repair_completion_clarifies_answers_and_repairs_the_trouble_source():
    g = move_graph(conv("ABA"), [mv("clarification.request", 1, 0), mv("repair.completion", 2, 1)])
    assert keys(g, "clarifies") == [(2, 1)]
    assert keys(g, "answers") == [(2, 1)]
    assert not g.edges[2, 1, "answers"]["inferred"]
    assert g.edges[2, 1, "answers"]["label"] == "repair.completion"
    assert g.edges[2, 0, "repairs"]["distance"] == 2 and not g.edges[2, 0, "repairs"]["fallback"]


def test_repair_other_and_third_position():
    moves = [mv("repair.other", 1, 0), mv("repair.third_position", 2, 0, via=1)]
    g = move_graph(conv("ABA"), moves)
    assert keys(g, "repairs") == [(1, 0), (2, 0)]
    assert g.edges[2, 0, "repairs"]["label"] == "repair.third_position"
    assert keys(g, "refers_to") == [(2, 1)]
    assert g.edges[2, 1, "refers_to"]["distance"] == 1


def test_self_repair_makes_no_edge():
    g = move_graph(conv("AB"), [mv("repair.self", 0), mv("repair.self", 1, 0)])
    assert nx.number_of_selfloops(g) == 0
    assert sorted(g.edges(keys=True)) == [(0, 1, "next")]
    assert g.nodes[1]["n_self_repairs"] == 1


def test_handoff_resume_and_grounding_edges():
    moves = [
        mv("topic.handoff", 1, 0),
        mv("topic.resume", 4, 1),
        mv("grounding.acknowledgement", 2, 1),
        mv("grounding.repeat", 3, 2),
        mv("grounding.reformulation", 3, 2),  # same link: merged into one edge
        mv("grounding.follow_up", 4, 3),
        mv("grounding.completion", 5, 4),
        mv("topic.shift", 2),
        mv("topic.close", 5),
    ]
    g = move_graph(conv("ABABAB"), moves)
    assert keys(g, "hands_off") == [(1, 0)]
    assert g.edges[4, 1, "resumes"]["distance"] == 3
    assert keys(g, "acknowledges") == [(2, 1), (3, 2), (4, 3), (5, 4)]
    merged = g.edges[3, 2, "acknowledges"]
    assert merged["n_moves"] == 2 and merged["label"] == "grounding.reformulation"  # first by label order
    assert sum(1 for *_, k in g.edges(keys=True) if k != "next") == 6  # shift/close make none


def test_antecedent_attributes_make_refers_to_edges():
    moves = [
        mv("repair.self", 2, reference=True, antecedent_turn=0),
        mv("repair.other", 3, 2, reference=True, refers_to=1),
        mv("repair.self", 1, antecedent_turn=1),  # same-turn antecedent: no edge
    ]
    g = move_graph(conv("ABAB"), moves)
    assert keys(g, "refers_to") == [(2, 0), (3, 1)]
    assert g.edges[2, 0, "refers_to"]["label"] == "repair.self"


def test_graph_does_not_depend_on_move_order(tmp_path):
    moves = [mv("clarification.request", 1, 0), mv("repair.completion", 2, 1), mv("grounding.repeat", 3, 2),
             mv("grounding.acknowledgement", 3, 2), mv("topic.handoff", 3), mv("repair.self", 0)]
    shuffled = moves[:]
    random.Random(7).shuffle(shuffled)
    a, b = move_graph(conv("ABAB"), moves), move_graph(conv("ABAB"), shuffled)
    assert nx.utils.graphs_equal(a, b)
    pa = write_graph(a, tmp_path / "a.json", format="json")
    pb = write_graph(b, tmp_path / "b.json", format="json")
    assert pa.read_bytes() == pb.read_bytes()


# -- fallbacks ------------------------------------------------------------------------------------


def test_missing_target_falls_back_to_previous_turn_by_another_speaker():
    # A A B B: turn 3's previous turn by another speaker is 1 (turn 2 is B's own)
    g = move_graph(conv("AABB"), [mv("grounding.acknowledgement", 3), mv("clarification.request", 2),
                                  mv("topic.handoff", 3), mv("repair.other", 3)])
    for etype in ("acknowledges", "hands_off", "repairs"):
        assert keys(g, etype) == [(3, 1)]
        assert g.edges[3, 1, etype]["fallback"]
    assert keys(g, "initiates_repair") == [(2, 1)] and g.edges[2, 1, "initiates_repair"]["fallback"]


def test_no_fallback_turn_means_no_edge():
    g = move_graph(conv("AA"), [mv("grounding.acknowledgement", 1), mv("clarification.request", 0)])
    assert sorted(g.edges(keys=True)) == [(0, 1, "next")]


def test_resume_without_target_makes_no_edge():
    g = move_graph(conv("ABAB"), [mv("topic.resume", 3)])
    assert keys(g, "resumes") == []


def test_third_position_fallbacks_use_own_earlier_turn():
    g = move_graph(conv("ABCA"), [mv("repair.third_position", 3)])
    # via: previous turn by another speaker (2); target: A's own last turn before it (0)
    assert keys(g, "refers_to") == [(3, 2)] and keys(g, "repairs") == [(3, 0)]
    assert g.edges[3, 0, "repairs"]["fallback"] and g.edges[3, 2, "refers_to"]["fallback"]


def test_completion_fallbacks():
    # no target: the request is the previous turn by another speaker; no request move there, so
    # the trouble source is the completing speaker's last turn before the request
    g = move_graph(conv("ABA"), [mv("repair.completion", 2)])
    assert keys(g, "clarifies") == [(2, 1)] and g.edges[2, 1, "clarifies"]["fallback"]
    assert keys(g, "repairs") == [(2, 0)] and g.edges[2, 0, "repairs"]["fallback"]


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("move", "match"),
    [
        (mv("grounding.acknowledgement", 5, 0), "turn 5 is not a turn"),
        (mv("grounding.acknowledgement", 1, 9), "target 9 is not a turn"),
        (mv("repair.other", 1, 1), "own turn"),
        (mv("repair.third_position", 2, 0, via="t1"), "via 't1' is not a turn index"),
        (mv("repair.self", 1, antecedent_turn=2), "antecedent_turn 2 is after"),
        (mv("repair.other", 1, 0, refers_to=True), "refers_to True is not a turn index"),
    ],
)
def test_bad_turn_references_raise(move, match):
    with pytest.raises(GraphError, match=match) as info:
        move_graph(conv("ABA"), [move])
    assert isinstance(info.value, ConvmaintError)
    assert info.value.record == f"c1 turn {move.turn}"


# -- measures ---------------------------------------------------------------------------------------


def test_clarification_answered_share_half():
    # two requests by B; the first is answered by A's next turn, the second (last turn) never
    g = move_graph(conv("ABAB"), [mv("clarification.request", 1, 0), mv("clarification.request", 3, 2)])
    m = graph_measures(g)
    assert m["n_clarification_requests"] == 2 and m["n_clarification_requests_answered"] == 1
    assert m["clarification_answered_share"] == 0.5


def test_answer_window_k():
    # A's reply comes 4 turns after the request: outside k=3, inside k=4
    g = move_graph(conv("ABBBBA"), [mv("clarification.request", 1, 0)])
    assert g.edges[5, 1, "answers"]["distance"] == 4
    assert graph_measures(g)["clarification_answered_share"] == 0.0
    assert graph_measures(g, k=4)["clarification_answered_share"] == 1.0
    with pytest.raises(ConfigError):
        graph_measures(g, k=0)


def test_repair_sequences():
    moves = [
        # 1 asks about 0; 2 completes; 3 acknowledges: a 3-turn sequence
        mv("clarification.request", 1, 0), mv("repair.completion", 2, 1), mv("grounding.acknowledgement", 3),
        # 5 asks about 4; 6 replies (inferred); 7 asks again: re-opened, no acceptance
        mv("clarification.request", 5, 4), mv("clarification.request", 7, 6),
        # 8 is A's reply to 7; B never speaks again: no acceptance
    ]
    g = move_graph(conv("ABABABABA"), moves)
    m = graph_measures(g)
    seqs = m["repair_sequences"]
    assert [(s["initiation"], s["completion"], s["acceptance"], s["length"]) for s in seqs] == [
        (1, 2, 3, 3), (5, 6, None, 2), (7, 8, None, 2)]
    assert seqs[0]["acceptance_kind"] == "acknowledged" and seqs[0]["trouble_source"] == 0
    assert seqs[0]["initiator_role"] == "model"
    assert m["n_repair_sequences"] == 3
    assert m["mean_repair_sequence_length"] == pytest.approx(7 / 3)


def test_repair_sequence_accepted_by_continuing():
    g = move_graph(conv("ABAB"), [mv("clarification.request", 1, 0)])
    (seq,) = graph_measures(g)["repair_sequences"]
    assert seq["acceptance"] == 3 and seq["acceptance_kind"] == "continued" and seq["length"] == 3


def test_unanswered_request_is_not_a_sequence():
    m = graph_measures(move_graph(conv("AB"), [mv("clarification.request", 1, 0)]))
    assert m["repair_sequences"] == [] and m["mean_repair_sequence_length"] is None
    assert m["clarification_answered_share"] == 0.0


def test_topic_segments_opened_by_different_roles():
    g = move_graph(conv("ABABAB"), [mv("topic.shift", 2), mv("topic.shift", 3), mv("topic.shift", 0)])
    m = graph_measures(g)
    assert m["topic_segments"] == [(0, 1, "A", "human"), (2, 2, "A", "human"), (3, 5, "B", "model")]
    assert m["n_topic_segments"] == 3
    assert m["segments_opened_by_role"] == {"human": 2, "model": 1}
    flat = flat_measures(g)
    opened = [flat[f"segments_opened_by_{r}"] for r in ("human", "model", "unknown")]
    assert opened == [2, 1, 0]


@pytest.mark.parametrize(
    ("speakers", "handoffs", "expected", "by_role"),
    [
        ("ABAB", [1, 2], 1.0, {"human": 1, "model": 1}),
        ("ABAB", [1, 3], 0.5, {"human": 0, "model": 2}),
        ("ABAB", [], 0.0, {"human": 0, "model": 0}),
        ("ABC", [1, 2], None, {"human": 1, "model": 1}),
    ],
)
def test_handoff_reciprocity(speakers, handoffs, expected, by_role):
    g = move_graph(conv(speakers), [mv("topic.handoff", t) for t in handoffs])
    m = graph_measures(g)
    assert m["handoff_reciprocity"] == expected
    assert m["handoffs_by_role"] == by_role and m["n_handoffs"] == len(handoffs)


def test_backlink_distance():
    g = move_graph(conv("ABAB"), [mv("repair.other", 3, 0), mv("grounding.acknowledgement", 1, 0)])
    m = graph_measures(g)
    assert m["n_backlinks"] == 2 and m["mean_backlink_distance"] == 2.0  # (3 + 1) / 2; next excluded
    assert graph_measures(move_graph(conv("AB"), []))["mean_backlink_distance"] is None


def test_flat_measures_are_scalar_with_fixed_keys():
    a = flat_measures(move_graph(conv("ABAB"), [mv("clarification.request", 1, 0), mv("topic.handoff", 2)]))
    b = flat_measures(move_graph(conv("A"), []))
    assert list(a) == list(b)
    assert all(v is None or isinstance(v, int | float) for v in a.values())
    assert {f"n_{t}_edges" for t in EDGE_TYPES} <= set(a)
    assert {f"handoffs_by_{r.value}" for r in Role} <= set(a)
    assert a["n_initiates_repair_edges"] == 1 and a["handoffs_by_human"] == 1 and b["handoff_reciprocity"] is None
    pl = pytest.importorskip("polars")
    assert pl.DataFrame([a, b]).height == 2


def test_empty_conversation():
    g = move_graph(Conversation("empty", ()), [])
    m = graph_measures(g)
    assert g.number_of_nodes() == 0 and m["topic_segments"] == [] and m["n_backlinks"] == 0


# -- export -----------------------------------------------------------------------------------------


def _rich_graph() -> nx.MultiDiGraph:
    moves = [
        mv("clarification.request", 1, 0), mv("repair.completion", 2, 1), mv("grounding.acknowledgement", 3),
        mv("repair.self", 0), mv("topic.handoff", 3, 2), mv("repair.third_position", 4, 2, via=3),
    ]
    g = move_graph(conv("ABABA", metadata={"corpus": "sample"}), moves)
    g.graph["provenance"] = {"detectors": ["test.v1"], "lexicons": {"en": "abc123"}}
    return g


def _read(path: Path, fmt: str) -> nx.Graph:
    if fmt == "graphml":
        return nx.read_graphml(path, node_type=int, force_multigraph=True)
    if fmt == "gexf":
        return nx.read_gexf(path, node_type=int)
    return nx.node_link_graph(json.loads(path.read_text("utf-8")), edges="links")


def _edge_types(h: nx.Graph, fmt: str) -> list[tuple[int, int, str]]:
    field = "edge_type" if fmt == "gexf" else "type"
    return sorted((u, v, d[field]) for u, v, d in h.edges(data=True))


@pytest.mark.parametrize("fmt", ["graphml", "gexf", "json"])
def test_export_round_trip_and_byte_identical(tmp_path, fmt):
    g = _rich_graph()
    path = write_graph(g, tmp_path / "out" / f"c1.{fmt}", format=fmt)
    first = path.read_bytes()
    h = _read(path, fmt)
    assert sorted(h.nodes) == sorted(g.nodes)
    assert _edge_types(h, fmt) == sorted(g.edges(keys=True))
    for n in g.nodes:
        assert h.nodes[n]["turn_id"] == g.nodes[n]["id"] and h.nodes[n]["speaker"] == g.nodes[n]["speaker"]
        assert h.nodes[n]["labels_str"] == g.nodes[n]["labels_str"]
        labels = h.nodes[n]["labels"]
        assert tuple(json.loads(labels) if isinstance(labels, str) else labels) == g.nodes[n]["labels"]
    for u, v, d in h.edges(data=True):
        assert isinstance(d["distance"], int) and d["distance"] == u - v
        assert isinstance(d["inferred"], bool)
    # a second write gives the same bytes, leaves no temporary file, and does not touch g
    write_graph(g, path, format=fmt)
    assert path.read_bytes() == first
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert g.nodes[0]["id"] == "t0" and isinstance(g.nodes[0]["labels"], tuple)
    assert isinstance(g.graph["provenance"], dict)


def test_graphml_keys_and_graph_attributes(tmp_path):
    g = _rich_graph()
    h = _read(write_graph(g, tmp_path / "c1.graphml"), "graphml")
    assert ("e2-1-clarifies") in {k for *_, k in h.edges(keys=True)}
    assert len({k for *_, k in h.edges(keys=True)}) == h.number_of_edges()  # unique GraphML ids
    assert h.graph["conversation_id"] == "c1" and h.graph["corpus"] == "sample"
    assert json.loads(h.graph["provenance"]) == g.graph["provenance"]
    assert h.graph["source"] == "null"


def test_gexf_has_no_date_and_keeps_parallel_edges(tmp_path):
    path = write_graph(_rich_graph(), tmp_path / "c1.gexf", format="gexf")
    assert "lastmodifieddate" not in path.read_text("utf-8")
    h = nx.read_gexf(path, node_type=int)
    assert h.is_multigraph()  # clarifies and answers share (2, 1)
    assert {k for u, v, k in h.edges(keys=True) if (u, v) == (2, 1)} == {"clarifies", "answers"}
    assert h.graph["name"] == "c1"


def test_json_keeps_structures(tmp_path):
    g = _rich_graph()
    h = _read(write_graph(g, tmp_path / "c1.json", format="json"), "json")
    assert h.graph == g.graph
    assert h.edges[2, 1, "answers"] == g.edges[2, 1, "answers"]
    assert h.nodes[0]["labels"] == ["repair.self"] and h.nodes[0]["turn_id"] == "t0"


def test_write_graph_rejects_unknown_format_and_values(tmp_path):
    g = _rich_graph()
    with pytest.raises(ConfigError, match="unknown graph format 'dot'"):
        write_graph(g, tmp_path / "c1.dot", format="dot")  # type: ignore[arg-type]
    g.graph["provenance"] = {"bad": object()}
    with pytest.raises(GraphError, match="object"):
        write_graph(g, tmp_path / "c1.graphml")
    assert list(tmp_path.iterdir()) == []


# -- documentation -------------------------------------------------------------------------------


def test_docs_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "graphs.md").read_text("utf-8")
    (snippet,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "docs/graphs.md", "exec"), {})
    assert nx.read_graphml(tmp_path / "demo.graphml", node_type=int, force_multigraph=True).number_of_nodes() == 4


def test_docs_and_docstring_list_every_attribute():
    import convmaint.graph as module

    g = _rich_graph()
    text = (ROOT / "docs" / "graphs.md").read_text("utf-8")
    node_attrs = set(g.nodes[0])
    edge_attrs = {a for *_, d in g.edges(data=True) for a in d}
    for attr in node_attrs | edge_attrs | set(g.graph):
        assert f"`{attr}`" in text, attr
        assert f"``{attr}``" in module.__doc__, attr
    for etype in EDGE_TYPES:
        assert f"`{etype}`" in text and f"``{etype}``" in module.__doc__


def test_node_link_json_is_json_dumps_of_node_link_data():
    """The templates for move_graph's nodes and edges write what json.dumps writes for them; other
    attributes (added by a user, a NaN score, a non-ASCII speaker) take json.dumps itself."""
    from convmaint.graph import _export_copy, _json_default, node_link_json

    c = Conversation("c\u00e9", tuple(Turn(i, f"t{i}", s, ROLE_OF[s], f"turn {i} \u201cq\u201d")
                                       for i, s in enumerate("ABAB")), metadata={"corpus": "x"})
    moves = [Move("clarification.request", 1, 0, 4, cue='say "what"', target=0, detector="t.v1", score=0.25),
             Move("repair.completion", 2, 0, 4, target=1, detector="t.v1"),
             Move("grounding.acknowledgement", 3, 0, 4, detector="t.v1")]
    g = move_graph(c, moves)

    def reference(h):
        data = nx.node_link_data(_export_copy(h, scalar=False), edges="links")
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)

    assert node_link_json(g) == reference(g)
    g.nodes[0]["extra"] = {"k": [1, 2]}
    g.nodes[1]["speaker"] = "B\u00fc"
    g.edges[1, 0, "initiates_repair"]["score"] = float("nan")
    g.edges[0, 1, "next"]["note"] = None
    assert node_link_json(g) == reference(g)
    assert '"extra":{"k":[1,2]}' in node_link_json(g) and "NaN" in node_link_json(g)


def test_graph_row_is_flat_measures_and_json_of_move_graph():
    """analyze's per-conversation path (no networkx) gives what the networkx graph gives."""
    from convmaint.graph import graph_row, node_link_json

    c = conv("ABABAB")
    moves = [mv("clarification.request", 1, 0), mv("repair.completion", 2, 1), mv("grounding.acknowledgement", 3),
             mv("clarification.request", 4), mv("topic.handoff", 5, 4), mv("repair.self", 5)]
    g = move_graph(c, moves)
    assert graph_row(c, moves) == (flat_measures(g), node_link_json(g))
    assert graph_row(c, []) == (flat_measures(move_graph(c, [])), node_link_json(move_graph(c, [])))
    # the builder shares one dict among its "next" edges; each networkx edge has its own
    g.edges[0, 1, "next"]["n_moves"] = 5
    assert g.edges[1, 2, "next"]["n_moves"] == 0 and move_graph(c, moves).edges[0, 1, "next"]["n_moves"] == 0
