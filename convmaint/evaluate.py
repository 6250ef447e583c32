"""Score detectors against gold-annotated corpora, at each corpus's own unit, beside baselines.

Units are the gold unit of the source: a segment's ``unit`` (SwDA utterance, MRDA dialogue-act
segment; continuation pieces of one SwDA utterance share a unit) or, where a turn has no segments,
the turn itself (TIAGE, native JSONL). A unit is gold-positive for a label when a gold move of
that label overlaps one of its pieces, and predicted when a detected move of that label does.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from convmaint.model import LABELS, Conversation, Move

__all__ = ["EvalReport", "LabelScore", "Unit", "baseline_cues", "baseline_texttiling", "evaluate", "evaluate_corpus", "iter_units"]

#: The gold labels each corpus annotates (what ``evaluate`` reports for it).
CORPUS_LABELS: dict[str, tuple[str, ...]] = {
    "swda": ("repair.self", "clarification.request", "grounding.acknowledgement", "grounding.repeat",
             "grounding.reformulation", "grounding.completion"),
    "mrda": ("repair.self", "repair.other", "clarification.request", "topic.shift", "grounding.acknowledgement",
             "grounding.repeat", "grounding.reformulation", "grounding.completion"),
    "tiage": ("topic.shift",),
}


@dataclass(frozen=True, slots=True)
class Unit:
    """One scoring unit: pieces ``(turn, start, end)`` and its text (pieces joined)."""

    conv: str
    id: str
    pieces: tuple[tuple[int, int, int], ...]
    text: str
    speaker: str

    def hit(self, moves_by_turn: Mapping[int, Sequence[Move]], label: str) -> Move | None:
        for turn, s, e in self.pieces:
            for m in moves_by_turn.get(turn, ()):
                if m.label == label and m.overlaps(s, e):
                    return m
        return None


def iter_units(conv: Conversation) -> list[Unit]:
    """The scoring units of a conversation, in order of first piece."""
    units: dict[str, list[tuple[int, int, int]]] = {}
    speakers: dict[str, str] = {}
    # Where a source annotates below the turn, only its segments are units: a turn without any
    # (MRDA speech labelled z, not coded) is context, not a unit.
    segmented = any(t.segments for t in conv.turns)
    for turn in conv.turns:
        if segmented and not turn.segments:
            continue
        if turn.segments:
            for seg in turn.segments:
                uid = str(seg.metadata.get("unit", seg.id))
                units.setdefault(uid, []).append((turn.index, seg.start, seg.end))
                speakers.setdefault(uid, turn.speaker)
        else:
            uid = f"turn:{turn.id}"
            units.setdefault(uid, []).append((turn.index, 0, len(turn.text)))
            speakers.setdefault(uid, turn.speaker)
    out = []
    for uid, pieces in units.items():
        text = " ".join(conv.turns[t].text[s:e] for t, s, e in pieces)
        out.append(Unit(conv=conv.id, id=uid, pieces=tuple(pieces), text=text, speaker=speakers[uid]))
    return out


def _by_turn(moves: Iterable[Move]) -> dict[int, list[Move]]:
    out: dict[int, list[Move]] = {}
    for m in moves:
        out.setdefault(m.turn, []).append(m)
    return out


@dataclass
class Counts:
    gold: int = 0
    predicted: int = 0
    tp: int = 0

    def scores(self, n_units: int) -> dict[str, float | int | None]:
        p = self.tp / self.predicted if self.predicted else None
        r = self.tp / self.gold if self.gold else None
        f = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
        return {"gold": self.gold, "predicted": self.predicted, "tp": self.tp, "precision": p, "recall": r, "f1": f,
                "base_rate": self.gold / n_units if n_units else None}


@dataclass
class LabelScore:
    label: str
    system: dict[str, Any]
    baselines: dict[str, dict[str, Any]]


@dataclass
class EvalReport:
    """Per-label scores of the detectors and the baselines, with provenance and error examples."""

    corpus: str
    n_conversations: int
    n_units: int
    labels: list[LabelScore]
    provenance: dict[str, Any]
    errors: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "conversations": self.n_conversations,
            "units": self.n_units,
            "labels": {ls.label: {"system": ls.system, "baselines": ls.baselines} for ls in self.labels},
            "provenance": self.provenance,
            "errors": self.errors,
        }

    def table(self) -> str:
        """A fixed-width table: one row per label, system then baselines."""
        def fmt(x: Any) -> str:
            return "   -" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)

        head = f"{'label':<28} {'system':<22} {'gold':>6} {'pred':>6} {'P':>6} {'R':>6} {'F1':>6} {'base':>6}"
        lines = [f"corpus {self.corpus}: {self.n_conversations} conversations, {self.n_units} units", head, "-" * len(head)]
        for ls in self.labels:
            rows = [("convmaint", ls.system)] + [(f"  {k}", v) for k, v in ls.baselines.items()]
            for k, (name, sc) in enumerate(rows):
                lab = ls.label if k == 0 else ""
                lines.append(f"{lab:<28} {name:<22} {sc['gold']:>6} {sc['predicted']:>6} {fmt(sc['precision']):>6} "
                             f"{fmt(sc['recall']):>6} {fmt(sc['f1']):>6} {fmt(sc['base_rate']):>6}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------- baselines

_WORD_RE = re.compile(r"[a-z0-9']+")

_ACK_WORDS = {"uh-huh", "uhhuh", "mm-hmm", "mhm", "mmhmm", "yeah", "yes", "right", "okay", "ok", "oh", "sure", "yep",
              "huh-uh", "um-hum", "uh", "hum", "really", "wow", "exactly", "true", "i", "see", "gotcha", "got", "it"}
_CUES: dict[str, list[str]] = {
    "repair.self": [r"\b(\w+)\W+\1\b", r"\bi mean\b", r"\bsorry\b", r"\bno wait\b", r"\bi'm sorry\b"],
    "repair.other": [r"^no,? (it's|it was|that's|he|she|they)\b", r"^actually\b"],
    "clarification.request": [r"^(huh|what|pardon|sorry|excuse me)\W*$", r"\bwhat do you mean\b", r"^you mean\b",
                              r"\bwhich one\b", r"\bsay that again\b", r"^(what|who|which|where)\W*$"],
    "topic.shift": [r"^(anyway|anyways|by the way|speaking of|so anyway|on another note|changing the subject)\b"],
    "topic.handoff": [r"\b(what|how) about you\b", r"\band you\W*$", r"\bhow about yourself\b", r"\byour turn\b"],
    "topic.resume": [r"\b(back to|as i was saying|going back to|returning to)\b"],
    "topic.close": [r"^(so yeah|anyway that's|that's about it|that's that)\b"],
    "grounding.reformulation": [r"^so (you're|you are) saying\b", r"\bin other words\b", r"^so basically\b"],
    "grounding.follow_up": [r"^(and|so) (what|how|why|did|do|was)\b"],
}


def baseline_cues(label: str) -> Callable[[Unit, Unit | None], bool] | None:
    """The simple cue-list baseline for a label: regexes over the unit's lower-cased text."""
    if label == "grounding.acknowledgement":
        def ack(u: Unit, prev: Unit | None) -> bool:
            words = _WORD_RE.findall(u.text.lower().replace("-", ""))
            words = [w for w in words]
            return 0 < len(words) <= 3 and all(w.replace("-", "") in {a.replace("-", "") for a in _ACK_WORDS} for w in words)
        return ack
    if label == "grounding.repeat":
        def repeat(u: Unit, prev: Unit | None) -> bool:
            words = _WORD_RE.findall(u.text.lower())
            if not words or len(words) > 4 or prev is None or prev.speaker == u.speaker:
                return False
            pw = set(_WORD_RE.findall(prev.text.lower()))
            return all(w in pw for w in words)
        return repeat
    pats = _CUES.get(label)
    if not pats:
        return None
    rx = re.compile("|".join(f"(?:{p})" for p in pats))
    return lambda u, prev: bool(rx.search(" ".join(_WORD_RE.findall(u.text.lower())) or ""))


_STOP = frozenset("""a an the and or but if so of to in on at for with by from as is are was were be been being am i you he she
it we they me him her us them my your his its our their this that these those there here what which who whom whose when
where why how do does did done have has had having not no yes yeah uh um oh well just like really very can could would
should will shall may might must than then too also about up down out over into all any some one ok okay know think
mean get got go going s t m re ve ll d don didn doesn isn wasn aren""".split())


def _bag(texts: Iterable[str]) -> Counter:
    c: Counter = Counter()
    for t in texts:
        c.update(w for w in _WORD_RE.findall(t.lower()) if w not in _STOP and len(w) > 2)
    return c


def _cos(a: Counter, b: Counter) -> float:
    if not a or not b:
        return 0.0
    num = sum(v * b[k] for k, v in a.items() if k in b)
    return num / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


def baseline_texttiling(turn_texts: Sequence[str], *, window: int = 2) -> list[bool]:
    """TextTiling-style topic boundaries over turns (Hearst 1997): lexical cohesion between the
    ``window`` turns before and after each gap, depth scores, and the liberal cut-off
    ``mean - std/2``. ``result[i]`` is true when turn ``i`` starts a new topic."""
    n = len(turn_texts)
    if n < 3:
        return [False] * n
    gaps = [_cos(_bag(turn_texts[max(0, i - window):i]), _bag(turn_texts[i:i + window])) for i in range(1, n)]
    depth = []
    for g, c in enumerate(gaps):
        left = max(gaps[: g + 1])
        right = max(gaps[g:])
        depth.append((left - c) + (right - c))
    mean = sum(depth) / len(depth)
    std = math.sqrt(sum((d - mean) ** 2 for d in depth) / len(depth))
    cut = mean - std / 2
    return [False] + [d > cut and d > 0 for d in depth]


# ---------------------------------------------------------------------------------- scoring


def evaluate(
    items: Iterable[tuple[Conversation, Sequence[Move]]],
    *,
    corpus: str = "native",
    labels: Sequence[str] | None = None,
    provenance: Mapping[str, Any] | None = None,
    n_errors: int = 0,
) -> EvalReport:
    """Score (conversation, detected moves) pairs against the conversations' gold moves.

    Args:
        items: Conversations with gold moves, each with the moves a system detected.
        corpus: Name for the report; selects the labels to report when ``labels`` is None
            (for ``native``: every label that has gold).
        labels: Labels to report.
        provenance: Detector versions, lexicon hashes, backend (stamped into the report).
        n_errors: Keep up to this many false positives and false negatives per label, with text.
    """
    fixed = list(labels) if labels is not None else list(CORPUS_LABELS.get(corpus, ()))
    system: dict[str, Counts] = {}
    base_all: dict[str, Counts] = {}
    base_cue: dict[str, Counts] = {}
    base_tt: Counts = Counts()
    errors: dict[str, dict[str, list[dict[str, Any]]]] = {}
    n_units = 0
    n_conv = 0
    seen_gold_labels: set[str] = set()
    cue_fns: dict[str, Any] = {}

    def bucket(d: dict[str, Counts], label: str) -> Counts:
        if label not in d:
            d[label] = Counts()
        return d[label]

    for conv, moves in items:
        n_conv += 1
        units = iter_units(conv)
        n_units += len(units)
        gold_by = _by_turn(conv.gold)
        pred_by = _by_turn(moves)
        conv_labels = fixed or sorted({m.label for m in conv.gold} | seen_gold_labels)
        seen_gold_labels |= {m.label for m in conv.gold}
        tt = baseline_texttiling([t.text for t in conv.turns]) if "topic.shift" in conv_labels else None
        prev: Unit | None = None
        for u in units:
            for label in conv_labels:
                g = u.hit(gold_by, label) is not None
                pm = u.hit(pred_by, label)
                p = pm is not None
                c = bucket(system, label)
                c.gold += g
                c.predicted += p
                c.tp += g and p
                a = bucket(base_all, label)
                a.gold += g
                a.predicted += 1
                a.tp += g
                if label not in cue_fns:
                    cue_fns[label] = baseline_cues(label)
                fn = cue_fns[label]
                if fn is not None:
                    cp = fn(u, prev)
                    b = bucket(base_cue, label)
                    b.gold += g
                    b.predicted += cp
                    b.tp += g and cp
                if label == "topic.shift" and tt is not None:
                    tp_ = any(tt[t] and s == 0 for t, s, _ in u.pieces)
                    base_tt.gold += g
                    base_tt.predicted += tp_
                    base_tt.tp += g and tp_
                if n_errors and g != p:
                    kind = "false_negatives" if g else "false_positives"
                    lst = errors.setdefault(label, {"false_positives": [], "false_negatives": []})[kind]
                    if len(lst) < n_errors:
                        lst.append({"conversation": conv.id, "unit": u.id, "text": u.text[:300],
                                    "previous": prev.text[:200] if prev else None,
                                    "cue": pm.cue if pm else None})
            prev = u
    report_labels = fixed or [lab for lab in LABELS if lab in seen_gold_labels]
    scores = []
    for label in report_labels:
        baselines = {"all-positive": bucket(base_all, label).scores(n_units)}
        if label in base_cue:
            baselines["cue-list"] = base_cue[label].scores(n_units)
        if label == "topic.shift":
            baselines["texttiling"] = base_tt.scores(n_units)
        scores.append(LabelScore(label, bucket(system, label).scores(n_units), baselines))
    return EvalReport(corpus=corpus, n_conversations=n_conv, n_units=n_units, labels=scores,
                      provenance=dict(provenance or {}), errors=errors)


def evaluate_corpus(
    paths: str | Sequence[str],
    *,
    corpus: str | None = None,
    detectors: Sequence[str] | None = None,
    mode: str = "full",
    labels: Sequence[str] | None = None,
    limit: int | None = None,
    n_errors: int = 0,
    backend: str = "spacy",
    model: str | None = None,
    config: dict[str, dict[str, Any]] | None = None,
    read_errors: list | None = None,
) -> EvalReport:
    """Read a gold-annotated corpus, run the detectors and score them (``convmaint evaluate``).

    Args:
        paths: Corpus files or folders.
        corpus: ``swda``, ``mrda``, ``tiage`` or ``native`` (the reader and the label set); sniffed
            when None.
        limit: Score only the first ``limit`` conversations (for quick iterations).
    """
    import itertools

    from convmaint.io.loader import load
    from convmaint.pipeline import Annotator

    fmt = {"swda": "swda", "mrda": None, "tiage": "tiage", "native": "native"}.get(corpus or "", None)
    convs: Iterator[Conversation] = load(paths, format=fmt, errors=read_errors if read_errors is not None else [])
    if limit is not None:
        convs = itertools.islice(convs, limit)
    ann = Annotator.create(detectors, mode=mode, backend=backend, model=model, config=config)  # type: ignore[arg-type]
    return evaluate(ann.run(convs), corpus=corpus or "native", labels=labels, provenance=ann.provenance(), n_errors=n_errors)


def _main(argv: Sequence[str] | None = None) -> None:  # a development entry point until the CLI verb exists
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(prog="python -m convmaint.evaluate")
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--corpus")
    ap.add_argument("--detectors", nargs="*")
    ap.add_argument("--labels", nargs="*")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--errors", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    rep = evaluate_corpus(a.paths, corpus=a.corpus, detectors=a.detectors, mode=a.mode, labels=a.labels,
                          limit=a.limit, n_errors=a.errors)
    if a.json:
        json.dump(rep.to_dict(), sys.stdout, indent=1)
    else:
        print(rep.table())
        for label, errs in rep.errors.items():
            for kind, lst in errs.items():
                for e in lst:
                    print(f"{label} {kind}: [{e['conversation']} {e['unit']}] {e['text']!r} (prev: {e['previous']!r}) cue={e['cue']}")


if __name__ == "__main__":
    _main()
