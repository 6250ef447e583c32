"""The public corpora manifest and downloads (against a local file server and file:// URLs)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial

import pytest

from convmaint.corpora import DownloadError, download, list_corpora

REQUIRED = {"swda", "mrda", "tiage", "topical_chat", "dailydialog", "personachat", "hh_rlhf", "wildchat",
            "lmsys_chat_1m", "chatbot_arena"}


def test_manifest_complete():
    entries = {e.name: e for e in list_corpora()}
    assert REQUIRED <= set(entries)
    for e in entries.values():
        assert e.licence and e.citation and e.url and e.reader
        assert bool(e.download) == (e.access == "direct")


def _manifest(tmp_path, sha=""):
    m = tmp_path / "m.toml"
    m.write_text(f'''[[corpus]]
name = "toy"
title = "Toy"
kind = "test"
licence = "MIT"
citation = "none"
url = "http://127.0.0.1/"
download = "http://127.0.0.1:1/toy.jsonl"
sha256 = "{sha}"
access = "direct"
reader = "native"
gold = ""
''')
    return m


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "srv"
    root.mkdir()
    payload = b'{"id": "c", "turns": [{"speaker": "A", "text": "hi"}]}\n'
    (root / "toy.jsonl").write_bytes(payload)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/toy.jsonl", hashlib.sha256(payload).hexdigest(), root
    srv.shutdown()


def test_download_from_local_server_with_checksum(tmp_path, served):
    url, sha, _ = served
    res = download("toy", tmp_path / "out", manifest=_manifest(tmp_path, sha), url=url)
    assert res["verified"] == "yes" and res["sha256"] == sha
    assert (tmp_path / "out" / "toy.jsonl").read_bytes().startswith(b'{"id"')


def test_checksum_mismatch_removes_file(tmp_path, served):
    url, _, _ = served
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download("toy", tmp_path / "out", manifest=_manifest(tmp_path, "0" * 64), url=url)
    assert not list((tmp_path / "out").iterdir())


def test_file_url_without_checksum(tmp_path, served):
    _, sha, root = served
    res = download("toy", tmp_path / "o", manifest=_manifest(tmp_path), url=(root / "toy.jsonl").as_uri())
    assert res["verified"] == "no checksum in manifest" and res["sha256"] == sha


def test_login_corpus_has_clear_message(tmp_path):
    with pytest.raises(DownloadError, match="needs an account on the hub"):
        download("lmsys_chat_1m", tmp_path)


def test_unreachable_reports(tmp_path):
    with pytest.raises(DownloadError, match="cannot download"):
        download("toy", tmp_path, manifest=_manifest(tmp_path), url="http://127.0.0.1:1/toy.jsonl", timeout=2)
