"""Stores describe themselves to plain zarr and xarray users (issue 15): class names and sample
ids as coordinates, box label names and stored instance ids, padding documented in the arrays'
attributes, and the store-format page's code blocks run as written."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr
from test_store import CLASS_IDS, CLASSES, build

from harmonize.store import open_store

DOC = Path(__file__).resolve().parents[2] / "docs" / "store-format.md"


def _open_xarray(url: str, group: str | None):
    import xarray as xr

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return xr.open_zarr(url, group=group, consolidated=True)


def test_xarray_shows_class_names_sample_ids_and_data_variables(tmp_path) -> None:
    url, _, data = build(tmp_path, {"p": [(20, 30), (7, 50), (33, 9)]}, boxes=True)
    ds = _open_xarray(url, "sources/p")
    names = {c["id"]: c["name"] for c in CLASSES}
    counts = ds["pixel_counts"]
    assert counts.dims == ("sample", "class")
    assert {"class_name", "class_id", "sample_id"} <= set(counts.coords)
    assert counts.coords["class_name"].values.tolist() == [names[c] for c in CLASS_IDS.tolist()]
    np.testing.assert_array_equal(counts.coords["class_id"].values, CLASS_IDS)
    want_ids = [hs.ref.sample_id for hs, _ in data["p"]]
    assert counts.coords["sample_id"].values.tolist() == want_ids
    # labelled counts: class "b" of sample 1, by name, equals the sample's own count of id 2
    by_name = counts.swap_dims({"class": "class_name"})
    assert int(by_name.isel(sample=1).sel(class_name="b")) == int(data["p"][1][0].pixel_counts[2])
    # the pixel layers and the ragged tables are data variables, not coordinates
    for name in ("instance", "semantic", "image", "instance_class", "box_label"):
        assert name in ds.data_vars and name not in ds.coords, name
    assert ds["instance"].dims == ("sample", "y", "x")
    assert ds["instance_class"].dims == ("instance_row",)
    assert "box_label_name" in ds["box_label"].coords


def test_every_array_describes_itself_and_padding_is_documented(tmp_path) -> None:
    url, _, _ = build(tmp_path, {"p": [(20, 30), (7, 50)]}, boxes=True)
    g = zarr.open_group(url, mode="r")["sources/p"]
    for name, arr in g.arrays():
        assert arr.attrs.get("description"), f"{name} has no description"
    for layer in ("semantic", "instance", "image"):
        text = g[layer].attrs["description"]
        assert "height[i]" in text and "width[i]" in text and "padding" in text, layer
        assert g[layer].attrs["padding_value"] == g[layer].metadata.fill_value
    assert "ignore id" in g["semantic"].attrs["description"]
    assert g["semantic"].attrs["padding_value"] == 255
    for name in ("height", "width"):
        assert "padding" in g[name].attrs["description"]
    # and the padding really is that value
    h, w = int(g["height"][1]), int(g["width"][1])
    assert (g["semantic"][1, h:, :] == g["semantic"].attrs["padding_value"]).all()
    assert (g["semantic"][1, :, w:] == g["semantic"].attrs["padding_value"]).all()


def test_boxes_carry_label_names_and_stored_instance_ids(tmp_path) -> None:
    url, _, data = build(tmp_path, {"p": [(12, 12)] * 4}, boxes=True)
    store = open_store(url)
    linked = 0
    for s in store:
        hs = data["p"][s.index][0]
        native = hs.boxes["instance_id"]
        want = [
            1 + hs.instance_old_ids.tolist().index(v) if v in hs.instance_old_ids else 0
            for v in native.tolist()
        ]
        assert s.boxes["stored_instance"].tolist() == want
        assert s.boxes["label_name"].tolist() == ["pedestrian", "ignore"]
        for k, v in zip(want, native.tolist(), strict=True):
            if k:  # stored instance k is the one whose native id the box names
                assert hs.instance_old_ids[k - 1] == v and (s.instance == k).any()
                linked += 1
    assert linked > 0  # the data exercise the link


def test_citypersons_boxes_link_to_the_stored_instances(tmp_path) -> None:
    """Against the look-alike's native truth: the stored instance a box names covers the pixels of
    the box's Cityscapes instanceId, and label names are cityscapesscripts' names."""
    from cityscapesscripts.helpers.labels_cityPersons import labelsCp

    from harmonize.pipeline import load_config, run
    from harmonize.pipeline.demo import configs_dir, demo_config

    cache: dict = {}
    cfg = demo_config(
        load_config(configs_dir() / "cityscapes_19.yaml"),
        tmp_path / "data",
        tmp_path / "out",
        n=1,
        cache=cache,
        datasets=("citypersons",),
    )
    run(cfg, workers=1)
    store = open_store(cfg.output.path)
    assert not _open_xarray(cfg.output.path, None).data_vars  # the root: attributes only
    ds = _open_xarray(cfg.output.path, "sources/cityscapes")
    assert ds["box_stored_instance"].coords["box_label_name"].size == ds.sizes["box"] > 0
    assert "sample_id" in ds["instance"].coords and "instance" in ds.data_vars
    truth = cache["citypersons"].samples
    cp_name = {lab.id: lab.name for lab in labelsCp}
    linked = 0
    for s in store:
        t = truth[s.sample_id]
        b = s.boxes
        np.testing.assert_array_equal(b["instance"], t.boxes["instance_id"])
        assert b["label_name"].tolist() == [cp_name[int(v)] for v in b["label"]]
        for native, k in zip(b["instance"].tolist(), b["stored_instance"].tolist(), strict=True):
            if native == 0:
                assert k == 0
                continue
            mask = np.asarray(t.instance) == native
            if k == 0:  # not kept: no stored instance on its pixels
                assert not s.instance[mask].any()
                continue
            np.testing.assert_array_equal(s.instance == k, mask)
            linked += 1
    assert linked > 0


def _doc_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_store_format_code_blocks_run_as_written(tmp_path, monkeypatch) -> None:
    blocks = _doc_blocks()
    assert len(blocks) == 2
    out = tmp_path / "out"
    out.mkdir()
    _, _, data = build(out, {"consep": [(20, 30), (7, 50)]}, store_name="nuclei_merged.zarr")
    monkeypatch.chdir(tmp_path)
    hs = data["consep"][0][0]
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), ns)
    # the plain-zarr block
    np.testing.assert_array_equal(ns["semantic"], hs.semantic)
    np.testing.assert_array_equal(ns["instance_class"], hs.instance_classes)
    assert ns["paths"] == list(hs.ref.paths) and ns["sample_id"] == hs.ref.sample_id
    names = {c["id"]: c["name"] for c in CLASSES}
    assert ns["pixels"] == {names[c]: int(hs.pixel_counts[c]) for c in CLASS_IDS.tolist()}
    # the xarray block
    total = data["consep"][0][0].pixel_counts + data["consep"][1][0].pixel_counts
    assert ns["per_class"].to_dict() == {names[c]: int(total[c]) for c in CLASS_IDS.tolist()}
    assert str(ns["first"].coords["sample_id"].values) == hs.ref.sample_id


def test_a_store_finalized_before_issue_15_still_opens(tmp_path) -> None:
    """No compat path is needed beyond absent keys: strip what issue 15 added from a store written
    by the current code, re-consolidate, and read it back."""
    url, _, data = build(tmp_path, {"p": [(12, 12)] * 3}, boxes=True)
    g = zarr.open_group(url, mode="r+")
    src = g["sources/p"]
    for name in ("class_id", "class_name", "box_label_name", "box_stored_instance"):
        del src[name]
    for _, arr in src.arrays():
        arr.attrs.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        zarr.consolidate_metadata(g.store)
    store = open_store(url)
    s = store[1]
    assert set(s.boxes) == {"xywh", "vis_xywh", "label", "instance"}
    np.testing.assert_array_equal(s.boxes["instance"], data["p"][1][0].boxes["instance_id"])
    np.testing.assert_array_equal(s.semantic, data["p"][1][0].semantic)
    assert store.counts()["pixels"].sum() > 0


def test_creating_since_is_a_utc_timestamp_like_created(tmp_path) -> None:
    """A creation that dies half-way leaves the "creating" attributes; their timestamp has the
    one format of the store (``...Z``)."""
    from harmonize.store import SourceLayout
    from harmonize.store.writer import create_store, parse_utc_timestamp

    lay = SourceLayout("p", "p", 2, 8, 8, 2, 8, "uint8", 255, len(CLASS_IDS))
    url = str(tmp_path / "c.zarr")
    with pytest.raises(KeyError):  # no "paths" table: dies after the "creating" attributes
        create_store(url, [lay], {"p": {"sample_id": ["a", "b"], "split": ["x", "x"]}}, {})
    meta = zarr.open_group(url, mode="r").attrs["harmonize"]
    assert meta["status"] == "creating"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creating_since"])
    import time

    assert abs(parse_utc_timestamp(meta["creating_since"]) - time.time()) < 120
    assert parse_utc_timestamp("not a time") is None
