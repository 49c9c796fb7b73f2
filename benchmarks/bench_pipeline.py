"""End-to-end Cityscapes benchmark: labelIds + instanceIds PNGs -> store.

Measured in one run on the same frames, printed as ratios:

* ``harmonize run`` (cityscapes -> cityscapes-19, semantic + instance layers) with 1 and 2 workers
  (the reader decodes the instanceIds PNG and derives the labelIds from it), and with 2 workers and
  ``cross_check`` (the labelIds PNG decoded too and compared);
* cityscapesScripts' ``createTrainIdLabelImgs`` on the same frames (its per-file work,
  ``json2labelImg(f, dst, "trainIds")``, sequential as the script runs it), and the same plus
  ``createTrainIdInstanceImgs``' work, which together give what harmonize writes (semantic and
  instance maps);
* the I/O floor: decode both PNGs and write them as the same store layout with no remapping
  (1 process).

Peak memory (RSS of the run and its worker processes) is measured for a small and a large number of
frames, in fresh subprocesses, to show it stays flat.

Frames are generated look-alikes at full Cityscapes size (1024x2048 by default); ``--unique`` frames
are drawn and hard-linked under new names up to ``--frames`` (PNG decoding cost is the same).

Usage: ``python -m benchmarks.bench_pipeline [--frames 1000] [--unique 10] [--size 1024x2048]
[--memory 100,2000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def make_frames(root: Path, frames: int, unique: int, size: tuple[int, int]) -> Path:
    """Cityscapes look-alike with ``frames`` train frames (``unique`` drawn, the rest hard links)."""
    from harmonize.lookalike.cityscapes import synthesize

    src = root / "drawn"
    res = synthesize(src, n=unique, seed=0, size=size)
    out = root / "cityscapes"
    drawn = sorted((Path(res.root) / "gtFine").glob("*/*/*_gtFine_polygons.json"))
    for k in range(frames):
        poly = drawn[k % len(drawn)]
        split, city = poly.parent.parent.name, poly.parent.name
        stem = poly.name.removesuffix("_gtFine_polygons.json")
        new_city = f"bench{k // len(drawn):04d}"
        new_stem = stem.replace(city, new_city, 1)
        for kind, sub in (("gtFine", "_gtFine_"), ("leftImg8bit", "_")):
            folder = Path(res.root) / kind / split / city
            for f in folder.glob(f"{stem}{sub}*"):
                dst = out / kind / "train" / new_city / f.name.replace(stem, new_stem, 1)
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.link(f, dst)
    return out


def _config(data: Path, out: Path, layers: list[str], cross_check: bool = False) -> dict:
    return {
        "name": "bench",
        "ontology": "cityscapes-19",
        "sources": [
            {
                "dataset": "cityscapes",
                "root": str(data),
                "splits": ["train"],
                "options": {"source": "png", "cross_check": cross_check},
            }
        ],
        "output": {"path": str(out), "layers": layers},
    }


def time_harmonize(
    data: Path, out: Path, workers: int, layers: list[str], cross_check: bool = False
) -> float:
    from harmonize.pipeline import config_from_dict, run

    cfg = config_from_dict(_config(data, out, layers, cross_check))
    t0 = time.perf_counter()
    run(cfg, workers=workers, overwrite=True)
    return time.perf_counter() - t0


def time_cityscapesscripts(data: Path, tmp: Path) -> float:
    from cityscapesscripts.preparation.json2labelImg import json2labelImg

    files = sorted((data / "gtFine").glob("*/*/*_gt*_polygons.json"))
    dst = tmp / "cs_out"
    dst.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    for i, f in enumerate(files):
        json2labelImg(str(f), str(dst / f"{i}_labelTrainIds.png"), "trainIds")
    return time.perf_counter() - t0


def time_cityscapesscripts_with_instances(data: Path, tmp: Path) -> float:
    """Both preparation scripts' per-file work: ``json2labelImg(..., "trainIds")`` and
    ``json2instanceImg(..., "trainIds")`` (its rasterizer ``createInstanceImage``; the 16-bit PNG is
    saved from a uint16 array because Pillow 13 cannot save the script's mode-I image)."""
    import numpy as np
    from cityscapesscripts.helpers.annotation import Annotation
    from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
    from cityscapesscripts.preparation.json2labelImg import json2labelImg
    from PIL import Image

    files = sorted((data / "gtFine").glob("*/*/*_gt*_polygons.json"))
    dst = tmp / "cs_out2"
    dst.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    for i, f in enumerate(files):
        json2labelImg(str(f), str(dst / f"{i}_labelTrainIds.png"), "trainIds")
        ann = Annotation()
        ann.fromJsonFile(str(f))
        inst = np.asarray(createInstanceImage(ann, "trainIds")).astype(np.uint16)
        Image.fromarray(inst).save(dst / f"{i}_instanceTrainIds.png")
    return time.perf_counter() - t0


def frame_complexity(data: Path) -> tuple[float, float]:
    """Mean objects and polygon vertices per frame of the generated JSON files."""
    files = sorted((data / "gtFine").glob("*/*/*_gt*_polygons.json"))
    objs = verts = 0
    for f in files:
        doc = json.loads(f.read_text())
        objs += len(doc["objects"])
        verts += sum(len(o["polygon"]) for o in doc["objects"])
    return objs / len(files), verts / len(files)


def time_io_floor(data: Path, out: Path, layers: list[str]) -> float:
    """Decode both label PNGs (labelIds, instanceIds) and write them as the same layout, whole
    shards, with no remapping, no checks and no instance work (1 process)."""
    import json as _json

    import numpy as np

    from harmonize.datasets import open_reader
    from harmonize.datasets._io import read_label_png
    from harmonize.store.layout import SourceLayout, default_samples_per_shard, default_tile
    from harmonize.store.writer import ShardSample, create_store, write_shard
    from harmonize.types import HarmonizedSample

    t0 = time.perf_counter()
    reader = open_reader("cityscapes", data, splits=["train"], source="png", cross_check=True)
    refs = reader.list_refs()
    from harmonize.pipeline.plan import peek_shape

    shapes = np.array([peek_shape(reader, r) for r in refs])
    h, w = (int(v) for v in shapes.max(axis=0))
    sps = default_samples_per_shard(h, w)
    ids = np.arange(256)
    lay = SourceLayout(
        "cityscapes",
        "cityscapes",
        len(refs),
        h,
        w,
        sps,
        default_tile(h, w),
        "uint8",
        255,
        len(ids),
        tuple(layers),
    )
    tables = {
        "cityscapes": {
            "sample_id": [r.sample_id for r in refs],
            "split": [r.split for r in refs],
            "paths": [_json.dumps(list(r.paths)) for r in refs],
        }
    }
    root = create_store(
        str(out),
        [lay],
        tables,
        {"ontology": {"name": "none", "classes": []}, "class_ids": ids.tolist()},
        overwrite=True,
    )
    zero = np.zeros(256, np.int64)
    for k in range(lay.n_shards):
        a, b = lay.shard_range(k)
        items = []
        for i in range(a, b):
            ref = refs[i]
            inst_png, lab_png = (p for p in ref.paths[1:3])
            lab = read_label_png(lab_png)
            inst = read_label_png(inst_png).astype(np.uint32)
            hs = HarmonizedSample(
                ref,
                lab,
                inst,
                np.zeros(0, np.uint8),
                np.zeros(0, np.int64),
                zero,
                zero,
            )
            img = reader.read(ref).image() if "image" in layers else None
            items.append(ShardSample(i, hs, img))
        write_shard(root, lay, k, items, ids)
    return time.perf_counter() - t0


_MEM_CHILD = r"""
import sys, json
from harmonize.pipeline import config_from_dict, run
cfg = config_from_dict(json.loads(sys.argv[1]))
run(cfg, workers=int(sys.argv[2]), overwrite=True)
"""


def peak_rss(data: Path, out: Path, workers: int, layers: list[str]) -> float:
    """Peak summed RSS (MiB) of a run process and its workers, sampled every 20 ms."""
    import psutil

    cfg = json.dumps(_config(data, out, layers))
    proc = subprocess.Popen([sys.executable, "-c", _MEM_CHILD, cfg, str(workers)])
    p = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [p, *p.children(recursive=True)]
            rss = sum(q.memory_info().rss for q in procs if q.is_running())
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    if proc.returncode:
        raise RuntimeError("benchmark run failed")
    return peak / 2**20


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--unique", type=int, default=10)
    ap.add_argument("--size", default="1024x2048")
    ap.add_argument("--memory", default="100,2000", help="frame counts for the memory check")
    ap.add_argument("--layers", default="semantic,instance")
    args = ap.parse_args(argv)
    h, w = (int(v) for v in args.size.lower().split("x"))
    layers = args.layers.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="harmonize-bench-"))
    try:
        print(f"generating {args.frames} Cityscapes look-alike frames at {h}x{w} ...", flush=True)
        data = make_frames(tmp / "a", args.frames, args.unique, (h, w))
        n = args.frames
        # warm the numba cache and the OS page cache on the same frames
        time_harmonize(data, tmp / "warm.zarr", 1, layers)
        res = {
            "harmonize, 1 worker": time_harmonize(data, tmp / "h1.zarr", 1, layers),
            "harmonize, 2 workers": time_harmonize(data, tmp / "h2.zarr", 2, layers),
            "harmonize, 2 workers, labelIds PNG cross-checked": time_harmonize(
                data, tmp / "h2c.zarr", 2, layers, cross_check=True
            ),
            "I/O floor (decode + write, no remap), 1 process": time_io_floor(
                data, tmp / "floor.zarr", layers
            ),
            "cityscapesScripts createTrainIdLabelImgs": time_cityscapesscripts(data, tmp),
            "cityscapesScripts label + instance scripts": time_cityscapesscripts_with_instances(
                data, tmp
            ),
        }
        base = res["cityscapesScripts createTrainIdLabelImgs"]
        floor = res["I/O floor (decode + write, no remap), 1 process"]
        objs, verts = frame_complexity(data)
        print(
            f"\nEnd-to-end Cityscapes, {n} frames {h}x{w}, layers {'+'.join(layers)}; "
            f"look-alike frames have {objs:.0f} polygons / {verts:.0f} vertices on average"
        )
        print(f"{'':52s} {'images/s':>9s} {'vs createTrainIdLabelImgs':>26s} {'vs I/O floor':>13s}")
        for name, t in res.items():
            print(f"{name:52s} {n / t:9.1f} {base / t:25.2f}x {t / floor:12.2f}x")
        mem = {}
        counts = [int(c) for c in args.memory.split(",") if c]
        for c in counts:
            d = make_frames(tmp / f"m{c}", c, args.unique, (h, w)) if c != n else data
            mem[c] = peak_rss(d, tmp / f"mem{c}.zarr", 2, layers)
            print(f"peak RSS, {c:5d} frames, 2 workers: {mem[c]:8.0f} MiB", flush=True)
            if d is not data:
                shutil.rmtree(d.parent, ignore_errors=True)
        if len(counts) >= 2:
            print(
                f"memory ratio {counts[-1]} / {counts[0]} frames: "
                f"{mem[counts[-1]] / mem[counts[0]]:.2f}x"
            )
        return {"seconds": res, "peak_rss_mib": mem, "frames": n}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
