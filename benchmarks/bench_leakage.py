"""``harmonize leakage`` at scale: PanNuke-size tiles with planted copies across two sources.

Tiles are 256 x 256 tissue-like textures (smooth stroma, dark nuclei blobs, per-pixel noise, a
random H&E-like colouring), generated fast with Gaussian-filtered noise. Source ``b`` holds, besides
its own tiles, planted copies of source ``a`` tiles: exact copies, JPEG re-encodings (quality 75),
128-px crops, and whole tiles halved (the PanNuke 40x -> Lizard 20x case, 128 px). The benchmark
prints, per collection size, the time of the check, its peak RSS (``resource.getrusage`` of the
process that ran it) and the recall of the planted pairs (as leaks across sources).

Each size runs in a fresh subprocess. The first size (and ``--store`` sizes) goes through a store
and the ``harmonize leakage`` path (:func:`find_leakage` on an opened store); the others feed
:func:`find_duplicates` directly (``--store-all`` for all through stores).

Usage: ``python -m benchmarks.bench_leakage [--tiles 100,200] [--planted 0.05] [--store-all]``;
the issue's table is ``--tiles 500,2000,8000``.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE = 256
KINDS = ("exact", "jpeg", "crop", "half")


def tile(rng, size: int = SIZE):
    """A tissue-like RGB uint8 tile."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    stroma = gaussian_filter(rng.normal(0, 1, (size, size)), 5) * 10
    fine = gaussian_filter(rng.normal(0, 1, (size, size)), 1.5) * 3
    nuclei = gaussian_filter(rng.normal(0, 1, (size, size)), 3) * 6 > 1.1
    pink = np.array([230, 170, 205]) + rng.normal(0, 8, 3)
    purple = np.array([110, 60, 150]) + rng.normal(0, 8, 3)
    img = pink + (stroma + fine)[..., None] * np.array([8, 14, 6])
    img = np.where(nuclei[..., None], purple + fine[..., None] * 6, img)
    img += rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def planted(rng, img, kind: str):
    import numpy as np
    from PIL import Image

    if kind == "exact":
        return img.copy()
    if kind == "jpeg":
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=75)
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    if kind == "crop":
        y, x = (int(v) for v in rng.integers(0, SIZE - 128, 2))
        return img[y : y + 128, x : x + 128].copy()
    if kind == "half":
        return np.asarray(Image.fromarray(img).resize((SIZE // 2, SIZE // 2), Image.Resampling.BOX))
    raise ValueError(kind)


def collection(n: int, planted_frac: float, seed: int = 0):
    """``(images, pairs)``: ``n`` tiles ``(source, sample_id, image)``, half in each source, and
    the planted ``(a id, b id)`` pairs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n_plant = round(n * planted_frac)
    n_a = (n - n_plant) // 2 + (n - n_plant) % 2
    images, pairs = [], []
    a_tiles = []
    for i in range(n_a):
        img = tile(rng)
        a_tiles.append(img)
        images.append(("a", f"a{i:05d}", img))
    for i in range(n - n_plant - n_a):
        images.append(("b", f"b{i:05d}", tile(rng)))
    for k in range(n_plant):
        src = int(rng.integers(0, n_a))
        kind = KINDS[k % len(KINDS)]
        sid = f"p{k:05d}_{kind}"
        images.append(("b", sid, planted(rng, a_tiles[src], kind)))
        pairs.append((f"a{src:05d}", sid))
    return images, pairs


def write_store(path: Path, images) -> None:
    """A store of the collection: two CPM-17-layout sources ``a`` and ``b`` (PNG tiles, a dummy
    instance map each) written by ``harmonize run`` with 2 workers."""
    import numpy as np
    from PIL import Image
    from scipy.io import savemat

    from harmonize.pipeline import config_from_dict, run

    root = path.parent / (path.stem + "_src")
    for src, sid, img in images:
        d = root / src / "train"
        (d / "Images").mkdir(parents=True, exist_ok=True)
        (d / "Labels").mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(d / "Images" / f"{sid}.png", compress_level=1)
        inst = np.zeros(img.shape[:2], np.int32)
        inst[2:8, 2:8] = 1
        savemat(d / "Labels" / f"{sid}.mat", {"inst_map": inst})
    sources = [{"dataset": "cpm17", "root": str(root / s), "name": s} for s in ("a", "b")]
    cfg = {"name": "leak", "ontology": "nuclei", "sources": sources, "output": {"path": str(path)}}
    run(config_from_dict(cfg), workers=2, overwrite=True)


_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from benchmarks.bench_leakage import collection, write_store
n, frac, via_store, tmp = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
images, pairs = collection(n, frac)
if via_store:
    from pathlib import Path
    from harmonize.leakage import find_leakage
    store = Path(tmp) / f"leak{n}.zarr"
    write_store(store, images)
    del images
    t0 = time.perf_counter()
    rep = find_leakage(str(store))
else:
    from harmonize.leakage import ImageRef, find_duplicates
    t0 = time.perf_counter()
    rep = find_duplicates((ImageRef(s, "train", i), img) for s, i, img in images)
seconds = time.perf_counter() - t0
found = {frozenset((m.a.sample_id.removeprefix("train_"), m.b.sample_id.removeprefix("train_")))
         for m in rep.leaks}
hit = sum(frozenset(p) in found for p in pairs)
planted_ids = {x for p in pairs for x in p}
extra = sum(1 for f in found if not (f <= planted_ids))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"tiles": n, "seconds": seconds, "peak_rss_mib": rss, "planted": len(pairs),
                  "recall": hit / max(1, len(pairs)), "unplanted_findings": extra}))
"""


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiles", default="100,200", help="comma-separated collection sizes")
    ap.add_argument("--planted", type=float, default=0.05, help="fraction of tiles planted")
    ap.add_argument("--store-all", action="store_true", help="every size through a store")
    args = ap.parse_args(argv)
    sizes = [int(v) for v in args.tiles.split(",") if v]
    root = str(Path(__file__).resolve().parent.parent)
    rows = []
    with tempfile.TemporaryDirectory(prefix="harmonize-leak-") as tmp:
        for k, n in enumerate(sizes):
            via = "1" if (k == 0 or args.store_all) else "0"
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, root, str(n), str(args.planted), via, tmp],
                capture_output=True,
                text=True,
            )
            if out.returncode:
                print(out.stderr[-2000:], file=sys.stderr)
                raise RuntimeError(f"leakage benchmark at {n} tiles failed")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["via"] = "store (find_leakage)" if via == "1" else "find_duplicates"
            rows.append(row)
            print(
                f"{n:6d} tiles: {row['seconds']:8.1f} s  peak RSS {row['peak_rss_mib']:7.0f} MiB  "
                f"recall {row['recall']:.3f} of {row['planted']} planted  "
                f"unplanted findings {row['unplanted_findings']}  [{row['via']}, "
                f"{time.perf_counter() - t0:.0f} s with generation]",
                flush=True,
            )
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(
            f"time ratio {b['tiles']} / {a['tiles']} tiles: {b['seconds'] / a['seconds']:.1f}x "
            f"(linear: {b['tiles'] / a['tiles']:.1f}x)"
        )
    return {"rows": rows}


if __name__ == "__main__":
    main(sys.argv[1:])
