"""`convmaint convert`: rewrite transcripts as native JSONL or a ConvoKit corpus."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from convmaint.cli.common import (
    AllHumanOpt, ErrorsOutOpt, FormatOpt, PathsArg, ReaderOpt, RoleOpt, StrictOpt, read_options, run,
    stderr, write_errors,
)


class Target(str, enum.Enum):
    jsonl = "jsonl"
    convokit = "convokit"


def register(app: typer.Typer) -> None:
    @app.command("convert")
    def convert(
        paths: PathsArg,
        out: Annotated[Path, typer.Option("--out", "-O", help="Output .jsonl file (jsonl) or folder (convokit).")],
        to: Annotated[Target, typer.Option("--to", help="Output format.")] = Target.jsonl,
        format: FormatOpt = None,
        role: RoleOpt = None,
        all_human: AllHumanOpt = False,
        option: ReaderOpt = None,
        strict: StrictOpt = False,
        errors_out: ErrorsOutOpt = None,
    ) -> None:
        """Read transcripts in any known format and write them as native JSONL or a ConvoKit corpus folder."""
        from convmaint.io.loader import ErrorLog, load
        from convmaint.io.save import save

        def go():
            errors = ErrorLog()
            convs = load([str(p) for p in paths], **read_options(format, role, all_human, option, strict), errors=errors)
            n = save(convs, out, to=to.value)
            write_errors(errors_out, errors)
            stderr(f"wrote {n} conversations to {out}" + (f"; {len(errors)} error(s)" if errors else ""))
            for e in errors[:20]:
                stderr(f"  {e}")

        run(go)
