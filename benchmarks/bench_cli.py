"""CLI start-up: ``harmonize --help`` wall time beside a bare interpreter start, same run.

Target (issue 2): under 0.3 s. numba, zarr, numpy and dask are imported inside commands only, and
help is rendered by click without rich (rich is used for tables and progress bars).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def _time(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    repeat = 7
    bare = _time([sys.executable, "-c", "pass"], repeat)
    helptime = _time([sys.executable, "-m", "harmonize", "--help"], repeat)
    imp = _time([sys.executable, "-c", "import harmonize.cli"], repeat)
    print("\nCLI start-up (median of 7 runs)")
    print(f"{'python -c pass':34s} {bare * 1000:7.0f} ms")
    print(
        f"{'python -c "import harmonize.cli"':34s} {imp * 1000:7.0f} ms  ({imp / bare:.1f}x bare)"
    )
    print(
        f"{'harmonize --help':34s} {helptime * 1000:7.0f} ms  ({helptime / bare:.1f}x bare; "
        f"target < 300 ms)"
    )
    return {"bare": bare, "import": imp, "help": helptime}


if __name__ == "__main__":
    main()
