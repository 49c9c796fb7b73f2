"""``export png``: the output read back the way mmsegmentation's BaseSegDataset reads it."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harmonize.errors import StoreError
from harmonize.export.png import export_png


def _specials(store) -> set[int]:
    return {
        int(c["id"]) for c in store.ontology.classes if c.get("role") not in (None, "background")
    }


def test_png_export_refuses_more_than_255_classes(scene_store, tmp_path: Path) -> None:
    # scene keeps 300+ classes (ADE20K, COCO panoptic nodes from id 256 up): contiguous train ids
    # no longer fit an 8-bit PNG below 255, and the export says so instead of wrapping values.
    kept = [c for c in scene_store.ontology.classes if c.get("role") in (None, "background")]
    assert len(kept) > 255
    with pytest.raises(StoreError, match=r"do not fit an 8-bit PNG.*--ids present") as info:
        export_png(scene_store, tmp_path / "png")
    assert str(scene_store.url) in str(info.value)


def test_png_present_ids_refuse_a_store_holding_more_than_255_classes(
    scene_store, monkeypatch, tmp_path: Path
) -> None:
    counts = scene_store.counts()
    every = {**counts, "pixels": np.ones_like(counts["pixels"])}  # as if every class had pixels
    monkeypatch.setattr(scene_store, "counts", lambda *a, **k: every)
    with pytest.raises(StoreError, match=r"holds .* classes, which do not fit"):
        export_png(scene_store, tmp_path / "png", ids="present")


@pytest.mark.parametrize(
    ("which", "ids"),
    [("nuclei_store", "train"), ("nuclei_store", "present"), ("scene_store", "present")],
)
def test_png_export_loads_like_mmseg(which: str, ids: str, request, tmp_path: Path) -> None:
    store = request.getfixturevalue(which)
    out = tmp_path / "png"
    assert export_png(store, out, ids=ids) == len(store)
    cfg = runpy.run_path(str(out / "mmseg_dataset.py"))
    classes, palette = cfg["metainfo"]["classes"], cfg["metainfo"]["palette"]
    assert len(classes) == len(palette) and len(classes) <= 255
    assert all(len(p) == 3 and all(0 <= x <= 255 for x in p) for p in palette)
    assert cfg["ignore_index"] == 255 and cfg["reduce_zero_label"] is False
    # contiguous: one class per kept ontology node (with pixels in the store: "present"), nothing
    # else
    kept = [c for c in store.ontology.classes if c.get("role") in (None, "background")]
    if ids == "present":
        held = set()
        for s in store:
            held |= set(np.unique(s.semantic).tolist())
        kept = [c for c in kept if int(c["id"]) in held]
        assert 0 < len(kept) < len(store.ontology.classes)
    assert len(classes) == len(kept)
    rows = json.loads((out / "classes.json").read_text())
    value_to_id = {r["value"]: r["id"] for r in rows if "id" in r}
    assert sorted(value_to_id) == list(range(len(classes)))
    assert [classes[v] for v in sorted(value_to_id)] == [
        store.ontology.by_id[value_to_id[v]]["name"] for v in sorted(value_to_id)
    ]
    specials = _specials(store)
    for s in store:
        ds = cfg[f"{s.split}_dataset"]
        assert ds["img_suffix"] == ".png" and ds["seg_map_suffix"] == ".png"
        name = f"{s.source}__{s.sample_id}.png"
        img = np.asarray(Image.open(out / ds["data_prefix"]["img_path"] / name))
        seg = np.asarray(Image.open(out / ds["data_prefix"]["seg_map_path"] / name))
        assert seg.dtype == np.uint8 and img.shape[:2] == seg.shape
        np.testing.assert_array_equal(img, s.image)
        vals = np.unique(seg)
        assert all(v < len(classes) or v == 255 for v in vals)
        # map back through classes.json; ignore-likes compare as 255
        lut = np.full(256, -1, np.int64)
        for v, cid in value_to_id.items():
            lut[v] = cid
        back = lut[seg]
        want = s.semantic.astype(np.int64)
        ign = np.isin(want, list(specials))
        assert (seg[ign] == 255).all()
        np.testing.assert_array_equal(back[~ign], want[~ign])


def test_png_raw_ids_keep_ontology_ids_or_fail(scene_store, nuclei_store, tmp_path: Path) -> None:
    ids = [
        int(c["id"]) for c in scene_store.ontology.classes if c.get("role") in (None, "background")
    ]
    if max(ids) >= 255:
        with pytest.raises(StoreError, match="raw"):
            export_png(scene_store, tmp_path / "raw", ids="raw")
    export_png(nuclei_store, tmp_path / "nraw", ids="raw")
    s = nuclei_store[0]
    seg = np.asarray(
        Image.open(tmp_path / "nraw" / "annotations" / s.split / f"{s.source}__{s.sample_id}.png")
    )
    keep = ~np.isin(s.semantic, list(_specials(nuclei_store)))
    np.testing.assert_array_equal(seg[keep], s.semantic[keep])
    cfg = runpy.run_path(str(tmp_path / "nraw" / "mmseg_dataset.py"))
    assert len(cfg["metainfo"]["classes"]) > int(seg[keep].max(initial=0))
