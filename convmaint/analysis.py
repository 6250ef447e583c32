"""The main job: read transcript folders, detect moves, build graphs, write tables, figures and a report.

``analyze`` streams: conversations are read, parsed (once), detected and turned into table rows
chunk by chunk; rows go to Parquet part files, graphs to JSON lines, and only the per
(conversation, role) table — a few numbers per conversation — is aggregated at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convmaint.errors import ConfigError
from convmaint.model import Conversation, Move

__all__ = ["AnalysisResult", "analyze", "default_inputs"]

#: The parts of the bundled sample corpora that ``convmaint analyze`` reads when given no path.
DEFAULT_FOLDERS = ("human-human", "human-model")


def default_inputs() -> list[Path]:
    """The bundled sample corpora (human-human and human-model)."""
    from convmaint.resources import resource_dir

    root = resource_dir("corpora")
    return [root / name for name in DEFAULT_FOLDERS]


@dataclass
class AnalysisResult:
    """What ``analyze`` wrote, and the in-memory summary tables."""

    out: Path
    manifest: dict[str, Any]
    tables: dict[str, Any] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    errors: list = field(default_factory=list)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _input_files(paths: Sequence[Path]) -> list[dict[str, Any]]:
    out = []
    for p in paths:
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith("."))
        for f in files:
            out.append({"path": str(f), "bytes": f.stat().st_size, "sha256": _sha256(f)})
    return out


def _safe(name: str) -> str:
    """A file-name-safe version of an identifier (corpus names become file names)."""
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).strip("._")
    return keep[:80] or "corpus"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class _ConvResult:
    """Everything the main process needs from one processed conversation (picklable)."""

    corpus: str
    conv_id: str
    turn_rows: list[dict[str, Any]]
    move_rows: list[dict[str, Any]]
    conv_row: dict[str, Any]
    graph_json: str
    n_moves: int
    conversation: Conversation | None = None
    moves: tuple[Move, ...] = ()


def process_conversation(conv: Conversation, moves: Sequence[Move]) -> _ConvResult:
    """Table rows, graph and measures of one detected conversation (runs in workers too)."""
    from convmaint.graph import flat_measures, move_graph, node_link_json
    from convmaint.stats import _turn_counts, move_rows, turn_rows

    corpus = str(conv.metadata.get("corpus", "") or "")
    counts = _turn_counts(conv, moves)
    g = move_graph(conv, moves)
    measures = flat_measures(g)
    roles = [t.role.value for t in conv.turns]
    conv_row = {
        "corpus": corpus, "conversation": conv.id, "source": conv.source or "", "format": str(conv.metadata.get("format", "")),
        "turns": len(conv.turns), "words": conv.n_words, "speakers": len(conv.speakers),
        "human_turns": roles.count("human"), "model_turns": roles.count("model"), "unknown_turns": roles.count("unknown"),
        "moves": len(moves),
        **({k: sum(c[k] for c in counts) for k in counts[0]} if counts else {}),
        **{f"graph_{k}": v for k, v in measures.items()},
    }
    return _ConvResult(corpus, conv.id, turn_rows(conv, moves, counts), move_rows(conv, moves), conv_row,
                       node_link_json(g), len(moves))


class _PartWriter:
    """Buffers rows and writes them as numbered Parquet parts (bounded memory).

    Rows wait as Python dicts (about 1 kB each for a turn row), so parts are kept small: 50,000
    buffered rows added some 60 MB to the peak of a 40,000-turn run. Part boundaries do not change
    the tables, which are concatenated and sorted at the end.
    """

    def __init__(self, folder: Path, name: str, schema: dict[str, Any] | None = None, rows_per_part: int = 5_000) -> None:
        self.folder = folder
        self.name = name
        self.schema = schema
        self.rows_per_part = rows_per_part
        self.buffer: list[dict[str, Any]] = []
        self.parts: list[Path] = []
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        self.buffer.extend(rows)
        if len(self.buffer) >= self.rows_per_part:
            self.flush()

    def flush(self) -> None:
        import polars as pl

        if not self.buffer:
            return
        df = pl.DataFrame(self.buffer, schema=self.schema, orient="row", infer_schema_length=None)
        p = self.folder / f"{self.name}-{len(self.parts):05d}.parquet"
        df.write_parquet(p)
        self.parts.append(p)
        self.buffer = []

    def collect(self, empty_schema: dict[str, Any] | None = None):
        import polars as pl

        self.flush()
        if not self.parts:
            return pl.DataFrame(schema=empty_schema or self.schema or {})
        return pl.concat([pl.read_parquet(p) for p in self.parts], how="diagonal_relaxed")


def analyze(
    paths: Sequence[str | os.PathLike] | None = None,
    *,
    out: str | os.PathLike = "convmaint-out",
    format: str | None = None,
    roles: Any = None,
    options: dict[str, Any] | None = None,
    strict: bool = False,
    detectors: Sequence[str] | None = None,
    mode: str = "full",
    backend: str = "spacy",
    model: str | None = None,
    jobs: int = 1,
    cache: str | os.PathLike | None = "default",
    scheduler: str | None = None,
    figures: bool = True,
    n_boot: int = 2000,
    n_perm: int = 5000,
    seed: int = 0,
    progress: Any = None,
) -> AnalysisResult:
    """Analyse transcript folders end to end (``convmaint analyze``).

    Args:
        paths: Files or folders; the bundled sample corpora when None.
        out: Output folder (created; existing outputs are replaced).
        format, roles, options, strict: As for :func:`convmaint.load`.
        detectors, mode, backend, model: As for :class:`convmaint.pipeline.Annotator`.
        jobs: Worker processes (each loads the NLP model once; 0 = all cores); results are identical
            to ``jobs=1``.
        cache: Parse cache folder; ``"default"`` is ``OUT/cache``; None disables it.
        scheduler: A Dask scheduler address (``tcp://host:8786``): run on a cluster instead.
        figures: Draw the figures (needs matplotlib).
        n_boot, n_perm, seed: Bootstrap resamples, permutations and the random seed.
        progress: Called with the number of conversations processed.

    Returns:
        An :class:`AnalysisResult` with the manifest and the summary tables.

    Example:
        >>> import convmaint
        >>> res = convmaint.analyze(["corpora/human-human", "corpora/human-model"], out="results")  # doctest: +SKIP
        >>> res.tables["comparison"]  # doctest: +SKIP
    """
    import polars as pl

    from convmaint._version import __version__
    from convmaint.io.loader import ErrorLog, load
    from convmaint.parallel import detect_stream
    from convmaint.stats import compare, conversation_role_table, rates, summary, write_table

    if mode not in ("full", "fast"):
        raise ConfigError(f"unknown mode {mode!r}; expected full or fast")
    in_paths = [Path(p) for p in paths] if paths else default_inputs()
    out_dir = Path(out)
    tables_dir = out_dir / "tables"
    parts_dir = out_dir / "tables" / "parts"
    graphs_dir = out_dir / "graphs"
    for d in (tables_dir, graphs_dir):
        d.mkdir(parents=True, exist_ok=True)
    for old in list(parts_dir.glob("*.parquet")) + list(graphs_dir.glob("*.jsonl")):
        old.unlink()

    if jobs <= 0:
        jobs = os.cpu_count() or 1
    cache_dir = str(out_dir / "cache") if cache == "default" else (str(cache) if cache else None)
    errors = ErrorLog()
    convs = load([str(p) for p in in_paths], format=format, roles=roles, options=options, errors=errors, strict=strict)
    provenance, stream = detect_stream(convs, detectors=detectors, mode=mode, backend=backend, model=model, jobs=jobs,
                                       cache=cache_dir, scheduler=scheduler)

    turns_w = _PartWriter(parts_dir, "turns")
    moves_w = _PartWriter(parts_dir, "moves")
    convs_w = _PartWriter(parts_dir, "conversations", rows_per_part=2_000)
    graph_files: dict[str, Any] = {}
    examples: dict[str, _ConvResult] = {}
    n = 0
    try:
        for res in stream:
            turns_w.add(res.turn_rows)
            moves_w.add(res.move_rows)
            convs_w.add([res.conv_row])
            fh = graph_files.get(res.corpus)
            if fh is None:
                fh = graph_files[res.corpus] = open(graphs_dir / f"{_safe(res.corpus)}.jsonl", "w", encoding="utf-8")
            fh.write(res.graph_json + "\n")
            # Keep, per corpus, one example conversation for the timeline and graph figures: the
            # one with most moves among those of at most 40 turns (readable when drawn).
            best = examples.get(res.corpus)
            if res.conversation is not None and len(res.conversation.turns) <= 40 and (best is None or res.n_moves > best.n_moves):
                examples[res.corpus] = res
            n += 1
            if progress is not None:
                progress(n)
    finally:
        for fh in graph_files.values():
            fh.close()

    from convmaint.stats import MOVE_SCHEMA, _turn_schema

    turns = turns_w.collect(_turn_schema()).sort(["corpus", "conversation", "turn"])
    moves = moves_w.collect(MOVE_SCHEMA).sort(["corpus", "conversation", "turn", "start", "end", "label"])
    conversations = convs_w.collect().sort(["corpus", "conversation"]) if convs_w.parts or convs_w.buffer else pl.DataFrame()
    conv_roles = conversation_role_table(turns)

    # Only what determines the numbers goes into the tables' metadata (not jobs, cache or scheduler),
    # so local, parallel, cached and distributed runs write identical files.
    be = provenance.get("backend", {})
    stamp = {"convmaint": __version__, "detectors": provenance["detectors"], "lexicons": provenance["lexicons"],
             "mode": provenance["mode"],
             "backend": {k: be.get(k) for k in ("backend", "model", "model_version", "components")}}
    written: list[str] = []
    written += write_table(moves, str(tables_dir / "moves"), formats=("parquet", "csv"), stamp=stamp)
    written += write_table(turns, str(tables_dir / "turns"), formats=("parquet",), stamp=stamp)
    if conversations.height:
        written += write_table(conversations, str(tables_dir / "conversations"), formats=("parquet", "csv"), stamp=stamp)
    written += write_table(conv_roles, str(tables_dir / "conversation_roles"), formats=("parquet", "csv"), stamp=stamp)

    rates_corpus = rates(conv_roles, by=("corpus", "role"), n_boot=n_boot, seed=seed) if conv_roles.height else pl.DataFrame()
    rates_role = rates(conv_roles, by=("role",), n_boot=n_boot, seed=seed) if conv_roles.height else pl.DataFrame()
    comparison = compare(conv_roles, n_boot=n_boot, n_perm=n_perm, seed=seed) if conv_roles.height else pl.DataFrame()
    comparison_words = compare(conv_roles, per="words", n_boot=n_boot, n_perm=n_perm, seed=seed) if conv_roles.height else pl.DataFrame()
    summ = summary(rates_corpus) if rates_corpus.height else pl.DataFrame()
    for name, df, cap in (
        ("rates_by_corpus_role", rates_corpus, "Move rates per 100 turns and per 1,000 words by corpus and role (95% conversation-bootstrap CIs)"),
        ("rates_by_role", rates_role, "Move rates by role, all corpora"),
        ("comparison", comparison, "Human vs model: rate ratio per 100 turns with bootstrap CI, permutation p, Holm-adjusted p"),
        ("comparison_per_words", comparison_words, "Human vs model: rate ratio per 1,000 words"),
        ("summary", summ, "Rates per 100 turns [95% CI] by corpus and role"),
    ):
        if df.height:
            written += write_table(df, str(tables_dir / name), caption=cap, stamp=stamp)

    from convmaint.io.native import write_jsonl
    from dataclasses import replace as _replace

    write_jsonl((_replace(r.conversation, moves=r.moves) for _, r in sorted(examples.items())), tables_dir / "examples.jsonl")
    fig_paths: list[str] = []
    if figures and conv_roles.height:
        fig_paths = _draw_figures(out_dir / "figures", rates_corpus, comparison, examples, conversations, moves, turns, seed)

    (out_dir / "errors.json").write_text(json.dumps({"errors": errors.to_records(), "skipped": errors.skipped}, indent=1) + "\n",
                                         encoding="utf-8")
    manifest = {
        "convmaint": __version__,
        "command": "analyze",
        "inputs": _input_files(in_paths),
        "options": {"format": format, "mode": mode, "backend": backend, "model": model, "jobs": jobs,
                    "cache": cache_dir, "scheduler": scheduler,
                    "detectors": list(detectors) if detectors else None, "n_boot": n_boot, "n_perm": n_perm, "seed": seed,
                    "roles": roles.to_dict() if hasattr(roles, "to_dict") else roles, "reader_options": options},
        "provenance": provenance,
        "counts": {"conversations": n, "turns": turns.height, "moves": moves.height, "read_errors": len(errors),
                   "skipped_files": len(errors.skipped), "corpora": sorted(set(turns["corpus"].to_list())) if turns.height else []},
        "outputs": sorted(os.path.relpath(p, out_dir) for p in written + fig_paths),
    }
    _atomic_write(out_dir / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    result = AnalysisResult(out=out_dir, manifest=manifest, figures=fig_paths, errors=list(errors),
                            tables={"rates": rates_corpus, "rates_by_role": rates_role, "comparison": comparison,
                                    "summary": summ, "conversations": conversations, "conversation_roles": conv_roles})
    from convmaint.report import write_report

    write_report(result)
    return result


def _draw_figures(fig_dir: Path, rates_corpus, comparison, examples, conversations, moves, turns, seed) -> list[str]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from convmaint import plot
    from convmaint.graph import move_graph

    fig_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    def save(ax, stem: str, data) -> None:
        written.extend(plot.save_figure(ax, str(fig_dir / stem), data=data))
        plt.close(ax.figure)

    save(plot.plot_rates(rates_corpus, width="two"), "rates", plot.plot_rates_data(rates_corpus))
    for design in ("between", "within"):
        if comparison.height and design in set(comparison["design"].to_list()):
            save(plot.plot_rate_ratios(comparison, design=design), f"ratios_{design}",
                 plot.plot_rate_ratios_data(comparison, design=design))
    for corpus, res in sorted(examples.items()):
        conv, mv = res.conversation, list(res.moves)
        save(plot.plot_timeline(conv, mv), f"timeline_{_safe(corpus)}", plot.plot_timeline_data(conv, mv))
        g = move_graph(conv, mv)
        save(plot.plot_move_graph(g), f"graph_{_safe(corpus)}", plot.plot_move_graph_data(g))
    # Topic segments: the first conversations of every corpus (at most 30 rows in all).

    per_corpus = max(1, 30 // max(1, turns["corpus"].n_unique()))
    keep = (turns.select("corpus", "conversation").unique(maintain_order=True)
            .group_by("corpus", maintain_order=True).head(per_corpus))
    t_sel = turns.join(keep, on=["corpus", "conversation"], how="semi")
    m_sel = moves.join(keep, on=["corpus", "conversation"], how="semi")
    save(plot.plot_topic_segments(m_sel, t_sel), "topic_segments", plot.plot_topic_segments_data(m_sel, t_sel))
    return written


def _read_tables(folder: Path) -> dict[str, Any]:
    import polars as pl

    t = folder / "tables"
    need = {"conversation_roles": "conversation_roles.parquet", "moves": "moves.parquet", "turns": "turns.parquet"}
    missing = [f for f in need.values() if not (t / f).is_file()]
    if missing:
        raise ConfigError(f"not an analysis folder (missing tables/{', tables/'.join(missing)}); run convmaint analyze first",
                          path=folder)
    out = {k: pl.read_parquet(t / f) for k, f in need.items()}
    for name in ("rates_by_corpus_role", "comparison"):
        p = t / f"{name}.parquet"
        out[name] = pl.read_parquet(p) if p.is_file() else pl.DataFrame()
    return out


def compare_dirs(dir_a: str | os.PathLike, dir_b: str | os.PathLike, *, out: str | os.PathLike | None = None,
                 per: str = "turns", role_a: str | None = None, role_b: str | None = None,
                 n_boot: int = 2000, n_perm: int = 5000, seed: int = 0):
    """Compare two analysed corpora (``convmaint compare A B``): every label's rate in A against B.

    The turns of A (only those of ``role_a`` when given) are compared with those of B (``role_b``)
    in a between-corpora design, with conversation bootstrap CIs for the rate ratio A/B,
    permutation p-values and Holm correction. The result's ``design`` column is ``between``;
    ``rate_A`` / ``rate_B`` hold the rates. Example: human turns of human-human corpora against
    model turns of human-model corpora: ``role_a="human", role_b="model"``.
    """
    import polars as pl

    from convmaint.stats import compare, write_table

    a = _read_tables(Path(dir_a))["conversation_roles"].with_columns(pl.lit("A").alias("side"))
    b = _read_tables(Path(dir_b))["conversation_roles"].with_columns(pl.lit("B").alias("side"))
    if role_a:
        a = a.filter(pl.col("role") == role_a)
    if role_b:
        b = b.filter(pl.col("role") == role_b)
    if a.height == 0 or b.height == 0:
        raise ConfigError(f"nothing to compare: {a.height} units in A (role {role_a or 'any'}), "
                          f"{b.height} in B (role {role_b or 'any'})")
    both = pl.concat([a, b], how="diagonal_relaxed")
    df = compare(both, group="side", a="A", b="B", per=per, n_boot=n_boot, n_perm=n_perm, seed=seed)
    if out is not None:
        write_table(df, str(Path(out) / "comparison_A_vs_B"), caption=f"{dir_a} (A) vs {dir_b} (B)")
        if df.height and df["rate_ratio"].is_not_nan().any():
            import matplotlib

            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt

            from convmaint import plot

            ax = plot.plot_rate_ratios(df, design="between")
            plot.save_figure(ax, str(Path(out) / "comparison_A_vs_B"), data=plot.plot_rate_ratios_data(df, design="between"))
            plt.close(ax.figure)
    return df


def redraw_figures(folder: str | os.PathLike) -> list[str]:
    """Redraw the figures of an analysis folder from its saved tables (``convmaint figures DIR``)."""
    from convmaint.io.loader import load

    folder = Path(folder)
    t = _read_tables(folder)
    examples: dict[str, _ConvResult] = {}
    ex = folder / "tables" / "examples.jsonl"
    if ex.is_file():
        for conv in load(ex, format="native"):
            corpus = str(conv.metadata.get("corpus", ""))
            examples[corpus] = _ConvResult(corpus, conv.id, [], [], {}, "", len(conv.moves), conversation=conv, moves=conv.moves)
    return _draw_figures(folder / "figures", t["rates_by_corpus_role"], t["comparison"], examples, None, t["moves"], t["turns"], 0)


def export_graphs(path: str, *, out: str | os.PathLike = "graphs", format: str = "graphml", reader: str | None = None,
                  roles: Any = None, detectors: Sequence[str] | None = None, mode: str = "full") -> list[str]:
    """Detect moves in a transcript file and write one move graph per conversation (``convmaint graph``)."""
    from convmaint.graph import move_graph, write_graph
    from convmaint.pipeline import detect

    ext = {"graphml": "graphml", "gexf": "gexf", "json": "json"}[format]
    _, stream = detect(path, format=reader, roles=roles, detectors=detectors, mode=mode)  # type: ignore[arg-type]
    written = []
    for conv, moves in stream:
        p = write_graph(move_graph(conv, moves), Path(out) / f"{_safe(conv.id)}.{ext}", format=format)  # type: ignore[arg-type]
        written.append(str(p))
    return written
