"""The training read path: patches against plain zarr, class points, instance dtype, workers."""

from __future__ import annotations

import multiprocessing as mp
import warnings

import numpy as np
import pytest
import zarr
from test_store import CLASS_IDS, IGNORE, build

from harmonize.errors import StoreError
from harmonize.store import open_store
from harmonize.store.points import class_points
from harmonize.store.writer import ShardSample, create_store, write_shard
from harmonize.types import HarmonizedSample, SampleRef

SIZES = {"p": [(40, 60), (25, 70), (64, 33)], "q": [(48, 48), (30, 52)]}


def _reference_patch(url, ts, i):
    """Patch ``i`` sliced with plain zarr and padded by hand (independent of TrainingSet)."""
    g = zarr.open_group(url, mode="r")
    idx, y0, x0 = ts.locate(i)
    s = open_store(url)[idx]
    ph, pw = ts.patch
    out = {}
    for layer, fill in (("semantic", IGNORE), ("instance", 0), ("image", 0)):
        a = g["sources"][s.source][layer]
        part = a[s.index, y0 : min(s.height, y0 + ph), x0 : min(s.width, x0 + pw)]
        buf = np.full((ph, pw, *a.shape[3:]), fill, dtype=a.dtype)
        buf[: part.shape[0], : part.shape[1]] = part
        out[layer] = buf
    return out


@pytest.mark.parametrize("mode", ["random", "grid"])
def test_patches_equal_plain_zarr_slicing(tmp_path, mode):
    url, _, _ = build(tmp_path, SIZES)
    ts = open_store(url).training_set(patch_size=(24, 32), mode=mode, samples_per_epoch=30)
    for i in range(len(ts)):
        got, want = ts[i], _reference_patch(url, ts, i)
        for layer in want:
            np.testing.assert_array_equal(got[layer], want[layer])
        assert got["instance"].dtype == np.int32  # torch reduces int32, not uint32
        assert got["semantic"].dtype == np.uint8 and got["image"].dtype == np.uint8


def test_class_points_lie_on_their_class_and_match_ranks():
    rng = np.random.default_rng(3)
    sem = rng.choice([0, 1, 2, 7, 255], p=[0.6, 0.3, 0.09, 0.0099, 0.0001], size=(97, 131))
    sem = sem.astype(np.uint8)
    cls, yx = class_points(sem, k=16)
    assert (sem[yx[:, 0], yx[:, 1]] == cls).all()
    for c in np.unique(sem):
        # reference: pixels of ranks floor((2j + 1) n / 2m) in raster order
        flat = np.flatnonzero(sem.ravel() == c)
        m = min(16, len(flat))
        want = flat[((2 * np.arange(m) + 1) * len(flat)) // (2 * m)]
        got = yx[cls == c]
        np.testing.assert_array_equal(got[:, 0] * sem.shape[1] + got[:, 1], want)
    assert set(cls.tolist()) == set(np.unique(sem).tolist())


def test_store_class_points_are_on_their_class(tmp_path):
    url, _, _ = build(tmp_path, SIZES)
    g = zarr.open_group(url, mode="r")
    store = open_store(url)
    assert store.meta["format_version"] == 2
    for s in store:
        src = g["sources"][s.source]
        off = src["classpoint_offset"][s.index : s.index + 2]
        cls = src["classpoint_class"][off[0] : off[1]]
        yx = src["classpoint_yx"][off[0] : off[1]]
        assert (s.semantic[yx[:, 0], yx[:, 1]] == cls).all()
        assert set(cls.tolist()) == set(s.pixel_counts)


def _as_v1(url):
    """Turn a store into what format 1 wrote: no class points, uint32-era attrs, no
    consolidated metadata."""
    g = zarr.open_group(url, mode="a", use_consolidated=False)
    for name in ("p", "q"):
        for k in ("classpoint_offset", "classpoint_class", "classpoint_yx"):
            del g["sources"][name][k]
    meta = dict(g.attrs["harmonize"])
    meta["format_version"] = 1
    g.attrs["harmonize"] = meta
    zarr.consolidate_metadata(g.store)


def test_balanced_draw_centres_on_rarest_class_with_and_without_points(tmp_path):
    url, _, _ = build(tmp_path, SIZES)
    ts2 = open_store(url).training_set(
        patch_size=16, mode="random", balance="class", seed=5, samples_per_epoch=20
    )
    assert ts2._points is not None
    picks2 = [ts2._rare_pixel(k, np.random.default_rng(k)) for k in range(len(ts2.indices))]
    _as_v1(url)
    store1 = open_store(url)
    ts1 = store1.training_set(
        patch_size=16, mode="random", balance="class", seed=5, samples_per_epoch=20
    )
    assert ts1._points is None  # format 1: falls back to decoding
    for k, p2 in enumerate(picks2):
        p1 = ts1._rare_pixel(k, np.random.default_rng(k))
        sem = store1[int(ts1.indices[k])].semantic
        assert (p1 is None) == (p2 is None)
        if p1 is not None:  # both draws land on the same (rarest) class
            assert sem[p1] == sem[p2]
    # the same samples are drawn, and patches stay equal to plain zarr slicing in both formats
    assert [ts1.locate(i)[0] for i in range(20)] == [ts2.locate(i)[0] for i in range(20)]
    for i in range(10):
        np.testing.assert_array_equal(ts1[i]["semantic"], _reference_patch(url, ts1, i)["semantic"])


def test_instance_overflow_raises_a_clear_error(tmp_path):
    from harmonize.store import SourceLayout

    k = 70_000
    inst = np.arange(1, 300 * 300 + 1, dtype=np.uint32).reshape(300, 300)
    inst[inst > k] = 0
    sem = np.ones((300, 300), np.uint8)
    pc = np.bincount(sem.ravel(), minlength=256).astype(np.int64)
    ref = SampleRef("p", "crowded", "train", ("/x.png",))
    classes = np.ones(k, np.uint8)
    hs = HarmonizedSample(ref, sem, inst, classes, np.arange(1, k + 1), pc, np.zeros(256, np.int64))
    lay = SourceLayout("p", "p", 1, 300, 300, 1, 64, "uint8", IGNORE, len(CLASS_IDS))
    assert lay.instance_dtype == "uint16"
    root = create_store(
        str(tmp_path / "s.zarr"),
        [lay],
        {"p": {"sample_id": ["crowded"], "split": ["train"], "paths": ["[]"]}},
        {"ontology": {"name": "t", "classes": []}, "class_ids": CLASS_IDS.tolist()},
    )
    with pytest.raises(StoreError, match=r"crowded.*70000.*instance_dtype: uint32"):
        write_shard(root, lay, 0, [ShardSample(0, hs, None)], CLASS_IDS)
    # with uint32 it is written and read back exactly
    lay32 = SourceLayout(
        "p", "p", 1, 300, 300, 1, 64, "uint8", IGNORE, len(CLASS_IDS), instance_dtype="uint32"
    )
    root = create_store(
        str(tmp_path / "t.zarr"),
        [lay32],
        {"p": {"sample_id": ["crowded"], "split": ["train"], "paths": ["[]"]}},
        {"ontology": {"name": "t", "classes": []}, "class_ids": CLASS_IDS.tolist()},
    )
    write_shard(root, lay32, 0, [ShardSample(0, hs, None)], CLASS_IDS)
    np.testing.assert_array_equal(root["sources/p/instance"][0], inst)


def test_v1_layouts_read_as_uint32():
    from harmonize.store import SourceLayout

    lay = SourceLayout("p", "p", 1, 8, 8, 1, 8, "uint8", IGNORE, 5)
    d = lay.to_dict()
    del d["instance_dtype"]
    assert SourceLayout.from_dict(d).instance_dtype == "uint32"


def _patch_in_child(args):
    ts, i = args
    p = ts[i]
    return {k: p[k] for k in ("semantic", "instance", "image", "origin")}


def _fork_ctx():
    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork start method on this platform")
    return mp.get_context("fork")


def test_fork_workers_over_an_fsspec_url(tmp_path):
    url, _, _ = build(tmp_path, SIZES)
    ts = open_store(f"file://{url}").training_set(patch_size=16, mode="random", seed=2)
    want = [ts[i] for i in range(len(ts))]  # the parent uses (and attaches) its store first
    with _fork_ctx().Pool(2) as pool:
        got = pool.map(_patch_in_child, [(ts, i) for i in range(len(ts))])
    # Pool pickles its arguments; also check a child that inherits the object without pickling
    ctx = _fork_ctx()
    q = ctx.Queue()
    proc = ctx.Process(target=lambda: q.put(_patch_in_child((ts, 1))))
    proc.start()
    inherited = q.get(timeout=60)
    proc.join(60)
    assert proc.exitcode == 0
    for g, w in zip([*got, inherited], [*want, want[1]], strict=True):
        for k in g:
            np.testing.assert_array_equal(g[k], w[k])


def _persistent_worker(ts, requests, replies):
    for i in iter(requests.get, None):
        replies.put(ts[i]["origin"])


def test_set_epoch_reaches_a_persistent_forked_worker(tmp_path):
    url, _, _ = build(tmp_path, SIZES)
    ts = open_store(f"file://{url}").training_set(patch_size=8, mode="random", seed=1)
    ctx = _fork_ctx()
    requests, replies = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_persistent_worker, args=(ts, requests, replies))
    proc.start()  # started once, like DataLoader(persistent_workers=True)
    try:
        seen = {}
        for epoch in (0, 1, 2):
            ts.set_epoch(epoch)
            for i in range(len(ts)):
                requests.put(i)
            seen[epoch] = [replies.get(timeout=60) for _ in range(len(ts))]
            want = [ts[i]["origin"] for i in range(len(ts))]
            np.testing.assert_array_equal(seen[epoch], want)
        assert not np.array_equal(seen[0], seen[1])
    finally:
        requests.put(None)
        proc.join(60)


def test_metadata_is_consolidated(tmp_path):
    url, _, _ = build(tmp_path, SIZES)
    g = zarr.open_consolidated(url, mode="r")
    assert "sources/p/semantic" in g.metadata.consolidated_metadata.flattened_metadata
    xr = pytest.importorskip("xarray")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_zarr(url, group="sources/p", consolidated=True)
    assert ds["semantic"].dims == ("sample", "y", "x")


def test_torch_dataloader_workers(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed (CI does not need it)")
    from torch.utils.data import DataLoader

    url, _, _ = build(tmp_path, SIZES)
    ts = open_store(f"file://{url}").training_set(patch_size=16, mode="random", seed=4)
    dl = DataLoader(ts, batch_size=2, num_workers=2, persistent_workers=True)
    batches = {}
    for epoch in (0, 1):
        ts.set_epoch(epoch)
        batches[epoch] = [b["origin"] for b in dl]
        b = next(iter(dl))
        assert b["instance"].dtype == torch.int32 and int(b["instance"].max()) >= 0
    assert not all(torch.equal(a, b) for a, b in zip(batches[0], batches[1], strict=True))
