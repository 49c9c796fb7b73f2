"""``harmonize taxonomy ...``: list, show, validate and export the schema of taxonomy files."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Inspect and validate taxonomy, ontology and mapping YAML files.", no_args_is_help=True
)
