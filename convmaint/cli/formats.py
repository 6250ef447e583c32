"""`convmaint formats`: list the transcript readers."""

from __future__ import annotations

import json

import typer

from convmaint.cli.common import JsonOpt


def register(app: typer.Typer) -> None:
    @app.command("formats")
    def formats(as_json: JsonOpt = False) -> None:
        """List the transcript formats convmaint reads (name, file endings, description)."""
        from convmaint.io.registry import list_formats

        rows = list_formats()
        if as_json:
            typer.echo(json.dumps(rows, indent=1))
            return
        for r in rows:
            ext = " ".join(r["extensions"]) or ("(folder)" if r["directory"] else "")
            typer.echo(f"{r['name']:<14} {ext:<24} {r['description']}")
