"""`convmaint analyze`, `compare`, `figures` and `graph`: the main job and its parts."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from convmaint.cli.common import (
    AllHumanOpt, FormatOpt, Progress, ReaderOpt, RoleOpt, StrictOpt, read_options, role_map, run, stderr,
)
from convmaint.cli.detect import Backend, BackendOpt, DetectorsOpt, Mode, ModeOpt, ModelOpt

OptPathsArg = Annotated[list[Path] | None, typer.Argument(help="Transcript files or folders (default: the bundled sample corpora).", show_default=False)]


class GraphFormat(str, enum.Enum):
    graphml = "graphml"
    gexf = "gexf"
    json = "json"


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    def analyze_cmd(
        paths: OptPathsArg = None,
        out: Annotated[Path, typer.Option("--out", "-O", help="Output folder.")] = Path("convmaint-out"),
        detector: DetectorsOpt = None,
        mode: ModeOpt = Mode.full,
        backend: BackendOpt = Backend.spacy,
        model: ModelOpt = None,
        jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0: all cores).")] = 1,
        cache: Annotated[Path | None, typer.Option("--cache", help="Parse cache folder (default: OUT/cache; --no-cache to disable).")] = None,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not cache parses.")] = False,
        scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786.")] = None,
        format: FormatOpt = None,
        role: RoleOpt = None,
        all_human: AllHumanOpt = False,
        option: ReaderOpt = None,
        strict: StrictOpt = False,
        no_figures: Annotated[bool, typer.Option("--no-figures", help="Skip the figures.")] = False,
        n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples.")] = 2000,
        n_perm: Annotated[int, typer.Option("--n-perm", help="Permutations per test.")] = 5000,
        seed: Annotated[int, typer.Option("--seed", help="Random seed (results are reproducible).")] = 0,
    ) -> None:
        """Read transcripts, detect moves, build move graphs, and write tables, figures, a manifest and report.html."""
        from convmaint.analysis import analyze

        def go():
            with Progress() as prog:
                res = analyze([str(p) for p in paths] if paths else None, out=out,
                              **read_options(format, role, all_human, option, strict),
                              detectors=detector, mode=mode.value, backend=backend.value, model=model, jobs=jobs,
                              cache=None if no_cache else (str(cache) if cache else "default"), scheduler=scheduler,
                              figures=not no_figures, n_boot=n_boot, n_perm=n_perm, seed=seed, progress=prog)
            c = res.manifest["counts"]
            b = res.manifest["provenance"]["backend"]
            ran = f"model {b.get('model')} {b.get('model_version', '')}".rstrip() if b.get("model") else "no model"
            stderr(f"backend {b.get('backend')}, {ran}; mode {mode.value}")
            stderr(f"{c['conversations']} conversations, {c['turns']} turns, {c['moves']} moves; "
                   f"{c['read_errors']} read error(s) (errors.json)")
            typer.echo(str(res.out / "report.html"))

        run(go)

    @app.command("compare")
    def compare_cmd(
        dir_a: Annotated[Path, typer.Argument(help="An analysis folder (from convmaint analyze).")],
        dir_b: Annotated[Path, typer.Argument(help="Another analysis folder.")],
        out: Annotated[Path | None, typer.Option("--out", "-O", help="Write the comparison tables here.")] = None,
        per: Annotated[str, typer.Option("--per", help="turns or words.")] = "turns",
        role_a: Annotated[str | None, typer.Option("--role-a", help="Only turns of this role in A (human/model).")] = None,
        role_b: Annotated[str | None, typer.Option("--role-b", help="Only turns of this role in B.")] = None,
        n_boot: Annotated[int, typer.Option("--n-boot")] = 2000,
        n_perm: Annotated[int, typer.Option("--n-perm")] = 5000,
        seed: Annotated[int, typer.Option("--seed")] = 0,
    ) -> None:
        """Compare move rates between two analysed corpora (A vs B), per label, with CIs and Holm-adjusted p."""
        from convmaint.analysis import compare_dirs
        from convmaint.stats import to_markdown

        def go():
            df = compare_dirs(dir_a, dir_b, out=out, per=per, role_a=role_a, role_b=role_b, n_boot=n_boot, n_perm=n_perm, seed=seed)
            typer.echo(to_markdown(df))

        run(go)

    @app.command("figures")
    def figures_cmd(
        folder: Annotated[Path, typer.Argument(help="An analysis folder (from convmaint analyze).")],
    ) -> None:
        """Redraw the figures of an analysis folder from its saved tables."""
        from convmaint.analysis import redraw_figures

        def go():
            for p in redraw_figures(folder):
                typer.echo(p)

        run(go)

    @app.command("graph")
    def graph_cmd(
        path: Annotated[Path, typer.Argument(help="A transcript file.")],
        out: Annotated[Path, typer.Option("--out", "-O", help="Output folder.")] = Path("graphs"),
        format_: Annotated[GraphFormat, typer.Option("--format", help="graphml, gexf or json (node-link).")] = GraphFormat.graphml,
        reader: Annotated[str | None, typer.Option("--reader", help="Force a reader.")] = None,
        role: RoleOpt = None,
        all_human: AllHumanOpt = False,
        detector: DetectorsOpt = None,
        mode: ModeOpt = Mode.full,
    ) -> None:
        """Detect moves in a transcript file and write one move graph per conversation."""
        from convmaint.analysis import export_graphs

        def go():
            for p in export_graphs(str(path), out=out, format=format_.value, reader=reader,
                                   roles=role_map(role, all_human), detectors=detector, mode=mode.value):
                typer.echo(p)

        run(go)
