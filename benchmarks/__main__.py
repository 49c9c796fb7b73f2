"""Run every ``benchmarks/bench_*.py`` module's ``main()`` (or those named on the command line)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    """Names of the benchmark modules (``bench_*``), sorted."""
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def run(names: list[str] | None = None) -> int:
    wanted = discover()
    if names:
        unknown = [n for n in names if f"bench_{n}" not in wanted and n not in wanted]
        if unknown:
            print(f"unknown benchmark(s) {unknown}; available: {wanted}", file=sys.stderr)
            return 2
        wanted = [n if n.startswith("bench_") else f"bench_{n}" for n in names]
    for name in wanted:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n=== {name} ===")
        t = time.perf_counter()
        module.main([])  # defaults; run a module directly to pass its own options
        print(f"({name} took {time.perf_counter() - t:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
