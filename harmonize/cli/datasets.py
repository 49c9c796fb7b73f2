"""``harmonize synth`` and ``harmonize datasets``: look-alike generators and reader listings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI app ``app``."""
    app.command("synth")(synth)
    app.command("datasets")(list_datasets)


def _parse_size(size: str | None) -> tuple[int, int] | None:
    if size is None:
        return None
    parts = size.lower().replace("x", ",").split(",")
    try:
        vals = [int(p) for p in parts if p.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"size must look like 256 or 256x512 (H x W), not {size!r}"
        ) from None
    if len(vals) == 1:
        return (vals[0], vals[0])
    if len(vals) == 2:
        return (vals[0], vals[1])
    raise typer.BadParameter(f"size must look like 256 or 256x512 (H x W), not {size!r}")


def synth(
    dataset: str = typer.Argument(..., help="Dataset name (see `harmonize datasets`)."),
    out: Path = typer.Argument(..., help="Folder to write the look-alike dataset into."),
    n: int | None = typer.Option(None, "--n", help="Number of samples (per split where relevant)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; output is deterministic for a seed."),
    size: str | None = typer.Option(None, "--size", help="Image size, H or HxW."),
    edge_cases: bool = typer.Option(
        False, "--edge-cases", help="Include the dataset's known quirks."
    ),
    taxonomies: list[Path] = typer.Option(
        [], "--taxonomies", help="Further taxonomy folder(s), laid over the shipped ones."
    ),
) -> None:
    """Write a miniature look-alike of DATASET's native layout under OUT."""
    from rich.console import Console

    from harmonize import datasets
    from harmonize.taxonomy.catalog import add_taxonomy_dirs

    add_taxonomy_dirs(taxonomies)

    kwargs: dict = {"seed": seed, "edge_cases": edge_cases}
    if n is not None:
        kwargs["n"] = n
    parsed = _parse_size(size)
    if parsed is not None:
        kwargs["size"] = parsed
    try:
        spec = datasets.get(dataset)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="DATASET") from None
    result = spec.synthesize(out, **kwargs)
    Console().print(
        f"wrote {len(result.samples)} {dataset} samples under [bold]{result.root}[/]"
        + (f" (quirks: {', '.join(sorted(result.quirks))})" if result.quirks else "")
    )


def list_datasets(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    taxonomies: list[Path] = typer.Option(
        [], "--taxonomies", help="Further taxonomy folder(s), laid over the shipped ones."
    ),
) -> None:
    """List the datasets harmonize can read and synthesize."""
    import json

    from harmonize.taxonomy.catalog import add_taxonomy_dirs

    add_taxonomy_dirs(taxonomies)

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from harmonize import datasets

    rows: list[dict[str, Any]] = []
    for name in datasets.names():
        try:
            spec = datasets.get(name)
        except (ImportError, RuntimeError) as exc:
            rows.append({"name": name, "available": False, "error": str(exc)})
            continue
        rows.append(
            {
                "name": name,
                "available": True,
                "splits": list(spec.reader.split_names),
                "taxonomy": spec.taxonomy,
                "description": spec.description,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("dataset", "splits", "description")
    for r in rows:
        if not r["available"]:
            table.add_row(r["name"], "", f"[red]unavailable: {escape(r['error'])}[/]")
        else:
            table.add_row(r["name"], ", ".join(r["splits"]), r["description"])
    Console().print(table)
