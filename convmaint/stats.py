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
    "summarize",
    "tables",
    "turns_table",
]

#: Count columns: one per label and one per family (``n_repair`` …), in a fixed order.
LABEL_COLS = [f"n_{lab}" for lab in LABELS]
FAMILY_COLS = [f"n_{fam}" for fam in FAMILIES]


def _corpus(conv: Conversation) -> str:
    return str(conv.metadata.get("corpus", "") or "")


MOVE_SCHEMA = {"corpus": pl.Utf8, "conversation": pl.Utf8, "turn": pl.Int64, "speaker": pl.Utf8, "role": pl.Utf8,
               "label": pl.Utf8, "family": pl.Utf8, "start": pl.Int64, "end": pl.Int64, "text": pl.Utf8, "cue": pl.Utf8,
               "target": pl.Int64, "target_role": pl.Utf8, "detector": pl.Utf8, "score": pl.Float64, "attributes": pl.Utf8}


def move_rows(conv: Conversation, moves: Sequence[Move]) -> list[dict[str, Any]]:
    """The ``moves`` table rows of one conversation."""
    rows = []
    corpus = _corpus(conv)
    for m in moves:
        t = conv.turns[m.turn]
        rows.append({
            "corpus": corpus, "conversation": conv.id, "turn": m.turn, "speaker": t.speaker,
            "role": t.role._value_, "label": m.label, "family": m.family, "start": m.start, "end": m.end,
            "text": t.text[m.start:m.end], "cue": m.cue, "target": m.target,
            "target_role": conv.turns[m.target].role._value_ if m.target is not None and m.target < len(conv.turns) else None,
            "detector": m.detector, "score": float(m.score),
            "attributes": _attributes_json(m.attributes),
        })
    return rows


def _attributes_json(attributes: Any) -> str:
    """A move's attributes as sorted JSON (frozen mappings and tuples serialise as dicts and lists)."""
    if not attributes:
        return "{}"
    try:
        return json.dumps(attributes, sort_keys=True, ensure_ascii=False)
    except TypeError:  # something JSON does not know (an Enum that is not a str): thaw it first
        return json.dumps(thaw(attributes), sort_keys=True, ensure_ascii=False)


def moves_table(items: Iterable[tuple[Conversation, Sequence[Move]]]) -> pl.DataFrame:
    """One row per move: where it is, who made it, what it is and what it points at."""
    rows = [row for conv, moves in items for row in move_rows(conv, moves)]
    return pl.DataFrame(rows, schema=MOVE_SCHEMA, orient="row") if rows else pl.DataFrame(schema=MOVE_SCHEMA)


def turn_columns(conv: Conversation, moves: Sequence[Move]) -> dict[str, list[Any]]:
    """The ``turns`` table rows of one conversation, column by column (``convmaint analyze``
    writes them so: no dict per turn)."""
    turns = conv.turns
    n = len(turns)
    counts = {col: [0] * n for col in LABEL_COLS + FAMILY_COLS}
    for m in moves:
        counts[f"n_{m.label}"][m.turn] += 1
        counts[f"n_{m.family}"][m.turn] += 1
    return {"corpus": [_corpus(conv)] * n, "conversation": [conv.id] * n, "turn": [t.index for t in turns],
            "speaker": [t.speaker for t in turns], "role": [t.role._value_ for t in turns],
            "words": [t.n_words for t in turns], "chars": [len(t.text) for t in turns], **counts}


def turn_rows(conv: Conversation, moves: Sequence[Move]) -> list[dict[str, Any]]:
    """The ``turns`` table rows of one conversation."""
    cols = turn_columns(conv, moves)
    return [dict(zip(cols, row)) for row in zip(*cols.values())]


def turns_table(items: Iterable[tuple[Conversation, Sequence[Move]]]) -> pl.DataFrame:
    """One row per turn with its size and its move counts per label and family."""
    rows = [row for conv, moves in items for row in turn_rows(conv, moves)]
    return pl.DataFrame(rows, schema=_turn_schema(), orient="row") if rows else pl.DataFrame(schema=_turn_schema())


def _turn_schema() -> dict[str, Any]:
    base = {"corpus": pl.Utf8, "conversation": pl.Utf8, "turn": pl.Int64, "speaker": pl.Utf8, "role": pl.Utf8,
            "words": pl.Int64, "chars": pl.Int64}
    return base | dict.fromkeys(LABEL_COLS + FAMILY_COLS, pl.Int64)


def conversation_role_table(turns: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """One row per (conversation, role): turns, words and move counts — the resampling unit.

    ``turns`` may be a LazyFrame (a scan of a turns table larger than memory): it is aggregated on
    polars' streaming engine, and only the result is held.
    """
    counts = LABEL_COLS + FAMILY_COLS
    # No maintain_order: the sort on the group keys alone fixes the row order.
    return (
        turns.lazy().group_by(["corpus", "conversation", "role"])
        .agg(pl.len().alias("turns"), pl.col("words").sum(), *[pl.col(c).sum() for c in counts])
        .sort(["corpus", "conversation", "role"])
        .collect(engine="streaming")
    )


def tables(items: Iterable[tuple[Conversation, Sequence[Move]]]) -> dict[str, pl.DataFrame]:
    """The ``moves``, ``turns`` and ``conversation_roles`` tables from one pass over the items."""
    items = list(items)
    turns = turns_table(items)
    return {"moves": moves_table(items), "turns": turns, "conversation_roles": conversation_role_table(turns)}


# --------------------------------------------------------------------------------- resampling


#: Bootstrap weights and permutations are drawn in blocks of at most this many cells (resamples ×
#: units), so memory stays bounded however many conversations there are. Drawing a matrix block by
#: block consumes the generator exactly as drawing it whole does, so results do not depend on it.
_BLOCK_CELLS = 1 << 20


def _weights(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap weights: how often each of n units is drawn, for n_boot resamples (n_boot × n).

    Each resample draws n units with replacement; the weights are the counts of each unit (a
    multinomial sample, counted with one ``bincount`` over all resamples, several times faster
    than ``Generator.multinomial``).
    """
    picks = rng.integers(0, n, size=(n_boot, n))
    picks += (np.arange(n_boot) * n)[:, None]
    return np.bincount(picks.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)


def _block_rows(n: int, total: int) -> int:
    return max(1, min(total, _BLOCK_CELLS // max(1, n)))


def _boot_sums(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``W @ values`` for bootstrap weights ``W = _weights(n, n_boot, rng)``, block by block.

    ``values`` is units × columns; every column shares the same resamples, so one draw serves all
    labels (and both exposures) of a group. Memory is O(block × n), not O(n_boot × n). With
    integer-valued inputs (counts, turns, words) the sums are exact, whatever the blocking.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    out = np.empty((n_boot, values.shape[1]))
    step = _block_rows(n, n_boot)
    for s in range(0, n_boot, step):
        k = min(step, n_boot - s)
        out[s:s + k] = _weights(n, k, rng) @ values
    return out


def _ratio_ci(counts: np.ndarray, exposure: np.ndarray, boot_counts: np.ndarray | None, boot_exposure: np.ndarray | None,
              *, level: float, scale: float) -> tuple[float, float, float]:
    """The rate ``scale * sum(counts) / sum(exposure)`` and its percentile interval from bootstrap sums."""
    total = exposure.sum()
    if len(counts) == 0 or total == 0:
        return (math.nan, math.nan, math.nan)
    est = scale * counts.sum() / total
    if len(counts) == 1 or boot_counts is None:
        return (est, math.nan, math.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = scale * boot_counts / boot_exposure
    boots = boots[np.isfinite(boots)]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(boots, [alpha, 1 - alpha])
    return (float(est), float(lo), float(hi))


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
    if len(counts) < 2 or exposure.sum() == 0:
        return _ratio_ci(counts, exposure, None, None, level=level, scale=scale)
    sums = _boot_sums(np.column_stack([counts, exposure]), n_boot, np.random.default_rng(seed))
    return _ratio_ci(counts, exposure, np.ascontiguousarray(sums[:, 0]), np.ascontiguousarray(sums[:, 1]),
                     level=level, scale=scale)


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


def _log_rate_diff(c1, e1, c2, e2):
    return np.log((c1 + 0.5) / e1) - np.log((c2 + 0.5) / e2)


def _permutation_pvalues(
    counts_a: np.ndarray, exposure_a: np.ndarray, counts_b: np.ndarray, exposure_b: np.ndarray,
    *, n_perm: int, seed: int, paired: bool,
) -> list[float]:
    """:func:`permutation_test` for several count columns at once (``counts_*`` are units × columns).

    All columns share the permutations (as separate calls with one seed would draw them), which are
    drawn in blocks so that memory stays O(block × units).
    """
    ca = np.asarray(counts_a, float).reshape(len(exposure_a), -1)
    cb = np.asarray(counts_b, float).reshape(len(exposure_b), -1)
    ea, eb = np.asarray(exposure_a, float), np.asarray(exposure_b, float)
    k = ca.shape[1]
    if ea.sum() == 0 or eb.sum() == 0:
        return [math.nan] * k
    if paired and len(ca) != len(cb):
        raise ValueError("paired permutation needs equally many units in both groups")
    observed = [_log_rate_diff(ca[:, j].sum(), ea.sum(), cb[:, j].sum(), eb.sum()) for j in range(k)]
    rng = np.random.default_rng(seed)
    hits = np.zeros(k)
    valid = np.zeros(k)
    if paired:
        n = len(ca)
        base_c1, base_c2 = ca.sum(axis=0), cb.sum(axis=0)
        step = _block_rows(n, n_perm)
        for s in range(0, n_perm, step):
            flips = rng.integers(0, 2, size=(min(step, n_perm - s), n)).astype(bool)
            f = flips.astype(np.float64)
            # where(flip, b, a).sum() == a.sum() + flip @ (b - a): exact for integer-valued inputs.
            c1 = (base_c1 + f @ (cb - ca)).T
            c2 = (base_c2 + f @ (ca - cb)).T
            e1 = np.where(flips, eb, ea).sum(axis=1)
            e2 = np.where(flips, ea, eb).sum(axis=1)
            _count_extremes(c1, e1, c2, e2, observed, hits, valid)
    else:
        c = np.concatenate([ca, cb])
        e = np.concatenate([ea, eb])
        na, total = len(ca), len(c)
        c_sum, e_sum = c.sum(axis=0), e.sum()
        step = _block_rows(total, n_perm)
        for s in range(0, n_perm, step):
            perms = np.argsort(rng.random((min(step, n_perm - s), total)), axis=1)
            in_a = perms[:, :na]
            e1 = e[in_a].sum(axis=1)
            member = np.zeros(perms.shape)
            np.put_along_axis(member, in_a, 1.0, axis=1)
            c1 = (member @ c).T
            _count_extremes(c1, e1, c_sum[:, None] - c1, e_sum - e1, observed, hits, valid)
    return [float((1 + hits[j]) / (1 + valid[j])) for j in range(k)]


def _count_extremes(c1, e1, c2, e2, observed, hits, valid) -> None:
    """Add, per column (rows of ``c1``/``c2``), the permuted statistics at least as extreme as observed."""
    for j in range(len(observed)):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = _log_rate_diff(np.ascontiguousarray(c1[j]), e1, np.ascontiguousarray(c2[j]), e2)
        t = t[np.isfinite(t)]
        hits[j] += np.sum(np.abs(t) >= abs(observed[j]) - 1e-12)
        valid[j] += len(t)


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
    return _permutation_pvalues(counts_a, exposure_a, counts_b, exposure_b, n_perm=n_perm, seed=seed, paired=paired)[0]


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
        turns = grp["turns"].to_numpy().astype(np.float64)
        words = grp["words"].to_numpy().astype(np.float64)
        counts_all = np.column_stack([grp[col].to_numpy().astype(np.float64) for col in cols])
        # One set of resamples per group serves every label and both exposures: the same draws
        # that a fresh generator with this seed gives each separate bootstrap_ratio_ci call.
        sums = (_boot_sums(np.column_stack([turns, words, counts_all]), n_boot, np.random.default_rng(seed))
                if grp.height > 1 else None)

        def column(i: int, sums: np.ndarray | None = sums) -> np.ndarray | None:  # bound now: called in this iteration only
            return None if sums is None else np.ascontiguousarray(sums[:, i])

        for j, col in enumerate(cols):
            counts = counts_all[:, j]
            r_t = _ratio_ci(counts, turns, column(2 + j), column(0), level=level, scale=100)
            r_w = _ratio_ci(counts, words, column(2 + j), column(1), level=level, scale=1000)
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
        ca_all = np.column_stack([da[col].to_numpy().astype(float) for col in cols])
        cb_all = np.column_stack([db[col].to_numpy().astype(float) for col in cols])
        # The resamples and permutations are drawn once per design and shared by every label (each
        # label used to redraw the very same ones from a fresh generator with the same seed).
        rng = np.random.default_rng(rng_seed)
        if paired:
            sums = _boot_sums(np.column_stack([ea, ca_all, eb, cb_all]), n_boot, rng)
            sums_a, sums_b = sums[:, :1 + len(cols)], sums[:, 1 + len(cols):]
        else:
            sums_a = _boot_sums(np.column_stack([ea, ca_all]), n_boot, rng)
            sums_b = _boot_sums(np.column_stack([eb, cb_all]), n_boot, rng)
        boot_ea, boot_eb = np.ascontiguousarray(sums_a[:, 0]), np.ascontiguousarray(sums_b[:, 0])
        pvalues = _permutation_pvalues(ca_all, ea, cb_all, eb, n_perm=n_perm, seed=rng_seed, paired=paired)
        for j, col in enumerate(cols):
            ca = ca_all[:, j]
            cb = cb_all[:, j]
            rate_a = scale * ca.sum() / ea.sum() if ea.sum() else math.nan
            rate_b = scale * cb.sum() / eb.sum() if eb.sum() else math.nan
            # With no move in either group the ratio is not estimable (0.5/0.5 would only echo the
            # exposures), so it is reported as NaN rather than as a misleading number.
            estimable = bool(ea.sum() and eb.sum() and (ca.sum() + cb.sum()))
            ratio = ((ca.sum() + 0.5) / ea.sum()) / ((cb.sum() + 0.5) / eb.sum()) if estimable else math.nan
            boot_ca = np.ascontiguousarray(sums_a[:, 1 + j])
            boot_cb = np.ascontiguousarray(sums_b[:, 1 + j])
            with np.errstate(divide="ignore", invalid="ignore"):
                boots = ((boot_ca + 0.5) / boot_ea) / ((boot_cb + 0.5) / boot_eb)
            boots = boots[np.isfinite(boots)]
            alpha = (1 - level) / 2
            lo, hi = (np.quantile(boots, [alpha, 1 - alpha]) if len(boots) and estimable else (math.nan, math.nan))
            p = pvalues[j] if (ca.sum() + cb.sum()) else math.nan
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


def parquet_metadata(stamp: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The Parquet key-value metadata that records ``stamp`` (each value as JSON); None without one."""
    return {k: json.dumps(v) for k, v in stamp.items()} if stamp else None


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
            df.write_parquet(p, metadata=parquet_metadata(stamp))
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


def summarize(
    items: Iterable[tuple[Conversation, Sequence[Move]]],
    *,
    n_boot: int = 2000,
    n_perm: int = 5000,
    seed: int = 0,
) -> dict[str, pl.DataFrame]:
    """All tables of an analysis from (conversation, moves) pairs, in memory (the API twin of the
    tables ``convmaint analyze`` writes): ``moves``, ``turns``, ``conversation_roles``, ``rates``
    (by corpus and role), ``comparison`` (human vs model, within and between) and ``summary``.

    Example:
        >>> from convmaint.pipeline import detect_moves  # doctest: +SKIP
        >>> out = summarize(detect_moves(convmaint.load("corpora/")))  # doctest: +SKIP
        >>> out["comparison"]  # doctest: +SKIP
    """
    out = tables(items)
    cr = out["conversation_roles"]
    out["rates"] = rates(cr, n_boot=n_boot, seed=seed) if cr.height else pl.DataFrame()
    out["comparison"] = compare(cr, n_boot=n_boot, n_perm=n_perm, seed=seed) if cr.height else pl.DataFrame()
    out["summary"] = summary(out["rates"]) if out["rates"].height else pl.DataFrame()
    return out
