"""The main job: read transcript folders, detect moves, build graphs, write tables, figures and a report.

``analyze`` streams: conversations are read, parsed (once), detected and turned into table rows
chunk by chunk; rows go to Parquet part files, graphs to JSON lines. At the end polars' streaming
engine sorts the parts into the final tables a bounded range of conversations at a time, and only
the per (conversation, role) table — a few numbers per conversation — is held in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convmaint._gc import streaming_gc
from convmaint.errors import ConfigError
from convmaint.model import Conversation, Move

if TYPE_CHECKING:
    import polars as pl

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
    turn_columns: dict[str, list[Any]]
    move_rows: list[dict[str, Any]]
    conv_row: dict[str, Any]
    graph_json: str
    n_moves: int
    conversation: Conversation | None = None
    moves: tuple[Move, ...] = ()


def process_conversation(conv: Conversation, moves: Sequence[Move]) -> _ConvResult:
    """Table rows, graph and measures of one detected conversation (runs in workers too)."""
    from convmaint.graph import graph_row
    from convmaint.stats import FAMILY_COLS, LABEL_COLS, move_rows, turn_columns

    corpus = str(conv.metadata.get("corpus", "") or "")
    columns = turn_columns(conv, moves)
    measures, graph_json = graph_row(conv, moves)
    roles = [t.role._value_ for t in conv.turns]  # (_value_: .value is a slow descriptor)
    conv_row = {
        "corpus": corpus, "conversation": conv.id, "source": conv.source or "", "format": str(conv.metadata.get("format", "")),
        "turns": len(conv.turns), "words": conv.n_words, "speakers": len(conv.speakers),
        "human_turns": roles.count("human"), "model_turns": roles.count("model"), "unknown_turns": roles.count("unknown"),
        "moves": len(moves),
        **({col: sum(columns[col]) for col in LABEL_COLS + FAMILY_COLS} if conv.turns else {}),
        **{f"graph_{k}": v for k, v in measures.items()},
    }
    return _ConvResult(corpus, conv.id, columns, move_rows(conv, moves), conv_row,
                       graph_json, len(moves))


def _frame(rows: list[dict[str, Any]], schema: dict[str, Any] | None) -> pl.DataFrame:
    """The rows as a frame. Rows that all have the same keys in the same order (every table's
    rows do) are turned into columns first, which polars takes about 2.5x faster than dicts, with
    the types it infers from the dicts."""
    import polars as pl

    keys = tuple(rows[0])
    if schema is None and all(tuple(r) == keys for r in rows):
        try:
            return pl.DataFrame(dict(zip(keys, map(list, zip(*[r.values() for r in rows])))))
        except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
            pass  # mixed types in a column: let polars infer from the dicts, as below
    return pl.DataFrame(rows, schema=schema, orient="row", infer_schema_length=None)


class _PartWriter:
    """Buffers rows and writes them as numbered Parquet parts (bounded memory).

    Rows wait as Python dicts (about 1 kB each for a turn row), so parts are kept small: 50,000
    buffered rows added some 60 MB to the peak of a 40,000-turn run. Part boundaries do not change
    the tables, which are read back together and sorted at the end. A flush comes only after a
    whole conversation's rows are added, so a conversation never straddles two parts.
    """

    #: Rows per part unless the constructor says otherwise (a class attribute so tests can shrink it).
    rows_per_part = 5_000

    def __init__(self, folder: Path, name: str, schema: dict[str, Any] | None = None, rows_per_part: int | None = None) -> None:
        self.folder = folder
        self.name = name
        self.schema = schema
        if rows_per_part is not None:
            self.rows_per_part = rows_per_part
        self.buffer: list[dict[str, Any]] = []
        self.chunks: list[dict[str, list[Any]]] = []  # rows added column by column (add_columns)
        self.chunk_rows = 0
        self.parts: list[Path] = []
        self.schemas: list[pl.Schema] = []
        self.heights: list[int] = []
        self.nbytes = 0
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        self.buffer.extend(rows)
        if len(self.buffer) >= self.rows_per_part:
            self.flush()

    def add_columns(self, columns: dict[str, list[Any]]) -> None:
        """Add rows given column by column (lists of one length), cheaper than a dict per row."""
        n = len(next(iter(columns.values()), ()))
        if n:
            self.chunks.append(columns)
            self.chunk_rows += n
            if self.chunk_rows >= self.rows_per_part:
                self.flush()

    def flush(self) -> None:
        import polars as pl

        df = None
        if self.chunks:
            keys = tuple(self.chunks[0])
            if not self.buffer and self.schema is None and all(tuple(c) == keys for c in self.chunks):
                try:
                    df = pl.DataFrame({k: list(chain.from_iterable(c[k] for c in self.chunks)) for k in keys})
                except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
                    pass  # mixed types in a column: as rows, as _frame does
            if df is None:
                self.buffer.extend(dict(zip(c, row)) for c in self.chunks for row in zip(*c.values()))
            self.chunks, self.chunk_rows = [], 0
        if df is None:
            if not self.buffer:
                return
            df = _frame(self.buffer, self.schema)
        p = self.folder / f"{self.name}-{len(self.parts):05d}.parquet"
        df.write_parquet(p)
        self.parts.append(p)
        self.schemas.append(df.schema)
        self.heights.append(df.height)
        self.nbytes += df.estimated_size()
        self.buffer = []

    def collect(self, empty_schema: dict[str, Any] | None = None):
        """All rows in memory (only for tables that stay small: one row per conversation)."""
        import polars as pl

        self.flush()
        if not self.parts:
            return pl.DataFrame(schema=empty_schema or self.schema or {})
        return pl.concat([pl.read_parquet(p) for p in self.parts], how="diagonal_relaxed")

    def _schema(self) -> pl.Schema:
        """The columns and types of :meth:`collect`'s frame, from the parts' schemas (no data read).

        Without a fixed schema a part types a column that is null throughout it as Null, so parts
        can disagree: they are unified as the relaxed diagonal concatenation in ``collect`` does
        (supertypes; columns in order of first appearance).
        """
        import polars as pl

        distinct = list({tuple(s.items()): s for s in self.schemas}.values())
        return pl.concat([pl.DataFrame(schema=s) for s in distinct], how="diagonal_relaxed").schema

    def write_sorted(self, by: Sequence[str], path_stem: Path, formats: Sequence[str], *,
                     metadata: dict[str, str] | None = None, empty_schema: dict[str, Any] | None = None,
                     per_range: Callable[[pl.LazyFrame], pl.DataFrame] | None = None,
                     ) -> tuple[list[str], pl.DataFrame | None]:
        """Write all rows sorted by ``by`` (which starts with corpus, conversation) as Parquet and/or CSV.

        The table can be far larger than memory. polars' streaming sort holds all its input in
        memory (it spills to disk only near the machine's memory limit), so this is an external
        sort whose every step sorts only about ``_SORT_BYTES`` of rows, on the streaming engine:

        1. runs: consecutive parts, that many rows at a time, sorted into run files with small
           row groups;
        2. ranges: the conversation keys are cut into ranges of that many rows; each range is
           read from all runs (row-group statistics let the reader skip the rest of every run)
           and sorted into a file;
        3. the range files, in order, are streamed into the output files.

        A table of one sort's worth of rows or fewer (most runs) is sorted in memory in one step.

        Step 2 reads every run's footer once per range, R² footers for R ranges: about 40 s for
        10 million turn rows (200 runs and ranges), a few seconds below 3 million.

        Sorts keep the input order of equal keys, and runs and ranges follow the parts' order,
        so ties come out as a stable sort of all rows would leave them.

        ``per_range``, if given, is called with each sorted range as a LazyFrame, in order (or
        with the empty table), and its results are concatenated: an aggregation grouped by
        corpus and conversation (and more), sorted by those, comes out as on the whole table,
        without reading the table again or holding it.

        Returns the paths written and the concatenated ``per_range`` results (or None). The
        temporary files are deleted; the parts are left to :meth:`remove`.
        """
        import polars as pl

        self.flush()
        by = list(by)
        temp: list[Path] = []
        try:
            empty = pl.LazyFrame(schema=empty_schema or self.schema or {})
            rows = max(1, _SORT_BYTES * sum(self.heights) // max(1, self.nbytes))
            # the table as sorted ranges of rows, in order, and all of it
            if not self.parts:
                ranges, src = [], empty
            elif sum(self.heights) <= rows:
                # The whole table is one sort's worth: sorted in memory, with no run file written
                # and read back.
                src = (pl.scan_parquet(self.parts, schema=self._schema(), missing_columns="insert")
                       .sort(by, maintain_order=True).collect(engine="streaming").lazy())
                ranges = [src]
            else:
                runs = self._sorted_runs(by, self._schema(), rows, temp)
                # One run is already the whole table, sorted.
                sorted_files = runs if len(runs) == 1 else self._sorted_ranges(runs, by, rows, temp)
                ranges = [pl.scan_parquet(f) for f in sorted_files]
                src = pl.scan_parquet(sorted_files)
            aggregated = None
            if per_range is not None:
                aggregated = pl.concat([per_range(r) for r in ranges] or [per_range(empty)])
            written = []
            for fmt in formats:
                p = path_stem.with_suffix(f".{fmt}")
                if fmt == "parquet":
                    src.sink_parquet(p, metadata=metadata, engine="streaming")
                elif fmt == "csv":
                    src.sink_csv(p, engine="streaming")
                else:
                    raise ValueError(f"unknown table format {fmt!r}")
                written.append(str(p))
            return written, aggregated
        finally:
            for t in temp:
                t.unlink(missing_ok=True)

    def _sorted_runs(self, by: list[str], schema: pl.Schema, rows_per_sort: int, temp: list[Path]) -> list[Path]:
        """Step 1 of :meth:`write_sorted`: sorted run files of about ``rows_per_sort`` rows each."""
        import polars as pl

        groups: list[list[Path]] = [[]]
        rows = 0
        for part, height in zip(self.parts, self.heights):
            if rows and rows + height > rows_per_sort:
                groups.append([])
                rows = 0
            groups[-1].append(part)
            rows += height
        runs = []
        for i, group in enumerate(groups):
            runs.append(self.folder / f"{self.name}-run-{i:05d}.parquet")
            temp.append(runs[-1])
            (pl.scan_parquet(group, schema=schema, missing_columns="insert")
             .sort(by, maintain_order=True)
             .sink_parquet(runs[-1], row_group_size=_RUN_ROW_GROUP, engine="streaming"))
        return runs

    def _sorted_ranges(self, runs: list[Path], by: list[str], rows_per_sort: int, temp: list[Path]) -> list[Path]:
        """Step 2 of :meth:`write_sorted`: files of consecutive key ranges of about ``rows_per_sort`` rows, each sorted."""
        import polars as pl

        keys = ["corpus", "conversation"]
        # Rows per conversation key, run by run (a group_by over all runs at once would take
        # several times the result's size); the same key can recur in several runs, hence the second sum.
        sizes = (pl.concat([pl.scan_parquet(r).group_by(keys, maintain_order=True).agg(pl.len().alias("n"))
                            .collect(engine="streaming") for r in runs])
                 .group_by(keys).agg(pl.col("n").cast(pl.Int64).sum()).sort(keys))
        # Range i starts at the first key whose rows start at or after row i * rows_per_sort.
        before = sizes["n"].cum_sum() - sizes["n"]
        first = (before // rows_per_sort).is_first_distinct()
        starts: list[tuple[str, str]] = [tuple(r) for r in sizes.filter(first).select(keys).iter_rows()]  # type: ignore[misc]
        del sizes, before, first

        # (corpus, conversation) compared lexicographically; both are never null (ids are strings).
        def at_or_after(key: tuple[str, str]) -> pl.Expr:
            return (pl.col("corpus") > key[0]) | ((pl.col("corpus") == key[0]) & (pl.col("conversation") >= key[1]))

        def before_key(key: tuple[str, str]) -> pl.Expr:
            return (pl.col("corpus") < key[0]) | ((pl.col("corpus") == key[0]) & (pl.col("conversation") < key[1]))

        scan = pl.scan_parquet(runs)
        out = []
        for i, lo in enumerate(starts):
            rng = scan
            if i > 0:
                rng = rng.filter(at_or_after(lo))
            if i + 1 < len(starts):
                rng = rng.filter(before_key(starts[i + 1]))
            out.append(self.folder / f"{self.name}-range-{i:05d}.parquet")
            temp.append(out[-1])
            rng.sort(by, maintain_order=True).sink_parquet(out[-1], engine="streaming")
        return out

    def remove(self) -> None:
        """Delete the part files (they are temporary)."""
        for p in self.parts:
            p.unlink(missing_ok=True)
        self.parts, self.schemas, self.heights, self.nbytes = [], [], [], 0


def _remove_parts(folder: Path, writers: Iterable[_PartWriter]) -> None:
    """Delete the writers' part files, and their folder once it is empty."""
    for w in writers:
        w.remove()
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


#: Rows (by their estimated size in memory) that one sort takes when the turns and moves tables are
#: written: tables of any size are sorted this much at a time, see ``_PartWriter.write_sorted``.
#: About 50,000 turn or move rows. Measured: the sort's peak is several times its input, and grows
#: steeply once the input passes polars' 32 MB threshold for a partitioned sort.
_SORT_BYTES = 12 << 20
#: Rows per row group of the sorted runs: small, so that reading one key range of a run reads
#: little else (5,000 was the fastest of 1,000 to 25,000 on 10 million turn rows).
_RUN_ROW_GROUP = 5_000


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
    from convmaint.detect.base import MODES
    from convmaint.io.loader import ErrorLog, load
    from convmaint.parallel import detect_stream
    from convmaint.stats import (
        compare,
        conversation_role_table,
        rates,
        summary,
        write_table,
    )

    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
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
    # The stack closes every corpus's graph file, however the loop ends; the collector runs less
    # often while the stream runs (see convmaint._gc).
    with ExitStack() as open_files:
        open_files.enter_context(streaming_gc())
        try:
            for res in stream:
                turns_w.add_columns(res.turn_columns)
                moves_w.add(res.move_rows)
                convs_w.add([res.conv_row])
                fh = graph_files.get(res.corpus)
                if fh is None:
                    fh = graph_files[res.corpus] = open_files.enter_context(
                        open(graphs_dir / f"{_safe(res.corpus)}.jsonl", "w", encoding="utf-8"))
                fh.write(res.graph_json + "\n")
                # Keep, per corpus, one example conversation for the timeline and graph figures: the
                # one with most moves among those of at most 40 turns (readable when drawn).
                best = examples.get(res.corpus)
                if res.conversation is not None and len(res.conversation.turns) <= 40 and (best is None or res.n_moves > best.n_moves):
                    examples[res.corpus] = res
                n += 1
                if progress is not None:
                    progress(n)
        except BaseException:
            _remove_parts(parts_dir, (turns_w, moves_w, convs_w))  # temporary files: none left behind a failed run
            raise

    from convmaint.stats import MOVE_SCHEMA, _turn_schema, parquet_metadata

    # Only what determines the numbers goes into the tables' metadata (not jobs, cache or scheduler),
    # so local, parallel, cached and distributed runs write identical files.
    be = provenance.get("backend", {})
    stamp = {"convmaint": __version__, "detectors": provenance["detectors"], "lexicons": provenance["lexicons"],
             "mode": provenance["mode"],
             "backend": {k: be.get(k) for k in ("backend", "model", "model_version", "components")}}
    written: list[str] = []
    # The turns and moves tables can be far larger than memory: they go from the parts to their
    # files through polars' streaming engine, and are only ever read back lazily.
    try:
        written += moves_w.write_sorted(["corpus", "conversation", "turn", "start", "end", "label"], tables_dir / "moves",
                                        ("parquet", "csv"), metadata=parquet_metadata(stamp), empty_schema=MOVE_SCHEMA)[0]
        # The conversation × role table is aggregated range by range as the turns are written:
        # on the whole table polars' hash aggregation would take several times the result's size.
        paths, conv_roles = turns_w.write_sorted(["corpus", "conversation", "turn"], tables_dir / "turns", ("parquet",),
                                                 metadata=parquet_metadata(stamp), empty_schema=_turn_schema(),
                                                 per_range=conversation_role_table)
        written += paths
        conversations = convs_w.collect().sort(["corpus", "conversation"]) if convs_w.parts or convs_w.buffer else pl.DataFrame()
    finally:
        _remove_parts(parts_dir, (turns_w, moves_w, convs_w))
    turns = pl.scan_parquet(tables_dir / "turns.parquet")
    moves = pl.scan_parquet(tables_dir / "moves.parquet")
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

    from dataclasses import replace as _replace

    from convmaint.io.native import write_jsonl

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
        "counts": {"conversations": n, "turns": turns.select(pl.len()).collect().item(),
                   "moves": moves.select(pl.len()).collect().item(), "read_errors": len(errors),
                   "skipped_files": len(errors.skipped),
                   "corpora": sorted(conv_roles["corpus"].unique().to_list())},  # those of the turns table
        "outputs": sorted(os.path.relpath(p, out_dir) for p in written + fig_paths),
    }
    _atomic_write(out_dir / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    result = AnalysisResult(out=out_dir, manifest=manifest, figures=fig_paths, errors=list(errors),
                            tables={"rates": rates_corpus, "rates_by_role": rates_role, "comparison": comparison,
                                    "summary": summ, "conversations": conversations, "conversation_roles": conv_roles})
    from convmaint.report import write_report

    write_report(result)
    return result


def _topic_segment_rows(moves: pl.DataFrame | pl.LazyFrame, turns: pl.DataFrame | pl.LazyFrame,
                        ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The moves and turns of the first conversations of every corpus (at most 30 in all).

    ``moves`` and ``turns`` are DataFrames or LazyFrames (the full tables need not be in memory):
    only the rows needed are read.
    """
    import polars as pl

    moves, turns = moves.lazy(), turns.lazy()
    keys = ["corpus", "conversation"]
    corpora = turns.select(pl.col("corpus").unique()).collect(engine="streaming")["corpus"].to_list()
    per_corpus = max(1, 30 // max(1, len(corpora)))
    keep = []
    for corpus in corpora:
        # The first conversations of a corpus are in its first rows: read more rows only until enough are seen.
        n = 1_000
        while True:
            head = turns.filter(pl.col("corpus") == corpus).select(keys).head(n).collect(engine="streaming")
            first = head.unique(maintain_order=True).head(per_corpus)
            if first.height >= per_corpus or head.height < n:
                break
            n *= 4
        keep.append(first)
    sel = pl.concat(keep) if keep else pl.DataFrame(schema={"corpus": pl.Utf8, "conversation": pl.Utf8})
    ids = sel["conversation"].unique().implode()

    def rows_of(table: pl.LazyFrame) -> pl.DataFrame:
        # A filter on the conversation ids first: the reader skips most of a sorted table by its
        # row-group statistics, where a semi join streams all of it (on 10 million turn rows: 10
        # times slower, 100 MB more). The exact (corpus, conversation) match follows on the few
        # rows left; both keep the table's order.
        few = table.filter(pl.col("conversation").is_in(ids)).collect(engine="streaming")
        return few.join(sel, on=keys, how="semi", maintain_order="left")

    return rows_of(moves), rows_of(turns)


def _draw_figures(fig_dir: Path, rates_corpus, comparison, examples, conversations, moves, turns, seed) -> list[str]:
    """Draw every figure; ``moves`` and ``turns`` may be LazyFrames (only a few conversations are read)."""
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
    m_sel, t_sel = _topic_segment_rows(moves, turns)
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
    # moves and turns can be large: scanned, for the few rows the figures need.
    out = {k: pl.scan_parquet(t / f) if k in ("moves", "turns") else pl.read_parquet(t / f) for k, f in need.items()}
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
