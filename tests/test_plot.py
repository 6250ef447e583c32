"""Paper figures: the returned Axes, the companion data tables, the written files, no global state."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import hashlib  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PatchCollection, PathCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

from convmaint import plot as P  # noqa: E402
from convmaint import stats  # noqa: E402
from convmaint._version import __version__  # noqa: E402
from convmaint.errors import ConfigError, ConvmaintError  # noqa: E402
from convmaint.model import Conversation, Move, Role, Turn  # noqa: E402

H, M = Role.HUMAN, Role.MODEL


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def _no_show(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("plot functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", fail)


def _conv(cid, corpus, speakers, roles, texts):
    turns = tuple(Turn(i, f"t{i}", s, r, t) for i, (s, r, t) in enumerate(zip(speakers, roles, texts)))
    return Conversation(cid, turns, metadata={"corpus": corpus})


def _chat():
    """A user–assistant chat with a clarification sequence and an acknowledgement."""
    conv = _conv("c1", "chat", ["user", "assistant"] * 3, [H, M] * 3, [
        "can you fix my script", "which script do you mean?", "the one that reads the csv",
        "ok, here is a fix", "got it thanks, by the way how do I plot it", "use matplotlib",
    ])
    moves = [
        Move("clarification.request", 1, 0, 25, cue="which", target=0),
        Move("repair.completion", 2, 0, 26, target=1),
        Move("grounding.acknowledgement", 3, 0, 2, target=2),
        Move("grounding.acknowledgement", 4, 0, 6, target=3),
        Move("topic.shift", 4, 14, 42, cue="by the way"),
        Move("repair.self", 4, 0, 6),
    ]
    return conv, moves


def _talk():
    """Two people talking, with a self-repair, a topic shift and a hand-off."""
    conv = _conv("c2", "talk", ["A", "B", "A", "B"], [H] * 4, [
        "I went on Tuesday, no, Wednesday", "uh-huh", "anyway, how was your trip", "great, and yours?",
    ])
    moves = [
        Move("repair.self", 0, 10, 33),
        Move("grounding.acknowledgement", 1, 0, 6, target=0),
        Move("topic.shift", 2, 0, 7, cue="anyway"),
        Move("topic.handoff", 3, 7, 17, target=2),
    ]
    return conv, moves


@pytest.fixture
def items():
    convs = [_chat(), _talk()]
    # a second chat so that every group has more than one bootstrap unit
    c3 = _conv("c3", "chat", ["user", "assistant"], [H, M],
               ["what is a p value", "a probability, do you mean one-sided?"])
    convs.append((c3, [Move("clarification.request", 1, 15, 37, target=0)]))
    return convs


@pytest.fixture
def rates_df(items):
    return stats.rates(stats.tables(items)["conversation_roles"], n_boot=50)


@pytest.fixture
def compare_df():
    labels = ["repair.self", "clarification.request", "topic.shift", "grounding.acknowledgement"]
    rows = []
    for design in ("within", "between"):
        for lab, ratio, p_holm in zip(labels, [4.0, 0.25, 1.1, 8.0], [0.001, 0.02, 0.8, float("nan")]):
            rows.append({"design": design, "label": lab, "units_human": 5, "units_model": 5, "count_human": 4,
                         "count_model": 2, "rate_human": 10.0, "rate_model": 10.0 / ratio, "rate_ratio": ratio,
                         "ratio_low": ratio / 2, "ratio_high": ratio * 2, "p": 0.01, "cohens_d": 0.5,
                         "per": "turns", "p_holm": p_holm})
    return pl.DataFrame(rows)


def _graph():
    """A move graph as convmaint.graph.move_graph describes it (keys and ``type`` are the edge type)."""
    conv, moves = _chat()
    g = nx.MultiDiGraph()
    for t in conv.turns:
        g.add_node(t.index, index=t.index, speaker=t.speaker, role=t.role.value, words=t.n_words,
                   labels=tuple(sorted({m.label for m in moves if m.turn == t.index})))
    for i in range(len(conv.turns) - 1):
        g.add_edge(i, i + 1, key="next", type="next")
    for u, v, kind in [(1, 0, "initiates_repair"), (2, 1, "clarifies"), (2, 0, "repairs"), (2, 1, "answers"),
                       (3, 2, "acknowledges"), (4, 3, "acknowledges")]:
        g.add_edge(u, v, key=kind, type=kind)
    return g


def _rc_snapshot():
    return {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}


# ----------------------------------------------------------------------------------- style


def test_palette_is_fixed_and_okabe_ito():
    assert P.ROLE_COLORS["human"] == "#E69F00" and P.ROLE_COLORS["model"] == "#0072B2"
    assert set(P.FAMILY_COLORS) == {"repair", "clarification", "topic", "grounding"}
    okabe = set(P.OKABE_ITO.values())
    assert set(P.FAMILY_COLORS.values()) <= okabe
    assert len(set(P.FAMILY_COLORS.values())) == 4
    style = P.paper_style()
    assert 8 <= style["font.size"] <= 9 and style["axes.spines.top"] is False and style["pdf.fonttype"] == 42


@pytest.mark.parametrize("call", [
    lambda d: P.plot_rates(d["rates"]),
    lambda d: P.plot_rate_ratios(d["compare"]),
    lambda d: P.plot_timeline(*_chat()),
    lambda d: P.plot_move_graph(_graph()),
    lambda d: P.plot_topic_segments(d["items"]),
])
def test_no_global_state_changes(call, rates_df, compare_df, items):
    before = _rc_snapshot()
    ax = call({"rates": rates_df, "compare": compare_df, "items": items})
    assert _rc_snapshot() == before
    assert ax.figure.get_figwidth() in (3.35, 7.0)
    # ticks were made inside the style: 8 pt labels
    assert {t.get_fontsize() for t in ax.get_xticklabels()} == {8.0}


def test_draws_into_a_given_axes_without_new_figures(rates_df):
    fig, ax = plt.subplots()
    n = len(plt.get_fignums())
    assert P.plot_rates(rates_df, ax=ax) is ax
    assert len(plt.get_fignums()) == n
    assert not ax.spines["top"].get_visible()


def test_widths(rates_df):
    assert P.plot_rates(rates_df).figure.get_figwidth() == 3.35
    assert P.plot_rates(rates_df, width="two").figure.get_figwidth() == 7.0
    with pytest.raises(ConfigError, match="width"):
        P.plot_rates(rates_df, width="three")


# ----------------------------------------------------------------------------------- rates


def test_plot_rates_groups_by_corpus_and_role(rates_df):
    data = P.plot_rates_data(rates_df)
    assert set(data["group"]) == {"chat / human", "chat / model", "talk / human"}
    ax = P.plot_rates(rates_df)
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 3
    n_labels = data["label"].n_unique()
    assert all(len(b.lines[0].get_xdata()) == n_labels for b in bars)
    # each label's groups are dodged: distinct y positions within a row
    ys = sorted({round(float(y), 3) for b in bars for y in b.lines[0].get_ydata()})
    assert len(ys) == 3 * n_labels
    # colours follow the fixed role mapping; shapes the corpus
    colours = {matplotlib.colors.to_hex(b.lines[0].get_color()).upper() for b in bars}
    assert colours == {P.ROLE_COLORS["human"], P.ROLE_COLORS["model"]}
    assert len({b.lines[0].get_marker() for b in bars}) == 2
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"human", "model", "chat", "talk"} <= set(texts)
    assert ax.get_xlabel() == "Moves per 100 turns"


def test_plot_rates_taxonomy_order_and_family_headers(rates_df):
    ax = P.plot_rates(rates_df, labels=["topic.shift", "repair.self", "grounding.acknowledgement"])
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["repair", "self", "topic", "shift", "grounding", "acknowledgement"]
    bold = [t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == ["repair", "topic", "grounding"]
    data = P.plot_rates_data(rates_df, labels=["topic.shift", "repair.self", "grounding.acknowledgement"])
    assert data["label"].unique(maintain_order=True).to_list() == ["repair.self", "topic.shift",
                                                                   "grounding.acknowledgement"]


def test_plot_rates_families_and_words(rates_df):
    ax = P.plot_rates(rates_df, per="words", labels=["grounding", "repair"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["repair", "grounding"]
    assert ax.get_xlabel() == "Moves per 1,000 words"
    data = P.plot_rates_data(rates_df, per="words", labels=["grounding", "repair"])
    row = data.filter((pl.col("label") == "repair") & (pl.col("group") == "talk / human"))
    expected = rates_df.filter((pl.col("label") == "repair") & (pl.col("corpus") == "talk"))["per_1000_words"][0]
    assert row["rate"][0] == pytest.approx(expected)


def test_plot_rates_single_group_has_no_legend(rates_df):
    one = rates_df.filter((pl.col("corpus") == "talk"))
    ax = P.plot_rates(one)
    assert ax.get_legend() is None


def test_plot_rates_bad_input(rates_df):
    with pytest.raises(ConfigError, match="per"):
        P.plot_rates(rates_df, per="chars")
    with pytest.raises(ConvmaintError, match="per_100_turns"):
        P.plot_rates(rates_df.drop("per_100_turns"))
    with pytest.raises(ConvmaintError, match="repair.nope"):
        P.plot_rates(rates_df, labels=["repair.nope"])


def test_plot_rates_empty_table():
    ax = P.plot_rates(pl.DataFrame())
    assert any("No rates" in t.get_text() for t in ax.texts)
    assert P.plot_rates_data(pl.DataFrame()).height == 0


# ------------------------------------------------------------------------------ rate ratios


def test_plot_rate_ratios_forest(compare_df):
    ax = P.plot_rate_ratios(compare_df, design="within")
    assert ax.get_xscale() == "log"
    vlines = [ln for ln in ax.lines if list(ln.get_xdata()) == [1.0, 1.0]]
    assert len(vlines) == 1
    lo, hi = ax.get_xlim()
    assert lo < 0.125 and hi > 16 and lo * hi == pytest.approx(1.0)  # symmetric around 1
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["repair", "self *", "clarification", "request *", "topic", "shift", "grounding",
                     "acknowledgement"]
    filled = [ln for ln in ax.lines if ln.get_label() == "significant"][0]
    hollow = [ln for ln in ax.lines if ln.get_label() == "not significant"][0]
    assert len(filled.get_xdata()) == 2 and len(hollow.get_xdata()) == 2  # NaN p_holm counts as not significant
    assert "human / model" in ax.get_xlabel()
    assert len(ax.collections) == 1 and len(ax.collections[0].get_segments()) == 4  # CI whiskers
    hints = [t.get_text() for t in ax.texts]
    assert "← more in model" in hints and "more in human →" in hints


def test_plot_rate_ratios_data(compare_df):
    data = P.plot_rate_ratios_data(compare_df, design="between")
    assert data.height == 4 and set(data["design"]) == {"between"}
    assert data["significant"].to_list() == [True, True, False, False]
    assert {"rate_human", "rate_model", "rate_ratio", "ratio_low", "ratio_high", "p_holm"} <= set(data.columns)
    assert P.plot_rate_ratios_data(compare_df, alpha=0.01)["significant"].to_list() == [True, False, False, False]


def test_plot_rate_ratios_from_stats_compare(items):
    cmp = stats.compare(stats.tables(items)["conversation_roles"], n_boot=50, n_perm=50)
    ax = P.plot_rate_ratios(cmp, design="within")
    assert ax.get_xscale() == "log"
    assert P.plot_rate_ratios_data(cmp, design="within").height == 14


def test_plot_rate_ratios_bad_design(compare_df):
    with pytest.raises(ConfigError):
        P.plot_rate_ratios(compare_df, design="paired")
    with pytest.raises(ConvmaintError, match="designs present: between"):
        P.plot_rate_ratios(compare_df.filter(pl.col("design") == "between"), design="within")


# --------------------------------------------------------------------------------- timeline


def _legend_above_axes(ax):
    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return ax.get_legend().get_window_extent(r).y0 >= ax.get_window_extent(r).y1 - 1


def test_plot_timeline_lanes_boxes_markers_arcs():
    conv, moves = _chat()
    ax = P.plot_timeline(conv, moves)
    boxes = [c for c in ax.collections if isinstance(c, PatchCollection)]
    assert len(boxes) == 1 and len(boxes[0].get_paths()) == len(conv.turns)
    markers = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(c.get_label() for c in markers) == ["clarification", "grounding", "repair", "topic"]
    assert sum(len(c.get_offsets()) for c in markers) == len(moves)
    arcs = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arcs) == sum(m.target is not None for m in moves)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["user", "assistant"]
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in range(6)]
    assert ax.get_xlabel() == "Turn"
    assert _legend_above_axes(ax)
    # moves of one turn do not sit on top of each other
    pts = np.vstack([c.get_offsets() for c in markers])
    assert len({tuple(np.round(p, 6)) for p in pts}) == len(moves)


def test_plot_timeline_box_colours_follow_role():
    conv, moves = _chat()
    ax = P.plot_timeline(conv, moves)
    edges = [matplotlib.colors.to_hex(c[:3]).upper() for c in ax.collections[0].get_edgecolor()]
    assert edges == [P.ROLE_COLORS["human"], P.ROLE_COLORS["model"]] * 3


@pytest.mark.parametrize("n", [4, 60])
def test_plot_timeline_stays_readable(n):
    speakers = ["Ana", "Ben", "Cleo"]
    conv = _conv("long", "x", [speakers[i % 3] for i in range(n)], [H] * n, ["w w w"] * n)
    moves = [Move("grounding.acknowledgement", i, 0, 1, target=i - 1) for i in range(1, n)]
    moves += [Move("repair.other", i, 0, 1, target=i - 2) for i in range(2, n, 5)]
    ax = P.plot_timeline(conv, moves)
    ax.figure.canvas.draw()
    labels = [t for t in ax.get_xticklabels() if t.get_text() and ax.get_xlim()[0] <= t.get_position()[0]
              <= ax.get_xlim()[1]]
    assert 2 <= len(labels) <= 13
    assert _legend_above_axes(ax)


def test_plot_timeline_same_lane_link_and_default_moves():
    conv = _conv("c", "x", ["A", "A", "B"], [H, H, M], ["one", "two", "three"])
    moves = (Move("repair.third_position", 1, 0, 3, target=0),)
    conv = Conversation(conv.id, conv.turns, metadata=conv.metadata, moves=moves)
    ax = P.plot_timeline(conv)  # moves default to conv.moves
    assert len(ax.patches) == 1
    assert ax.get_ylim()[1] < -0.5  # head-room above the top lane for the loop


def test_plot_timeline_rejects_moves_outside_the_conversation():
    conv, moves = _chat()
    with pytest.raises(ConvmaintError, match="turn 9"):
        P.plot_timeline(conv, [*moves, Move("repair.self", 9, 0, 1)])
    with pytest.raises(ConvmaintError, match="targets turn 12"):
        P.plot_timeline_data(conv, [Move("repair.other", 1, 0, 1, target=12)])


def test_plot_timeline_data():
    conv, moves = _chat()
    data = P.plot_timeline_data(conv, moves)
    assert data.filter(pl.col("kind") == "turn").height == 6
    mv = data.filter(pl.col("kind") == "move")
    assert mv.height == 6 and mv["turn"].to_list() == sorted(mv["turn"].to_list())
    assert mv.filter(pl.col("label") == "clarification.request")["target"][0] == 0


# ------------------------------------------------------------------------------- move graph


def test_plot_move_graph_nodes_edges_legend():
    g = _graph()
    ax = P.plot_move_graph(g)
    nodes = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(nodes) == 1 and len(nodes[0].get_offsets()) == g.number_of_nodes()
    xs = list(nodes[0].get_offsets()[:, 0])
    assert xs == sorted(xs)  # conversation order
    faces = {matplotlib.colors.to_hex(c[:3]).upper() for c in nodes[0].get_facecolor()}
    assert faces == {P.ROLE_COLORS["human"], P.ROLE_COLORS["model"]}
    typed = [(u, v, k) for u, v, k in g.edges(keys=True) if k != "next"]
    arcs = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arcs) == len(typed)
    next_lines = [ln for ln in ax.lines if matplotlib.colors.to_hex(ln.get_color()).upper() == P.EDGE_STYLES["next"][0]]
    assert len(next_lines) == 5
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["human turn", "model turn", "next", "repairs", "initiates repair", "clarifies", "answers",
                      "acknowledges"]
    assert {p.get_linestyle() for p in arcs} == {"-", "--"}
    assert _legend_above_axes(ax)


def test_plot_move_graph_data():
    data = P.plot_move_graph_data(_graph())
    nodes = data.filter(pl.col("kind") == "node")
    edges = data.filter(pl.col("kind") == "edge")
    assert nodes.height == 6 and edges.height == 11
    assert nodes.filter(pl.col("source") == "1")["labels"][0] == "clarification.request"
    assert sorted(set(edges["type"])) == ["acknowledges", "answers", "clarifies", "initiates_repair", "next",
                                          "repairs"]


def test_plot_move_graph_from_convmaint_graph():
    graph = pytest.importorskip("convmaint.graph")
    conv, moves = _chat()
    g = graph.move_graph(conv, moves)
    ax = P.plot_move_graph(g)
    typed = [k for *_, k in g.edges(keys=True) if k != "next"]
    assert len([p for p in ax.patches if isinstance(p, FancyArrowPatch)]) == len(typed)
    assert P.plot_move_graph_data(g).filter(pl.col("kind") == "node").height == len(conv.turns)


def test_plot_move_graph_empty():
    ax = P.plot_move_graph(nx.MultiDiGraph())
    assert any("No turns" in t.get_text() for t in ax.texts)


# --------------------------------------------------------------------------- topic segments


def test_plot_topic_segments_bars_and_shift_markers(items):
    ax = P.plot_topic_segments(items)
    data = P.plot_topic_segments_data(items)
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == data.height
    shifts = data.filter(pl.col("shift"))
    markers = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(markers) == 1 and len(markers[0].get_offsets()) == shifts.height == 2
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["chat", "c1", "c3", "talk", "c2"]  # corpus headers when there are several corpora
    # alternating shades inside one conversation
    c1 = data.filter(pl.col("conversation") == "c1")
    assert c1["start"].to_list() == [0, 4] and c1["end"].to_list() == [4, 6]
    assert c1["opener_role"].to_list() == ["human", "human"]
    faces = [matplotlib.colors.to_hex(b.get_facecolor()) for b in bars[:2]]
    assert faces[0] != faces[1]


def test_plot_topic_segments_accepts_tables(items):
    from_items = P.plot_topic_segments_data(items)
    t = stats.tables(items)
    from_dict = P.plot_topic_segments_data(t)
    from_frames = P.plot_topic_segments_data(t["moves"], t["turns"])
    cols = ["corpus", "conversation", "segment", "start", "end", "opener_role", "shift"]
    key = ["corpus", "conversation", "segment"]
    assert from_dict.select(cols).sort(key).equals(from_items.select(cols).sort(key))
    assert from_frames.select(cols).sort(key).equals(from_items.select(cols).sort(key))
    with pytest.raises(ConvmaintError, match="turns table"):
        P.plot_topic_segments(t["moves"])
    with pytest.raises(ConvmaintError, match="Conversation, moves"):
        P.plot_topic_segments([("not", "a pair")])


def test_plot_topic_segments_truncates_with_a_note():
    many = [(_conv(f"k{i}", "x", ["A", "B"] * 3, [H, M] * 3, ["a"] * 6), [Move("topic.shift", 3, 0, 1)])
            for i in range(35)]
    ax = P.plot_topic_segments(many, max_rows=30)
    assert len(ax.get_yticklabels()) == 30
    assert any("first 30 of 35" in t.get_text() for t in ax.texts)
    data = P.plot_topic_segments_data(many, max_rows=30)
    assert data["row"].n_unique() == 30 and data["n_conversations"][0] == 35
    shift_colour = matplotlib.colors.to_hex(ax.collections[-1].get_facecolor()[0][:3]).upper()
    assert shift_colour == P.ROLE_COLORS["model"]  # turn 3 is the model's


def test_plot_topic_segments_relative():
    ax = P.plot_topic_segments([_talk()], relative=True)
    assert ax.get_xlim() == (0.0, 1.0)
    assert "fraction" in ax.get_xlabel()


# ---------------------------------------------------------------------------------- saving


def test_save_figure_writes_all_formats_and_csv(tmp_path, rates_df):
    ax = P.plot_rates(rates_df)
    data = P.plot_rates_data(rates_df)
    before = _rc_snapshot()
    paths = P.save_figure(ax, tmp_path / "figs" / "rates", data=data)
    assert _rc_snapshot() == before
    assert [p.rsplit(".", 1)[1] for p in paths] == ["pdf", "svg", "png", "csv"]
    for p in paths:
        assert (tmp_path / "figs" / p.rsplit("/", 1)[1]).stat().st_size > 0
    pdf = (tmp_path / "figs" / "rates.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and f"convmaint {__version__}".encode() in pdf
    assert b"CreationDate" not in pdf
    svg = (tmp_path / "figs" / "rates.svg").read_text()
    assert "<svg" in svg and f"convmaint {__version__}" in svg and "dc:date" not in svg
    assert 'width="241.2pt"' in svg  # exactly one column wide
    assert (tmp_path / "figs" / "rates.png").read_bytes().startswith(b"\x89PNG")
    back = pl.read_csv(tmp_path / "figs" / "rates.csv")
    assert back.height == data.height and back.columns == data.columns
    assert sorted(f.name for f in (tmp_path / "figs").iterdir()) == ["rates.csv", "rates.pdf", "rates.png",
                                                                     "rates.svg"]  # no temp files left


def test_save_figure_is_byte_stable(tmp_path, compare_df):
    def digest(stem):
        ax = P.plot_rate_ratios(compare_df)
        paths = P.save_figure(ax.figure, tmp_path / stem, data=P.plot_rate_ratios_data(compare_df))
        plt.close(ax.figure)
        return [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths]

    assert digest("a") == digest("b")


def test_save_figure_options(tmp_path):
    fig, ax = plt.subplots()  # a caller's figure without a layout engine
    ax.plot([0, 1], [0, 1])
    paths = P.save_figure(ax, tmp_path / "line.pdf", formats=("svg",))
    assert paths == [str(tmp_path / "line.svg")]
    with pytest.raises(ConfigError, match="eps"):
        P.save_figure(fig, tmp_path / "x", formats=("eps",))
    with pytest.raises(ConfigError):
        P.save_figure("not a figure", tmp_path / "x")  # type: ignore[arg-type]
