"""``harmonize leakage`` at scale: PanNuke-size tiles with planted copies across two sources.

Tiles are 256 x 256 tissue-like textures (smooth stroma, dark nuclei blobs, per-pixel noise, a
random H&E-like colouring), generated fast with Gaussian-filtered noise, each from its own seed (so
a tile can be made again instead of kept). Source ``b`` holds, besides its own tiles, planted
copies of source ``a`` tiles: exact copies, JPEG re-encodings (quality 75), 128-px crops, and whole
tiles halved (the PanNuke 40x -> Lizard 20x case, 128 px).

Per collection size, in a fresh subprocess: the time of the check (tile generation excluded: tiles
are generated lazily as the check consumes them, and that time is subtracted), its peak RSS
(``resource.getrusage`` of the process; the generator holds no tiles, so this is the check's own
memory), and the recall of the planted pairs (as leaks across sources). The check is
:func:`find_duplicates` with a ``loader`` that makes a tile again, which is how :func:`find_leakage`
reads a store (``--store-all``: through a written store and :func:`find_leakage` instead).

The sizes up to ``--baseline-max`` also run the check as it was before the linear search (the
``harmonize`` package of commit ``--baseline``, extracted with ``git archive``), in the same run:
the table's ``vs old`` column is old time / new time.

Usage: ``python -m benchmarks.bench_leakage [--tiles 500,2000,8000] [--planted 0.05]``.
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

import numpy as np

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


def _tile_of(seed: int, sid: str):
    """The tile ``sid`` (``a00012``, ``b00003`` or a planted ``p00007_crop_a00012``)."""
    import numpy as np

    if sid.startswith("p"):
        k, kind, src = sid[1:].split("_")
        rng = np.random.default_rng((seed, 2, int(k)))
        return planted(rng, _tile_of(seed, src), kind)
    return tile(np.random.default_rng((seed, 0 if sid[0] == "a" else 1, int(sid[1:]))))


def collection(n: int, planted_frac: float, seed: int = 0):
    """``(ids, pairs, make)``: ``n`` tile ids ``(source, sample_id)``, half in each source, the
    planted ``(a id, b id)`` pairs, and ``make(sample_id)`` which generates a tile."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n_plant = round(n * planted_frac)
    n_a = (n - n_plant) // 2 + (n - n_plant) % 2
    ids = [("a", f"a{i:05d}") for i in range(n_a)]
    ids += [("b", f"b{i:05d}") for i in range(n - n_plant - n_a)]
    pairs = []
    for k in range(n_plant):
        src = f"a{int(rng.integers(0, n_a)):05d}"
        sid = f"p{k:05d}_{KINDS[k % len(KINDS)]}_{src}"
        ids.append(("b", sid))
        pairs.append((src, sid))
    return ids, pairs, lambda sid: _tile_of(seed, sid)


def write_store(path: Path, ids, make) -> None:
    """A store of the collection: two CPM-17-layout sources ``a`` and ``b`` (PNG tiles, a dummy
    instance map each) written by ``harmonize run`` with 2 workers."""
    import numpy as np
    from PIL import Image
    from scipy.io import savemat

    from harmonize.pipeline import config_from_dict, run

    root = path.parent / (path.stem + "_src")
    for src, sid in ids:
        img = make(sid)
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
sys.path.insert(0, sys.argv[6])  # the harmonize to measure (this one or the old)
from benchmarks.bench_leakage import collection, write_store
n, frac, via_store, tmp, old = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1", sys.argv[5], sys.argv[7] == "1"
ids, pairs, make = collection(n, frac)
gen_s = 0.0
def timed_make(sid):
    global gen_s
    t = time.perf_counter()
    img = make(sid)
    gen_s += time.perf_counter() - t
    return img
if via_store:
    from pathlib import Path
    from harmonize.leakage import find_leakage
    store = Path(tmp) / f"leak{n}.zarr"
    write_store(store, ids, make)
    t0 = time.perf_counter()
    rep = find_leakage(str(store))
else:
    from harmonize.leakage import ImageRef, find_duplicates
    images = ((ImageRef(s, "train", i), timed_make(i)) for s, i in ids)
    kw = {} if old else {"loader": lambda ref: timed_make(ref.sample_id)}
    t0 = time.perf_counter()
    rep = find_duplicates(images, **kw)
seconds = time.perf_counter() - t0 - gen_s
found = {frozenset((m.a.sample_id.removeprefix("train_"), m.b.sample_id.removeprefix("train_")))
         for m in rep.leaks}
hit = sum(frozenset(p) in found for p in pairs)
planted_ids = {x for p in pairs for x in p}
extra = sum(1 for f in found if not (f <= planted_ids))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"tiles": n, "seconds": seconds, "peak_rss_mib": rss, "planted": len(pairs),
                  "recall": hit / max(1, len(pairs)), "unplanted_findings": extra,
                  "missed": sorted(b for a, b in pairs if frozenset((a, b)) not in found),
                  "generation_s": gen_s}))
"""


def _run(root: str, code_path: str, n: int, frac: float, via: bool, tmp: str, old: bool) -> dict:
    args = [root, str(n), str(frac), "1" if via else "0", tmp, code_path, "1" if old else "0"]
    out = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True)
    if out.returncode:
        print(out.stderr[-2000:], file=sys.stderr)
        raise RuntimeError(f"leakage benchmark at {n} tiles failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _old_code(root: str, rev: str, tmp: str) -> str:
    """A directory holding the ``harmonize`` package of commit ``rev``."""
    dest = Path(tmp) / f"old-{rev}"
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", root, "archive", rev, "harmonize"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return str(dest)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiles", default="500,2000,8000", help="comma-separated collection sizes")
    ap.add_argument("--planted", type=float, default=0.05, help="fraction of tiles planted")
    ap.add_argument("--store-all", action="store_true", help="every size through a store")
    ap.add_argument("--baseline", default="ecf2a3f", help="commit of the old (quadratic) check")
    ap.add_argument("--baseline-max", type=int, default=500, help="largest size run the old way")
    args = ap.parse_args(argv)
    sizes = [int(v) for v in args.tiles.split(",") if v]
    root = str(Path(__file__).resolve().parent.parent)
    rows = []
    with tempfile.TemporaryDirectory(prefix="harmonize-leak-") as tmp:
        old_path = _old_code(root, args.baseline, tmp) if args.baseline_max > 0 else ""
        for n in sizes:
            t0 = time.perf_counter()
            row = _run(root, root, n, args.planted, args.store_all, tmp, False)
            if n <= args.baseline_max:
                row["old"] = _run(root, old_path, n, args.planted, False, tmp, True)
            rows.append(row)
            print(
                f"{n:6d} tiles: {row['seconds']:8.1f} s  peak RSS {row['peak_rss_mib']:7.0f} MiB  "
                f"recall {row['recall']:.3f} of {row['planted']} planted  "
                f"unplanted findings {row['unplanted_findings']}  "
                f"[{time.perf_counter() - t0:.0f} s with generation and baseline]"
                + (f"\n    missed: {', '.join(row['missed'])}" if row.get("missed") else ""),
                flush=True,
            )
    print()
    print(
        "| tiles | time | peak RSS | growth per doubling (time, RSS) | vs old (time, RSS) | recall |"
    )
    print("|---:|---:|---:|---|---|---|")
    for k, r in enumerate(rows):
        grow = "-"
        if k:
            q = rows[k - 1]
            d = np.log2(r["tiles"] / q["tiles"])
            gt = (r["seconds"] / q["seconds"]) ** (1 / d)
            gm = (r["peak_rss_mib"] / q["peak_rss_mib"]) ** (1 / d)
            grow = f"{gt:.2f}x, {gm:.2f}x"
        old = "-"
        if "old" in r:
            o = r["old"]
            old = (
                f"{o['seconds'] / r['seconds']:.1f}x faster ({o['seconds']:.1f} s), "
                f"{o['peak_rss_mib'] / r['peak_rss_mib']:.1f}x less ({o['peak_rss_mib']:.0f} MiB)"
                f"; old recall {round(o['recall'] * o['planted'])} / {o['planted']}"
            )
        print(
            f"| {r['tiles']:,} | {r['seconds']:.1f} s | {r['peak_rss_mib']:,.0f} MiB | {grow} | "
            f"{old} | {round(r['recall'] * r['planted'])} / {r['planted']} |"
        )
    return {"rows": rows}


if __name__ == "__main__":
    main(sys.argv[1:])
