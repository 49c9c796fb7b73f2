"""Engine benchmarks: every kernel against the baseline people use today, on the same arrays, in
one run, printed as ratios.

* semantic remap of a 1024x2048 uint8 Cityscapes-like labelIds map through the labelId -> trainId
  table (cityscapesScripts' ``labels.py``), vs ``np.copyto`` of the same array (the memory
  bandwidth floor), vs numpy ``lut[img]``, vs the per-class loop (``out[img == k] = v`` for each
  of the 34 classes, as mmsegmentation's converters do); harmonize also counts pixels per class in
  the same pass, the baselines do not. The same on a pixel-noise map (worst case: no uniform runs).
* instance rewrite (relabel to 1..K, majority class, drop, counts) of a uint16 Cityscapes-style
  instanceIds map vs a numpy reference built on ``skimage.segmentation.relabel_sequential``;
* PanNuke channel collapse of a 256x256x6 float64 stack vs a numpy reference (CellViT's
  ``np.where`` per channel with running offsets, then ``np.unique``);
* cold (first call: compile, or load from the on-disk cache) vs warm times.

Run with ``python -m benchmarks`` (or ``make bench``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

H, W = 1024, 2048

# -- data ------------------------------------------------------------------------------------------


def cityscapes_mapping():
    """labelId -> trainId as a CompiledMapping (ids -1..33; trainId 255 = ignore)."""
    from cityscapesscripts.helpers.labels import labels

    from harmonize.types import CompiledMapping

    labels = sorted(labels, key=lambda lab: lab.id)
    offset = labels[0].id  # -1, license plate
    lut = np.array([255 if lab.trainId < 0 else lab.trainId for lab in labels], np.uint8)
    keep = np.array([lab.hasInstances and not lab.ignoreInEval for lab in labels], bool)
    return CompiledMapping(
        dataset="cityscapes",
        ontology="cityscapes-19",
        lut=lut,
        declared=np.ones(lut.size, bool),
        keep_instances=keep,
        offset=offset,
        out_dtype=np.dtype(np.uint8),
        background=None,
        ignore=255,
        unknown_policy="ignore",
    )


def scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A Cityscapes-like ``(labelIds uint8, instanceIds-derived uint16)`` pair: sky, buildings,
    road and sidewalk bands, vegetation, poles, and cars/persons/riders/bicycles as boxes."""
    rng = np.random.default_rng(seed)
    sem = np.zeros((H, W), np.uint8)
    inst = np.zeros((H, W), np.uint16)
    sem[:300] = 23  # sky
    sem[300:560] = 11  # building
    for _ in range(30):  # vegetation, walls, fences, signs in the building band
        y, x = rng.integers(200, 560), rng.integers(0, W)
        h, w = rng.integers(20, 160), rng.integers(20, 300)
        sem[y : y + h, x : x + w] = rng.choice([21, 12, 13, 20, 19])
    sem[560:] = 7  # road
    sem[560:640, :] = 8  # sidewalk
    sem[1000:] = 1  # ego vehicle
    for x in rng.integers(0, W, 25):  # poles
        sem[250:620, x : x + 6] = 17
    counters: dict[int, int] = {}
    for _ in range(60):
        cls = int(rng.choice([26, 26, 26, 24, 24, 25, 33, 27]))
        y, x = int(rng.integers(520, 950)), int(rng.integers(0, W - 50))
        h, w = (int(rng.integers(40, 200)), int(rng.integers(60, 400)))
        if cls in (24, 25):
            w = w // 3
        k = counters.get(cls, 0)
        counters[cls] = k + 1
        sem[y : y + h, x : x + w] = cls
        inst[y : y + h, x : x + w] = cls * 1000 + k
    inst[sem == 1] = 0
    return sem, inst


def pannuke_stack(seed: int = 0) -> np.ndarray:
    """256x256x6 float64 PanNuke-like masks: disc nuclei with large ids, rare cross-channel
    overlaps, background channel, a void corner."""
    rng = np.random.default_rng(seed)
    stack = np.zeros((256, 256, 6), np.float64)
    yy, xx = np.mgrid[:256, :256]
    for _ in range(120):
        c = int(rng.integers(0, 5))
        cy, cx, r = rng.integers(0, 256), rng.integers(0, 256), rng.integers(4, 10)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        stack[..., c][disc] = float(rng.integers(1, 3500))
    stack[..., 5] = (stack[..., :5].max(-1) == 0).astype(np.float64)
    stack[:16, :16, 5] = 0  # all-zero (void) pixels
    return stack


# -- baselines -------------------------------------------------------------------------------------


def numpy_lut256(m) -> np.ndarray:
    """The uint8 table numpy's ``lut[img]`` needs (native 0..255 -> trainId; others 255)."""
    t = np.full(256, m.ignore, np.uint8)
    ids = np.arange(256) - m.offset
    ok = ids < m.lut.size
    t[ok] = m.lut[ids[ok]]
    return t


def per_class_loop(img: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    out = np.full(img.shape, 255, np.uint8)
    for k, v in pairs:
        out[img == k] = v
    return out


def instance_reference(inst: np.ndarray, sem_out: np.ndarray, keep_out: np.ndarray, n_out: int):
    """Same rules as harmonize's majority path, vectorised numpy + relabel_sequential."""
    from skimage.segmentation import relabel_sequential

    new, _fw, inv = relabel_sequential(inst)
    k0 = len(inv) - 1
    votes = np.bincount(
        new.ravel().astype(np.int64) * n_out + sem_out.ravel(), minlength=(k0 + 1) * n_out
    ).reshape(k0 + 1, n_out)[1:]
    cls = votes.argmax(axis=1)  # first maximum = smallest output id on ties
    keep = keep_out[cls]
    final = np.zeros(k0 + 1, np.uint32)
    final[1:][keep] = np.arange(1, keep.sum() + 1)
    out = final[new]
    counts = np.bincount(cls[keep], minlength=n_out)
    return out, cls[keep], np.asarray(inv[1:])[keep], counts


def collapse_reference(stack: np.ndarray, classes=(1, 2, 3, 4, 5), bg=5):
    """CellViT / PanNuke-metrics style (later channel wins, running offsets)."""
    sem = np.where(stack[..., bg] != 0, 0, 255).astype(np.uint8)
    inst = np.zeros(stack.shape[:2], np.int32)
    offset = 0
    for c, cls in enumerate(classes):
        layer = stack[..., c].astype(np.int64)
        inst = np.where(layer > 0, layer + offset, inst).astype(np.int32)
        sem = np.where(layer > 0, cls, sem).astype(np.uint8)
        offset += int(layer.max())
    ids = np.unique(inst)
    ids = ids[ids > 0]
    return sem, inst, ids


# -- timing ----------------------------------------------------------------------------------------


def time_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """``(median, min)`` wall time in ms of ``repeats`` calls after one warm-up call."""
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts) * 1e3), float(np.min(ts) * 1e3)


_COLD = r"""
import json, time, sys
t0 = time.perf_counter()
import numpy as np
from benchmarks.bench_engine import scene, cityscapes_mapping, pannuke_stack
from harmonize.engine.remap import remap_semantic, rewrite_instances
from harmonize.engine.kernels import collapse_channels
sem, inst = scene(); m = cityscapes_mapping(); stack = pannuke_stack()
res = {}
t = time.perf_counter(); out, _ = remap_semantic(sem, m, parallel=False)
res["semantic remap"] = time.perf_counter() - t
t = time.perf_counter(); rewrite_instances(inst, out, m, parallel=False)
res["instance rewrite"] = time.perf_counter() - t
t = time.perf_counter(); collapse_channels(stack, np.arange(1, 6), background_channel=5)
res["channel collapse"] = time.perf_counter() - t
print(json.dumps(res))
"""


def cold_times() -> tuple[dict[str, float], dict[str, float]]:
    """First-call seconds in fresh processes: empty NUMBA_CACHE_DIR, then the warm cache."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory(prefix="harmonize-bench-numba-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=root)
        runs = []
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", _COLD], env=env, capture_output=True, text=True, check=True
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return runs[0], runs[1]


# -- report ----------------------------------------------------------------------------------------


def _print_table(title: str, headers: list[str], rows: list[list[str]]) -> None:
    try:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table
    except ImportError:  # plain text
        print(f"\n{title}")
        widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
        for r in [headers, *rows]:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
        return
    table = Table(title=escape(title), title_justify="left")
    for i, h in enumerate(headers):
        table.add_column(escape(h), justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*(escape(c) for c in r))  # "lut[img]" is not rich markup
    Console(width=140).print(table)


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the engine benchmarks, print their tables, return the raw figures (ms)."""
    import numba as nb

    from harmonize.engine.kernels import collapse_channels
    from harmonize.engine.remap import prepare, remap_semantic, rewrite_instances

    m = cityscapes_mapping()
    prep = prepare(m)
    sem, inst = scene()
    noise = np.random.default_rng(1).integers(0, 34, (H, W)).astype(np.uint8)
    lut256 = numpy_lut256(m)
    pairs = [(k, int(m.lut[k - m.offset])) for k in range(34)]
    dst = np.empty_like(sem)

    # correctness of every contender on these arrays before timing anything
    ours, counts = remap_semantic(sem, m, parallel=False)
    assert np.array_equal(ours, lut256[sem])
    assert np.array_equal(ours, per_class_loop(sem, pairs))
    assert np.array_equal(counts[:-1], np.bincount(ours.ravel(), minlength=prep.n_out))
    assert np.array_equal(remap_semantic(sem, m, parallel=True)[0], ours)
    ri = rewrite_instances(inst, ours, m, parallel=False)
    ref = instance_reference(inst, ours, prep.keep_out, prep.n_out)
    assert np.array_equal(ri.instance, ref[0]) and np.array_equal(ri.classes, ref[1])
    assert np.array_equal(ri.old_ids, ref[2]) and np.array_equal(ri.counts, ref[3])
    stack = pannuke_stack()
    col = collapse_channels(stack, np.arange(1, 6), background_channel=5)
    cref = collapse_reference(stack)
    assert all(np.array_equal(a, b) for a, b in zip(col[:3], cref, strict=True))

    r: dict[str, float] = {}  # medians (ms)
    best: dict[str, float] = {}  # fastest repeats (ms): less noisy on a shared machine
    r["copyto"], best["copyto"] = time_ms(lambda: np.copyto(dst, sem), 200)
    # into a reused buffer, like np.copyto (the default allocates, and pays first-touch faults)
    r["remap"], best["remap"] = time_ms(
        lambda: remap_semantic(sem, m, parallel=False, out=dst), 100
    )
    r["remap_alloc"], best["remap_alloc"] = time_ms(
        lambda: remap_semantic(sem, m, parallel=False), 100
    )
    r["remap_par"], best["remap_par"] = time_ms(
        lambda: remap_semantic(sem, m, parallel=True, out=dst), 100
    )
    r["lut"], best["lut"] = time_ms(lambda: lut256[sem], 20)
    r["lut_count"], best["lut_count"] = time_ms(
        lambda: np.bincount(lut256[sem].ravel(), minlength=256), 10
    )
    r["loop"], best["loop"] = time_ms(lambda: per_class_loop(sem, pairs), 5)
    r["noise_copyto"], best["noise_copyto"] = time_ms(lambda: np.copyto(dst, noise), 200)
    r["noise_remap"], best["noise_remap"] = time_ms(
        lambda: remap_semantic(noise, m, parallel=False, out=dst), 30
    )
    r["noise_remap_alloc"], best["noise_remap_alloc"] = time_ms(
        lambda: remap_semantic(noise, m, parallel=False), 30
    )
    r["noise_lut"], best["noise_lut"] = time_ms(lambda: lut256[noise], 20)
    r["inst"], best["inst"] = time_ms(lambda: rewrite_instances(inst, ours, m, parallel=False), 50)
    r["inst_par"], best["inst_par"] = time_ms(
        lambda: rewrite_instances(inst, ours, m, parallel=True), 50
    )
    r["inst_ref"], best["inst_ref"] = time_ms(
        lambda: instance_reference(inst, ours, prep.keep_out, prep.n_out), 10
    )
    r["col"], best["col"] = time_ms(
        lambda: collapse_channels(stack, np.arange(1, 6), background_channel=5), 50
    )
    r["col_par"], best["col_par"] = time_ms(
        lambda: collapse_channels(stack, np.arange(1, 6), background_channel=5, parallel=True), 50
    )
    r["col_ref"], best["col_ref"] = time_ms(lambda: collapse_reference(stack), 20)

    def ms(x: float) -> str:
        return f"{x:.3f}"

    def cell(key: str) -> str:
        return f"{r[key]:.3f} ({best[key]:.3f})"

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x"

    _print_table(
        f"Semantic remap, {H}x{W} uint8 Cityscapes-like labelIds -> trainIds "
        f"(harmonize also counts pixels per class; numba threads: {nb.get_num_threads()})",
        ["contender", "warm ms median (min)", "harmonize vs contender", "target", "status"],
        [
            # like for like: copyto writes into an existing array, so does harmonize here
            ["np.copyto (bandwidth floor)", cell("copyto"),
             f"harmonize (reused buffer) takes {ratio(r['remap'], r['copyto'])}", "<= 3x",
             _verdict(r["remap"] <= 3 * r["copyto"])],
            # numpy allocates its result: compare with harmonize allocating too
            ["numpy lut[img]", cell("lut"), f"{ratio(r['lut'], r['remap_alloc'])} faster",
             ">= 5x", _verdict(r["lut"] >= 5 * r["remap_alloc"])],
            ["numpy lut[img] + bincount", cell("lut_count"),
             f"{ratio(r['lut_count'], r['remap_alloc'])} faster", "", ""],
            ["per-class loop (34 classes)", cell("loop"),
             f"{ratio(r['loop'], r['remap_alloc'])} faster", ">= 30x",
             _verdict(r["loop"] >= 30 * r["remap_alloc"])],
            ["harmonize serial, reused output buffer", cell("remap"), "", "", ""],
            ["harmonize serial, new output array", cell("remap_alloc"), "", "", ""],
            ["harmonize parallel, reused buffer", cell("remap_par"),
             f"{ratio(r['remap'], r['remap_par'])} vs serial", "", ""],
        ],
    )  # fmt: skip
    _print_table(
        "Semantic remap, worst case: i.i.d. pixel noise over 34 ids (no uniform runs)",
        ["contender", "warm ms median (min)", "harmonize vs contender"],
        [
            ["np.copyto", cell("noise_copyto"),
             f"harmonize (reused buffer) takes {ratio(r['noise_remap'], r['noise_copyto'])}"],
            ["numpy lut[img]", cell("noise_lut"),
             f"{ratio(r['noise_lut'], r['noise_remap_alloc'])} faster"],
            ["harmonize serial, reused buffer", cell("noise_remap"), ""],
            ["harmonize serial, new output array", cell("noise_remap_alloc"), ""],
        ],
    )  # fmt: skip
    k = int(ri.old_ids.size)
    _print_table(
        f"Instance rewrite, {H}x{W} uint16 instance map ({k} instances): relabel 1..K + majority "
        "class + drop + counts",
        ["contender", "warm ms median (min)", "harmonize speed-up", "target", "status"],
        [
            ["relabel_sequential + numpy votes", cell("inst_ref"),
             ratio(r["inst_ref"], r["inst"]), ">= 5x", _verdict(r["inst_ref"] >= 5 * r["inst"])],
            ["harmonize serial", cell("inst"), "1.00x", "", ""],
            ["harmonize parallel", cell("inst_par"), ratio(r["inst"], r["inst_par"]), "", ""],
        ],
    )  # fmt: skip
    _print_table(
        "PanNuke channel collapse, 256x256x6 float64",
        ["contender", "warm ms median (min)", "harmonize speed-up"],
        [
            ["numpy reference (np.where per channel)", cell("col_ref"),
             ratio(r["col_ref"], r["col"])],
            ["harmonize serial", cell("col"), "1.00x"],
            ["harmonize parallel", cell("col_par"), ratio(r["col"], r["col_par"])],
        ],
    )  # fmt: skip
    cold, cached = cold_times()
    warm = {
        "semantic remap": cell("remap"),
        "instance rewrite": cell("inst"),
        "channel collapse": cell("col"),
    }
    _print_table(
        "First call in a fresh process (compile, or load from the on-disk cache) vs warm",
        ["kernel", "cold, empty cache ms", "cold, warm cache ms", "warm ms median (min)"],
        [[name, ms(cold[name] * 1e3), ms(cached[name] * 1e3), warm[name]] for name in warm],
    )
    r.update({f"min_{k}": v for k, v in best.items()})
    r.update({f"cold_{k}": v * 1e3 for k, v in cold.items()})
    r.update({f"cached_{k}": v * 1e3 for k, v in cached.items()})
    return r


if __name__ == "__main__":
    main()
