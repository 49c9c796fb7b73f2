"""Training read path: random patches of image + semantic + instance, every contender in one run.

On the same generated data (full-size Cityscapes look-alikes, 1024x2048, by default), patches/s of

* ``TrainingSet`` random patches (``store.training_set(mode="random")``);
* the same with ``balance="class"``;
* plain zarr slicing of the same store with cached array handles (the baseline the TrainingSet must
  stay within 1.1x of);
* decoding the source PNGs with Pillow (image + labelIds + instanceIds) and cropping, what
  mmseg/torchvision pipelines do;
* the uncompressed limit: the same patches copied from uncompressed memory-mapped ``.npy`` files;

then 256 px patches on PanNuke-size (256x256) and CoNSeP-size (1000x1000) tiles, and, when torch is
importable, a ``DataLoader`` with ``num_workers=2`` vs 1. Everything is printed as patches/s and
ratios measured in this run (the machine may be shared: compare ratios, not absolute figures).

Usage: ``python -m benchmarks.bench_read [--frames 12] [--patches 60] [--size 1024x2048]
[--patch 512] [--tiles 24]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

LAYERS = ["semantic", "instance", "image"]
_DEFAULT_PIPELINE = "zarr.core.codec_pipeline.BatchedCodecPipeline"


def _pipeline() -> str:
    """``zarrs`` or ``zarr``: the codec pipeline harmonize set up in this process."""
    from harmonize.store._zarr import uses_zarrs

    return "zarrs" if uses_zarrs() else "zarr"


def _run_store(dataset: str, root: Path, out: Path, ontology: str, options: dict | None = None):
    from harmonize.pipeline import config_from_dict, run

    src = {"dataset": dataset, "root": str(root)}
    if options:
        src["options"] = options
    cfg = config_from_dict(
        {
            "name": "bench_read",
            "ontology": ontology,
            "sources": [src],
            "output": {"path": str(out), "layers": LAYERS},
        }
    )
    run(cfg, workers=1, overwrite=True, leakage=False)
    return out


def _rate(fn, n: int) -> float:
    fn(0)  # warm up (opens handles, imports)
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        fn(i)
    return n / (time.perf_counter() - t0)


def _positions(store, n: int, patch: int, seed: int = 1):
    """``(source, local index, y0, x0)`` of ``n`` random patches (shared by every contender)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n + 1):
        s = store[int(rng.integers(len(store)))]
        y0 = int(rng.integers(0, max(1, s.height - patch + 1)))
        x0 = int(rng.integers(0, max(1, s.width - patch + 1)))
        out.append((s.source, s.index, y0, x0, s.paths))
    return out


def contenders(store_url: Path, patch: int, n: int, pngs: bool) -> dict[str, float]:
    import zarr

    from harmonize.store import open_store

    store = open_store(str(store_url))
    pos = _positions(store, n, patch)
    rates: dict[str, float] = {}

    ts = store.training_set(patch_size=patch, mode="random", samples_per_epoch=n + 1)
    rates["TrainingSet random"] = _rate(lambda i: ts[i], n)
    try:
        tb = store.training_set(
            patch_size=patch, mode="random", samples_per_epoch=n + 1, balance="class"
        )
        rates['TrainingSet balance="class"'] = _rate(lambda i: tb[i], n)
    except ValueError:
        pass

    g = zarr.open_group(str(store_url), mode="r")

    def plain_reader(group):
        handles = {name: {k: group["sources"][name][k] for k in LAYERS} for name in store.sources}

        def plain(i):
            src, local, y0, x0, _ = pos[i]
            return {k: a[local, y0 : y0 + patch, x0 : x0 + patch] for k, a in handles[src].items()}

        return plain

    # the same pipeline as the TrainingSet (harmonize configured zarr with zarrs, when installed)
    rates[f"plain zarr, cached handles ({_pipeline()})"] = _rate(plain_reader(g), n)
    if _pipeline() != "zarr":
        # what a plain zarr-python user gets without zarrs: its own Python codec pipeline
        with zarr.config.set({"codec_pipeline.path": _DEFAULT_PIPELINE}):
            g0 = zarr.open_group(str(store_url), mode="r")
            plain0 = plain_reader(g0)
        rates["plain zarr, cached handles (zarr)"] = _rate(plain0, n)

    if pngs:
        from PIL import Image

        def png(i):
            _, _, y0, x0, paths = pos[i]
            box = (x0, y0, x0 + patch, y0 + patch)
            out = {}
            for k, p in zip(("image", "semantic", "instance"), _png_paths(paths), strict=True):
                with Image.open(p) as im:
                    out[k] = np.asarray(im.crop(box))
            return out

        rates["Pillow PNG decode + crop"] = _rate(png, n)

    # uncompressed limit: the same arrays as memory-mapped .npy files
    with tempfile.TemporaryDirectory() as tmp:
        maps = {}
        for name in store.sources:
            for k in LAYERS:
                a = g["sources"][name][k]
                path = Path(tmp) / f"{name}_{k}.npy"
                mm = np.lib.format.open_memmap(path, mode="w+", dtype=a.dtype, shape=a.shape)
                for j in range(a.shape[0]):
                    mm[j] = a[j]
                mm.flush()
                del mm
                maps[(name, k)] = np.load(path, mmap_mode="r")

        def npy(i):
            src, local, y0, x0, _ = pos[i]
            return {
                k: np.array(maps[(src, k)][local, y0 : y0 + patch, x0 : x0 + patch]) for k in LAYERS
            }

        rates["uncompressed memory-mapped .npy"] = _rate(npy, n)
        maps.clear()
    return rates


def _png_paths(paths: list[str]) -> list[str]:
    """image, labelIds, instanceIds PNGs of a Cityscapes frame from its recorded source paths."""
    img = next(p for p in paths if p.endswith("_leftImg8bit.png"))
    inst = next(p for p in paths if p.endswith("_instanceIds.png"))
    lab = inst.replace("_instanceIds.png", "_labelIds.png")
    return [img, lab, inst]


def dataloader_scaling(store_url: Path, patch: int, n: int) -> dict[str, float] | None:
    try:
        import torch  # noqa: F401
        from torch.utils.data import DataLoader
    except ImportError:
        return None
    from harmonize.store import open_store

    ts = open_store(str(store_url)).training_set(
        patch_size=patch, mode="random", samples_per_epoch=n
    )
    out = {}
    for w in (1, 2):
        dl = DataLoader(ts, batch_size=4, num_workers=w)
        it = iter(dl)
        next(it)
        t0 = time.perf_counter()
        k = 0
        for b in it:
            k += len(b["index"])
        out[f"DataLoader num_workers={w}"] = k / (time.perf_counter() - t0)
    return out


def _table(title: str, rates: dict[str, float], base: str) -> None:
    print(f"\n{title}")
    print(f"| reader | patches/s | vs {base} |")
    print("|---|---|---|")
    for k, v in rates.items():
        print(f"| {k} | {v:.1f} | {v / rates[base]:.2f}x |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--patches", type=int, default=40)
    ap.add_argument("--size", default="1024x2048")
    ap.add_argument("--patch", type=int, default=512)
    ap.add_argument("--tiles", type=int, default=12)
    args = ap.parse_args(argv)
    h, w = (int(v) for v in args.size.split("x"))

    from harmonize.datasets import synthesize

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        res = synthesize("cityscapes", tmp / "cs", n=args.frames, seed=0, size=(h, w))
        url = _run_store(
            "cityscapes", Path(res.root), tmp / "cs.zarr", "cityscapes-19", {"source": "png"}
        )
        rates = contenders(url, args.patch, args.patches, pngs=True)
        _table(
            f"Cityscapes look-alikes {h}x{w}, {args.patch} px patches, image+semantic+instance, "
            "1 process",
            rates,
            f"plain zarr, cached handles ({_pipeline()})",
        )
        if "Pillow PNG decode + crop" in rates:
            bal = rates.get('TrainingSet balance="class"')
            print(
                f"TrainingSet random vs Pillow: "
                f"{rates['TrainingSet random'] / rates['Pillow PNG decode + crop']:.1f}x"
                + (
                    f'; balance="class" cost / random cost: {rates["TrainingSet random"] / bal:.2f}x'
                    if bal
                    else ""
                )
            )
        dl = dataloader_scaling(url, args.patch, max(16, args.patches))
        if dl is None:
            print("DataLoader scaling: torch not importable, skipped")
        else:
            _table("DataLoader scaling", dl, "DataLoader num_workers=1")

        for name, size in (("pannuke", (256, 256)), ("consep", (1000, 1000))):
            r = synthesize(name, tmp / name, n=args.tiles, seed=0, size=size)
            u = _run_store(name, Path(r.root), tmp / f"{name}.zarr", "nuclei")
            rates = contenders(u, 256, args.patches, pngs=False)
            _table(
                f"{name} look-alikes {size[0]}x{size[1]}, 256 px patches",
                rates,
                f"plain zarr, cached handles ({_pipeline()})",
            )
    print(json.dumps({"note": "ratios are measured within this run; the machine may be shared"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
