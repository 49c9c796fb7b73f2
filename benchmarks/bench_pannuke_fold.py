"""A full-size PanNuke fold end to end, memory measured.

Writes a PanNuke look-alike fold at the release's size and dtypes (``images.npy`` float64
``(N, 256, 256, 3)``, ``masks.npy`` float64 ``(N, 256, 256, 6)``: 2,656 patches are 4.2 + 8.4 GB)
with a memory-frugal writer (:func:`numpy.lib.format.open_memmap`, filled in blocks from a few
drawn patches), then measures in fresh subprocesses, each with its peak RSS (summed over the
process and its workers, sampled every 20 ms):

* ``harmonize run`` of the pannuke source (semantic + instance + image layers, ``nuclei``
  ontology) with 2 workers;
* what the official PanNuke and CellViT preparation scripts do: ``np.load`` both arrays whole (no
  memory map), then iterate over the patches (here: the same ``collapse_channels`` per patch, so
  only the reading differs).

Usage: ``python -m benchmarks.bench_pannuke_fold [--patches 300] [--workers 2] [--no-whole]``;
``--patches 2656`` is a real fold (needs ~13 GB of disk, and ~13 GB of RAM for the whole-array
baseline). The files are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE = (256, 256)


def write_fold(root: Path, patches: int, unique: int = 16, block: int = 64) -> Path:
    """``root/PanNuke/Fold 1`` (plus empty-free folds 2, 3 absent) with ``patches`` patches."""
    import numpy as np

    from harmonize.datasets.pannuke import TISSUES, fold_paths
    from harmonize.lookalike.pannuke import _make_patch

    base = root / "PanNuke"
    fold_dir, images_p, types_p, masks_p = fold_paths(base, 1)
    images_p.parent.mkdir(parents=True, exist_ok=True)
    masks_p.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    drawn = [_make_patch(rng, SIZE, None) for _ in range(unique)]
    images = np.lib.format.open_memmap(images_p, "w+", np.float64, (patches, *SIZE, 3))
    masks = np.lib.format.open_memmap(masks_p, "w+", np.float64, (patches, *SIZE, 6))
    for lo in range(0, patches, block):
        hi = min(patches, lo + block)
        for i in range(lo, hi):
            mask, _, _, _, image = drawn[i % unique]
            images[i] = image
            masks[i] = mask
        images.flush()
        masks.flush()
    del images, masks
    np.save(types_p, np.array([TISSUES[i % len(TISSUES)] for i in range(patches)], "<U13"))
    (fold_dir / "README.md").write_text("# PanNuke look-alike (benchmark)\n", encoding="utf-8")
    return base


_RUN = r"""
import sys, json
from harmonize.pipeline import config_from_dict, run
cfg = config_from_dict(json.loads(sys.argv[1]))
run(cfg, workers=int(sys.argv[2]), overwrite=True)
"""

_WHOLE = r"""
import sys
import numpy as np
from harmonize.datasets.pannuke import CHANNEL_CLASSES, fold_paths
from harmonize.engine.kernels import collapse_channels
_, images_p, _, masks_p = fold_paths(sys.argv[1], 1)
images = np.load(images_p)  # as the official / CellViT preparation scripts: whole, no mmap
masks = np.load(masks_p)
for i in range(len(masks)):
    img = images[i].astype(np.uint8)
    sem, inst, ids, classes = collapse_channels(
        masks[i], CHANNEL_CLASSES, background_channel=5, background=0, void=255
    )
"""


def measure(args: list[str]) -> tuple[float, float]:
    """``(seconds, peak summed RSS in MiB)`` of a Python subprocess and its children."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", *args])
    p = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [p, *p.children(recursive=True)]
            peak = max(peak, sum(q.memory_info().rss for q in procs if q.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    if proc.returncode:
        raise RuntimeError(f"benchmark subprocess failed ({proc.returncode})")
    return time.perf_counter() - t0, peak / 2**20


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patches", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-whole", action="store_true", help="skip the whole-array baseline")
    ap.add_argument("--dir", default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="harmonize-fold-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        data = write_fold(tmp, args.patches)
        gib = sum(f.stat().st_size for f in data.rglob("*.npy")) / 2**30
        print(
            f"wrote a {args.patches}-patch fold ({gib:.1f} GiB) in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        cfg = {
            "name": "fold",
            "ontology": "nuclei",
            "sources": [{"dataset": "pannuke", "root": str(data), "splits": ["fold1"]}],
            "output": {"path": str(tmp / "out.zarr"), "layers": ["semantic", "instance", "image"]},
        }
        res = {}
        res["harmonize run"] = measure([_RUN, json.dumps(cfg), str(args.workers)])
        print(
            f"harmonize run, {args.workers} workers: {res['harmonize run'][0]:7.1f} s, "
            f"peak RSS (sum over processes) {res['harmonize run'][1]:7.0f} MiB",
            flush=True,
        )
        if not args.no_whole:
            res["np.load whole + iterate"] = measure([_WHOLE, str(data)])
            t, m = res["np.load whole + iterate"]
            print(f"np.load whole + iterate, 1 process: {t:7.1f} s, peak RSS {m:7.0f} MiB")
            h = res["harmonize run"]
            print(f"ratios harmonize / whole-array: time {h[0] / t:.2f}x, RSS {h[1] / m:.3f}x")
        return {"patches": args.patches, "results": res}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
