"""`convmaint evaluate`: precision, recall and F1 per label against a gold-annotated corpus."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated

import typer

from convmaint.cli.common import PathsArg, run, stderr
from convmaint.cli.detect import Backend, BackendOpt, DetectorsOpt, Mode, ModeOpt, ModelOpt


class Corpus(str, enum.Enum):
    swda = "swda"
    mrda = "mrda"
    tiage = "tiage"
    native = "native"


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_cmd(
        paths: PathsArg,
        corpus: Annotated[Corpus, typer.Option("--corpus", "-c", help="Gold source: its reader, unit and label mapping.")] = Corpus.native,
        detector: DetectorsOpt = None,
        label: Annotated[list[str] | None, typer.Option("--label", "-l", help="Only these labels (repeatable).")] = None,
        mode: ModeOpt = Mode.full,
        backend: BackendOpt = Backend.spacy,
        model: ModelOpt = None,
        limit: Annotated[int | None, typer.Option("--limit", help="Only the first N conversations.")] = None,
        errors: Annotated[int, typer.Option("--errors", help="Show up to N false positives and negatives per label.")] = 0,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
        out: Annotated[Path | None, typer.Option("--out", help="Also write the JSON report to this file.")] = None,
    ) -> None:
        """Run the detectors on a gold-annotated corpus and report per label: gold, predicted, P, R, F1, base rate,
        beside the all-positive, cue-list (and, for topic.shift, TextTiling) baselines."""
        from convmaint.evaluate import evaluate_corpus

        def go():
            read_errors: list = []
            rep = evaluate_corpus([str(p) for p in paths], corpus=corpus.value, detectors=detector, mode=mode.value,
                                  labels=label, limit=limit, n_errors=errors, backend=backend.value, model=model,
                                  read_errors=read_errors)
            data = rep.to_dict()
            data["read_errors"] = [e.to_dict() for e in read_errors]
            if out is not None:
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
            if as_json:
                typer.echo(json.dumps(data, indent=1))
                return
            typer.echo(rep.table())
            prov = rep.provenance
            typer.echo(f"convmaint {prov.get('convmaint')}; mode {prov.get('mode')}; detectors "
                       f"{', '.join(prov.get('detectors', {}))}; backend {prov.get('backend', {}).get('model')}")
            typer.echo("lexicons " + ", ".join(f"{k}:{v}" for k, v in prov.get("lexicons", {}).items()))
            for lab, errs in rep.errors.items():
                for kind, lst in errs.items():
                    for e in lst:
                        typer.echo(f"{lab} {kind[:-1].replace('_', ' ')}: {e['text']!r}  (previous: {e['previous']!r}; cue {e['cue']!r})")
            if read_errors:
                stderr(f"{len(read_errors)} read error(s); first: {read_errors[0]}")

        run(go)
