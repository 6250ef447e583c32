"""Tidy tables of moves, turns and conversations (polars), rates with conversation-bootstrap CIs,
and human-vs-model comparisons with permutation tests and Holm correction.

Turns inside a conversation are not independent, so every interval and test here resamples or
permutes whole conversations (more exactly: conversation × role units), never turns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from convmaint.model import FAMILIES, LABELS, Conversation, Move, thaw

__all__ = [
    "bootstrap_ratio_ci",
    "compare",
    "conversation_role_table",
    "holm",
    "moves_table",
    "permutation_test",
    "rates",
    "tables",
    "turns_table",
]

#: Count columns: one per label and one per family (``n_repair`` …), in a fixed order.
LABEL_COLS = [f"n_{lab}" for lab in LABELS]
FAMILY_COLS = [f"n_{fam}" for fam in FAMILIES]


def _corpus(conv: Conversation) -> str:
    return str(conv.metadata.get("corpus", "") or "")


def moves_table(items: Iterable[tuple[Conversation, Sequence[Move]]]) -> pl.DataFrame:
    """One row per move: where it is, who made it, what it is and what it points at."""
    rows = []
    for conv, moves in items:
        for m in moves:
            t = conv.turns[m.turn]
            rows.append({
                "corpus": _corpus(conv), "conversation": conv.id, "turn": m.turn, "speaker": t.speaker,
                "role": t.role.value, "label": m.label, "family": m.family, "start": m.start, "end": m.end,
                "text": t.text[m.start:m.end], "cue": m.cue, "target": m.target,
                "target_role": conv.turns[m.target].role.value if m.target is not None and m.target < len(conv.turns) else None,
                "detector": m.detector, "score": float(m.score),
                "attributes": json.dumps(thaw(m.attributes), sort_keys=True, ensure_ascii=False),
            })
    schema = {"corpus": pl.Utf8, "conversation": pl.Utf8, "turn": pl.Int64, "speaker": pl.Utf8, "role": pl.Utf8,
              "label": pl.Utf8, "family": pl.Utf8, "start": pl.Int64, "end": pl.Int64, "text": pl.Utf8, "cue": pl.Utf8,
              "target": pl.Int64, "target_role": pl.Utf8, "detector": pl.Utf8, "score": pl.Float64, "attributes": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _turn_counts(conv: Conversation, moves: Sequence[Move]) -> list[dict[str, int]]:
    counts = [dict.fromkeys(LABEL_COLS + FAMILY_COLS, 0) for _ in conv.turns]
    for m in moves:
        c = counts[m.turn]
        c[f"n_{m.label}"] += 1
        c[f"n_{m.family}"] += 1
    return counts


def turns_table(items: Iterable[tuple[Conversation, Sequence[Move]]]) -> pl.DataFrame:
    """One row per turn with its size and its move counts per label and family."""
    rows = []
    for conv, moves in items:
        for t, c in zip(conv.turns, _turn_counts(conv, moves)):
            rows.append({"corpus": _corpus(conv), "conversation": conv.id, "turn": t.index, "speaker": t.speaker,
                         "role": t.role.value, "words": t.n_words, "chars": len(t.text), **c})
    return pl.DataFrame(rows, schema=_turn_schema(), orient="row") if rows else pl.DataFrame(schema=_turn_schema())


def _turn_schema() -> dict[str, Any]:
    base = {"corpus": pl.Utf8, "conversation": pl.Utf8, "turn": pl.Int64, "speaker": pl.Utf8, "role": pl.Utf8,
            "words": pl.Int64, "chars": pl.Int64}
    return base | dict.fromkeys(LABEL_COLS + FAMILY_COLS, pl.Int64)


def conversation_role_table(turns: pl.DataFrame) -> pl.DataFrame:
    """One row per (conversation, role): turns, words and move counts — the resampling unit."""
    counts = LABEL_COLS + FAMILY_COLS
    return (
        turns.group_by(["corpus", "conversation", "role"], maintain_order=True)
        .agg(pl.len().alias("turns"), pl.col("words").sum(), *[pl.col(c).sum() for c in counts])
        .sort(["corpus", "conversation", "role"])
    )


def tables(items: Iterable[tuple[Conversation, Sequence[Move]]]) -> dict[str, pl.DataFrame]:
    """The ``moves``, ``turns`` and ``conversation_roles`` tables from one pass over the items."""
    items = list(items)
    turns = turns_table(items)
    return {"moves": moves_table(items), "turns": turns, "conversation_roles": conversation_role_table(turns)}


# --------------------------------------------------------------------------------- resampling


def _weights(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap weights: how often each of n units is drawn, for n_boot resamples (n_boot × n)."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)


def bootstrap_ratio_ci(
    counts: np.ndarray, exposure: np.ndarray, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0, scale: float = 1.0
) -> tuple[float, float, float]:
    """A ratio-of-sums rate ``scale * sum(counts) / sum(exposure)`` and its percentile bootstrap CI,
    resampling units (conversations) with replacement.

    Example:
        >>> bootstrap_ratio_ci(np.array([1, 2, 3]), np.array([10, 10, 10]), scale=100)[0]
        20.0
    """
    counts = np.asarray(counts, dtype=np.float64)
    exposure = np.asarray(exposure, dtype=np.float64)
    total = exposure.sum()
    if len(counts) == 0 or total == 0:
        return (math.nan, math.nan, math.nan)
    est = scale * counts.sum() / total
    if len(counts) == 1:
        return (est, math.nan, math.nan)
    w = _weights(len(counts), n_boot, np.random.default_rng(seed))
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = scale * (w @ counts) / (w @ exposure)
    boots = boots[np.isfinite(boots)]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(boots, [alpha, 1 - alpha])
    return (float(est), float(lo), float(hi))


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone); None stays None.

    Example:
        >>> holm([0.01, 0.04, 0.03])
        [0.03, 0.06, 0.06]
    """
    idx = [i for i, p in enumerate(pvalues) if p is not None and not math.isnan(p)]
    m = len(idx)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):  # type: ignore[arg-type, return-value]
        adj = min(1.0, (m - rank) * float(pvalues[i]))  # type: ignore[arg-type]
        running = max(running, adj)
        out[i] = round(running, 12)
    return out


def permutation_test(
    counts_a: np.ndarray, exposure_a: np.ndarray, counts_b: np.ndarray, exposure_b: np.ndarray,
    *, n_perm: int = 5000, seed: int = 0, paired: bool = False,
) -> float:
    """Two-sided permutation p-value for a difference in ratio-of-sums rates between two groups of units.

    Independent design: unit labels are shuffled between the groups. Paired design (both roles in
    the same conversations, ``counts_a[i]`` and ``counts_b[i]`` from conversation i): the two
    roles' values are swapped within conversations at random. The statistic is the difference of
    log rates (with 0.5 added to each count sum). p = (1 + #{|T*| ≥ |T|}) / (1 + n_perm).
    """
    ca, ea = np.asarray(counts_a, float), np.asarray(exposure_a, float)
    cb, eb = np.asarray(counts_b, float), np.asarray(exposure_b, float)
    if ea.sum() == 0 or eb.sum() == 0:
        return math.nan

    def stat(c1, e1, c2, e2):
        return np.log((c1 + 0.5) / e1) - np.log((c2 + 0.5) / e2)

    observed = stat(ca.sum(), ea.sum(), cb.sum(), eb.sum())
    rng = np.random.default_rng(seed)
    if paired:
        if len(ca) != len(cb):
            raise ValueError("paired permutation needs equally many units in both groups")
        flips = rng.integers(0, 2, size=(n_perm, len(ca))).astype(bool)
        c1 = np.where(flips, cb, ca).sum(axis=1)
        e1 = np.where(flips, eb, ea).sum(axis=1)
        c2 = np.where(flips, ca, cb).sum(axis=1)
        e2 = np.where(flips, ea, eb).sum(axis=1)
    else:
        c = np.concatenate([ca, cb])
        e = np.concatenate([ea, eb])
        na = len(ca)
        perms = np.argsort(rng.random((n_perm, len(c))), axis=1)
        in_a = perms[:, :na]
        c1 = c[in_a].sum(axis=1)
        e1 = e[in_a].sum(axis=1)
        c2 = c.sum() - c1
        e2 = e.sum() - e1
    with np.errstate(divide="ignore", invalid="ignore"):
        t = stat(c1, e1, c2, e2)
    t = t[np.isfinite(t)]
    return float((1 + np.sum(np.abs(t) >= abs(observed) - 1e-12)) / (1 + len(t)))


# ------------------------------------------------------------------------------------ summaries


def _count_cols(labels: Sequence[str] | None, families: bool) -> list[str]:
    cols = [f"n_{lab}" for lab in (labels or LABELS)]
    return cols + (FAMILY_COLS if families else [])


def rates(
    conv_roles: pl.DataFrame,
    *,
    by: Sequence[str] = ("corpus", "role"),
    labels: Sequence[str] | None = None,
    families: bool = True,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """Rates per 100 turns and per 1,000 words for every label (and family) by group, with
    conversation-bootstrap confidence intervals.

    Args:
        conv_roles: The :func:`conversation_role_table`.
        by: Grouping columns.
        n_boot: Bootstrap resamples (of conversation × role units within each group).
    """
    rows = []
    cols = _count_cols(labels, families)
    for key, grp in conv_roles.group_by(list(by), maintain_order=True):
        key = key if isinstance(key, tuple) else (key,)
        turns = grp["turns"].to_numpy()
        words = grp["words"].to_numpy()
        for col in cols:
            counts = grp[col].to_numpy()
            r_t = bootstrap_ratio_ci(counts, turns, n_boot=n_boot, level=level, seed=seed, scale=100)
            r_w = bootstrap_ratio_ci(counts, words, n_boot=n_boot, level=level, seed=seed, scale=1000)
            rows.append({**dict(zip(by, key)), "label": col[2:], "units": grp.height, "count": int(counts.sum()),
                         "turns": int(turns.sum()), "words": int(words.sum()),
                         "per_100_turns": r_t[0], "per_100_turns_low": r_t[1], "per_100_turns_high": r_t[2],
                         "per_1000_words": r_w[0], "per_1000_words_low": r_w[1], "per_1000_words_high": r_w[2]})
    return pl.DataFrame(rows).sort([*by, "label"]) if rows else pl.DataFrame()


def _cohens_d(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or len(y) < 2:
        return math.nan
    sp = math.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2))
    return float((x.mean() - y.mean()) / sp) if sp > 0 else math.nan


def compare(
    conv_roles: pl.DataFrame,
    *,
    group: str = "role",
    a: str = "human",
    b: str = "model",
    per: str = "turns",
    labels: Sequence[str] | None = None,
    families: bool = True,
    n_boot: int = 2000,
    n_perm: int = 5000,
    level: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """Compare rates of every label between two groups (default human vs model turns).

    Two designs are reported separately (column ``design``):

    - ``within``: conversations that hold both groups (a user and an assistant); paired bootstrap
      and sign-flip permutation over those conversations;
    - ``between``: all units of group ``a`` against all units of group ``b`` (e.g. human-human
      corpora against human-model corpora); independent bootstrap and label permutation.

    Columns: rate in each group (per 100 turns or per 1,000 words), the rate ratio a/b with its
    bootstrap CI (0.5 added to zero counts), the permutation p-value, the Holm-adjusted p-value
    (within each design), and Cohen's d on per-unit rates as an effect size.
    """
    if per not in ("turns", "words"):
        raise ValueError("per must be 'turns' or 'words'")
    scale = 100.0 if per == "turns" else 1000.0
    cols = _count_cols(labels, families)
    ga = conv_roles.filter(pl.col(group) == a)
    gb = conv_roles.filter(pl.col(group) == b)
    designs: list[tuple[str, pl.DataFrame, pl.DataFrame, bool]] = []
    if group == "role":
        both = ga.join(gb, on=["corpus", "conversation"], how="inner", suffix="_b")
        if both.height:
            pa = both.select(["turns", "words", *cols])
            pb = both.select([pl.col(f"{c}_b").alias(c) for c in ["turns", "words", *cols]])
            designs.append(("within", pa, pb, True))
    designs.append(("between", ga, gb, False))
    out = []
    rng_seed = seed
    for design, da, db, paired in designs:
        rows = []
        if da.height == 0 or db.height == 0:
            continue
        ea = da[per].to_numpy().astype(float)
        eb = db[per].to_numpy().astype(float)
        for col in cols:
            ca = da[col].to_numpy().astype(float)
            cb = db[col].to_numpy().astype(float)
            rate_a = scale * ca.sum() / ea.sum() if ea.sum() else math.nan
            rate_b = scale * cb.sum() / eb.sum() if eb.sum() else math.nan
            # With no move in either group the ratio is not estimable (0.5/0.5 would only echo the
            # exposures), so it is reported as NaN rather than as a misleading number.
            estimable = bool(ea.sum() and eb.sum() and (ca.sum() + cb.sum()))
            ratio = ((ca.sum() + 0.5) / ea.sum()) / ((cb.sum() + 0.5) / eb.sum()) if estimable else math.nan
            rng = np.random.default_rng(rng_seed)
            if paired:
                w = _weights(len(ca), n_boot, rng)
                wa = wb = w
            else:
                wa = _weights(len(ca), n_boot, rng)
                wb = _weights(len(cb), n_boot, rng)
            with np.errstate(divide="ignore", invalid="ignore"):
                boots = ((wa @ ca + 0.5) / (wa @ ea)) / ((wb @ cb + 0.5) / (wb @ eb))
            boots = boots[np.isfinite(boots)]
            alpha = (1 - level) / 2
            lo, hi = (np.quantile(boots, [alpha, 1 - alpha]) if len(boots) and estimable else (math.nan, math.nan))
            p = permutation_test(ca, ea, cb, eb, n_perm=n_perm, seed=rng_seed, paired=paired) if (ca.sum() + cb.sum()) else math.nan
            with np.errstate(divide="ignore", invalid="ignore"):
                ua = np.where(ea > 0, scale * ca / np.where(ea > 0, ea, 1), np.nan)
                ub = np.where(eb > 0, scale * cb / np.where(eb > 0, eb, 1), np.nan)
            d = _cohens_d(ua[np.isfinite(ua)], ub[np.isfinite(ub)])
            rows.append({"design": design, "label": col[2:], f"units_{a}": len(ca), f"units_{b}": len(cb),
                         f"count_{a}": int(ca.sum()), f"count_{b}": int(cb.sum()),
                         f"rate_{a}": rate_a, f"rate_{b}": rate_b, "rate_ratio": float(ratio),
                         "ratio_low": float(lo), "ratio_high": float(hi), "p": p, "cohens_d": d, "per": per})
        adj = holm([r["p"] if not math.isnan(r["p"]) else None for r in rows])
        for r, q in zip(rows, adj):
            r["p_holm"] = q if q is not None else math.nan
        out.extend(rows)
    return pl.DataFrame(out) if out else pl.DataFrame()


def summary(rates_df: pl.DataFrame, *, per: str = "turns", digits: int = 2) -> pl.DataFrame:
    """A wide summary table: one row per label, one "rate [low, high]" column per group."""
    col = f"per_100_{per}" if per == "turns" else "per_1000_words"
    if rates_df.is_empty():
        return rates_df
    group_cols = [c for c in rates_df.columns if c in ("corpus", "role")]
    fmt = rates_df.with_columns(
        pl.concat_str([c for c in group_cols], separator="/").alias("group"),
        pl.format("{} [{}, {}]", pl.col(col).round(digits), pl.col(f"{col}_low").round(digits),
                  pl.col(f"{col}_high").round(digits)).alias("value"),
    )
    return fmt.pivot(on="group", index="label", values="value", aggregate_function="first")


def write_table(df: pl.DataFrame, path_stem: str, *, formats: Iterable[str] = ("csv", "parquet", "md", "tex"),
                caption: str | None = None, stamp: Mapping[str, Any] | None = None) -> list[str]:
    """Write a table as CSV, Parquet, Markdown and LaTeX (booktabs); returns the paths written."""
    from pathlib import Path

    written = []
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        p = stem.with_suffix(f".{fmt}")
        if fmt == "csv":
            df.write_csv(p)
        elif fmt == "parquet":
            df.write_parquet(p, metadata={k: json.dumps(v) for k, v in (stamp or {}).items()} if stamp else None)
        elif fmt == "md":
            p.write_text(to_markdown(df), encoding="utf-8")
        elif fmt == "tex":
            p.write_text(to_latex(df, caption=caption), encoding="utf-8")
        else:
            raise ValueError(f"unknown table format {fmt!r}")
        written.append(str(p))
    return written


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.3g}" if abs(v) < 1e-3 and v != 0 else f"{v:.3f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def to_markdown(df: pl.DataFrame) -> str:
    """A GitHub-flavoured Markdown table."""
    head = "| " + " | ".join(df.columns) + " |"
    sep = "| " + " | ".join("---:" if df[c].dtype.is_numeric() else "---" for c in df.columns) + " |"
    body = ["| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |" for row in df.iter_rows()]
    return "\n".join([head, sep, *body]) + "\n"


_TEX_ESC = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
            "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def _tex(s: str) -> str:
    return "".join(_TEX_ESC.get(ch, ch) for ch in s)


def to_latex(df: pl.DataFrame, *, caption: str | None = None) -> str:
    """A booktabs LaTeX table (needs ``\\usepackage{booktabs}``)."""
    align = "".join("r" if df[c].dtype.is_numeric() else "l" for c in df.columns)
    lines = [r"\begin{table}[t]", r"\centering", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(_tex(c) for c in df.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(_tex(_cell(v)) for v in row) + r" \\" for row in df.iter_rows()]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(rf"\caption{{{_tex(caption)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
