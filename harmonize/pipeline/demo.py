"""`harmonize demo`: generate look-alike datasets and run every shipped config on them."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from harmonize.pipeline.config import RunConfig, load_config
from harmonize.pipeline.execute import run
from harmonize.pipeline.report import RunReport

__all__ = ["configs_dir", "demo_config", "run_demo"]


def configs_dir() -> Path:
    """The shipped run configs: inside the installed package, else the repo's ``configs/``."""
    import harmonize

    pkg = Path(harmonize.__file__).parent
    for cand in (pkg / "configs", pkg.parent / "configs"):
        if cand.is_dir():
            return cand
    raise FileNotFoundError("no configs/ folder found next to the harmonize package")


def demo_config(
    cfg: RunConfig,
    data: str | Path,
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    cache: dict[str, Any] | None = None,
    datasets: Collection[str] | None = None,
) -> RunConfig:
    """``cfg`` with every source pointed at a freshly generated look-alike under ``data`` and its
    store under ``out`` (``<out>/<config name>.zarr``).

    ``cache`` (dataset -> SynthResult) reuses look-alikes across configs and returns the ground
    truth of each; ``datasets`` keeps only the sources of those datasets.
    """
    from harmonize import datasets as registry

    data, out = Path(data), Path(out)
    cache = {} if cache is None else cache
    sources = []
    for sc in cfg.sources:
        if datasets is not None and sc.dataset not in datasets:
            continue
        if sc.dataset not in cache:
            cache[sc.dataset] = registry.synthesize(sc.dataset, data / sc.dataset, n=n, seed=seed)
        res = cache[sc.dataset]
        opts = {**res.reader_options, **sc.options}
        sources.append(
            sc.model_copy(update={"root": str(Path(res.root).resolve()), "options": opts})
        )
    output = cfg.output.model_copy(update={"path": str((out / f"{cfg.name}.zarr").resolve())})
    return cfg.model_copy(update={"sources": sources, "output": output}).with_base(None)


def run_demo(
    out: str | Path = "out/demo",
    *,
    n: int = 3,
    workers: int | None = None,
    quiet: bool = False,
    console=None,
) -> dict[str, tuple[RunReport, Path]]:
    """Generate look-alikes of every dataset the shipped configs use and run each config."""
    import shutil

    out = Path(out)
    data = out / "data"
    shutil.rmtree(data, ignore_errors=True)  # generators write into fresh folders
    cache: dict[str, Any] = {}
    results: dict[str, tuple[RunReport, Path]] = {}
    for path in sorted(configs_dir().glob("*.yaml")):
        cfg = demo_config(load_config(path), data, out, n=n, cache=cache)
        if console is not None and not quiet:
            console.rule(f"{path.name}")
        report = run(cfg, overwrite=True, workers=workers)
        results[cfg.name] = (report, Path(cfg.output.path))
        if console is not None and not quiet:
            report.print_summary()
    return results
