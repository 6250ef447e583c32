"""`convmaint inspect`: what is in a transcript folder."""

from __future__ import annotations

import json

import typer

from convmaint.cli.common import (
    AllHumanOpt, ErrorsOutOpt, FormatOpt, JsonOpt, PathsArg, Progress, ReaderOpt, RoleOpt, StrictOpt,
    read_options, run, write_errors,
)


def register(app: typer.Typer) -> None:
    @app.command("inspect")
    def inspect_cmd(
        paths: PathsArg,
        format: FormatOpt = None,
        role: RoleOpt = None,
        all_human: AllHumanOpt = False,
        option: ReaderOpt = None,
        strict: StrictOpt = False,
        errors_out: ErrorsOutOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Count conversations, turns, words, speakers and roles per file and in total; list read errors."""
        from convmaint.inspect import inspect

        def go():
            with Progress() as prog:
                rep = inspect([str(p) for p in paths], **read_options(format, role, all_human, option, strict),
                              progress=prog)
            write_errors(errors_out, rep.errors)
            typer.echo(json.dumps(rep.to_dict(), indent=1) if as_json else rep.table())
            if rep.total.conversations == 0 and rep.errors:
                raise typer.Exit(1)

        run(go)
