"""Store round-trips with hand-made harmonized samples (independent of readers and engine)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harmonize.errors import StoreError
from harmonize.store import SourceLayout, open_store
from harmonize.store.writer import ShardSample, create_store, finalize, write_shard
from harmonize.types import BOX_DTYPE, HarmonizedSample, SampleRef

IGNORE = 255
CLASSES = [
    {"id": 0, "name": "background", "role": "background", "color": [0, 0, 0]},
    {"id": 1, "name": "a", "parent": None, "color": [255, 0, 0]},
    {"id": 2, "name": "b", "parent": "a", "color": [0, 255, 0]},
    {"id": 3, "name": "c", "parent": None, "color": [0, 0, 255]},
    {"id": 255, "name": "ignore", "role": "ignore", "color": [255, 255, 255]},
]
CLASS_IDS = np.array([0, 1, 2, 3, 255])


def make_sample(rng, source: str, i: int, h: int, w: int, boxes: bool = False) -> tuple:
    sem = rng.choice([0, 1, 2, 3, 255], size=(h, w)).astype(np.uint8)
    inst = np.zeros((h, w), np.uint32)
    k = int(rng.integers(0, 4))
    for j in range(1, k + 1):
        y, x = rng.integers(0, h), rng.integers(0, w)
        inst[y : y + 3, x : x + 3] = j
    present = np.unique(inst)
    present = present[present > 0]
    inst = np.searchsorted(np.concatenate([[0], present]), inst).astype(np.uint32)
    classes = rng.integers(1, 4, size=len(present)).astype(np.uint8)
    pc = np.bincount(sem.ravel(), minlength=256).astype(np.int64)
    ic = np.bincount(classes, minlength=256).astype(np.int64)
    img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    bx = None
    if boxes:
        bx = np.zeros(2, BOX_DTYPE)
        # the first box belongs to the last native instance (stored id K); a native id the sample
        # does not have links to no stored instance
        bx["instance_id"] = [int(present[-1]) if len(present) else 24000 + i, 0]
        bx["label"] = [1, 0]
        bx["x"], bx["y"], bx["w"], bx["h"] = [1.5, 2], [3, 4], [5, 6], [7, 8]
        bx["vis_x"], bx["vis_y"], bx["vis_w"], bx["vis_h"] = [1, 2], [3, 4], [2, 3], [4, 5]
    ref = SampleRef(source, f"{source}_{i}", "train" if i % 2 else "val", (f"/x/{i}.png",))
    hs = HarmonizedSample(ref, sem, inst, classes, present.astype(np.int64), pc, ic, boxes=bx)
    return hs, img


def build(
    tmp_path,
    sizes: dict[str, list[tuple[int, int]]],
    skip: set = frozenset(),
    stop_after: int | None = None,
    boxes: bool = False,
    store_name: str = "s.zarr",
):
    rng = np.random.default_rng(0)
    layouts, tables, data = [], {}, {}
    for name, shp in sizes.items():
        data[name] = [make_sample(rng, name, i, h, w, boxes) for i, (h, w) in enumerate(shp)]
        layouts.append(
            SourceLayout(
                name=name,
                dataset=name,
                n_samples=len(shp),
                height=max(h for h, _ in shp),
                width=max(w for _, w in shp),
                samples_per_shard=2,
                tile=16,
                semantic_dtype="uint8",
                fill_semantic=IGNORE,
                n_classes=len(CLASS_IDS),
                boxes=boxes,
                extra={"box_labels": {"0": "ignore", "1": "pedestrian"}} if boxes else {},
            )
        )
        tables[name] = {
            "sample_id": [d[0].ref.sample_id for d in data[name]],
            "split": [d[0].ref.split for d in data[name]],
            "paths": [json.dumps(list(d[0].ref.paths)) for d in data[name]],
        }
    url = str(tmp_path / store_name)
    root = create_store(
        url,
        layouts,
        tables,
        {"ontology": {"name": "t", "classes": CLASSES}, "class_ids": CLASS_IDS.tolist()},
    )
    written = 0
    for lay in layouts:
        for k in range(lay.n_shards):
            if stop_after is not None and written >= stop_after:
                return url, layouts, data
            a, b = lay.shard_range(k)
            items = []
            for i in range(a, b):
                hs, img = data[lay.name][i]
                if (lay.name, i) in skip:
                    items.append(ShardSample(i, None, None, {"error": "bad file", "kind": "X"}))
                else:
                    items.append(ShardSample(i, hs, img))
            write_shard(root, lay, k, items, CLASS_IDS)
            written += 1
    finalize(root, layouts, {})
    return url, layouts, data


def test_ragged_round_trip_and_metadata(tmp_path):
    sizes = {"p": [(20, 30), (7, 50), (33, 9)], "q": [(16, 16), (40, 40)]}
    url, _layouts, data = build(tmp_path, sizes)
    store = open_store(url)
    assert store.complete and len(store) == 5
    got = {(s.source, s.sample_id): s for s in store}
    for name, items in data.items():
        for hs, img in items:
            s = got[(name, hs.ref.sample_id)]
            np.testing.assert_array_equal(s.semantic, hs.semantic)
            np.testing.assert_array_equal(s.instance, hs.instance)
            np.testing.assert_array_equal(s.image, img)
            np.testing.assert_array_equal(s.instance_classes, hs.instance_classes)
            assert s.split == hs.ref.split and s.paths == list(hs.ref.paths)
            want = {int(c): int(v) for c, v in enumerate(hs.pixel_counts) if v}
            assert s.pixel_counts == want
    assert store.ontology.name_of(2) == "b" and store.ontology.ancestors("b") == ["a"]


def test_plain_zarr_can_read_it(tmp_path):
    import zarr

    url, _, data = build(tmp_path, {"p": [(20, 30), (7, 50)]})
    g = zarr.open_group(url, mode="r")
    sem = g["sources/p/semantic"]
    assert sem.metadata.dimension_names == ("sample", "y", "x")
    h, w = int(g["sources/p/height"][1]), int(g["sources/p/width"][1])
    np.testing.assert_array_equal(sem[1, :h, :w], data["p"][1][0].semantic)
    assert (sem[1, h:, :] == IGNORE).all()  # padding reads as the fill value


def test_padding_is_not_stored(tmp_path):
    # one large sample sets the slot size; the small ones must not pay for it
    big = build(tmp_path / "a", {"p": [(256, 256)] + [(8, 8)] * 5})[0]
    alone = build(tmp_path / "b", {"p": [(256, 256)]})[0]  # the same first sample (same seed)

    def size(url):
        from pathlib import Path

        return sum(
            f.stat().st_size for f in Path(url, "sources/p/semantic").rglob("*") if f.is_file()
        )

    # five 8x8 samples add their own few hundred bytes and two more shards, each with its index of
    # 16 bytes per inner-chunk slot (2 x 16 x 16 slots of 16x16 tiles); their padding to 256x256
    # (1,280 fill tiles, ~30 bytes each compressed) would add ~40 KB more if it were stored
    index = 2 * 16 * 16 * 16 + 4
    assert size(big) - size(alone) < 2 * index + 5 * 1024


def test_skipped_samples_are_absent(tmp_path):
    url, _, _data = build(tmp_path, {"p": [(10, 10)] * 4}, skip={("p", 2)})
    store = open_store(url)
    assert [s.sample_id for s in store] == ["p_0", "p_1", "p_3"]


def test_incomplete_store_says_so(tmp_path):
    url, _, _ = build(tmp_path, {"p": [(10, 10)] * 6}, stop_after=1)
    with pytest.raises(StoreError, match=r"incomplete.*1/3 shards"):
        open_store(url)
    store = open_store(url, allow_incomplete=True)
    assert not store.complete and len(store) == 2


def test_boxes_round_trip(tmp_path):
    url, _, data = build(tmp_path, {"p": [(10, 10)] * 3}, boxes=True)
    s = open_store(url)[1]
    want = data["p"][1][0].boxes
    np.testing.assert_array_equal(s.boxes["instance"], want["instance_id"])
    assert s.boxes["label_name"].tolist() == ["pedestrian", "ignore"]
    k = len(data["p"][1][0].instance_classes)
    assert s.boxes["stored_instance"].tolist() == [k, 0]
    np.testing.assert_allclose(s.boxes["xywh"][:, 0], want["x"])
    np.testing.assert_allclose(s.boxes["vis_xywh"][:, 2], want["vis_w"])


def test_training_set_grid_covers_every_pixel(tmp_path):
    url, _, _data = build(tmp_path, {"p": [(20, 30), (7, 50)]})
    store = open_store(url)
    ts = store.training_set(patch_size=8, layers=("semantic",))
    recon = {i: np.full((s.height, s.width), 77, np.uint8) for i, s in enumerate(store)}
    for k in range(len(ts)):
        item = ts[k]
        y0, x0 = item["origin"]
        s = store[item["index"]]
        patch = item["semantic"][: s.height - y0, : s.width - x0]
        recon[item["index"]][y0 : y0 + 8, x0 : x0 + 8] = patch[:8, :8]
        assert item["semantic"].shape == (8, 8)
    for i, s in enumerate(store):
        np.testing.assert_array_equal(recon[i], s.semantic)


def test_training_set_is_picklable_and_deterministic(tmp_path):
    import pickle

    url, _, _ = build(tmp_path, {"p": [(20, 30), (7, 50), (33, 9)]})
    ts = open_store(url).training_set(
        patch_size=8, mode="random", samples_per_epoch=10, balance="class", seed=3
    )
    ts2 = pickle.loads(pickle.dumps(ts))
    for k in range(10):
        a, b = ts[k], ts2[k]
        assert a["index"] == b["index"]
        np.testing.assert_array_equal(a["semantic"], b["semantic"])
    w = ts.class_weights("inverse")
    assert set(w) == {1, 2, 3} and all(v > 0 for v in w.values())


def test_repeat_factors_against_hand_computation():
    from harmonize.store.training import repeat_factors

    pres = np.array([[1, 0], [1, 0], [1, 0], [1, 1]], bool)  # class 1 in 1/4 of samples
    r = repeat_factors(pres, threshold=0.5)
    np.testing.assert_allclose(r, [1, 1, 1, np.sqrt(0.5 / 0.25)])
