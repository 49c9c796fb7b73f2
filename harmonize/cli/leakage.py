"""``harmonize leakage``: images shared across the sources or splits of a store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from harmonize.cli._store import (
    config_option,
    open_cli_store,
    storage_options_option,
    store_access,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI app ``app``."""
    app.command("leakage")(leakage_cmd)


def print_summary(report: dict[str, Any]) -> None:
    """A short rich summary of a leakage report (its ``to_dict()`` form) on stdout."""
    from rich.console import Console

    con = Console()
    leaks, dups = report.get("leaks", []), report.get("duplicates", [])
    colour = "bold red" if leaks else "green"
    con.print(
        f"[{colour}]leakage check: {len(leaks)} pairs across sources or splits[/], "
        f"{len(dups)} duplicate pairs within one ({report.get('images', 0)} images)"
    )
    for m in leaks[:20]:
        a, b = m["a"], m["b"]
        con.print(
            f"  [{m['kind']}] {a['source']}/{a['split']}/{a['sample_id']} in "
            f"{b['source']}/{b['split']}/{b['sample_id']} (scale {m['scale']}, "
            f"ncc {m['score']})",
            highlight=False,
            markup=False,
        )
    if len(leaks) > 20:
        con.print(f"  ... and {len(leaks) - 20} more (see the JSON report)")


def leakage_cmd(
    store: str = typer.Argument(..., help="Store path or URL."),
    threshold: float = typer.Option(
        0.8, "--threshold", help="Smallest NCC of the shared region for a near-duplicate (-1..1)."
    ),
    fmt: str = typer.Option("text", "--format", "-f", help="text, json or markdown."),
    source: list[str] | None = typer.Option(
        None, "--source", help="Check only this source (repeat for several)."
    ),
    split: list[str] | None = typer.Option(
        None, "--split", help="Check only this split (repeat for several)."
    ),
    max_side: int = typer.Option(
        1024, "--max-side", help="Working resolution: longer image side in px (larger: slower)."
    ),
    octaves: float = typer.Option(
        2.0, "--octaves", help="Relative scales searched: 2**-octaves .. 2**octaves."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report here."),
    fail: bool = typer.Option(False, "--fail", help="Exit with code 1 when leaks are found."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    storage_options: str | None = storage_options_option(),
    config: Path | None = config_option(),
) -> None:
    """Find images that appear in more than one source or split: exact copies, crops and rescaled
    copies (see docs/leakage.md for the tolerance)."""
    if fmt not in ("text", "json", "markdown"):
        raise typer.BadParameter(f"--format must be text, json or markdown, not {fmt!r}")
    from harmonize.leakage import LeakageParams, find_leakage

    try:
        params = LeakageParams(min_score=threshold, max_side=max_side, octaves=octaves)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    opened = open_cli_store(store, storage_options, config, allow_incomplete=True)
    progress, ctx = _progress(quiet or (fmt == "json" and output is None))
    with ctx, store_access(store):
        report = find_leakage(
            opened, params=params, sources=source or None, splits=split or None, progress=progress
        )
    text = report.render(fmt)  # type: ignore[arg-type]
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)
    if fail and report.leaks:
        raise typer.Exit(1)


def _progress(quiet: bool):
    from contextlib import nullcontext

    if quiet:
        return None, nullcontext()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    prog = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    ids: dict[str, Any] = {}
    names = {"hash": "hashing images", "verify": "verifying candidate pairs"}

    def cb(phase: str, done: int, total: int) -> None:
        if phase not in ids:
            ids[phase] = prog.add_task(names.get(phase, phase), total=total or None)
        prog.update(ids[phase], completed=done, total=total or None)

    return cb, prog
