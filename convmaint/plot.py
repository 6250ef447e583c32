"""Paper figures: move rates, rate ratios, conversation timelines, move graphs and topic segments.

Every plotting function takes ordinary objects (polars tables from :mod:`convmaint.stats`,
conversations and moves, networkx graphs), accepts ``ax=None`` and returns the Axes. The paper
style is applied only inside :func:`matplotlib.rc_context`, so nothing global changes. Each
``plot_x`` has a companion ``plot_x_data`` that returns the numbers it draws, and
:func:`save_figure` writes PDF, SVG and PNG with that table beside them as CSV.

Example:
    >>> import convmaint
    >>> from convmaint import stats
    >>> from convmaint.plot import plot_rates, plot_rates_data, save_figure
    >>> items = [(c, c.gold) for c in convmaint.load("corpora/gold")]  # doctest: +SKIP
    >>> r = stats.rates(stats.tables(items)["conversation_roles"])  # doctest: +SKIP
    >>> ax = plot_rates(r)  # doctest: +SKIP
    >>> save_figure(ax, "figs/rates", data=plot_rates_data(r))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import matplotlib as mpl
import numpy as np
import polars as pl
from matplotlib import font_manager
from matplotlib.collections import PatchCollection
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from convmaint._version import __version__
from convmaint.errors import ConfigError, ConvmaintError
from convmaint.model import FAMILIES, LABELS, Conversation, Move

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "EDGE_STYLES",
    "FAMILY_COLORS",
    "FAMILY_MARKERS",
    "OKABE_ITO",
    "ROLE_COLORS",
    "WIDTHS",
    "paper_style",
    "plot_move_graph",
    "plot_move_graph_data",
    "plot_rate_ratios",
    "plot_rate_ratios_data",
    "plot_rates",
    "plot_rates_data",
    "plot_timeline",
    "plot_timeline_data",
    "plot_topic_segments",
    "plot_topic_segments_data",
    "save_figure",
]

# ------------------------------------------------------------------------------------------ style

#: The Okabe–Ito palette (Okabe & Ito 2008), safe for the common colour-vision deficiencies.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Fixed role colours, the same in every figure.
ROLE_COLORS: dict[str, str] = {"human": OKABE_ITO["orange"], "model": OKABE_ITO["blue"], "unknown": "#8C8C8C"}
#: Fixed move-family colours, the same in every figure.
FAMILY_COLORS: dict[str, str] = {
    "repair": OKABE_ITO["vermillion"],
    "clarification": OKABE_ITO["reddish_purple"],
    "topic": OKABE_ITO["bluish_green"],
    "grounding": OKABE_ITO["sky_blue"],
}
#: Marker per family, so families stay apart in greyscale too.
FAMILY_MARKERS: dict[str, str] = {"repair": "s", "clarification": "D", "topic": "^", "grounding": "o"}
#: Colour and line style per move-graph edge type (colour follows the move family of the edge).
EDGE_STYLES: dict[str, tuple[str, str]] = {
    "next": ("#BFBFBF", "-"),
    "repairs": (FAMILY_COLORS["repair"], "-"),
    "initiates_repair": (FAMILY_COLORS["repair"], "--"),
    "clarifies": (FAMILY_COLORS["clarification"], "-"),
    "answers": (FAMILY_COLORS["clarification"], "--"),
    "hands_off": (FAMILY_COLORS["topic"], "-"),
    "resumes": (FAMILY_COLORS["topic"], "--"),
    "acknowledges": (FAMILY_COLORS["grounding"], "-"),
    "refers_to": ("#555555", ":"),
}
#: Figure widths in inches: one and two columns of a two-column paper.
WIDTHS: dict[str, float] = {"one": 3.35, "two": 7.0}

_ROLE_ORDER = ("human", "model", "unknown")
_CORPUS_MARKERS = ("o", "s", "^", "D", "v", "P")
_OTHER_COLORS = (OKABE_ITO["bluish_green"], OKABE_ITO["vermillion"], OKABE_ITO["reddish_purple"],
                 OKABE_ITO["sky_blue"], OKABE_ITO["black"])
_SANS = ("Arial", "Helvetica", "Liberation Sans", "Nimbus Sans", "TeX Gyre Heros", "DejaVu Sans")
_INK = "#222222"


def _sans_fonts() -> list[str]:
    # Name concrete installed families: a generic "sans-serif" would be resolved again at draw
    # time from the global rcParams, outside our rc_context; missing names would log warnings.
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return [f for f in _SANS if f in installed] or ["DejaVu Sans"]


def paper_style() -> dict[str, Any]:
    """The rcParams of the paper style, for ``matplotlib.rc_context(paper_style())``.

    Sans text at 8–9 pt, thin spines without top and right, no frames or grids, the Okabe–Ito
    colour cycle, TrueType fonts in PDF, text kept as text in SVG, and a fixed SVG hash salt so
    that saved files are byte-stable.
    """
    return {
        "font.family": _sans_fonts(),
        "font.size": 8,
        "axes.titlesize": 9,
        "axes.labelsize": 8,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
        "legend.title_fontsize": 8,
        "legend.frameon": False,
        "legend.handlelength": 1.4,
        "legend.handletextpad": 0.4,
        "legend.columnspacing": 1.0,
        "legend.borderaxespad": 0.2,
        "axes.linewidth": 0.6,
        "axes.edgecolor": _INK,
        "axes.labelcolor": _INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": False,
        "axes.titlelocation": "left",
        "axes.prop_cycle": mpl.cycler(color=[OKABE_ITO[k] for k in
                                             ("blue", "orange", "bluish_green", "vermillion", "reddish_purple",
                                              "sky_blue", "yellow", "black")]),
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.minor.width": 0.4,
        "ytick.minor.width": 0.4,
        "xtick.major.size": 3,
        "ytick.major.size": 3,
        "xtick.minor.size": 1.5,
        "ytick.minor.size": 1.5,
        "xtick.color": _INK,
        "ytick.color": _INK,
        "lines.linewidth": 1.0,
        "lines.markersize": 4,
        "patch.linewidth": 0.6,
        "text.color": _INK,
        "figure.dpi": 100,
        "savefig.dpi": 300,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "none",
        "svg.hashsalt": "convmaint",
        "path.simplify": True,
    }


def _figure_width(width: str) -> float:
    if width not in WIDTHS:
        raise ConfigError(f"width must be one of {', '.join(map(repr, WIDTHS))}, not {width!r}")
    return WIDTHS[width]


def _new_axes(ax: Axes | None, width: str, height: float) -> Axes:
    """The given Axes, or a new constrained-layout figure of the paper width (pyplot-managed, so it
    displays in notebooks)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=(_figure_width(width), height), layout="constrained")
    return new


def _finish(ax: Axes, *, hide_y: bool = False) -> Axes:
    """Apply the axes part of the style explicitly (so a caller's own Axes get it too) and create
    the tick objects now, inside the rc_context: ticks made later would take global rcParams."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(0.6)
        ax.spines[side].set_color(_INK)
    ax.tick_params(which="major", width=0.6, length=3, labelsize=8, colors=_INK)
    ax.tick_params(which="minor", width=0.4, length=1.5)
    if hide_y:  # label axes: the labels are enough, guide lines replace ticks
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", which="both", length=0, pad=2)
    for axis in (ax.xaxis, ax.yaxis):
        axis.get_major_ticks()
        axis.get_minor_ticks()
    return ax


def _no_data(ax: Axes, what: str) -> Axes:
    ax.text(0.5, 0.5, f"No {what} to plot", transform=ax.transAxes, ha="center", va="center", color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])
    return _finish(ax)


def _require(df: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ConvmaintError(
            f"{what} table lacks column(s) {', '.join(missing)}; expected the output of "
            f"convmaint.stats (columns present: {', '.join(df.columns) or 'none'})"
        )


def _label_key(label: str) -> tuple[int, int, str]:
    """Taxonomy order; a family name sorts just before its own labels, unknown names last."""
    family = label.split(".", 1)[0]
    fam_i = FAMILIES.index(family) if family in FAMILIES else len(FAMILIES)
    if label in FAMILIES:
        return (fam_i, 0, label)
    return (fam_i, 1 + LABELS.index(label) if label in LABELS else 1 + len(LABELS), label)


def _label_rows(chosen: Sequence[str]) -> list[tuple[str | None, str, bool]]:
    """Rows of a label axis as (label or None, text, is_header).

    Move labels are grouped under a bold header per family and shown by their short name
    ("self", "third position"), which keeps the axis narrow enough for one column. A family that
    is itself plotted (its aggregate rate) is its own header row, "repair (all)".
    """
    if all("." not in lab for lab in chosen):
        return [(lab, lab, False) for lab in chosen]
    rows: list[tuple[str | None, str, bool]] = []
    families = list(dict.fromkeys(lab.split(".", 1)[0] for lab in chosen))
    for fam in families:
        members = [lab for lab in chosen if lab.split(".", 1)[0] == fam and lab != fam]
        rows.append((fam, f"{fam} (all)", True) if fam in chosen else (None, fam, True))
        rows += [(lab, lab.split(".", 1)[1].replace("_", " "), False) for lab in members]
    return rows


def _label_axis(ax: Axes, rows: Sequence[tuple[str | None, str, bool]], *, bottom_pad: float = 0.0) -> dict[str, int]:
    """Put label rows on the y axis (top to bottom) with faint guide lines; returns label → y."""
    ax.set_yticks(range(len(rows)), [text for _, text, _ in rows])
    for tick, (_, _, header) in zip(ax.get_yticklabels(), rows):
        if header:
            tick.set_fontweight("bold")
    for y, (lab, _, _) in enumerate(rows):
        if lab is not None:
            ax.axhline(y, color="#EDEDED", linewidth=0.5, zorder=0)
    ax.set_ylim(len(rows) - 0.5 + bottom_pad, -0.6)
    return {lab: y for y, (lab, _, _) in enumerate(rows) if lab is not None}


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _text_width_in(text: str, size: float = 8.0) -> float:
    """Width of a text line in the style's font, measured from the glyphs (no renderer needed)."""
    from matplotlib.textpath import text_to_path

    if not text:
        return 0.0
    prop = font_manager.FontProperties(family=_sans_fonts(), size=size)
    width, _, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    return width / 72


def _legend_width_in(labels: Sequence[str], ncols: int) -> float:
    em = 8 / 72
    # Columns as matplotlib fills them: the first (n mod ncols) columns take one entry more.
    nrows, n_large = divmod(len(labels), ncols)
    sizes = [nrows + 1] * n_large + [nrows] * (ncols - n_large)
    starts = np.cumsum([0, *sizes])
    cols = [labels[starts[j]:starts[j + 1]] for j in range(ncols)]
    # handle (1.4 em) + its padding (0.4 em) before each label, 1 em between columns, a little slack
    widths = [max(_text_width_in(t) for t in col) + 1.8 * em for col in cols if col]
    return sum(widths) + (len(widths) - 1) * 1.0 * em + 1.6 * em


def _root_figure(ax: Axes) -> Any:
    from matplotlib.figure import SubFigure

    fig = ax.figure
    while isinstance(fig, SubFigure):
        fig = fig.figure
    return fig


def _legend_above(ax: Axes, handles: Sequence[Any], labels: Sequence[str] | None = None, *,
                  left_in: float = 0.45, max_cols: int | None = None, **kwargs: Any) -> None:
    """A frameless legend above the axes, with as many columns as fit the figure's width.

    Left-aligned with the axes when it fits beside the y labels, otherwise right-aligned so that
    it may extend over the label margin (constrained layout then leaves room for it).
    """
    if not handles:
        return
    labels = list(labels) if labels is not None else [h.get_label() for h in handles]
    fig_w = _root_figure(ax).get_figwidth() * ax.get_position().width / 0.775  # share of a full-width axes
    avail = fig_w - 0.12
    ncols = min(len(handles), max_cols or len(handles))
    while ncols > 1 and _legend_width_in(labels, ncols) > avail:
        ncols -= 1
    fits_beside = _legend_width_in(labels, ncols) <= fig_w - left_in - 0.1
    anchor, loc = ((0.0, 1.01), "lower left") if fits_beside else ((1.0, 1.01), "lower right")
    ax.legend(handles=list(handles), labels=labels, loc=loc, bbox_to_anchor=anchor, ncols=ncols, borderaxespad=0.0,
              **kwargs)


def _left_margin_in(texts: Iterable[str]) -> float:
    return max((_text_width_in(t) for t in texts), default=0.0) + 0.12


# ----------------------------------------------------------------------------------------- rates


def _rate_column(per: str) -> str:
    if per == "turns":
        return "per_100_turns"
    if per == "words":
        return "per_1000_words"
    raise ConfigError(f"per must be 'turns' or 'words', not {per!r}")


def _role_sort(role: str | None) -> int:
    return _ROLE_ORDER.index(role) if role in _ROLE_ORDER else len(_ROLE_ORDER)


def plot_rates_data(
    rates_df: pl.DataFrame, *, per: Literal["turns", "words"] = "turns", labels: Sequence[str] | None = None
) -> pl.DataFrame:
    """The numbers :func:`plot_rates` draws: one row per label and group, in plotting order.

    Args:
        rates_df: The output of :func:`convmaint.stats.rates`.
        per: ``"turns"`` (moves per 100 turns) or ``"words"`` (per 1,000 words).
        labels: Move labels and/or family names to show; default every move label in the table.

    Returns:
        Columns ``corpus``, ``role`` (where the table has them), ``group``, ``label``, ``family``,
        ``rate``, ``low``, ``high``, ``per``.
    """
    col = _rate_column(per)
    if rates_df.is_empty():
        return pl.DataFrame(schema={"group": pl.Utf8, "label": pl.Utf8, "family": pl.Utf8, "rate": pl.Float64,
                                    "low": pl.Float64, "high": pl.Float64, "per": pl.Utf8})
    _require(rates_df, ["label", col, f"{col}_low", f"{col}_high"], "rates")
    group_cols = [c for c in ("corpus", "role") if c in rates_df.columns]
    present = set(rates_df["label"].to_list())
    if labels is None:
        chosen = [lab for lab in LABELS if lab in present]
    else:
        unknown = [lab for lab in labels if lab not in present]
        if unknown:
            raise ConvmaintError(f"rates table has no rows for label(s) {', '.join(unknown)}")
        chosen = sorted(dict.fromkeys(labels), key=_label_key)
    df = rates_df.filter(pl.col("label").is_in(chosen)).select(
        *group_cols, "label",
        pl.col(col).cast(pl.Float64).alias("rate"),
        pl.col(f"{col}_low").cast(pl.Float64).alias("low"),
        pl.col(f"{col}_high").cast(pl.Float64).alias("high"),
    )
    group = (pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("") for c in group_cols], separator=" / ")
             if group_cols else pl.lit("all"))
    df = df.with_columns(group.alias("group"), pl.col("label").str.split(".").list.first().alias("family"),
                         pl.lit(per).alias("per"))
    order = {lab: i for i, lab in enumerate(chosen)}
    df = df.with_columns(
        pl.col("label").replace_strict(order, return_dtype=pl.Int64).alias("_lab"),
        (pl.col("role").map_elements(_role_sort, return_dtype=pl.Int64) if "role" in group_cols
         else pl.lit(0)).alias("_role"),
    )
    sort_cols = ["_lab", *(["corpus"] if "corpus" in group_cols else []), "_role"]
    return df.sort(sort_cols).select(*group_cols, "group", "label", "family", "rate", "low", "high", "per")


def _groups(data: pl.DataFrame) -> list[dict[str, Any]]:
    """The plotted groups in order, with their colour, marker and filter."""
    has_corpus = "corpus" in data.columns and data["corpus"].n_unique() > 1
    has_role = "role" in data.columns
    corpora = sorted(set(data["corpus"].to_list())) if "corpus" in data.columns else [None]
    keys = data.select([c for c in ("corpus", "role") if c in data.columns] or ["group"]).unique(maintain_order=True)
    rows = keys.to_dicts()
    rows.sort(key=lambda r: (corpora.index(r.get("corpus")) if "corpus" in r else 0, _role_sort(r.get("role"))))
    out = []
    for i, r in enumerate(rows):
        role, corpus = r.get("role"), r.get("corpus")
        colour = ROLE_COLORS.get(role) if has_role else None
        colour = colour or _OTHER_COLORS[i % len(_OTHER_COLORS)]
        marker = _CORPUS_MARKERS[corpora.index(corpus) % len(_CORPUS_MARKERS)] if has_corpus else "o"
        out.append({"filter": r, "colour": colour, "marker": marker, "role": role, "corpus": corpus,
                    "text": r.get("group") or " / ".join(str(v) for v in (corpus if has_corpus else None, role) if v)})
    return out


def _group_legend(groups: Sequence[dict[str, Any]]) -> tuple[list[Any], list[str], int | None]:
    """Legend entries: role colours in one column and corpus shapes (grey) in the next, when both vary."""
    corpora = list(dict.fromkeys(g["corpus"] for g in groups))
    roles = list(dict.fromkeys(g["role"] for g in groups if g["role"] is not None))
    if len(corpora) > 1 and roles:
        blank = Line2D([], [], linestyle="none")
        role_h = [Line2D([], [], marker="o", linestyle="none", color=ROLE_COLORS.get(r, _INK), markersize=4)
                  for r in roles]
        corp_h = [Line2D([], [], marker=next(g["marker"] for g in groups if g["corpus"] == c), linestyle="none",
                         color="#777777", markersize=4) for c in corpora]
        n = max(len(role_h), len(corp_h))
        handles = role_h + [blank] * (n - len(role_h)) + corp_h + [blank] * (n - len(corp_h))
        labels = roles + [""] * (n - len(roles)) + [_short(str(c), 24) for c in corpora] + [""] * (n - len(corpora))
        return handles, labels, 2
    handles = [Line2D([], [], marker=g["marker"], color=g["colour"], linestyle="none", markersize=4) for g in groups]
    return handles, [_short(g["text"], 30) for g in groups], None


def plot_rates(
    rates_df: pl.DataFrame,
    *,
    per: Literal["turns", "words"] = "turns",
    labels: Sequence[str] | None = None,
    width: Literal["one", "two"] = "one",
    ax: Axes | None = None,
) -> Axes:
    """Dot-and-interval plot of move rates per label, one dot per role (and corpus), with CIs.

    Labels run down the y axis in taxonomy order, grouped under their family; groups are dodged
    within each label's row, coloured by role and (when there are several corpora) shaped by corpus.

    Args:
        rates_df: The output of :func:`convmaint.stats.rates`.
        per: ``"turns"`` (moves per 100 turns) or ``"words"`` (per 1,000 words).
        labels: Move labels and/or family names to show; default every move label in the table.
        width: ``"one"`` or ``"two"`` columns, when a new figure is made.
        ax: Axes to draw into; a new figure when None.

    Returns:
        The Axes.

    Example:
        >>> ax = plot_rates(rates_df, per="words", labels=["repair", "clarification"])  # doctest: +SKIP
    """
    data = plot_rates_data(rates_df, per=per, labels=labels)
    with mpl.rc_context(paper_style()):
        rows = _label_rows(list(dict.fromkeys(data["label"].to_list())))
        groups = _groups(data) if not data.is_empty() else []
        n = len(groups)
        row_h = 0.17 + 0.04 * max(n - 2, 0)  # dodged groups need taller rows
        ax = _new_axes(ax, width, 0.85 + max(row_h * len(rows), 1.2))
        if data.is_empty():
            return _no_data(ax, "rates")
        span = min(0.6, 0.2 * (n - 1))
        offsets = np.linspace(-span / 2, span / 2, n) if n > 1 else np.zeros(1)
        ypos = _label_axis(ax, rows)
        for g, off in zip(groups, offsets):
            sub = data
            for k, v in g["filter"].items():
                sub = sub.filter(pl.col(k) == v)
            y = np.array([ypos[lab] for lab in sub["label"]], dtype=float) + off
            x = sub["rate"].to_numpy()
            lo, hi = sub["low"].to_numpy(), sub["high"].to_numpy()
            err = np.vstack([np.where(np.isnan(lo), 0, x - lo), np.where(np.isnan(hi), 0, hi - x)])
            ax.errorbar(x, y, xerr=np.clip(err, 0, None), fmt=g["marker"], color=g["colour"], ecolor=g["colour"],
                        elinewidth=0.9, capsize=0, markersize=3.8, markeredgewidth=0.5, markeredgecolor="white",
                        label=g["text"], zorder=3)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5 if width == "one" else 8))
        right = ax.get_xlim()[1]
        ax.set_xlim(-0.03 * right, right)  # a little room left of 0, so zero rates show whole markers
        ax.set_xlabel("Moves per 100 turns" if per == "turns" else "Moves per 1,000 words")
        if n > 1:
            handles, texts, ncols = _group_legend(groups)
            _legend_above(ax, handles, texts, left_in=_left_margin_in(t for _, t, _ in rows), max_cols=ncols)
        return _finish(ax, hide_y=True)


# ----------------------------------------------------------------------------------- rate ratios


def _ratio_groups(compare_df: pl.DataFrame) -> tuple[str, str]:
    rate_cols = [c[5:] for c in compare_df.columns if c.startswith("rate_") and c != "rate_ratio"]
    if len(rate_cols) != 2:
        raise ConvmaintError("compare table needs two rate_<group> columns (e.g. rate_human, rate_model); "
                             f"found: {', '.join('rate_' + c for c in rate_cols) or 'none'}")
    return rate_cols[0], rate_cols[1]


def plot_rate_ratios_data(
    compare_df: pl.DataFrame,
    *,
    design: Literal["between", "within"] = "between",
    labels: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """The numbers :func:`plot_rate_ratios` draws: one row per label of one design.

    Args:
        compare_df: The output of :func:`convmaint.stats.compare`.
        design: ``"between"`` or ``"within"``.
        labels: Move labels and/or family names; default every move label in the table.
        alpha: Significance level for the Holm-adjusted p-value.

    Returns:
        Columns ``design``, ``label``, ``family``, ``rate_<a>``, ``rate_<b>``, ``rate_ratio``,
        ``ratio_low``, ``ratio_high``, ``p``, ``p_holm``, ``significant``.
    """
    if design not in ("between", "within"):
        raise ConfigError(f"design must be 'between' or 'within', not {design!r}")
    if compare_df.is_empty():
        return pl.DataFrame(schema={"design": pl.Utf8, "label": pl.Utf8, "family": pl.Utf8, "rate_ratio": pl.Float64,
                                    "ratio_low": pl.Float64, "ratio_high": pl.Float64, "p": pl.Float64,
                                    "p_holm": pl.Float64, "significant": pl.Boolean})
    _require(compare_df, ["design", "label", "rate_ratio", "ratio_low", "ratio_high", "p", "p_holm"], "compare")
    a, b = _ratio_groups(compare_df)
    designs = sorted(set(compare_df["design"].to_list()))
    if design not in designs:
        raise ConvmaintError(f"compare table has no {design!r} rows; designs present: {', '.join(designs)}")
    df = compare_df.filter(pl.col("design") == design)
    present = set(df["label"].to_list())
    if labels is None:
        chosen = [lab for lab in LABELS if lab in present]
    else:
        unknown = [lab for lab in labels if lab not in present]
        if unknown:
            raise ConvmaintError(f"compare table has no {design!r} rows for label(s) {', '.join(unknown)}")
        chosen = sorted(dict.fromkeys(labels), key=_label_key)
    order = {lab: i for i, lab in enumerate(chosen)}
    df = df.filter(pl.col("label").is_in(chosen)).with_columns(
        pl.col("label").replace_strict(order, return_dtype=pl.Int64).alias("_o")).sort("_o")
    return df.select(
        "design", "label", pl.col("label").str.split(".").list.first().alias("family"),
        pl.col(f"rate_{a}").cast(pl.Float64), pl.col(f"rate_{b}").cast(pl.Float64),
        *[pl.col(c).cast(pl.Float64) for c in ("rate_ratio", "ratio_low", "ratio_high", "p", "p_holm")],
        (pl.col("p_holm").cast(pl.Float64).fill_nan(None) < alpha).fill_null(False).alias("significant"),
    )


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of two (of four, of ten for wide ranges) inside [lo, hi], always including 1."""
    span = math.log2(hi) - math.log2(lo)
    if span > 12:
        base, step = 10.0, 1
    else:
        base, step = 2.0, (1 if span <= 8 else 2)
    k_lo, k_hi = math.ceil(math.log(lo, base) - 1e-9), math.floor(math.log(hi, base) + 1e-9)
    return [base**k for k in range(k_lo, k_hi + 1) if k % step == 0] or [1.0]


def _ratio_text(v: float) -> str:
    if v >= 1:
        return f"{v:g}"
    den = 1 / v
    return f"1/{den:g}" if abs(den - round(den)) < 1e-9 else f"{v:.2g}"


def plot_rate_ratios(
    compare_df: pl.DataFrame,
    *,
    design: Literal["between", "within"] = "between",
    labels: Sequence[str] | None = None,
    alpha: float = 0.05,
    width: Literal["one", "two"] = "one",
    ax: Axes | None = None,
) -> Axes:
    """Forest plot of rate ratios (group a / group b, by default human / model) on a log scale.

    Each label gets a point with its bootstrap CI; a vertical line marks a ratio of 1. Labels whose
    Holm-adjusted p-value is below ``alpha`` are drawn filled and starred, the others hollow.

    Args:
        compare_df: The output of :func:`convmaint.stats.compare`.
        design: ``"between"`` (separate conversations) or ``"within"`` (both roles in one conversation).
        labels: Move labels and/or family names; default every move label in the table.
        alpha: Significance level for ``p_holm``.
        width: ``"one"`` or ``"two"`` columns, when a new figure is made.
        ax: Axes to draw into; a new figure when None.

    Returns:
        The Axes.
    """
    data = plot_rate_ratios_data(compare_df, design=design, labels=labels, alpha=alpha)
    with mpl.rc_context(paper_style()):
        sig_of = dict(zip(data["label"].to_list(), data["significant"].to_list()))
        rows = [(lab, f"{text} *" if lab is not None and sig_of.get(lab) else text, head)
                for lab, text, head in _label_rows(data["label"].to_list())]
        ax = _new_axes(ax, width, 1.0 + 0.17 * max(len(rows), 3))
        if data.is_empty():
            return _no_data(ax, "rate ratios")
        a, b = _ratio_groups(compare_df)
        ypos = _label_axis(ax, rows, bottom_pad=0.9)  # room for the direction hints
        y = np.array([ypos[lab] for lab in data["label"]], dtype=float)
        r = data["rate_ratio"].to_numpy()
        lo, hi = data["ratio_low"].to_numpy(), data["ratio_high"].to_numpy()
        sig = data["significant"].to_numpy()
        ok = np.isfinite(r) & (r > 0)
        vals = np.concatenate([r[ok], lo[np.isfinite(lo) & (lo > 0)], hi[np.isfinite(hi) & (hi > 0)], [1.0]])
        reach = max(max(abs(math.log2(v)) for v in vals) * 1.08, 1.0)  # symmetric around 1, at least ½ … 2
        xmin, xmax = 2.0**-reach, 2.0**reach
        ax.set_xscale("log")
        ax.axvline(1.0, color="#8C8C8C", linewidth=0.7, zorder=1)
        lo_c = np.where(np.isfinite(lo) & (lo > 0), lo, r)
        hi_c = np.where(np.isfinite(hi) & (hi > 0), hi, r)
        ax.hlines(y[ok], np.clip(lo_c[ok], xmin, xmax), np.clip(hi_c[ok], xmin, xmax), color=_INK, linewidth=0.9,
                  zorder=2)
        ax.plot(r[ok & sig], y[ok & sig], linestyle="none", marker="o", markersize=4.2, color=_INK, zorder=3,
                label="significant")
        ax.plot(r[ok & ~sig], y[ok & ~sig], linestyle="none", marker="o", markersize=4.2, markerfacecolor="white",
                markeredgecolor=_INK, markeredgewidth=0.8, zorder=3, label="not significant")
        ax.set_xlim(xmin, xmax)
        ax.xaxis.set_major_locator(FixedLocator(_log_ticks(xmin, xmax)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _ratio_text(v)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel(f"Rate ratio, {a} / {b} (log scale)")
        # Direction hints in the bottom row, so readers need not decode the ratio.
        for xa, ha, text in ((0.01, "left", f"← more in {b}"), (0.99, "right", f"more in {a} →")):
            ax.annotate(text, xy=(xa, 0), xycoords="axes fraction", xytext=(0, 3), textcoords="offset points",
                        ha=ha, va="bottom", fontsize=7, color="#666666")
        handles = [Line2D([], [], marker="o", linestyle="none", color=_INK, markersize=4),
                   Line2D([], [], marker="o", linestyle="none", markerfacecolor="white", markeredgecolor=_INK,
                          markersize=4)]
        _legend_above(ax, handles, [f"* Holm p < {alpha:g}", "n.s."], left_in=_left_margin_in(t for _, t, _ in rows))
        return _finish(ax, hide_y=True)


# ------------------------------------------------------------------------------------- timeline


def _check_moves(conv: Conversation, moves: Sequence[Move]) -> None:
    n = len(conv.turns)
    for m in moves:
        if not 0 <= m.turn < n:
            raise ConvmaintError(f"move {m.label} points at turn {m.turn}, but the conversation has {n} turns",
                                 record=conv.id)
        if m.target is not None and not 0 <= m.target < n:
            raise ConvmaintError(f"move {m.label} in turn {m.turn} targets turn {m.target}, "
                                 f"but the conversation has {n} turns", record=conv.id)


def plot_timeline_data(conv: Conversation, moves: Sequence[Move] | None = None) -> pl.DataFrame:
    """The numbers :func:`plot_timeline` draws: one ``turn`` row per turn, one ``move`` row per move.

    Args:
        conv: The conversation.
        moves: Its moves; default ``conv.moves``.

    Returns:
        Columns ``kind`` (turn or move), ``turn``, ``speaker``, ``role``, ``words``, ``label``,
        ``family``, ``target``.
    """
    moves = list(conv.moves if moves is None else moves)
    _check_moves(conv, moves)
    rows = [{"kind": "turn", "turn": t.index, "speaker": t.speaker, "role": t.role.value, "words": t.n_words,
             "label": None, "family": None, "target": None} for t in conv.turns]
    for m in sorted(moves, key=lambda m: (m.turn, m.start, _label_key(m.label))):
        t = conv.turns[m.turn]
        rows.append({"kind": "move", "turn": m.turn, "speaker": t.speaker, "role": t.role.value, "words": t.n_words,
                     "label": m.label, "family": m.family, "target": m.target})
    schema = {"kind": pl.Utf8, "turn": pl.Int64, "speaker": pl.Utf8, "role": pl.Utf8, "words": pl.Int64,
              "label": pl.Utf8, "family": pl.Utf8, "target": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _bezier(p0: tuple[float, float], c: tuple[float, float], p1: tuple[float, float]) -> MplPath:
    return MplPath([p0, c, p1], [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3])


def _axes_size_in(ax: Axes) -> tuple[float, float]:
    """The axes' size in inches as laid out now (before constrained layout runs: an estimate)."""
    fig = _root_figure(ax)
    pos = ax.get_position()
    return pos.width * fig.get_figwidth(), pos.height * fig.get_figheight()


def _turn_ticks(ax: Axes, n: int, width: str) -> None:
    """Every turn index for short conversations, a thinned integer scale for long ones."""
    if n <= (15 if width == "two" else 8):
        ax.xaxis.set_major_locator(FixedLocator(list(range(n))))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=12 if width == "two" else 6, integer=True, steps=[1, 2, 5, 10]))


def plot_timeline(
    conv: Conversation,
    moves: Sequence[Move] | None = None,
    *,
    width: Literal["one", "two"] = "two",
    ax: Axes | None = None,
) -> Axes:
    """A conversation timeline: a lane per speaker, a box per turn, markers for moves, arcs for links.

    Turn boxes are tinted by the speaker's role; each move is a family-coloured marker in its
    turn's box, and a move that points back at a turn (``target``) is joined to it by an arc with
    the arrowhead at the target. Stays readable from a handful of turns to about sixty.

    Args:
        conv: The conversation.
        moves: Its moves; default ``conv.moves``.
        width: ``"one"`` or ``"two"`` columns, when a new figure is made.
        ax: Axes to draw into; a new figure when None.

    Returns:
        The Axes.
    """
    data = plot_timeline_data(conv, moves)
    turns = data.filter(pl.col("kind") == "turn")
    mv = data.filter(pl.col("kind") == "move")
    speakers = list(conv.speakers)
    lane = {s: i for i, s in enumerate(speakers)}
    with mpl.rc_context(paper_style()):
        ax = _new_axes(ax, width, 0.95 + 0.32 * max(len(speakers), 2))
        if turns.is_empty():
            return _no_data(ax, "turns")
        n = turns.height
        box_w, box_h = 0.84, 0.56
        boxes, faces, edges = [], [], []
        for t in turns.iter_rows(named=True):
            colour = ROLE_COLORS.get(t["role"], ROLE_COLORS["unknown"])
            boxes.append(Rectangle((t["turn"] - box_w / 2, lane[t["speaker"]] - box_h / 2), box_w, box_h))
            faces.append(mpl.colors.to_rgba(colour, 0.28))
            edges.append(mpl.colors.to_rgba(colour, 0.9))
        ax.add_collection(PatchCollection(boxes, facecolors=faces, edgecolors=edges, linewidths=0.5, zorder=1))

        # Several moves in one turn are spread along the box's longer side (wide boxes for short
        # conversations, tall ones for long conversations), so each stays visible.
        ax_w, ax_h = _axes_size_in(ax)
        lanes_h = len(speakers) + 0.45
        stack = (ax_w / (n + 0.4)) * box_w < (ax_h / lanes_h) * box_h
        xy: list[tuple[float, float]] = []
        seen: dict[int, int] = {}
        counts = mv.group_by("turn").len()
        total = dict(zip(counts["turn"].to_list(), counts["len"].to_list()))
        for m in mv.iter_rows(named=True):
            j = seen.get(m["turn"], 0)
            seen[m["turn"]] = j + 1
            k = total[m["turn"]]
            x0, y0 = float(m["turn"]), float(lane[m["speaker"]])
            if k > 1:
                half = (0.17 if stack else 0.26) * min(1.0, (k - 1) / 2)
                d = -half + 2 * half * j / (k - 1)
                x0, y0 = (x0, y0 + d) if stack else (x0 + d, y0)
            xy.append((x0, y0))

        # Back-links first, under the markers.
        long = n > 30
        same_lane = False
        for (x0, y0), m in zip(xy, mv.iter_rows(named=True)):
            if m["target"] is None or m["target"] == m["turn"]:
                continue
            tgt = conv.turns[m["target"]]
            x1, ly = float(m["target"]), float(lane[tgt.speaker])
            src_lane = float(lane[m["speaker"]])
            if ly == src_lane:  # same lane: loop over the top of the lane
                same_lane = True
                y0, y1 = src_lane - box_h / 2, ly - box_h / 2
                ctrl = ((x0 + x1) / 2, y0 - 0.3 - 0.03 * min(abs(x1 - x0), 8))
            else:  # to the near edge of the target's box, bowed sideways
                y1 = ly - math.copysign(box_h / 2, ly - src_lane)
                ctrl = ((x0 + x1) / 2 + 0.3 * math.copysign(1, x0 - x1), (y0 + y1) / 2)
            ax.add_patch(FancyArrowPatch(path=_bezier((x0, y0), ctrl, (x1, y1)), arrowstyle="-|>",
                                         mutation_scale=5, color=FAMILY_COLORS.get(m["family"], _INK),
                                         linewidth=0.6 if long else 0.7, alpha=0.7 if long else 0.85, zorder=2,
                                         shrinkA=1.5, shrinkB=0))
        handles: list[Any] = []
        msize = 4.2 if n <= 30 else 3.4
        families = mv["family"].to_list()
        for fam in FAMILIES:
            idx = [i for i, f in enumerate(families) if f == fam]
            if not idx:
                continue
            pts = np.array([xy[i] for i in idx])
            ax.scatter(pts[:, 0], pts[:, 1], s=msize**2, marker=FAMILY_MARKERS[fam], c=FAMILY_COLORS[fam],
                       edgecolors="white", linewidths=0.5, zorder=3, label=fam)
            handles.append(Line2D([], [], marker=FAMILY_MARKERS[fam], color=FAMILY_COLORS[fam], linestyle="none",
                                  markeredgecolor="white", markeredgewidth=0.5, markersize=5, label=fam))
        roles_present = [r for r in _ROLE_ORDER if r in set(turns["role"].to_list())]
        handles += [Patch(facecolor=mpl.colors.to_rgba(ROLE_COLORS[r], 0.28), edgecolor=ROLE_COLORS[r],
                          linewidth=0.5, label=f"{r} turn") for r in roles_present]
        if any(x is not None for x in mv["target"].to_list()):
            handles.append(Line2D([], [], color="#666666", linewidth=0.7, label="link to target turn"))

        ax.set_xlim(-0.7, n - 0.3)
        ax.set_ylim(len(speakers) - 0.5, -0.5 - (0.4 if same_lane else 0.0))
        names = [_short(s, 14) for s in speakers]
        ax.set_yticks(range(len(speakers)), names)
        _turn_ticks(ax, n, width)
        ax.set_xlabel("Turn")
        _legend_above(ax, handles, left_in=_left_margin_in(names))
        return _finish(ax, hide_y=True)


# ----------------------------------------------------------------------------------- move graph


def _edge_type(key: Any, data: Mapping[str, Any]) -> str:
    for name in ("type", "kind", "label", "relation"):
        if isinstance(data.get(name), str):
            return data[name]
    return str(key)


def _node_order(g: nx.MultiDiGraph) -> list[Any]:
    def key(v: Any) -> tuple[float, str]:
        idx = g.nodes[v].get("index", v)
        return (float(idx) if isinstance(idx, int | float) else math.inf, str(v))

    return sorted(g.nodes, key=key)


def _node_labels(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return ";".join(str(getattr(v, "label", v)) for v in value)


def plot_move_graph_data(g: nx.MultiDiGraph) -> pl.DataFrame:
    """The numbers :func:`plot_move_graph` draws: one ``node`` row per turn, one ``edge`` row per edge.

    Args:
        g: A move graph (:func:`convmaint.graph.move_graph`).

    Returns:
        Columns ``kind`` (node or edge), ``source``, ``target``, ``type``, ``index``, ``speaker``,
        ``role``, ``words``, ``labels`` (move labels joined by ``;``).
    """
    order = _node_order(g)
    rows = []
    for v in order:
        a = g.nodes[v]
        role = a.get("role")
        index = a.get("index")
        rows.append({"kind": "node", "source": str(v), "target": None, "type": None,
                     "index": index if isinstance(index, int) else None, "speaker": a.get("speaker"),
                     "role": getattr(role, "value", role), "words": a.get("words"),
                     "labels": _node_labels(a.get("labels"))})
    pos = {v: i for i, v in enumerate(order)}
    edges = sorted(g.edges(keys=True, data=True), key=lambda e: (pos[e[0]], pos[e[1]], _edge_type(e[2], e[3])))
    for u, v, k, d in edges:
        rows.append({"kind": "edge", "source": str(u), "target": str(v), "type": _edge_type(k, d), "index": None,
                     "speaker": None, "role": None, "words": None, "labels": None})
    schema = {"kind": pl.Utf8, "source": pl.Utf8, "target": pl.Utf8, "type": pl.Utf8, "index": pl.Int64,
              "speaker": pl.Utf8, "role": pl.Utf8, "words": pl.Int64, "labels": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _trimmed_arc(x0: float, x1: float, h: float, cut0: float, cut1: float, sx: float, sy: float) -> MplPath:
    """A quadratic arc from (x0, 0) to (x1, 0) peaking at height h, as a polyline with the first
    ``cut0`` and last ``cut1`` points (typographic points; sx, sy: points per data unit) removed."""
    t = np.linspace(0.0, 1.0, 120)
    xs = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * (x0 + x1) / 2 + t**2 * x1
    ys = 2 * (1 - t) * t * 2 * h
    keep = (np.hypot((xs - x0) * sx, ys * sy) >= cut0) & (np.hypot((xs - x1) * sx, ys * sy) >= cut1)
    if keep.sum() < 2:
        keep[:] = True
    return MplPath(np.column_stack([xs[keep], ys[keep]]))


def plot_move_graph(
    g: nx.MultiDiGraph,
    *,
    width: Literal["one", "two"] = "two",
    ax: Axes | None = None,
) -> Axes:
    """Draw a move graph as an arc diagram: turns in conversation order along a line, links as arcs.

    Nodes are coloured by role and sized by turn length; typed edges are arcs above the line,
    coloured by move family and dashed or solid by type (legend above the plot), with the
    arrowhead at the edge's target; the ``next`` edges between consecutive turns are faint
    segments on the line. Arc height grows with the distance spanned.

    Args:
        g: A move graph (:func:`convmaint.graph.move_graph`): node attributes ``index``,
            ``speaker``, ``role``, ``words``, ``labels``; edge attribute ``type`` (or the edge key).
        width: ``"one"`` or ``"two"`` columns, when a new figure is made.
        ax: Axes to draw into; a new figure when None.

    Returns:
        The Axes.
    """
    data = plot_move_graph_data(g)
    nodes = data.filter(pl.col("kind") == "node")
    edges = data.filter(pl.col("kind") == "edge")
    with mpl.rc_context(paper_style()):
        ax = _new_axes(ax, width, 1.9 if width == "two" else 2.5)  # one column: the legend wraps
        if nodes.is_empty():
            return _no_data(ax, "turns")
        order = nodes["source"].to_list()
        x = {v: float(i) for i, v in enumerate(order)}
        n = len(order)
        # Node diameter (points) follows the room per turn, so long conversations do not overlap.
        spacing_pt = _axes_size_in(ax)[0] * 72 / (n + 0.6)
        dmax_pt = float(np.clip(0.85 * spacing_pt, 3.0, 8.0))
        roles = [r if r in ROLE_COLORS else "unknown" for r in nodes["role"].fill_null("unknown").to_list()]
        words = nodes["words"].fill_null(0).to_numpy().astype(float)
        diam = dmax_pt * (0.55 + 0.45 * np.sqrt(words / max(words.max(), 1.0)))  # grows with turn length
        radius = dict(zip(order, diam / 2))
        typed = edges.filter(pl.col("type") != "next")
        spans = [abs(x[u] - x[v]) for u, v in zip(typed["source"], typed["target"])]
        reach = max([*spans, 1.0])
        seen: dict[tuple[float, float], int] = {}
        arcs: list[tuple[str, str, str, float]] = []
        types_present: list[str] = []
        for e in edges.iter_rows(named=True):
            u, v, kind = e["source"], e["target"], e["type"]
            if kind not in types_present:
                types_present.append(kind)
            if u == v:
                continue
            if kind == "next":
                ax.plot([x[u], x[v]], [0, 0], color=EDGE_STYLES["next"][0], linewidth=0.8, zorder=1,
                        solid_capstyle="butt")
                continue
            pair = (min(x[u], x[v]), max(x[u], x[v]))
            j = seen.get(pair, 0)
            seen[pair] = j + 1
            h = (0.12 + 0.88 * math.sqrt(abs(x[u] - x[v]) / reach)) * (1 + 0.18 * j)  # peak height
            arcs.append((u, v, kind, h))
        top = max([h for *_, h in arcs] + [0.4]) * 1.06
        ax.set_xlim(-0.8, n - 0.2)
        ax.set_ylim(-0.1 * top, top)
        # FancyArrowPatch ignores shrinkA/B for a given path, so trim the curve to the node rims
        # here, or the arrowheads would hide under the nodes.
        w_in, h_in = _axes_size_in(ax)
        sx, sy = w_in * 72 / (n - 0.2 + 0.8), h_in * 72 / (1.1 * top)
        for u, v, kind, h in arcs:
            colour, style = EDGE_STYLES.get(kind, ("#555555", "-."))
            path = _trimmed_arc(x[u], x[v], h, radius[u] + 0.8, radius[v] + 1.2, sx, sy)
            ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=6, color=colour, linestyle=style,
                                         linewidth=0.8, zorder=2))
        ax.scatter([x[v] for v in order], np.zeros(n), s=diam**2, c=[ROLE_COLORS[r] for r in roles],
                   edgecolors="white", linewidths=0.5, zorder=3)
        idx = nodes["index"].to_list()
        ticks = [i if i is not None else k for k, i in enumerate(idx)]
        _turn_ticks(ax, n, width)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: str(ticks[int(v)]) if 0 <= v < n and v == int(v)
                                                   else ""))
        ax.set_yticks([])
        ax.set_xlabel("Turn")
        handles: list[Any] = [Line2D([], [], marker="o", linestyle="none", color=ROLE_COLORS[r], markersize=5,
                                     label=f"{r} turn") for r in _ROLE_ORDER if r in roles]
        ordered = [t for t in EDGE_STYLES if t in types_present] + [t for t in types_present if t not in EDGE_STYLES]
        for kind in ordered:
            colour, style = EDGE_STYLES.get(kind, ("#555555", "-."))
            handles.append(Line2D([], [], color=colour, linestyle=style, linewidth=1.0, label=kind.replace("_", " ")))
        _legend_above(ax, handles, left_in=0.1)
        return _finish(ax, hide_y=True)


# ------------------------------------------------------------------------------- topic segments


def _topic_inputs(
    items: Any, turns: pl.DataFrame | None
) -> Iterator[tuple[str, str, int, list[tuple[int, str]], list[str]]]:
    """Yield (corpus, conversation, n_turns, [(shift turn, role)], turn roles) from either input form."""
    if isinstance(items, Mapping) and "moves" in items and "turns" in items:
        items, turns = items["moves"], items["turns"]
    if isinstance(items, pl.DataFrame):
        if turns is None:
            raise ConvmaintError("plot_topic_segments needs the turns table (turns=...) beside a moves table, "
                                 "for conversation lengths and roles")
        _require(items, ["conversation", "turn", "label"], "moves")
        _require(turns, ["conversation", "turn", "role"], "turns")
        both = "corpus" in turns.columns and "corpus" in items.columns
        key = ["corpus", "conversation"] if both else ["conversation"]
        shifts = items.filter(pl.col("label") == "topic.shift")
        by_conv: dict[tuple, list[int]] = {}
        for r in shifts.select(*key, "turn").iter_rows():
            by_conv.setdefault(tuple(r[:-1]), []).append(int(r[-1]))
        for k, grp in turns.group_by(key, maintain_order=True):
            k = k if isinstance(k, tuple) else (k,)
            roles = [str(r) for r in grp.sort("turn")["role"].to_list()]
            corpus = str(k[0] or "") if len(key) == 2 else ""
            sh = sorted(set(by_conv.get(tuple(k), [])))
            yield corpus, str(k[-1]), len(roles), [(t, roles[t] if t < len(roles) else "unknown") for t in sh], roles
        return
    for pair in items:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Conversation)):
            raise ConvmaintError("plot_topic_segments takes (Conversation, moves) pairs, stats.tables() output, "
                                 f"or a moves table with turns=...; got an item of type {type(pair).__name__}")
        conv, moves = pair
        moves = list(moves)
        _check_moves(conv, moves)
        roles = [t.role.value for t in conv.turns]
        sh = sorted({m.turn for m in moves if m.label == "topic.shift"})
        yield str(conv.metadata.get("corpus", "") or ""), conv.id, len(conv.turns), [(t, roles[t]) for t in sh], roles


def plot_topic_segments_data(
    items: Any, turns: pl.DataFrame | None = None, *, max_rows: int = 30
) -> pl.DataFrame:
    """The numbers :func:`plot_topic_segments` draws: one row per topic segment of the shown conversations.

    Args:
        items: ``(Conversation, moves)`` pairs; or the dict from :func:`convmaint.stats.tables`;
            or a moves table (with ``turns``).
        turns: The turns table, when ``items`` is a moves table.
        max_rows: Conversations shown (the first ones, in input order).

    Returns:
        Columns ``row``, ``corpus``, ``conversation``, ``n_turns``, ``segment``, ``start``, ``end``
        (turn indexes, end exclusive), ``opener_turn``, ``opener_role``, ``shift`` (whether a
        ``topic.shift`` opens the segment), and ``n_conversations`` (the total before truncation).
    """
    if max_rows < 1:
        raise ConfigError(f"max_rows must be at least 1, not {max_rows}")
    rows = []
    total = 0
    for corpus, cid, n, shifts, roles in _topic_inputs(items, turns):
        total += 1
        if total > max_rows:
            continue
        bounds = [0] + [t for t, _ in shifts if t > 0] + [n]
        shift_turns = {t for t, _ in shifts}
        for s, (start, end) in enumerate(zip(bounds[:-1], bounds[1:])):
            rows.append({"row": total - 1, "corpus": corpus, "conversation": cid, "n_turns": n, "segment": s,
                         "start": start, "end": end, "opener_turn": start,
                         "opener_role": roles[start] if start < len(roles) else None,
                         "shift": start in shift_turns})
    schema = {"row": pl.Int64, "corpus": pl.Utf8, "conversation": pl.Utf8, "n_turns": pl.Int64, "segment": pl.Int64,
              "start": pl.Int64, "end": pl.Int64, "opener_turn": pl.Int64, "opener_role": pl.Utf8, "shift": pl.Boolean}
    df = pl.DataFrame(rows, schema=schema, orient="row")
    return df.with_columns(pl.lit(total, dtype=pl.Int64).alias("n_conversations"))


_SHADES = ("#E4E4E4", "#BDBDBD")


def plot_topic_segments(
    items: Any,
    turns: pl.DataFrame | None = None,
    *,
    max_rows: int = 30,
    relative: bool = False,
    width: Literal["one", "two"] = "two",
    ax: Axes | None = None,
) -> Axes:
    """Topic segments over conversation time, one row per conversation.

    Segments between ``topic.shift`` turns are bars of alternating grey; each shift is marked at
    the start of its turn with a tick and triangle coloured by the role of the speaker who opened
    the new topic. Conversations of several corpora are grouped under a bold corpus header. More
    than ``max_rows`` conversations: the first ``max_rows`` are drawn, with a note.

    Args:
        items: ``(Conversation, moves)`` pairs; or the dict from :func:`convmaint.stats.tables`;
            or a moves table (with ``turns``).
        turns: The turns table, when ``items`` is a moves table.
        max_rows: Most conversations to draw.
        relative: Put conversation time on a 0–1 scale (fraction of turns) instead of turn index.
        width: ``"one"`` or ``"two"`` columns, when a new figure is made.
        ax: Axes to draw into; a new figure when None.

    Returns:
        The Axes.
    """
    from matplotlib.legend_handler import HandlerTuple

    data = plot_topic_segments_data(items, turns, max_rows=max_rows)
    with mpl.rc_context(paper_style()):
        convs = data.select("row", "corpus", "conversation", "n_turns").unique(maintain_order=True)
        several = convs["corpus"].n_unique() > 1
        if several:  # one block per corpus, in order of first appearance
            first = {c: i for i, c in reversed(list(enumerate(convs["corpus"].to_list())))}
            convs = convs.with_columns(pl.col("corpus").replace_strict(first, return_dtype=pl.Int64).alias("_c")
                                       ).sort("_c", "row").drop("_c")
        # y rows: a bold header per corpus when there are several corpora, then its conversations.
        texts: list[str] = []
        headers: list[int] = []
        ypos: dict[int, int] = {}
        last = None
        for row, corpus, cid in zip(convs["row"], convs["corpus"], convs["conversation"]):
            if several and corpus != last:
                headers.append(len(texts))
                texts.append(_short(corpus or "(no corpus)", 28))
                last = corpus
            ypos[row] = len(texts)
            texts.append(_short(cid, 24))
        ax = _new_axes(ax, width, 0.95 + 0.16 * max(len(texts), 3))
        if data.is_empty():
            return _no_data(ax, "conversations")
        bar_h = 0.64
        mk_x, mk_y, mk_c = [], [], []
        for s in data.iter_rows(named=True):
            scale = 1.0 / s["n_turns"] if relative else 1.0
            off = 0.0 if relative else -0.5  # turn i spans [i - .5, i + .5] on the index scale
            x0, x1 = s["start"] * scale + off, s["end"] * scale + off
            y = ypos[s["row"]]
            ax.barh(y, x1 - x0, left=x0, height=bar_h, color=_SHADES[s["segment"] % 2], linewidth=0, zorder=1)
            if s["shift"]:
                mk_x.append(x0)
                mk_y.append(y - bar_h / 2)
                mk_c.append(ROLE_COLORS.get(s["opener_role"], ROLE_COLORS["unknown"]))
        if mk_x:
            ax.vlines(mk_x, np.array(mk_y), np.array(mk_y) + bar_h, colors=mk_c, linewidth=1.0, zorder=2)
            ax.scatter(mk_x, mk_y, marker="v", s=16, c=mk_c, edgecolors="white", linewidths=0.4, zorder=3,
                       clip_on=False)
        ax.set_yticks(range(len(texts)), texts)
        for i in headers:
            ax.get_yticklabels()[i].set_fontweight("bold")
        ax.set_ylim(len(texts) - 0.45, -0.75)
        if relative:
            ax.set_xlim(0, 1)
            ax.xaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1.0]))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_xlabel("Conversation time (fraction of turns)")
        else:
            ax.set_xlim(-0.5, int(convs["n_turns"].max()) - 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=12 if width == "two" else 6, integer=True,
                                                   steps=[1, 2, 5, 10]))
            ax.set_xlabel("Turn")
        roles = [r for r in _ROLE_ORDER if r in set(data.filter(pl.col("shift"))["opener_role"].to_list())]
        handles: list[Any] = [(Patch(facecolor=_SHADES[0]), Patch(facecolor=_SHADES[1]))]
        labels = ["topic segments"]
        handles += [Line2D([], [], marker="v", linestyle="none", color=ROLE_COLORS[r], markersize=5) for r in roles]
        labels += [f"shift by {r}" for r in roles]
        _legend_above(ax, handles, labels, left_in=_left_margin_in(texts),
                      handler_map={tuple: HandlerTuple(ndivide=None, pad=0)})
        total = int(data["n_conversations"][0])
        if total > convs.height:
            ax.annotate(f"first {convs.height} of {total} conversations shown", xy=(1.0, 0.0),
                        xycoords="axes fraction", xytext=(0, -22), textcoords="offset points", ha="right",
                        va="top", fontsize=7, color="#666666")
        return _finish(ax, hide_y=True)


# ---------------------------------------------------------------------------------------- saving


def _atomic(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_METADATA = {
    # Dates set to None so that reruns give byte-identical files.
    "pdf": lambda creator: {"Creator": creator, "Producer": creator, "CreationDate": None, "ModDate": None},
    "svg": lambda creator: {"Creator": creator, "Date": None},
    "png": lambda creator: {"Software": creator},
}


def save_figure(
    fig_or_ax: Figure | Axes,
    path_stem: str | os.PathLike[str],
    *,
    data: pl.DataFrame | None = None,
    formats: Sequence[str] = ("pdf", "svg", "png"),
    dpi: int = 300,
) -> list[str]:
    """Write a figure as vector PDF and SVG and as PNG, with the numbers behind it as CSV.

    Files are ``<stem>.pdf``, ``<stem>.svg``, ``<stem>.png`` and ``<stem>.csv``, each written
    atomically. They carry ``convmaint <version>`` as creator and no date, so a rerun on the same
    input gives byte-identical files.

    Args:
        fig_or_ax: The figure, or an Axes of it.
        path_stem: Path without suffix; missing folders are made.
        data: The table behind the figure (a ``plot_*_data`` result), written as ``<stem>.csv``.
        formats: Any of ``pdf``, ``svg``, ``png``.
        dpi: Resolution of the PNG.

    Returns:
        The paths written, figure formats first, then the CSV.

    Example:
        >>> save_figure(ax, "results/figs/rates", data=plot_rates_data(r))  # doctest: +SKIP
        ['results/figs/rates.pdf', 'results/figs/rates.svg', 'results/figs/rates.png', 'results/figs/rates.csv']
    """
    from matplotlib.axes import Axes as _Axes
    from matplotlib.figure import Figure as _Figure, SubFigure

    fig: Any = fig_or_ax.figure if isinstance(fig_or_ax, _Axes) else fig_or_ax
    while isinstance(fig, SubFigure):
        fig = fig.figure
    if not isinstance(fig, _Figure):
        raise ConfigError(f"save_figure needs a matplotlib Figure or Axes, not {type(fig_or_ax).__name__}")
    bad = [f for f in formats if f not in _METADATA]
    if bad:
        raise ConfigError(f"unknown figure format(s) {', '.join(map(repr, bad))}; expected pdf, svg or png")
    stem = Path(path_stem)
    if stem.suffix.lower() in (".pdf", ".svg", ".png", ".csv"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    creator = f"convmaint {__version__}"
    # A caller's figure without a layout engine may have labels outside; crop to the drawn content.
    bbox = None if fig.get_layout_engine() is not None else "tight"
    written = []
    with mpl.rc_context(paper_style()):
        for fmt in dict.fromkeys(formats):
            path = stem.parent / f"{stem.name}.{fmt}"
            _atomic(path, lambda fh, fmt=fmt: fig.savefig(fh, format=fmt, dpi=dpi, metadata=_METADATA[fmt](creator),
                                                          bbox_inches=bbox, pad_inches=0.02))
            written.append(str(path))
    if data is not None:
        path = stem.parent / f"{stem.name}.csv"
        _atomic(path, lambda fh: data.write_csv(fh))
        written.append(str(path))
    return written
