"""Throughput and memory benchmark of convmaint against plain spaCy and ConvoKit (run by hand).

One command measures, on the *same* turns and in one run:

1. ``nlp.pipe`` (batched, one process) with exactly the components convmaint's full mode loads;
2. ``convmaint.analyze`` in full mode (detection, graphs, tables, statistics; no figures, no cache);
3. ``analyze(jobs=2)`` beside spaCy's own ``nlp.pipe(n_process=2)``;
4. ``analyze(mode="lite")`` and ``analyze(mode="fast")`` on one core;
5. ``analyze(scheduler=...)`` on a Dask ``LocalCluster(n_workers=2, threads_per_worker=1)``;
6. ConvoKit's ``TextParser`` (in its own virtual environment, see ``_convokit_parse.py``);
7. the cost of each spaCy component (tokenizer+sentencizer, +tagger/lemmatizer, +parser, +ner);
8. the peak RSS of fast-mode ``analyze`` on a 1x and a 10x corpus; the 10x run also gives fast
   mode's throughput target (fast mode is for very large corpora, so it is measured on the
   larger corpus, fixed costs included).

Every measurement runs in its own subprocess (so peak memory is that measurement's alone). In each,
libraries are imported *before* the clock starts; the clock covers loading the spaCy pipeline and
the work, exactly as a user's run pays them. One-process rows are pinned to one CPU.

Examples::

    python benchmarks/bench.py --synthetic --conversations 200 --json bench.json
    python benchmarks/bench.py --source /work/shared/data/topical_chat --conversations 300 \\
        --json bench.json --markdown bench.md

The machine is described in the output (CPU, cores, RAM, load average before and after). On a
shared or noisy machine compare only ratios measured within one run; ``--repeat N`` runs the
main rows N times, interleaved, and keeps each row's fastest run.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULT_PREFIX = "BENCH-RESULT "

#: Targets from the "Speed and scale" issue.
TARGETS = {
    "full_vs_pipe": 0.8,          # convmaint full words/s ÷ nlp.pipe words/s, at least
    "fast_words_per_s": 150_000,  # fast mode, one core, at least
    "jobs2_vs_spacy_np2": 0.9,    # convmaint jobs=2 speed-up ÷ spaCy n_process=2 speed-up, at least
    "full_vs_convokit": 1.0,      # convmaint full words/s ÷ ConvoKit TextParser words/s, more than
    "memory_10x_vs_1x": 1.2,      # peak RSS of fast analyze on a 10x corpus ÷ on 1x, at most
}

MAIN_ROWS = ("pipe", "full", "jobs2", "pipe_np2", "lite", "fast", "dask", "convokit")
#: The rows that ``--repeat`` runs several times (the component and memory rows run once).
REPEATED_ROWS = MAIN_ROWS
COMPONENT_ROWS = ("comp_tokens", "comp_lemma", "comp_parser", "comp_ner")
MEMORY_ROWS = ("mem_1x", "mem_10x")

#: What each configuration of the component-cost rows asks convmaint's spaCy backend for.
COMPONENT_REQUIRES = {
    "comp_tokens": ["tokens", "sents"],
    "comp_lemma": ["tokens", "sents", "pos", "lemma"],
    "comp_parser": ["tokens", "sents", "pos", "lemma", "dep", "noun_chunks"],
    "comp_ner": ["tokens", "sents", "pos", "lemma", "dep", "noun_chunks", "ents"],
}

LABELS = {
    "pipe": "spaCy nlp.pipe, full-mode components, 1 process",
    "full": "convmaint analyze, full mode, jobs=1",
    "jobs2": "convmaint analyze, full mode, jobs=2",
    "pipe_np2": "spaCy nlp.pipe, full-mode components, n_process=2",
    "lite": "convmaint analyze, lite mode, jobs=1",
    "fast": "convmaint analyze, fast mode, jobs=1",
    "dask": "convmaint analyze, full mode, Dask LocalCluster 2x1",
    "convokit": "ConvoKit TextParser (same components)",
    "comp_tokens": "nlp.pipe: tokenizer + sentencizer (lite mode)",
    "comp_lemma": "nlp.pipe: + tok2vec, tagger, attribute_ruler, lemmatizer",
    "comp_parser": "nlp.pipe: + parser (full mode)",
    "comp_ner": "nlp.pipe: + ner (never loaded by convmaint)",
    "mem_1x": "convmaint analyze, fast mode, 1x corpus",
    "mem_10x": "convmaint analyze, fast mode, 10x corpus",
}


# ----------------------------------------------------------------------------------- memory


class TreeSampler(threading.Thread):
    """Samples, from the benchmark's parent process, the memory of a worker and all its descendants
    (pool workers, spaCy and Dask children).

    ``peak_rss`` is the largest observed *sum* of resident set sizes over the process tree (pages
    shared between forked processes are counted once per process, so it overstates); ``peak_pss``
    the largest sum of proportional set sizes (shared pages split between their users: the
    fairest single number for a tree). Sampled every ``interval`` seconds over the worker's whole
    life, so a peak shorter than that can be missed; for a single process ``ru_maxrss`` (reported
    beside) is exact.

    The sampler runs in the parent, which is not pinned, rather than in the measured process: a
    sample reads ``/proc/PID/smaps`` of every process of the tree, about 9 ms of CPU for a 400 MB
    process, and every 0.1 s inside a worker pinned to one CPU that took some 8% of the CPU the
    measurement was timing.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_procs = 1
        self._stop_event = threading.Event()

    def sample(self) -> None:
        ps = self.psutil
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except ps.Error:  # the worker has exited
            return
        rss = pss = 0
        for p in procs:
            try:
                mi = p.memory_full_info()
                rss += mi.rss
                pss += getattr(mi, "pss", mi.rss)
            except ps.Error:
                continue
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_procs = max(self.peak_procs, len(procs))

    def run(self) -> None:
        self.sample()
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> dict[str, float]:
        self._stop_event.set()
        self.join()
        return {"tree_peak_rss_mb": self.peak_rss / 2**20, "tree_peak_pss_mb": self.peak_pss / 2**20,
                "tree_max_processes": self.peak_procs}


def _rusage() -> dict[str, float]:
    import resource

    return {"self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            # The largest single descendant that has been waited for (not a sum).
            "children_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def cpu_snapshot() -> tuple[float, dict[int, float]]:
    """CPU seconds (user + system) used so far by this process and its reaped descendants, and
    per live descendant (Dask workers outlive the timed call; pool and spaCy workers are reaped)."""
    import resource

    import psutil

    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    alive: dict[int, float] = {}
    for p in psutil.Process().children(recursive=True):
        try:
            t = p.cpu_times()
            alive[p.pid] = t.user + t.system
        except psutil.Error:
            continue
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime, alive


def cpu_since(start: tuple[float, dict[int, float]]) -> float:
    """CPU seconds of the process tree since ``start`` (a :func:`cpu_snapshot`)."""
    end = cpu_snapshot()
    return end[0] - start[0] + sum(t - start[1].get(pid, 0.0) for pid, t in end[1].items())


def _current_rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


# ----------------------------------------------------------------------------------- workers


def _preimport(model: str) -> None:
    """Import what the timed code needs, so that the clock measures work rather than imports."""
    import importlib

    import numpy  # noqa: F401
    import polars  # noqa: F401
    import spacy  # noqa: F401

    importlib.import_module(model)
    import convmaint.analysis  # noqa: F401
    import convmaint.graph  # noqa: F401
    import convmaint.parallel  # noqa: F401
    import convmaint.pipeline  # noqa: F401
    import convmaint.report  # noqa: F401
    import convmaint.stats  # noqa: F401
    from convmaint.detect.base import detector_classes
    from convmaint.io.registry import readers

    detector_classes()
    readers()  # the readers are imported on first use
    for name in ("convmaint.io.loader", "convmaint.nlp.regex_backend", "convmaint.nlp.spacy_backend",
                 "tokenizers", "safetensors", "numpy.ma", "polars._utils.parquet"):  # fast mode's and topic's
        importlib.import_module(name)


def _worker_pipe(spec: dict[str, Any]) -> dict[str, Any]:
    import importlib

    import spacy  # noqa: F401

    pkg = importlib.import_module(spec["model"])
    texts = json.loads(Path(spec["texts"]).read_text(encoding="utf-8"))
    cpu0 = cpu_snapshot()
    t0 = time.perf_counter()
    nlp = pkg.load(exclude=spec["exclude"])
    t_load = time.perf_counter() - t0
    if list(nlp.pipe_names) != spec["components"]:
        raise SystemExit(f"pipeline has {nlp.pipe_names}, expected {spec['components']}")
    n_tokens = n_sents = 0
    for doc in nlp.pipe(texts, batch_size=spec.get("batch_size", 256), n_process=spec.get("n_process", 1)):
        n_tokens += len(doc)
        if doc.has_annotation("SENT_START") or doc.has_annotation("DEP"):
            n_sents += sum(1 for _ in doc.sents)
    wall = time.perf_counter() - t0
    cpu = cpu_since(cpu0)
    return {"wall": wall, "cpu_s": cpu, "load_s": t_load, "tokens": n_tokens, "sentences": n_sents,
            "components": list(nlp.pipe_names), **_rusage()}


def _worker_components(spec: dict[str, Any]) -> dict[str, Any]:
    import spacy  # noqa: F401

    from convmaint.nlp.spacy_backend import SpacyBackend

    texts = json.loads(Path(spec["texts"]).read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    be = SpacyBackend(requires=spec["requires"], model=spec["model"])
    t_load = time.perf_counter() - t0
    cpu0 = cpu_snapshot()
    t1 = time.perf_counter()
    n_tokens = sum(len(doc) for doc in be.nlp.pipe(texts, batch_size=256))
    t_pipe = time.perf_counter() - t1
    cpu = cpu_since(cpu0)
    # convmaint's conversion of each Doc into a ParsedTurn, timed separately.
    from convmaint.nlp.spacy_backend import doc_to_parsed

    docs = list(be.nlp.pipe(texts, batch_size=256))
    t2 = time.perf_counter()
    provides = be.provides()
    for doc in docs:
        doc_to_parsed(doc, provides)
    t_convert = time.perf_counter() - t2
    return {"wall": t_pipe, "cpu_s": cpu, "load_s": t_load, "convert_s": t_convert, "tokens": n_tokens,
            "components": list(be.nlp.pipe_names), **_rusage()}


def _warm_dask_worker(model: str) -> bool:  # runs on each Dask worker before the clock starts
    _preimport(model)
    return True


def _worker_analyze(spec: dict[str, Any]) -> dict[str, Any]:
    _preimport(spec["model"])
    from convmaint.analysis import analyze

    cluster = client = None
    scheduler = None
    t_cluster = 0.0
    if spec.get("dask"):
        import logging

        from distributed import Client, LocalCluster

        tc = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        client.run(_warm_dask_worker, spec["model"])
        t_cluster = time.perf_counter() - tc
        scheduler = cluster.scheduler_address
    baseline = _current_rss_mb()
    cpu0 = cpu_snapshot()
    t0 = time.perf_counter()
    res = analyze([spec["corpus"]], out=spec["out"], mode=spec["mode"], jobs=spec.get("jobs", 1), cache=None,
                  scheduler=scheduler, figures=False, n_boot=spec["n_boot"], n_perm=spec["n_perm"], seed=0)
    wall = time.perf_counter() - t0
    cpu = cpu_since(cpu0)
    if client is not None:
        client.close()
        cluster.close()
    moves_csv = Path(spec["out"]) / "tables" / "moves.csv"
    digest = hashlib.sha256(moves_csv.read_bytes()).hexdigest()[:16] if moves_csv.is_file() else None
    counts = res.manifest["counts"]
    return {"wall": wall, "cpu_s": cpu, "cluster_start_s": t_cluster, "baseline_rss_mb": baseline, "moves_csv_sha256": digest,
            "conversations": counts["conversations"], "turns": counts["turns"], "moves": counts["moves"],
            "components": res.manifest["provenance"]["backend"].get("components"), **_rusage()}


def _worker_info(spec: dict[str, Any]) -> dict[str, Any]:
    import importlib

    import spacy

    from convmaint._version import __version__
    from convmaint.detect.base import detector_classes
    from convmaint.nlp.spacy_backend import COMPONENTS_FOR
    from convmaint.pipeline import Annotator

    full = Annotator.create(mode="full")
    lite = Annotator.create(mode="lite")
    fast = Annotator.create(mode="fast")
    info = full.backend.info()
    # Every component the installed package has (convmaint excludes some when loading it).
    all_components = list(importlib.import_module(info["model"]).load().component_names)
    import convmaint

    return {
        "convmaint": __version__,
        "convmaint_file": convmaint.__file__,
        "spacy": spacy.__version__,
        "model": info["model"],
        "model_name": info.get("model_name"),
        "model_version": info.get("model_version"),
        "full_components": info["components"],
        "lite_components": lite.backend.info()["components"],
        "fast_components": fast.backend.info()["components"],
        "all_components": all_components,
        "detectors": {name: {"requires": sorted(cls.requires), "requires_lite": sorted(cls.requires_lite)}
                      for name, cls in detector_classes().items()},
        "components_for": {k: list(v) for k, v in COMPONENTS_FOR.items()},
    }


def _worker_profile(spec: dict[str, Any]) -> dict[str, Any]:
    """Where the time goes: stage timings of the analysis steps, per detector, and a cProfile."""
    import cProfile
    import io
    import pstats

    _preimport(spec["model"])
    from convmaint.analysis import analyze, process_conversation
    from convmaint.io.loader import load
    from convmaint.nlp.spacy_backend import doc_to_parsed
    from convmaint.pipeline import Annotator

    out: dict[str, Any] = {}
    convs = list(load([spec["corpus"]]))
    for mode in ("full", "lite", "fast"):
        stages: dict[str, float] = {}
        t = time.perf_counter()
        ann = Annotator.create(mode=mode)
        stages["create annotator (load model, lexicons, detectors)"] = time.perf_counter() - t
        texts = [tr.text for c in convs for tr in c.turns]
        be = ann.backend
        docs = None
        if hasattr(be, "nlp"):
            t = time.perf_counter()
            docs = list(be.nlp.pipe(texts, batch_size=256))
            stages["spaCy nlp.pipe"] = time.perf_counter() - t
            fills = be._fills
            t = time.perf_counter()
            parsed = [doc_to_parsed(d, fills, x) for d, x in zip(docs, texts)]
            stages["doc_to_parsed"] = time.perf_counter() - t
        else:
            t = time.perf_counter()
            parsed = list(be.parse(texts))
            stages["regex tokenizer and sentences"] = time.perf_counter() - t
        per_det = {d.id: 0.0 for d in ann.detectors}
        t_graph = 0.0
        k = 0
        for conv in convs:
            n = len(conv.turns)
            p = parsed[k:k + n]
            k += n
            moves: list = []
            for det in ann.detectors:
                t0 = time.perf_counter()
                moves.extend(det.detect(conv, p, tuple(moves)))
                per_det[det.id] += time.perf_counter() - t0
            moves.sort(key=lambda m: (m.turn, m.start, m.end, m.label))
            t0 = time.perf_counter()
            process_conversation(conv, moves)
            t_graph += time.perf_counter() - t0
        for name, secs in per_det.items():
            stages[f"detector {name}"] = secs
        stages["process_conversation (rows, move graph, graph measures)"] = t_graph
        out[mode] = stages
        del ann, be, docs, parsed

    # cProfile of the whole analyze() call, fast mode (the mode whose target is furthest off).
    for mode in spec.get("cprofile_modes", ("fast",)):
        prof = cProfile.Profile()
        t = time.perf_counter()
        prof.enable()
        analyze([spec["corpus"]], out=spec["out"] + f"_{mode}", mode=mode, cache=None, figures=False,
                n_boot=spec["n_boot"], n_perm=spec["n_perm"])
        prof.disable()
        out[f"cprofile_{mode}_wall"] = time.perf_counter() - t
        pfile = Path(spec["out"] + f"_{mode}.pstats")
        prof.dump_stats(pfile)
        for key in ("tottime", "cumulative"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(30)
            out[f"cprofile_{mode}_{key}"] = buf.getvalue()
        out[f"cprofile_{mode}_file"] = str(pfile)
    return out


WORKERS = {"pipe": _worker_pipe, "components": _worker_components, "analyze": _worker_analyze, "info": _worker_info,
           "profile": _worker_profile}


def worker_main(spec: dict[str, Any]) -> None:
    if spec.get("cpu") is not None:
        os.sched_setaffinity(0, {spec["cpu"]})
    result = WORKERS[spec["kind"]](spec)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------------------ the parent


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


#: Set by main(): the environment of every convmaint subprocess (PYTHONPATH to the code snapshot).
WORKER_ENV: dict[str, str] | None = None


def snapshot_code(workdir: Path) -> dict[str, Any]:
    """Copy the convmaint package, lexicons and sample corpora into ``workdir/src``.

    Every measurement then runs the same code even while the working tree is being edited (a
    changed detector half-way through a run would make the rows incomparable). Returns the
    snapshot's location, a hash of its detector code and lexicons, and the git commit it sits on.
    """
    dest = workdir / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    for name in ("convmaint", "lexicons", "corpora"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, dest / name, ignore=ignore, dirs_exist_ok=True)
    h = hashlib.sha256()
    for f in sorted([*(dest / "convmaint" / "detect").glob("*.py"), *(dest / "lexicons").rglob("*")]):
        if f.is_file():
            h.update(str(f.relative_to(dest)).encode() + b"\0" + f.read_bytes())
    git: dict[str, Any] = {}
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "convmaint", "lexicons"],
                               capture_output=True, text=True, timeout=30)
        git = {"commit": head.stdout.strip() or None, "uncommitted_files": len(dirty.stdout.splitlines())}
    except (OSError, subprocess.SubprocessError):
        pass
    return {"path": str(dest), "detectors_and_lexicons_sha256": h.hexdigest()[:16], **git}


def run_worker(spec: dict[str, Any], workdir: Path, name: str, *, python: str | None = None,
               argv: list[str] | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh subprocess; its stderr goes to ``workdir/logs/NAME.log``."""
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    cmd = argv or [python or sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    if env is None:
        env = WORKER_ENV
    t = time.perf_counter()
    with open(logs / f"{name}.log", "w", encoding="utf-8") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=str(workdir))
        sampler = TreeSampler(proc.pid)
        sampler.start()
        stdout, _ = proc.communicate()
        mem = sampler.stop()
    outer = time.perf_counter() - t
    lines = [ln for ln in stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        tail = (logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"{name} failed (exit {proc.returncode}); stderr tail:\n{tail}\nstdout tail:\n{stdout[-1000:]}")
    res = json.loads(lines[-1][len(RESULT_PREFIX):])
    res.update(mem)
    res["process_s"] = outer
    return res


def build_corpus(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Write the benchmark corpus (native JSONL) and the derived inputs; return its size."""
    from convmaint.io.loader import load
    from convmaint.io.native import write_jsonl

    n = args.conversations
    if args.source:
        errors: list = []
        base = list(itertools.islice(load(args.source, format=args.format, errors=errors), n))
        origin = f"first {n} conversations of {', '.join(args.source)}"
    else:
        from convmaint.analysis import default_inputs

        errors = []
        base = list(load([str(p) for p in default_inputs()], errors=errors))
        origin = f"bundled sample corpora ({', '.join(p.name for p in default_inputs())}), repeated to {n} conversations"
    if not base:
        raise SystemExit("no conversations read from the source")
    if len(base) < n:
        _log(f"only {len(base)} conversations available; repeating them to reach {n}")
    convs = [_copy(c, k // len(base)) for k, c in zip(range(n), itertools.cycle(base))]
    corpus = workdir / "corpus.jsonl"
    write_jsonl(convs, corpus)

    texts = [t.text for c in convs for t in c.turns]
    (workdir / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    with open(workdir / "utterances.jsonl", "w", encoding="utf-8") as fh:
        for c in convs:
            prev = None
            for t in c.turns:
                uid = f"{c.id}/{t.index}"
                fh.write(json.dumps({"id": uid, "speaker": f"{c.id}/{t.speaker}", "conversation_id": c.id,
                                     "reply_to": prev, "text": t.text}, ensure_ascii=False) + "\n")
                prev = uid

    # The memory-scaling corpora: a base (default: the benchmark corpus) and FACTOR copies of it.
    m = args.memory_base or n
    mem_base = [_copy(c, k // len(convs)) for k, c in zip(range(m), itertools.cycle(convs))]
    write_jsonl(mem_base, workdir / "memory_1x.jsonl")
    write_jsonl((_copy(c, 1000 + j) for j in range(args.memory_factor) for c in mem_base), workdir / "memory_10x.jsonl")

    roles: dict[str, int] = {}
    for c in convs:
        for t in c.turns:
            roles[t.role.value] = roles.get(t.role.value, 0) + 1
    return {
        "origin": origin,
        "conversations": len(convs),
        "turns": len(texts),
        "words": sum(len(t.split()) for t in texts),
        "chars": sum(len(t) for t in texts),
        "turns_by_role": roles,
        "corpora": sorted({str(c.metadata.get("corpus", "")) for c in convs}),
        "memory_base_conversations": len(mem_base),
        "memory_base_words": sum(c.n_words for c in mem_base),
        "memory_factor": args.memory_factor,
        "read_errors": len(errors),
    }


def _copy(conv: Any, k: int) -> Any:
    """The k-th copy of a conversation (k = 0 keeps the id)."""
    return conv if k == 0 else dataclasses.replace(conv, id=f"{conv.id}~{k}")


def machine() -> dict[str, Any]:
    import psutil

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "usable_cores": len(os.sched_getaffinity(0)),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }


def convokit_row(args: argparse.Namespace, workdir: Path, info: dict[str, Any], cpu: int | None) -> dict[str, Any]:
    py = Path(args.convokit_python)
    if not py.exists():
        return {"not_measured": f"no ConvoKit environment at {py} (see docs/performance.md for how to create it)"}
    exclude = [c for c in info["all_components"] if c not in info["full_components"]]
    home = workdir / "convokit-home"  # ConvoKit writes ~/.convokit/config.yml on import; keep it here
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    argv = [str(py), str(HERE / "_convokit_parse.py"), "--utterances", str(workdir / "utterances.jsonl"),
            "--model", info["model"], "--components", ",".join(info["full_components"]),
            "--exclude", ",".join(exclude)]
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    try:
        return run_worker({}, workdir, "convokit", argv=argv, env=env)
    except RuntimeError as exc:
        return {"not_measured": f"ConvoKit run failed: {str(exc)[:600]}"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--source", nargs="+", help="transcript files or folders (any format convmaint reads)")
    src.add_argument("--synthetic", action="store_true",
                     help="build the corpus from the bundled sample corpora, repeated to --conversations (the default)")
    ap.add_argument("--format", help="force a reader for --source")
    ap.add_argument("--conversations", type=int, default=300, help="conversations in the benchmark corpus (default 300)")
    ap.add_argument("--memory-base", type=int, default=None,
                    help="conversations in the 1x memory-scaling corpus (default: --conversations)")
    ap.add_argument("--memory-factor", type=int, default=10, help="size of the large memory corpus, in copies of the 1x one")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run rows 1-7 N times, interleaved, and keep each row's fastest run")
    ap.add_argument("--only", help=f"comma-separated rows to run, of: {', '.join(MAIN_ROWS + COMPONENT_ROWS + MEMORY_ROWS)}")
    ap.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples in analyze (default: its default, 2000)")
    ap.add_argument("--n-perm", type=int, default=5000, help="permutations in analyze (default: its default, 5000)")
    ap.add_argument("--convokit-python", default="/tmp/convokit-venv/bin/python",
                    help="python of a virtual environment with convokit installed")
    ap.add_argument("--cpu", type=int, default=None, help="CPU that one-process rows are pinned to (default: the first usable)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin one-process rows to one CPU")
    ap.add_argument("--profile", action="store_true", help="also time the analysis stages and each detector, and cProfile analyze")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--markdown", help="write the Markdown tables here")
    ap.add_argument("--workdir", help="working folder (default: a temporary one, removed at the end)")
    ap.add_argument("--keep", action="store_true", help="keep the working folder")
    ap.add_argument("--no-snapshot", action="store_true",
                    help="run the working tree's code rather than a snapshot taken at the start")
    args = ap.parse_args(argv)
    if args.worker:
        worker_main(json.loads(args.worker))
        return 0

    rows = set(MAIN_ROWS + COMPONENT_ROWS + MEMORY_ROWS)
    if args.only:
        rows = {r.strip() for r in args.only.split(",") if r.strip()}
        unknown = rows - set(MAIN_ROWS + COMPONENT_ROWS + MEMORY_ROWS)
        if unknown:
            ap.error(f"unknown rows: {', '.join(sorted(unknown))}")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="convmaint-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cpu = None if args.no_pin else (args.cpu if args.cpu is not None else min(os.sched_getaffinity(0)))
    command = "python benchmarks/bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    t_start = time.perf_counter()
    global WORKER_ENV
    try:
        mach = machine()
        code = {"path": str(ROOT), "snapshot": False}
        if not args.no_snapshot:
            code = {**snapshot_code(workdir), "snapshot": True}
            WORKER_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
                [code["path"], *([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])])}
        _log(f"working in {workdir}; building the corpus")
        corpus = build_corpus(args, workdir)
        _log(f"corpus: {corpus['conversations']} conversations, {corpus['turns']} turns, {corpus['words']} words")
        info = run_worker({"kind": "info"}, workdir, "info")
        if not info["convmaint_file"].startswith(code["path"]):
            raise SystemExit(f"the workers imported convmaint from {info['convmaint_file']}, not from {code['path']}")
        _log(f"model {info['model']} {info['model_version']}; full mode runs {info['full_components']}")
        results: dict[str, dict[str, Any]] = {}
        runs: dict[str, list[float]] = {}
        exclude_full = [c for c in info["all_components"] if c not in info["full_components"]]
        base = {"model": info["model"], "n_boot": args.n_boot, "n_perm": args.n_perm}
        specs = {
            "pipe": {"kind": "pipe", "texts": str(workdir / "texts.json"), "components": info["full_components"],
                     "exclude": exclude_full, "n_process": 1, "cpu": cpu, **base},
            "full": {"kind": "analyze", "corpus": str(workdir / "corpus.jsonl"), "mode": "full", "jobs": 1, "cpu": cpu, **base},
            "jobs2": {"kind": "analyze", "corpus": str(workdir / "corpus.jsonl"), "mode": "full", "jobs": 2, **base},
            "pipe_np2": {"kind": "pipe", "texts": str(workdir / "texts.json"), "components": info["full_components"],
                         "exclude": exclude_full, "n_process": 2, **base},
            "lite": {"kind": "analyze", "corpus": str(workdir / "corpus.jsonl"), "mode": "lite", "jobs": 1, "cpu": cpu, **base},
            "fast": {"kind": "analyze", "corpus": str(workdir / "corpus.jsonl"), "mode": "fast", "jobs": 1, "cpu": cpu, **base},
            "dask": {"kind": "analyze", "corpus": str(workdir / "corpus.jsonl"), "mode": "full", "dask": True, **base},
        }
        for name in COMPONENT_ROWS:
            specs[name] = {"kind": "components", "texts": str(workdir / "texts.json"), "requires": COMPONENT_REQUIRES[name],
                           "cpu": cpu, **base}
        for name in MEMORY_ROWS:
            specs[name] = {"kind": "analyze", "corpus": str(workdir / f"memory_{name[4:]}.jsonl"), "mode": "fast",
                           "jobs": 1, "cpu": cpu, **base}

        timed = [r for r in MAIN_ROWS + COMPONENT_ROWS if r in rows]
        for rep in range(args.repeat):
            for name in timed:
                if rep > 0 and name not in REPEATED_ROWS:
                    continue
                _log(f"{name} (run {rep + 1}): {LABELS[name]}")
                if name == "convokit":
                    res = convokit_row(args, workdir, info, cpu)
                else:
                    spec = dict(specs[name])
                    if spec["kind"] == "analyze":
                        spec["out"] = str(workdir / f"out_{name}")
                    res = run_worker(spec, workdir, f"{name}-{rep}")
                if "wall" in res:
                    runs.setdefault(name, []).append(res["wall"])
                    if name not in results or res["wall"] < results[name]["wall"]:
                        results[name] = res
                elif name not in results:
                    results[name] = res
                _log(f"  -> {res.get('wall', float('nan')):.2f} s" if "wall" in res else f"  -> {res}")
        for name in MEMORY_ROWS:
            if name in rows:
                _log(f"{name}: {LABELS[name]}")
                spec = {**specs[name], "out": str(workdir / f"out_{name}")}
                results[name] = run_worker(spec, workdir, name)
                _log(f"  -> {results[name]['wall']:.2f} s, ru_maxrss {results[name]['self_maxrss_mb']:.0f} MB")
        profile = None
        if args.profile:
            _log("profile: stage timings and cProfile of analyze")
            profile = run_worker({"kind": "profile", "corpus": str(workdir / "corpus.jsonl"), "out": str(workdir / "profile"),
                                  "cpu": cpu, "cprofile_modes": ["fast", "full"], **base}, workdir, "profile")
        mach["loadavg_end"] = os.getloadavg()
        report = assemble(args, command, mach, corpus, info, results, runs, profile, cpu)
        report["code"] = code
        report["total_seconds"] = time.perf_counter() - t_start
        md = markdown(report)
        print(md)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        if args.markdown:
            Path(args.markdown).write_text(md + "\n", encoding="utf-8")
    finally:
        if args.keep or args.workdir:
            _log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


# ---------------------------------------------------------------------------------- report


def _rate(res: dict[str, Any] | None, n: int) -> float | None:
    if not res or "wall" not in res or not res["wall"]:
        return None
    return n / res["wall"]


def _peak(res: dict[str, Any]) -> float | None:
    """The peak memory shown in the table: the process tree's summed RSS, or ru_maxrss if larger."""
    vals = [res.get("tree_peak_rss_mb"), res.get("self_maxrss_mb")]
    vals = [v for v in vals if v is not None]
    return max(vals) if vals else None


def assemble(args, command, mach, corpus, info, results, runs, profile, cpu) -> dict[str, Any]:
    words, turns = corpus["words"], corpus["turns"]
    table = []
    for name in MAIN_ROWS + COMPONENT_ROWS + MEMORY_ROWS:
        res = results.get(name)
        if res is None:
            continue
        w = corpus["memory_base_words"] * (args.memory_factor if name == "mem_10x" else 1) if name in MEMORY_ROWS else words
        t = None if name in MEMORY_ROWS else turns
        row = {"row": name, "what": LABELS[name], "wall_s": res.get("wall"),
               "words_per_s": _rate(res, w), "turns_per_s": _rate(res, t) if t else None,
               "cpu_s": res.get("cpu_s"), "cores_used": (res["cpu_s"] / res["wall"]) if res.get("cpu_s") and res.get("wall") else None,
               "peak_rss_mb": _peak(res), "peak_pss_mb": res.get("tree_peak_pss_mb"), "runs_s": runs.get(name),
               "pinned_cpu": cpu if name in ("pipe", "full", "lite", "fast", "convokit", *COMPONENT_ROWS, *MEMORY_ROWS) else None,
               "detail": res}
        if "not_measured" in res:
            row["not_measured"] = res["not_measured"]
        table.append(row)
    by = {r["row"]: r for r in table}

    def wall(name: str) -> float | None:
        r = by.get(name)
        return r["wall_s"] if r and r.get("wall_s") else None

    ratios: dict[str, Any] = {}
    if wall("pipe") and wall("full"):
        ratios["full_vs_pipe"] = wall("pipe") / wall("full")
    if wall("fast"):
        ratios["fast_words_per_s_1x"] = words / wall("fast")
    if wall("lite"):
        ratios["lite_words_per_s"] = words / wall("lite")
    if wall("full") and wall("jobs2"):
        ratios["jobs2_speedup"] = wall("full") / wall("jobs2")
    if wall("pipe") and wall("pipe_np2"):
        ratios["spacy_np2_speedup"] = wall("pipe") / wall("pipe_np2")
    if "jobs2_speedup" in ratios and "spacy_np2_speedup" in ratios:
        ratios["jobs2_vs_spacy_np2"] = ratios["jobs2_speedup"] / ratios["spacy_np2_speedup"]
    if wall("full") and wall("dask"):
        ratios["dask_speedup"] = wall("full") / wall("dask")
    if wall("full") and wall("convokit"):
        ratios["full_vs_convokit"] = wall("convokit") / wall("full")

    def cpu_of(name: str) -> float | None:
        r = by.get(name)
        return r.get("cpu_s") if r else None

    # The same ratios in CPU seconds: on a busy machine these are steadier than wall time (a
    # one-process row waits for the CPU it is pinned to), and on an idle machine they are what the
    # one-process wall-time ratios tend to.
    if cpu_of("pipe") and cpu_of("full"):
        ratios["full_vs_pipe_cpu"] = cpu_of("pipe") / cpu_of("full")
    if results.get("mem_10x", {}).get("cpu_s"):
        ratios["fast_words_per_cpu_s"] = corpus["memory_base_words"] * args.memory_factor / results["mem_10x"]["cpu_s"]
    if cpu_of("full") and cpu_of("convokit"):
        ratios["full_vs_convokit_cpu"] = cpu_of("convokit") / cpu_of("full")
    if "mem_1x" in results and "mem_10x" in results:
        a, b = results["mem_1x"], results["mem_10x"]
        # Fast mode's throughput without its fixed costs (loading the pipeline and the lexicons,
        # the statistics, the report): the extra words of the 10x corpus over the extra time.
        w1 = corpus["memory_base_words"]
        w10 = w1 * args.memory_factor
        if b.get("wall") and a.get("wall") and b["wall"] > a["wall"]:
            # The target's number: fast mode is for first passes over very large corpora, so its
            # throughput is measured on the larger corpus, fixed costs (loading, statistics,
            # report) included.
            ratios["fast_words_per_s"] = ratios["fast_words_per_s_10x"] = w10 / b["wall"]
            ratios["fast_marginal_words_per_s"] = (w10 - w1) / (b["wall"] - a["wall"])
        ratios["memory_10x_vs_1x"] = b["self_maxrss_mb"] / a["self_maxrss_mb"]
        ratios["memory_growth_10x_vs_1x"] = ((b["self_maxrss_mb"] - b["baseline_rss_mb"])
                                             / max(1e-9, a["self_maxrss_mb"] - a["baseline_rss_mb"]))
    # The same ratios from each repeat on its own (rows of one repeat ran minutes apart at most):
    # their spread shows how much the machine's noise moves the best-of numbers above.
    per_repeat: dict[str, list[float]] = {}
    n_rep = min((len(runs[k]) for k in ("pipe", "full") if k in runs), default=0)
    for i in range(n_rep):
        def w(name: str) -> float | None:
            return runs[name][i] if name in runs and len(runs[name]) > i else None

        if w("pipe") and w("full"):
            per_repeat.setdefault("full_vs_pipe", []).append(w("pipe") / w("full"))
        if w("fast"):
            per_repeat.setdefault("fast_words_per_s_1x", []).append(words / w("fast"))
        if w("full") and w("jobs2") and w("pipe") and w("pipe_np2"):
            per_repeat.setdefault("jobs2_vs_spacy_np2", []).append((w("full") / w("jobs2")) / (w("pipe") / w("pipe_np2")))
        if w("full") and w("convokit"):
            per_repeat.setdefault("full_vs_convokit", []).append(w("convokit") / w("full"))
    ratios["per_repeat"] = per_repeat

    verdicts = {}
    for key, target in TARGETS.items():
        if key not in ratios:
            verdicts[key] = "not measured"
        elif key == "memory_10x_vs_1x":
            verdicts[key] = "met" if ratios[key] <= target else "not met"
        elif key == "full_vs_convokit":
            verdicts[key] = "met" if ratios[key] > target else "not met"
        else:
            verdicts[key] = "met" if ratios[key] >= target else "not met"
    hashes = {n: by[n]["detail"].get("moves_csv_sha256") for n in ("full", "jobs2", "dask") if n in by}
    consistency = {"moves_csv_sha256": hashes, "identical": len(set(hashes.values())) == 1 if len(hashes) > 1 else None,
                   "moves": {n: by[n]["detail"].get("moves") for n in ("full", "jobs2", "dask", "lite", "fast") if n in by}}
    return {"command": command, "machine": mach, "software": {k: info[k] for k in ("convmaint", "spacy", "model", "model_name",
                                                                                     "model_version")},
            "convokit": {k: by["convokit"]["detail"].get(k) for k in ("convokit_version", "spacy_version", "tokens", "sentences",
                                                                       "unparsed", "load_s", "corpus_s", "parse_s")}
            if "convokit" in by and "wall" in by["convokit"]["detail"] else None,
            "corpus": corpus, "components": {"full": info["full_components"], "lite": info["lite_components"],
                                             "fast": info["fast_components"]},
            "detector_requirements": info["detectors"], "components_for": info["components_for"],
            "options": {"n_boot": args.n_boot, "n_perm": args.n_perm, "repeat": args.repeat, "pinned_cpu": cpu},
            "rows": table, "ratios": ratios, "targets": TARGETS, "verdicts": verdicts, "consistency": consistency,
            "profile": profile}


def _fmt(v: Any, digits: int = 0) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def markdown(rep: dict[str, Any]) -> str:
    m, c, s = rep["machine"], rep["corpus"], rep["software"]
    lines = [
        f"Corpus: {c['origin']}: {c['conversations']:,} conversations, {c['turns']:,} turns, {c['words']:,} words "
        f"(whitespace words, as `Turn.n_words`).",
        f"Machine: {m['cpu']}, {m['usable_cores']} usable cores, {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"spaCy {s['spacy']}, {s['model']} {s['model_version']}, convmaint {s['convmaint']}; "
        f"load average {m['loadavg_start'][0]:.1f} at the start, {m['loadavg_end'][0]:.1f} at the end.",
        "",
        "| row | what | wall s | words/s | turns/s | CPU s | cores used | peak RSS MB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rep["rows"]:
        if "not_measured" in r:
            lines.append(f"| {r['row']} | {r['what']} | not measured | | | | | |")
            continue
        lines.append(f"| {r['row']} | {r['what']} | {_fmt(r['wall_s'], 2)} | {_fmt(r['words_per_s'])} | "
                     f"{_fmt(r['turns_per_s'])} | {_fmt(r['cpu_s'], 2)} | {_fmt(r['cores_used'], 2)} | {_fmt(r['peak_rss_mb'])} |")
    names = {
        "full_vs_pipe": ("convmaint full ÷ nlp.pipe (words/s)", "≥ 0.8"),
        "fast_words_per_s": ("fast mode words/s, one core, on the 10x corpus (fixed costs included)", "≥ 150,000"),
        "jobs2_vs_spacy_np2": ("jobs=2 speed-up ÷ spaCy n_process=2 speed-up", "≥ 0.9"),
        "full_vs_convokit": ("convmaint full ÷ ConvoKit TextParser (words/s)", "> 1"),
        "memory_10x_vs_1x": ("peak RSS, fast analyze, 10x ÷ 1x corpus", "≤ 1.2"),
    }
    ra = rep["ratios"]
    cpu_keys = {"full_vs_pipe": "full_vs_pipe_cpu", "fast_words_per_s": "fast_words_per_cpu_s",
                "full_vs_convokit": "full_vs_convokit_cpu"}
    lines += ["", "| ratio | value (wall time) | same in CPU time | target | verdict |", "| --- | ---: | ---: | ---: | --- |"]
    for key, (label, target) in names.items():
        digits = 0 if key == "fast_words_per_s" else 2
        spread = ra.get("per_repeat", {}).get(key)
        rng = f" (runs: {', '.join(_fmt(v, digits) for v in spread)})" if spread and len(spread) > 1 else ""
        lines.append(f"| {label} | {_fmt(ra.get(key), digits)}{rng} | {_fmt(ra.get(cpu_keys.get(key, '')), digits)} | "
                     f"{target} | {rep['verdicts'][key]} |")
    extra = []
    if "jobs2_speedup" in ra:
        extra.append(f"convmaint jobs=2 speed-up {ra['jobs2_speedup']:.2f}×")
    if "spacy_np2_speedup" in ra:
        extra.append(f"spaCy n_process=2 speed-up {ra['spacy_np2_speedup']:.2f}×")
    if "dask_speedup" in ra:
        extra.append(f"Dask 2×1 speed-up {ra['dask_speedup']:.2f}×")
    if "fast_marginal_words_per_s" in ra:
        extra.append(f"fast mode {ra['fast_marginal_words_per_s']:,.0f} words/s without the fixed costs (10x − 1x)")
    if "memory_growth_10x_vs_1x" in ra:
        extra.append(f"memory above the post-import baseline, 10x ÷ 1x: {ra['memory_growth_10x_vs_1x']:.2f}")
    cons = rep["consistency"]
    if cons.get("identical") is not None:
        extra.append(f"moves.csv identical across {', '.join(cons['moves_csv_sha256'])}: " + ("yes" if cons["identical"] else "NO"))
    if "fast_words_per_s_1x" in ra:
        extra.append(f"fast mode on the 1x corpus {ra['fast_words_per_s_1x']:,.0f} words/s")
    if "lite_words_per_s" in ra:
        extra.append(f"lite mode {ra['lite_words_per_s']:,.0f} words/s")
    if extra:
        lines += ["", "; ".join(extra) + "."]
    prof = rep.get("profile")
    if prof:
        for mode in ("full", "lite", "fast"):
            if mode in prof:
                total = sum(prof[mode].values())
                lines += ["", f"Stage timings, {mode} mode (one process, seconds; share of their sum):", "",
                          "| stage | s | share |", "| --- | ---: | ---: |"]
                for k, v in prof[mode].items():
                    lines.append(f"| {k} | {v:.2f} | {100 * v / total:.0f}% |")
    lines += ["", f"Command: `{rep['command']}`"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
