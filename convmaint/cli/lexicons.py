"""`convmaint lexicons`: list and validate the cue lexicons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from convmaint.cli.common import JsonOpt, run


def register(app: typer.Typer) -> None:
    @app.command("lexicons")
    def lexicons_cmd(
        extra: Annotated[list[Path] | None, typer.Argument(help="Extra lexicon files or folders to validate and include.")] = None,
        language: Annotated[str, typer.Option("--language", help="Lexicon language.")] = "en",
        as_json: JsonOpt = False,
    ) -> None:
        """Load and validate the bundled (and given) lexicons; list id, version, entries, hash and source."""
        from convmaint.lexicon import load_lexicons

        def go():
            lexset = load_lexicons(language, extra=[str(p) for p in extra or []])
            rows = lexset.info()
            if as_json:
                typer.echo(json.dumps(rows, indent=1))
                return
            for r in rows:
                typer.echo(f"{r['id']:<24} v{r['version']:<6} {r['entries']:>4} entries  {r['hash']}  {r['source'][:80]}")
            typer.echo(f"{len(rows)} lexicons valid")

        run(go)
