"""Options and helpers shared by the CLI verbs (no analysis logic lives here)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from convmaint.errors import ConfigError, ConvmaintError

PathsArg = Annotated[list[Path], typer.Argument(help="Transcript files or folders.", show_default=False)]
FormatOpt = Annotated[str | None, typer.Option("--format", "-f", help="Force a reader (see `convmaint formats`).")]
RoleOpt = Annotated[
    list[str] | None,
    typer.Option("--role", "-r", help="Role of a speaker, SPEAKER=human|model (repeatable; *=ROLE sets the default)."),
]
AllHumanOpt = Annotated[bool, typer.Option("--all-human", help="Every speaker without a known role is human.")]
ReaderOpt = Annotated[list[str] | None, typer.Option("--option", "-o", help="Reader option KEY=VALUE (repeatable).")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Stop at the first bad file or record.")]
ErrorsOutOpt = Annotated[Path | None, typer.Option("--errors-out", help="Write the read errors to this JSON file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def role_map(roles: list[str] | None, all_human: bool):
    from convmaint.io.base import RoleMap

    items = list(roles or [])
    if all_human:
        items.insert(0, "*=human")
    return RoleMap.parse(items) if items else None


def reader_options(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"reader option {item!r}: expected KEY=VALUE")
        k, _, v = item.partition("=")
        out[k.strip()] = v.strip()
    return out


def read_options(format: str | None, role: list[str] | None, all_human: bool, option: list[str] | None,
                 strict: bool) -> dict[str, Any]:
    """The keyword arguments of :func:`convmaint.load` (and the verbs built on it) from the shared read options."""
    return {"format": format, "roles": role_map(role, all_human), "options": reader_options(option), "strict": strict}


def write_errors(path: Path | None, errors: list) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([e.to_dict() for e in errors], indent=1) + "\n", encoding="utf-8")


def stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def run(fn: Callable[[], Any]) -> Any:
    """Run a verb: a ConvmaintError becomes one line on stderr and exit code 2; bugs keep their traceback."""
    try:
        return fn()
    except ConvmaintError as err:
        stderr(f"convmaint: error: {err}")
        raise typer.Exit(2) from None


class Progress:
    """A conversation counter on stderr for long reads (only when stderr is a terminal)."""

    def __init__(self, what: str = "conversations") -> None:
        self.what = what
        self.enabled = sys.stderr.isatty()
        self._bar = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress as RichProgress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = RichProgress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                     console=Console(stderr=True), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(f"0 {self.what}")
        return self

    def __call__(self, n: int) -> None:
        if self._bar is not None and n % 50 == 0:
            self._bar.update(self._task, description=f"{n} {self.what}")

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
