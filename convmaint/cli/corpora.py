"""`convmaint corpora list|download`: the public corpora manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from convmaint.cli.common import JsonOpt, run, stderr

corpora_app = typer.Typer(help="Public dialogue corpora: licences, citations, readers, downloads.", no_args_is_help=True)


@corpora_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """List the public corpora with their licence, access and the reader that reads them."""
    from convmaint.corpora import list_corpora

    def go():
        rows = [e.to_dict() for e in list_corpora()]
        if as_json:
            typer.echo(json.dumps(rows, indent=1))
            return
        for r in rows:
            typer.echo(f"{r['name']:<15} {r['access']:<8} {r['licence'][:42]:<42} reader: {r['reader'].split(' ')[0]}")
            typer.echo(f"{'':<15} {r['title']} — {r['url']}")

    run(go)


@corpora_app.command("download")
def download_cmd(
    name: Annotated[str, typer.Argument(help="Corpus name (see `convmaint corpora list`).")],
    dest: Annotated[Path, typer.Argument(help="Folder to download into.")],
    url: Annotated[str | None, typer.Option("--url", help="A mirror or file:// URL instead of the manifest's.")] = None,
) -> None:
    """Download a corpus where a direct download exists, verifying its checksum."""
    from convmaint.corpora import download

    def go():
        res = download(name, dest, url=url)
        stderr(f"downloaded {res['path']} (sha256 {res['sha256']}; verified: {res['verified']})")
        typer.echo(res["path"])

    run(go)


def register(app: typer.Typer) -> None:
    app.add_typer(corpora_app, name="corpora")
