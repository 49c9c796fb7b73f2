"""``harmonize diff`` (taxonomy changes and their data impact) and ``harmonize coverage``."""

from __future__ import annotations

from pathlib import Path

import typer

from harmonize.cli._store import open_cli_store, storage_options_option, store_access

FORMATS = ("text", "markdown", "json", "html")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI app ``app``."""
    app.command("diff")(diff_cmd)
    app.command("coverage")(coverage_cmd)


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="--format")
    return fmt


def _parse_rev(rev: str) -> tuple[str, str | None]:
    """``A..B`` -> (A, B); ``A..`` or ``A`` -> (A, None) meaning the working tree."""
    if ".." in rev:
        a, _, b = rev.partition("..")
        if not a or b.startswith("."):
            raise typer.BadParameter("give REV, REV.. or REV1..REV2", param_hint="--rev")
        return a, b or None
    return rev, None


def _console():
    from rich.console import Console

    con = Console(highlight=False)
    return con if con.is_terminal else Console(highlight=False, width=160)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)


def diff_cmd(
    old: Path | None = typer.Argument(None, help="Old taxonomy file or folder."),
    new: Path | None = typer.Argument(None, help="New taxonomy file or folder."),
    rev: str | None = typer.Option(
        None, "--rev", help="Git revisions 'V1..V2' ('V1..' or 'V1': against the working tree)."
    ),
    repo: Path = typer.Option(Path("."), "--repo", help="Git repository for --rev."),
    folder: str = typer.Option("taxonomies", "--path", help="Taxonomy folder inside the repo."),
    store: str | None = typer.Option(None, "--store", help="Store: add the data impact."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, markdown, json or html."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here, not stdout."),
    storage_options: str | None = storage_options_option(),
) -> None:
    """Compare two taxonomy sets. Exit code 0 when nothing changed, 1 when something did."""
    from harmonize.report.diff_report import DiffReport, print_text, render, store_impact
    from harmonize.taxonomy.diff import diff
    from harmonize.taxonomy.sets import load_git_rev, load_set

    _check_format(fmt)
    if rev is not None:
        if old is not None or new is not None:
            raise typer.BadParameter("give OLD NEW or --rev, not both", param_hint="--rev")
        a, b = _parse_rev(rev)
        old_set = load_git_rev(repo, a, folder)
        new_set = load_git_rev(repo, b, folder) if b else load_set(repo / folder)
    else:
        if old is None or new is None:
            raise typer.BadParameter("give OLD and NEW (files or folders), or --rev")
        old_set, new_set = load_set(old), load_set(new)
    d = diff(old_set, new_set)
    impact = None
    if store is not None:
        opened = open_cli_store(store, storage_options, None)
        with store_access(store):
            impact = store_impact(d, old_set, new_set, opened)
    report = DiffReport(d, impact)
    if fmt == "text" and output is None:
        print_text(report, _console())
    elif fmt == "text":
        from io import StringIO

        from rich.console import Console

        buf = StringIO()
        print_text(report, Console(file=buf, width=120, highlight=False, color_system=None))
        _emit(buf.getvalue(), output)
    else:
        _emit(render(report, fmt), output)
    raise typer.Exit(1 if d.changed else 0)


def coverage_cmd(
    ontology: str = typer.Argument(..., help="Ontology name (e.g. nuclei) or YAML path."),
    config: Path | None = typer.Option(None, "--config", help="Run config: one row per source."),
    store: str | None = typer.Option(None, "--store", help="Store: add pixel/instance counts."),
    split_: str | None = typer.Option(
        None, "--split", help="'A,B': which datasets distinguish node A from node B."
    ),
    fmt: str = typer.Option("text", "--format", "-f", help="text, markdown, json or html."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here, not stdout."),
    storage_options: str | None = storage_options_option(),
) -> None:
    """Matrix of datasets x ontology nodes: exact / approx / coarse / split / partial / absent."""
    from harmonize.report.coverage import coverage_for, print_text, render, split

    _check_format(fmt)
    opened = None
    if store is not None:
        opened = open_cli_store(store, storage_options, config)  # and the config's options
    with store_access(store or ""):
        cov = coverage_for(ontology, config=config, store=opened)
    sp = None
    if split_ is not None:
        parts = [p.strip() for p in split_.split(",") if p.strip()]
        if len(parts) != 2:
            raise typer.BadParameter("give two node names, 'A,B'", param_hint="--split")
        sp = split(cov, parts[0], parts[1])
    if fmt == "text":
        from io import StringIO

        from rich.console import Console

        if output is None:
            print_text(cov, _console(), sp)
        else:
            buf = StringIO()
            print_text(cov, Console(file=buf, width=160, highlight=False, color_system=None), sp)
            _emit(buf.getvalue(), output)
    else:
        _emit(render(cov, fmt, sp), output)
