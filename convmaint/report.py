"""A single self-contained HTML report: summary table, figures (embedded) and provenance."""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

__all__ = ["write_report"]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}th,td{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6;position:sticky;top:0}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
.muted{color:#666;font-size:.85em}code{background:#f4f4f4;padding:0 .25em}.sig{font-weight:600}
details{margin:.5em 0}pre{background:#f8f8f8;padding:.8em;overflow:auto;font-size:.8em}
"""

_FIGURE_TEXT = {
    "rates": "Move rates per 100 turns by corpus and role, with 95% conversation-bootstrap intervals.",
    "ratios_between": "Human/model rate ratios (log scale), between corpora: all human turns against all model turns.",
    "ratios_within": "Human/model rate ratios within conversations that hold both roles (paired).",
    "topic_segments": "Topic segments over conversation time (first conversations of each corpus).",
}


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        if v != 0 and abs(v) < 0.001:
            return f"{v:.1e}"
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return html.escape(str(v))


def _table(df: Any, *, columns: list[str] | None = None, max_rows: int = 60) -> str:
    if df is None or df.height == 0:
        return "<p class='muted'>(no rows)</p>"
    cols = [c for c in (columns or df.columns) if c in df.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    rows = []
    for row in df.select(cols).head(max_rows).iter_rows(named=True):
        cls = " class='sig'" if isinstance(row.get("p_holm"), float) and row["p_holm"] < 0.05 else ""
        rows.append(f"<tr{cls}>" + "".join(f"<td>{_fmt(row[c])}</td>" for c in cols) + "</tr>")
    more = f"<p class='muted'>{df.height - max_rows} more rows in the CSV.</p>" if df.height > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _img(path: Path) -> str:
    raw = path.read_bytes()
    data = base64.b64encode(raw).decode("ascii")
    # Show figures at about twice their print size (PNG is 300 dpi): one-column figures stay narrow.
    width = int.from_bytes(raw[16:20], "big") if raw[:8] == b"\x89PNG\r\n\x1a\n" else 0
    style = f" style='width:{min(1050, max(320, width * 96 * 2 // 300 // 1))}px'" if width else ""
    return f"<img alt='{html.escape(path.stem)}'{style} src='data:image/png;base64,{data}'>"


def write_report(result: Any) -> Path:
    """Write ``report.html`` into the analysis folder and return its path."""
    out: Path = result.out
    m = result.manifest
    prov = m.get("provenance", {})
    counts = m.get("counts", {})
    comp = result.tables.get("comparison")
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>convmaint report</title><style>{_CSS}</style></head><body>",
             "<h1>convmaint report</h1>",
             f"<p class='muted'>convmaint {html.escape(m.get('convmaint', ''))} · mode {html.escape(str(prov.get('mode')))} · "
             f"backend {html.escape(str(prov.get('backend', {}).get('backend')))} "
             f"({html.escape(str(prov.get('backend', {}).get('model')))} {html.escape(str(prov.get('backend', {}).get('model_version', '')))})</p>",
             f"<p>{counts.get('conversations', 0)} conversations, {counts.get('turns', 0)} turns, {counts.get('moves', 0)} moves "
             f"from corpora {html.escape(', '.join(counts.get('corpora', [])))}. "
             f"{counts.get('read_errors', 0)} read error(s) (see <code>errors.json</code>).</p>",
             "<h2>Move rates by corpus and role</h2>",
             "<p class='muted'>Per 100 turns, with 95% confidence intervals from a bootstrap that resamples conversations.</p>",
             _table(result.tables.get("summary"))]
    if comp is not None and comp.height:
        parts += ["<h2>Human vs model</h2>",
                  "<p class='muted'>Rate ratio human/model per 100 turns (0.5 added to zero counts) with bootstrap CI; "
                  "p from a conversation-level permutation test, Holm-adjusted within each design. "
                  "<b>within</b>: conversations holding both roles (paired); <b>between</b>: all human against all model turns. "
                  "Bold rows: Holm-adjusted p &lt; 0.05.</p>",
                  _table(comp, columns=["design", "label", "count_human", "count_model", "rate_human", "rate_model",
                                        "rate_ratio", "ratio_low", "ratio_high", "p", "p_holm", "cohens_d"], max_rows=80)]
    figs = sorted(Path(p) for p in result.figures if str(p).endswith(".png"))
    if figs:
        parts.append("<h2>Figures</h2>")
        for f in figs:
            key = f.stem
            cap = _FIGURE_TEXT.get(key) or ("Conversation timeline: turns by speaker, moves, and back-links as arcs." if key.startswith("timeline_")
                                             else "Move graph of one conversation: turns as nodes, typed links as edges." if key.startswith("graph_") else key)
            parts.append(f"<figure>{_img(f)}<figcaption>{html.escape(cap)} Vector versions and the numbers behind the figure: "
                         f"<code>figures/{html.escape(key)}.pdf/.svg/.csv</code>.</figcaption></figure>")
    parts += ["<h2>Provenance</h2>",
              "<p class='muted'>Detector versions, lexicon hashes, backend and model, and the hashes of every input file.</p>",
              "<details open><summary>Detectors and lexicons</summary><pre>"
              + html.escape(json.dumps({"detectors": prov.get("detectors"), "lexicons": prov.get("lexicons"),
                                        "backend": prov.get("backend")}, indent=1, sort_keys=True)) + "</pre></details>",
              "<details><summary>Inputs (" + str(len(m.get("inputs", []))) + " files)</summary><pre>"
              + html.escape("\n".join(f"{i['sha256'][:16]}  {i['path']}" for i in m.get("inputs", []))) + "</pre></details>",
              "<details><summary>Options</summary><pre>" + html.escape(json.dumps(m.get("options"), indent=1, sort_keys=True, default=str))
              + "</pre></details>",
              "<p class='muted'>Detector accuracy on gold-annotated corpora is in convmaint's docs/accuracy.md; read every "
              "rate with the precision and recall of its detector in mind.</p>",
              "</body></html>"]
    path = out / "report.html"
    tmp = path.with_name(".report.html.tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    tmp.replace(path)
    return path
