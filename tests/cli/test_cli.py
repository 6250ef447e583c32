"""The CLI verbs through Typer's CliRunner, and the start-up cost of `convmaint --help`."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from convmaint.cli.app import app

runner = CliRunner()

CONV = json.dumps({"id": "c1", "turns": [
    {"speaker": "A", "role": "user", "text": "Can you send me the report?"},
    {"speaker": "B", "role": "assistant", "text": "Which report do you mean?"},
    {"speaker": "A", "role": "user", "text": "The one from Tuesday. Thanks!"},
]})


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.startswith("convmaint ")


def test_formats_lists_readers():
    res = runner.invoke(app, ["formats", "--json"])
    names = {r["name"] for r in json.loads(res.stdout)}
    assert {"native", "chat", "sharegpt", "hh_rlhf", "plain", "csv", "convokit", "cha", "swda", "mrda", "tiage",
            "topical_chat"} <= names


def test_inspect_reports_counts_roles_and_errors(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text(CONV + "\n{broken\n")
    res = runner.invoke(app, ["inspect", str(tmp_path / "in"), "--json", "--errors-out", str(tmp_path / "err.json")])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["total"]["conversations"] == 1 and data["total"]["turns"] == 3
    assert data["total"]["roles"] == {"human": 2, "model": 1, "unknown": 0}
    assert data["errors"][0]["line"] == 2
    assert json.loads((tmp_path / "err.json").read_text())[0]["line"] == 2
    table = runner.invoke(app, ["inspect", str(tmp_path / "in")]).stdout
    assert "TOTAL" in table and "1 error(s)" in table


def test_inspect_strict_fails_with_one_line(tmp_path):
    (tmp_path / "a.jsonl").write_text("{broken\n")
    res = runner.invoke(app, ["inspect", str(tmp_path / "a.jsonl"), "--format", "native", "--strict"])
    assert res.exit_code == 2
    assert "a.jsonl:1" in res.stderr and "Traceback" not in res.stderr


def test_convert_round_trip(tmp_path):
    (tmp_path / "a.jsonl").write_text(CONV + "\n")
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["convert", str(tmp_path / "a.jsonl"), "--to", "jsonl", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text().splitlines()[0])["turns"][1]["role"] == "model"


def test_role_option_and_bad_role(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"id": "c", "turns": [{"speaker": "X", "text": "hi"}]}) + "\n")
    ok = runner.invoke(app, ["inspect", str(p), "--role", "X=model", "--json"])
    assert json.loads(ok.stdout)["total"]["roles"]["model"] == 1
    bad = runner.invoke(app, ["inspect", str(p), "--role", "X=robot"])
    assert bad.exit_code == 2 and "unknown role 'robot'" in bad.stderr


def test_help_does_not_import_heavy_libraries():
    code = ("import sys; from typer.testing import CliRunner; from convmaint.cli.app import app; "
            "CliRunner().invoke(app, ['--help']); CliRunner().invoke(app, ['formats']); "
            "print(sorted(m for m in ('spacy', 'torch', 'polars', 'matplotlib', 'networkx', 'stanza') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
