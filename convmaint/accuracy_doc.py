"""Regenerate docs/accuracy.md: every detector scored on every gold corpus, in full, lite and fast mode.

Run from the repository root::

    python -m convmaint.accuracy_doc --data ../shared/data --out docs/accuracy.md

It evaluates SwDA, MRDA and TIAGE (the development portions in ``--data``) and the hand-labelled
written-chat gold bundled in ``corpora/gold-heldout`` and ``corpora/gold``, each in full, lite and
fast mode, and writes the tables with the targets, the baselines of the same run, and the provenance.
The JSON reports go beside the Markdown (``docs/accuracy/*.json``) so that the numbers can be
checked and diffed; ``--corpora mrda`` re-evaluates one corpus and ``--modes fast`` one mode, and
the others are taken from there.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from convmaint.evaluate import evaluate_corpus

#: Issue targets (F1) per (corpus, label), and the one-hour cue-list baseline quoted there.
TARGETS: dict[tuple[str, str], float] = {
    ("swda", "grounding.acknowledgement"): 0.90,
    ("swda", "repair.self"): 0.88,
    ("swda", "clarification.request"): 0.60,
    ("tiage", "topic.shift"): 0.55,
    ("mrda", "grounding.acknowledgement"): 0.85,
    ("mrda", "clarification.request"): 0.40,
    ("mrda", "topic.shift"): 0.30,
}


ORDER = ("swda", "mrda", "tiage", "heldout", "native")
MODES = ("full", "lite", "fast")


def _f(x: Any) -> str:
    return "–" if x is None else f"{x:.3f}"


def _rows(full: dict[str, Any], lite: dict[str, Any] | None, fast: dict[str, Any] | None) -> list[str]:
    """Table rows from the saved reports (``EvalReport.to_dict()``) of the three modes."""
    lite_by = {lab: v["system"] for lab, v in (lite or {}).get("labels", {}).items()}
    fast_by = {lab: v["system"] for lab, v in (fast or {}).get("labels", {}).items()}
    out = []
    for label, v in full["labels"].items():
        s, b = v["system"], v["baselines"]
        tgt = TARGETS.get((full["corpus"], label))
        met = "" if tgt is None or s["f1"] is None else (" ✓" if s["f1"] >= tgt else " ✗")
        out.append(
            f"| {label} | {s['gold']} | {s['predicted']} | {_f(s['precision'])} | {_f(s['recall'])} | **{_f(s['f1'])}**"
            f" | {_f(lite_by.get(label, {}).get('f1'))} | {_f(fast_by.get(label, {}).get('f1'))}"
            f" | {_f(b.get('cue-list', {}).get('f1'))}"
            f" | {_f(b['all-positive']['f1'])} | {_f(b.get('texttiling', {}).get('f1'))} | {_f(s['base_rate'])}"
            f" | {'' if tgt is None else f'{tgt:.2f}'}{met} |")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m convmaint.accuracy_doc")
    ap.add_argument("--data", default="../shared/data", help="folder with swda/, mrda/, tiage/")
    ap.add_argument("--gold", default="corpora/gold", help="hand-labelled native gold (read during development)")
    ap.add_argument("--heldout", default="corpora/gold-heldout", help="hand-labelled native gold never used in development")
    ap.add_argument("--out", default="docs/accuracy.md")
    ap.add_argument("--limit", type=int, default=None, help="conversations per corpus (for a quick look)")
    ap.add_argument("--corpora", nargs="*", default=list(ORDER),
                    help="corpora to (re-)evaluate; the others are taken from their saved reports in docs/accuracy/")
    ap.add_argument("--modes", nargs="*", default=list(MODES), choices=MODES,
                    help="modes to (re-)evaluate; the others are taken from their saved reports")
    a = ap.parse_args(argv)
    data = Path(a.data)
    sources = {"swda": data / "swda", "mrda": data / "mrda", "tiage": data / "tiage", "native": Path(a.gold),
               "heldout": Path(a.heldout)}
    json_dir = Path(a.out).with_suffix("")
    json_dir.mkdir(parents=True, exist_ok=True)
    sections = []
    prov: dict[str, Any] = {}
    fast_prov: dict[str, Any] = {}
    for corpus in ORDER:
        src = sources[corpus]
        saved = {m: json_dir / f"{corpus}-{m}.json" for m in MODES}
        if corpus in a.corpora:
            if not src.exists():
                sections.append(f"## {corpus}\n\nNot evaluated: {src} is absent.\n")
                continue
            kind = "native" if corpus == "heldout" else corpus
            for m in MODES:
                if m not in a.modes:
                    continue
                t0 = time.time()
                rep = evaluate_corpus([str(src)], corpus=kind, mode=m, limit=a.limit, n_errors=0)
                d = rep.to_dict()
                d["seconds"] = round(time.time() - t0, 1)
                d["source"] = str(src)
                saved[m].write_text(json.dumps(d, indent=1) + "\n", encoding="utf-8")
        if not saved["full"].exists():
            continue  # neither evaluated now nor before
        reps = {m: json.loads(saved[m].read_text(encoding="utf-8")) if saved[m].exists() else None for m in MODES}
        full, lite, fast = reps["full"], reps["lite"], reps["fast"]
        prov = full.get("provenance", prov)
        fast_prov = (fast or {}).get("provenance", fast_prov)
        unit = {"swda": "SwDA utterance (slash unit, `+` continuations merged)", "mrda": "MRDA dialogue-act segment",
                "tiage": "TIAGE turn (first turns included as negatives)", "native": "turn", "heldout": "turn"}[corpus]
        title = {"swda": "SwDA (Switchboard, telephone speech)", "mrda": "MRDA (ICSI meetings)",
                 "tiage": "TIAGE (PersonaChat topic shifts)",
                 "heldout": "Written chat, held-out hand-labelled gold (never used in development)",
                 "native": "Written chat, development hand-labelled gold (read while developing: optimistic)"}[corpus]
        sections.append("\n".join([
            f"## {title}",
            "",
            f"{full['conversations']} conversations, {full['units']} units ({unit}).",
            "",
            f"Source `{full.get('source', src)}`; the evaluation took "
            + ", ".join(f"{r['seconds']} s in {m} mode" for m, r in reps.items() if r and r.get("seconds") is not None)
            + " (each mode in its own run).",
            "",
            ("| label | gold | predicted | P | R | F1 | F1 lite | F1 fast | F1 cue-list | F1 all-positive | F1 TextTiling"
             " | base rate | target |"),
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            *_rows(full, lite, fast),
            "",
        ]))
    head = [
        "# Detector accuracy",
        "",
        "Every number here comes from `convmaint evaluate` on real gold data, regenerated by one command from the",
        "repository root:",
        "",
        "```bash",
        f"python -m convmaint.accuracy_doc --data {a.data} --out {a.out}",
        "```",
        "",
        "Scoring is per gold unit of each corpus (docs/moves.md, *How public gold annotations map*): a unit is gold",
        "positive when a gold move of the label overlaps it and predicted when a detected move does. Baselines run in",
        "the same pass: *all-positive* predicts every unit; *cue-list* is a one-screen regex list per label",
        "(`convmaint/evaluate.py`); *TextTiling* is lexical cohesion with depth scores (Hearst 1997) for `topic.shift`.",
        "P, R and F1 are full mode's. *F1 lite* is the same detectors in `--mode lite` (tokens and sentences, no parse);",
        "*F1 fast* is the scan detectors of `--mode fast` (a regex tokenizer, matchers and lexical cohesion only;",
        "`convmaint/detect/fast/`), built for first passes over very large corpora (docs/performance.md).",
        "Targets are those set for the project; ✓ met, ✗ not met. The data are the development portions; the",
        "detectors were developed on them with held-out halves checked (see the notes below), and are expected,",
        "not guaranteed, to score similarly on held-out portions.",
        "",
        f"convmaint {prov.get('convmaint', '')}; detectors {', '.join(prov.get('detectors', {}))}"
        + (f" (fast mode: {', '.join(fast_prov.get('detectors', {}))})" if fast_prov else "") + "; "
        f"backend {prov.get('backend', {}).get('model', '')} {prov.get('backend', {}).get('model_version', '')} "
        f"({', '.join(prov.get('backend', {}).get('components', []))}).",
        "",
        "Lexicon hashes: " + ", ".join(f"`{k}` {v}" for k, v in prov.get("lexicons", {}).items()) + ".",
        "",
    ]
    notes_path = Path(a.out).with_name("accuracy_notes.md")
    notes = notes_path.read_text(encoding="utf-8") if notes_path.exists() else ""
    Path(a.out).write_text("\n".join(head) + "\n" + "\n".join(sections) + ("\n" + notes if notes else ""), encoding="utf-8")
    print(a.out)


if __name__ == "__main__":
    main()
