"""``harmonize run``, ``demo`` and ``info``: the main job and its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from harmonize.cli._store import (
    config_option,
    open_cli_store,
    storage_options_option,
    store_access,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI app ``app``."""
    app.command("run")(run_cmd)
    app.command("demo")(demo_cmd)
    app.command("info")(info_cmd)


def _progress_bar(quiet: bool):
    """A rich progress bar callback (samples, throughput, ETA) and its context manager."""
    from contextlib import nullcontext

    if quiet:
        return None, nullcontext()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    prog = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
        console=Console(stderr=True),  # stdout stays clean for --json and pipes
    )
    ids: dict[str, TaskID] = {}
    import time

    write_start: list[tuple[float, int]] = []  # (time, samples done) when writing began

    def cb(phase: str, done: int, total: int) -> None:
        desc = "listing samples" if phase == "plan" else "writing samples"
        if phase not in ids:
            ids[phase] = prog.add_task(desc, total=total or None, rate="")
            if phase == "write":
                write_start.append((time.perf_counter(), done))
                if "plan" in ids:
                    prog.update(ids["plan"], total=prog.tasks[ids["plan"]].completed)
        rate = ""
        if phase == "write" and write_start:
            t_start, done_start = write_start[0]
            dt = time.perf_counter() - t_start
            if dt > 0 and done > done_start:
                rate = f"{(done - done_start) / dt:.1f} samples/s"
        prog.update(ids[phase], completed=done, total=total or None, rate=rate)

    return cb, prog


def run_cmd(
    config: Path = typer.Argument(..., help="Run config YAML."),
    resume: bool = typer.Option(False, "--resume", help="Finish an interrupted run."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing store."),
    workers: int | None = typer.Option(
        None,
        "--workers",
        "-j",
        help="Processes writing shards, the coordinator included (N - 1 are spawned; default: cores).",
    ),
    scheduler: str | None = typer.Option(None, "--scheduler", help="dask scheduler address."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or table."),
    report_path: Path | None = typer.Option(None, "--report", help="Write the JSON run report."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON run report on stdout."),
    leakage: bool | None = typer.Option(
        None,
        "--leakage/--no-leakage",
        help="Check the store for images shared across sources or splits (default: config).",
    ),
    storage_options: str | None = typer.Option(
        None,
        "--storage-options",
        help="JSON fsspec options (credentials) merged over the config's; used, never stored. "
        "Also read from the environment variable HARMONIZE_STORAGE_OPTIONS.",
    ),
) -> None:
    """Read the config's datasets, map them onto its ontology and write one Zarr store."""
    from harmonize.pipeline import load_config, run

    cfg = load_config(config)  # a bad config fails before the progress bar draws anything
    from harmonize.pipeline.config import parse_storage_options

    extra = parse_storage_options(storage_options, "--storage-options") or None
    cb, ctx = _progress_bar(quiet or as_json)
    with ctx:
        report = run(
            cfg,
            resume=resume,
            overwrite=overwrite,
            workers=workers,
            scheduler=scheduler,
            progress=cb,
            leakage=leakage,
            storage_options=extra,
        )
    d = report.to_dict()
    if report_path is not None:
        report_path.write_text(json.dumps(d, indent=2) + "\n", encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(d, indent=2))
    elif not quiet:
        report.print_summary()
        if report.leakage is not None and "leaks" in report.leakage:
            from harmonize.cli.leakage import print_summary

            print_summary(report.leakage)


def store_info(s) -> dict:
    """What :func:`info_cmd` prints, as plain data (``harmonize info --json``)."""
    counts = s.counts()
    total = max(1, int(counts["pixels"].sum()))
    classes = [
        {
            "id": int(cid),
            "name": s.ontology.name_of(int(cid)),
            "pixels": int(px),
            "pixel_share": float(px) / total,
            "instances": int(ins),
        }
        for cid, px, ins in zip(
            counts["class_ids"], counts["pixels"], counts["instances"], strict=True
        )
        if px or ins
    ]
    sources = {}
    for src in s.sources:
        idx = s.indices([src])
        sources[src] = {"samples": len(idx), "splits": sorted({s[i].split for i in idx})}
    return {
        "store": s.url,
        "complete": s.complete,
        "progress": {k: {"shards_written": a, "shards": b} for k, (a, b) in s.progress().items()},
        "samples": len(s),
        "ontology": s.ontology.name,
        "classes": classes,
        "sources": sources,
    }


def info_cmd(
    store: str = typer.Argument(..., help="Store path or URL."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    storage_options: str | None = storage_options_option(),
    config: Path | None = config_option(),
) -> None:
    """Say what is in a store: sources, samples, classes and their pixel shares."""
    s = open_cli_store(store, storage_options, config, allow_incomplete=True)
    with store_access(store):
        _print_info(s, as_json)


def _print_info(s, as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    if as_json:
        typer.echo(json.dumps(store_info(s), indent=2))
        return
    con = Console()
    con.print(repr(s))
    if not s.complete:
        con.print(
            "[bold red]incomplete[/]: "
            + ", ".join(f"{k} {a}/{b} shards" for k, (a, b) in s.progress().items())
        )
    counts = s.counts()
    total = max(1, int(counts["pixels"].sum()))
    t = Table("id", "class", "pixels %", "instances", title=f"ontology {s.ontology.name}")
    for cid, px, ins in zip(
        counts["class_ids"], counts["pixels"], counts["instances"], strict=True
    ):
        if px or ins:
            t.add_row(str(cid), s.ontology.name_of(int(cid)), f"{100 * px / total:.2f}", str(ins))
    con.print(t)
    for src in s.sources:
        idx = s.indices([src])
        splits = sorted({s[i].split for i in idx})
        con.print(f"  source [bold]{src}[/]: {len(idx)} samples, splits {splits}")


def demo_cmd(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Where data and stores go."),
    n: int = typer.Option(3, "--n", help="Look-alike samples per dataset (per split)."),
    workers: int | None = typer.Option(None, "--workers", "-j"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Generate look-alike datasets and run every shipped config on them."""
    from rich.console import Console

    from harmonize.pipeline.demo import run_demo

    con = Console()
    results = run_demo(out, n=n, workers=workers, quiet=quiet, console=con)
    from harmonize.report.html import write_report

    con.rule("demo stores")
    for name, (report, store_path) in results.items():
        page = write_report(str(store_path), out / f"{name}.html")
        con.print(f"[bold]{name}[/]: {store_path}  ({report.written} samples; report: {page})")
        from harmonize.store import open_store

        _print_info(open_store(str(store_path)), as_json=False)
