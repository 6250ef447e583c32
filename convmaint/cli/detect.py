"""`convmaint detect`: print the moves of conversations with their cues and targets."""

from __future__ import annotations

import enum
import json
from dataclasses import replace
from typing import Annotated

import typer

from convmaint.cli.common import (
    AllHumanOpt, ErrorsOutOpt, FormatOpt, PathsArg, ReaderOpt, RoleOpt, StrictOpt, read_options, run,
    stderr, write_errors,
)


class Mode(str, enum.Enum):
    full = "full"
    lite = "lite"
    fast = "fast"


class Backend(str, enum.Enum):
    spacy = "spacy"
    stanza = "stanza"


DetectorsOpt = Annotated[list[str] | None, typer.Option("--detector", "-d", help="Detector (family or versioned name); repeatable; default all.")]
ModeOpt = Annotated[Mode, typer.Option("--mode", help="full: parse-based detectors on a spaCy/stanza parse; lite: the same detectors on "
                                                          "tokens and sentences; fast: scan detectors on a regex tokenizer (tokenizer, matchers "
                                                          "and lexical cohesion only; see docs/accuracy.md).")]
BackendOpt = Annotated[Backend, typer.Option("--backend", help="NLP backend.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="spaCy package or path; stanza model folder.")]


def register(app: typer.Typer) -> None:
    @app.command("detect")
    def detect_cmd(
        paths: PathsArg,
        detector: DetectorsOpt = None,
        mode: ModeOpt = Mode.full,
        backend: BackendOpt = Backend.spacy,
        model: ModelOpt = None,
        format: FormatOpt = None,
        role: RoleOpt = None,
        all_human: AllHumanOpt = False,
        option: ReaderOpt = None,
        strict: StrictOpt = False,
        errors_out: ErrorsOutOpt = None,
        as_jsonl: Annotated[bool, typer.Option("--jsonl", help="Write native JSONL with the detected moves to stdout.")] = False,
    ) -> None:
        """Detect moves and print each with its turn, speaker, cue, target and attributes."""
        from convmaint.io.loader import ErrorLog
        from convmaint.io.native import conversation_to_dict
        from convmaint.pipeline import detect

        def go():
            errors = ErrorLog()
            ann, stream = detect([str(p) for p in paths], **read_options(format, role, all_human, option, strict),
                                 errors=errors, detectors=detector, mode=mode.value, backend=backend.value, model=model)
            info = ann.backend.info()
            stderr(f"backend {info['backend']} model {info.get('model')} {info.get('model_version', '')} "
                   f"components {','.join(info.get('components', [])) or 'tokenizer'}; mode {mode.value}")
            for conv, moves in stream:
                if as_jsonl:
                    d = conversation_to_dict(replace(conv, moves=tuple(moves)))
                    d["provenance"] = ann.provenance()
                    typer.echo(json.dumps(d, ensure_ascii=False))
                    continue
                typer.echo(f"== {conv.id} ({len(conv.turns)} turns, {len(moves)} moves) {conv.source or ''}")
                for m in moves:
                    t = conv.turns[m.turn]
                    span = t.text[m.start:m.end].replace("\n", " ")
                    if len(span) > 70:
                        span = span[:67] + "..."
                    tgt = f" -> turn {m.target}" if m.target is not None else ""
                    attrs = ", ".join(f"{k}={v}" for k, v in m.attributes.items() if k not in ("reparandum", "repair"))
                    typer.echo(f"  turn {m.turn:>3} {t.speaker[:12]:<12} {m.label:<26} \"{span}\" cue={m.cue!r}{tgt}"
                               + (f" [{attrs}]" if attrs else ""))
            write_errors(errors_out, errors)
            for e in errors[:20]:
                stderr(f"read error: {e}")

        run(go)
