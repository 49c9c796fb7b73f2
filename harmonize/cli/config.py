"""``harmonize config schema | check``: run-config JSON Schema and a dry run of the plan."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(
    rich_markup_mode=None, help="Run configs: JSON Schema and dry-run checks.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    """Add this module's commands to the CLI app ``root``."""
    root.add_typer(app, name="config")


@app.command("schema")
def schema(out: Path | None = typer.Option(None, "--out", help="Write to this file.")) -> None:
    """Print (or write) the JSON Schema of run configs, for editors."""
    from harmonize.pipeline.config import RunConfig

    text = json.dumps(RunConfig.model_json_schema(), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


@app.command("check")
def check(
    config: Path = typer.Argument(..., help="Run config YAML."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Validate a config and plan it (list samples, size slots, compile mappings) without writing."""
    from rich.console import Console
    from rich.table import Table

    from harmonize.pipeline import load_config
    from harmonize.pipeline.plan import make_plan

    cfg = load_config(config)
    plan = make_plan(cfg)
    if as_json:
        out = {
            "name": cfg.name,
            "ontology": cfg.ontology,
            "store": plan.url,
            "samples": plan.n_samples,
            "sources": {
                s.name: {
                    "dataset": s.layout.dataset,
                    "samples": len(s.refs),
                    "height": s.layout.height,
                    "width": s.layout.width,
                    "shards": s.layout.n_shards,
                    "tile": s.layout.tile,
                    **{k: len(s.mapping.report.get(k, [])) for k in ("merged", "coarse", "approx")},
                }
                for s in plan.sources
            },
            "would_skip": plan.planning_skipped,
        }
        typer.echo(json.dumps(out, indent=2))
        return
    t = Table(
        "source",
        "dataset",
        "samples",
        "slot HxW",
        "shards",
        "tile",
        "merges",
        "coarse",
        "approx",
        title=f"{cfg.name}: {cfg.ontology} -> {plan.url}",
    )
    for s in plan.sources:
        rep = s.mapping.report
        t.add_row(
            s.name,
            s.layout.dataset,
            str(len(s.refs)),
            f"{s.layout.height}x{s.layout.width}",
            str(s.layout.n_shards),
            str(s.layout.tile),
            *(str(len(rep.get(k, []))) for k in ("merged", "coarse", "approx")),
        )
    con = Console()
    con.print(t)
    if plan.planning_skipped:
        con.print(f"[yellow]{len(plan.planning_skipped)} samples would be skipped[/]")
