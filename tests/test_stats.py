"""Tables, conversation-level bootstrap and permutation tests, Holm correction, exports."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from convmaint.model import Conversation, Move, Role, Turn
from convmaint.stats import (
    bootstrap_ratio_ci, compare, conversation_role_table, holm, moves_table, permutation_test, rates, summary,
    tables, to_latex, to_markdown, turn_columns, turn_rows, turns_table, write_table,
)


def _conv(cid, corpus, roles, texts):
    turns = tuple(Turn(i, str(i), f"S{r}", r, t) for i, (r, t) in enumerate(zip(roles, texts)))
    return Conversation(cid, turns, metadata={"corpus": corpus})


def _items():
    h, m = Role.HUMAN, Role.MODEL
    c1 = _conv("c1", "chat", [h, m, h, m], ["which one", "the blue one is best here", "ok got it", "great"])
    c2 = _conv("c2", "chat", [h, m], ["hello there", "hi how can I help"])
    moves1 = [Move("clarification.request", 0, 0, 9, target=None), Move("grounding.acknowledgement", 2, 0, 9, target=1)]
    return [(c1, moves1), (c2, [])]


def test_tables_shapes_and_counts():
    t = tables(_items())
    assert t["moves"].height == 2 and set(t["moves"]["label"]) == {"clarification.request", "grounding.acknowledgement"}
    assert t["moves"].filter(pl.col("label") == "grounding.acknowledgement")["target_role"][0] == "model"
    turns = t["turns"]
    assert turns.height == 6 and turns["n_grounding"].sum() == 1 and turns["n_clarification.request"].sum() == 1
    cr = t["conversation_roles"]
    assert cr.height == 4
    row = cr.filter((pl.col("conversation") == "c1") & (pl.col("role") == "human"))
    assert row["turns"][0] == 2 and row["words"][0] == 5 and row["n_clarification"][0] == 1


def test_turn_columns_and_rows():
    (c1, moves1), _ = _items()
    cols = turn_columns(c1, moves1)
    assert list(cols)[:7] == ["corpus", "conversation", "turn", "speaker", "role", "words", "chars"]
    assert cols["turn"] == [0, 1, 2, 3] and cols["role"] == ["human", "model", "human", "model"]
    assert cols["words"] == [2, 6, 3, 1] and cols["chars"] == [9, 25, 9, 5]
    assert cols["n_clarification.request"] == [1, 0, 0, 0] and cols["n_clarification"] == [1, 0, 0, 0]
    assert cols["n_grounding.acknowledgement"] == [0, 0, 1, 0] and cols["n_grounding"] == [0, 0, 1, 0]
    assert sum(map(sum, (cols[k] for k in cols if k.startswith("n_")))) == 4
    rows = turn_rows(c1, moves1)
    assert len(rows) == 4 and rows[2] == {k: v[2] for k, v in cols.items()}
    assert turn_columns(_conv("e", "chat", [], []), [])["turn"] == [] and turn_rows(_conv("e", "chat", [], []), []) == []


def test_conversation_role_table_from_lazyframe():
    turns = tables(_items())["turns"]
    assert conversation_role_table(turns.lazy()).equals(conversation_role_table(turns))
    # the row order comes from the sort alone, not from the input's order
    assert conversation_role_table(turns.reverse()).equals(conversation_role_table(turns))


def test_empty_inputs_have_schemas():
    assert moves_table([]).columns[:3] == ["corpus", "conversation", "turn"]
    assert "n_repair.self" in turns_table([]).columns


def test_bootstrap_ratio_known_answers():
    est, lo, hi = bootstrap_ratio_ci(np.array([5, 5, 5, 5]), np.array([10, 10, 10, 10]), scale=100)
    assert est == 50.0 and lo == 50.0 and hi == 50.0  # no between-conversation variation
    est, lo, hi = bootstrap_ratio_ci(np.array([0, 10] * 20), np.array([10, 10] * 20), scale=100, n_boot=4000)
    assert est == 50.0 and 30 < lo < 50 < hi < 70
    # analytic check: proportion-like ratio with n=40 clusters of equal size: se = 50 / sqrt(40) ≈ 7.9
    assert abs((hi - lo) / (2 * 1.96) - 50 / math.sqrt(40)) < 1.5
    assert math.isnan(bootstrap_ratio_ci(np.array([]), np.array([]))[0])


def test_bootstrap_is_seeded():
    a = bootstrap_ratio_ci(np.arange(10), np.full(10, 5), seed=3)
    assert a == bootstrap_ratio_ci(np.arange(10), np.full(10, 5), seed=3)


def test_permutation_test_detects_difference_and_is_calibrated():
    rng = np.random.default_rng(0)
    ca = rng.poisson(6, 30)
    cb = rng.poisson(1, 30)
    e = np.full(30, 10)
    assert permutation_test(ca, e, cb, e, n_perm=2000) < 0.01
    # Under the null, p-values are roughly uniform: about 5% below 0.05.
    ps = []
    for s in range(200):
        r = np.random.default_rng(100 + s)
        ps.append(permutation_test(r.poisson(3, 15), np.full(15, 10), r.poisson(3, 15), np.full(15, 10), n_perm=199, seed=s))
    share = np.mean(np.array(ps) < 0.05)
    assert 0.01 <= share <= 0.10


def test_paired_permutation():
    ca = np.array([5, 6, 7, 8, 9, 5, 6, 7])
    cb = np.array([0, 1, 0, 1, 0, 1, 0, 0])
    e = np.full(8, 10)
    p = permutation_test(ca, e, cb, e, paired=True, n_perm=5000)
    assert 2 / 2**8 - 0.01 < p < 0.02  # the exact sign-flip p-value is 2/256
    with pytest.raises(ValueError):
        permutation_test(ca, e, cb[:3], e[:3], paired=True)


def test_holm_known_answers():
    assert holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
    assert holm([0.5, None, 0.01]) == [0.5, None, 0.02]
    assert holm([]) == []


def _synthetic_roles(n=40, human_rate=0.3, model_rate=0.05, seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        for role, rate in (("human", human_rate), ("model", model_rate)):
            turns = 10
            rows.append({"corpus": "x", "conversation": f"c{i}", "role": role, "turns": turns, "words": turns * 12,
                         "n_grounding.acknowledgement": int(rng.binomial(turns, rate)), "n_topic.shift": int(rng.binomial(turns, 0.1))})
    return pl.DataFrame(rows)


def test_compare_within_and_between():
    cr = _synthetic_roles()
    out = compare(cr, labels=["grounding.acknowledgement", "topic.shift"], families=False, n_perm=999, n_boot=500)
    assert set(out["design"]) == {"within", "between"}
    ack = out.filter((pl.col("design") == "within") & (pl.col("label") == "grounding.acknowledgement")).row(0, named=True)
    assert ack["rate_ratio"] > 3 and ack["ratio_low"] > 1.5 and ack["p"] < 0.01 and ack["cohens_d"] > 1
    shift = out.filter((pl.col("design") == "within") & (pl.col("label") == "topic.shift")).row(0, named=True)
    assert shift["ratio_low"] < 1 < shift["ratio_high"] and shift["p"] > 0.05
    assert all(q >= p for p, q in zip(out["p"], out["p_holm"]))


def test_ratio_not_estimable_without_moves():
    cr = _synthetic_roles().with_columns(pl.lit(0).alias("n_topic.shift"))
    out = compare(cr, labels=["topic.shift"], families=False, n_perm=99, n_boot=99)
    assert out["rate_ratio"].is_nan().all() and out["ratio_low"].is_nan().all() and out["p"].is_nan().all()


def test_rates_by_group_and_summary():
    cr = _synthetic_roles()
    r = rates(cr, labels=["grounding.acknowledgement"], families=False, n_boot=300)
    hum = r.filter(pl.col("role") == "human").row(0, named=True)
    assert hum["per_100_turns_low"] <= hum["per_100_turns"] <= hum["per_100_turns_high"]
    assert abs(hum["per_1000_words"] * 12 / 10 - hum["per_100_turns"]) < 1e-9
    s = summary(r)
    assert s.columns == ["label", "x/human", "x/model"]


def test_exports(tmp_path):
    df = pl.DataFrame({"label": ["topic.shift", "a_b&c"], "rate": [1.23456, float("nan")]})
    md = to_markdown(df)
    assert md.splitlines()[1] == "| --- | ---: |" and "1.235" in md
    tex = to_latex(df, caption="Rates")
    assert r"\toprule" in tex and r"a\_b\&c" in tex and r"\caption{Rates}" in tex
    paths = write_table(df, str(tmp_path / "t"))
    assert sorted(p.rsplit(".", 1)[1] for p in paths) == ["csv", "md", "parquet", "tex"]
    assert pl.read_parquet(tmp_path / "t.parquet").height == 2
