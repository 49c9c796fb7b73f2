"""``harmonize stats STORE`` and ``harmonize report STORE --html OUT``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from harmonize.cli._store import (
    config_option,
    open_cli_store,
    storage_options_option,
    store_access,
)


class StatsFormat(StrEnum):
    """Output format of ``harmonize stats``."""

    text = "text"
    json = "json"
    markdown = "markdown"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI app ``app``."""
    app.command("stats")(stats_cmd)
    app.command("report")(report_cmd)


def stats_cmd(
    store: str = typer.Argument(..., help="Store path or URL."),
    fmt: StatsFormat = typer.Option(StatsFormat.text, "--format", "-f", help="Output format."),
    by: str = typer.Option(
        "source,class", "--by", help="Grouping keys, comma-separated: source, split, class."
    ),
    no_sizes: bool = typer.Option(
        False, "--no-sizes", help="Counts only; skip reading instance maps for sizes."
    ),
    storage_options: str | None = storage_options_option(),
    config: Path | None = config_option(),
) -> None:
    """Per source and class: images, pixels, instances, instance sizes, ignore fraction."""
    import json

    from harmonize.report.stats import GROUP_KEYS, stats_tables, store_stats, to_markdown

    keys = tuple(k.strip() for k in by.split(",") if k.strip())
    bad = [k for k in keys if k not in GROUP_KEYS]
    if bad or not keys:
        raise typer.BadParameter(f"--by takes keys among {', '.join(GROUP_KEYS)}; got {by!r}")
    opened = open_cli_store(store, storage_options, config)
    with store_access(store):
        st = store_stats(opened, by=keys, sizes=not no_sizes)
    if fmt is StatsFormat.json:
        typer.echo(json.dumps(st.to_dict(), indent=2))
        return
    if fmt is StatsFormat.markdown:
        typer.echo(to_markdown(st))
        return
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(f"[bold]{st.store}[/] - ontology [bold]{st.ontology}[/]", highlight=False)
    for title, head, rows in stats_tables(st):
        t = Table(title=title)
        n_keys = len(head) - 8
        for j, h in enumerate(head):
            key = j < max(1, n_keys)
            t.add_column(h, justify="left" if key else "right", no_wrap=key)
        for r in rows:
            t.add_row(*r)
        con.print(t)


def report_cmd(
    store: str = typer.Argument(..., help="Store path or URL."),
    html: Path = typer.Option(..., "--html", help="Write the self-contained HTML page here."),
    per_source: int = typer.Option(4, "--per-source", min=0, help="Previews per source."),
    max_side: int = typer.Option(256, "--max-side", min=16, help="Preview panel size, px."),
    storage_options: str | None = storage_options_option(),
    config: Path | None = config_option(),
) -> None:
    """One self-contained HTML page: ontology, coverage, histograms, statistics, previews."""
    from harmonize.report.html import write_report

    opened = open_cli_store(store, storage_options, config)
    with store_access(store):
        out = write_report(opened, html, per_source=per_source, max_side=max_side)
    typer.echo(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
