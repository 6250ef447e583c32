"""The ``convmaint`` command: the Typer app and its verbs (one module per verb)."""

from __future__ import annotations

from typing import Annotated

import typer

from convmaint._version import __version__
from convmaint.cli import analyze, convert, corpora, detect, evaluate, formats, inspect, lexicons

app = typer.Typer(
    name="convmaint",
    help="Measure the relational work of dialogue: repair, clarification, topic and grounding moves.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"convmaint {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """convmaint: conversation-maintenance analysis for human and model dialogue."""


for module in (formats, inspect, convert, detect, evaluate, analyze, lexicons, corpora):
    module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
