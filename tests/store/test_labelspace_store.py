"""Label spaces recorded by the pipeline in the store, and returned with every training patch."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from harmonize.errors import StoreError
from harmonize.pipeline import load_config, run
from harmonize.pipeline.demo import configs_dir, demo_config
from harmonize.store import open_store
from harmonize.taxonomy import load_mapping, load_ontology, load_taxonomy
from harmonize.taxonomy.labelspace import label_space

SOURCES = ("consep", "pannuke", "kumar", "monusac")


@pytest.fixture(scope="module")
def store_url(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("ls")
    cfg = demo_config(
        load_config(configs_dir() / "nuclei_merged.yaml"),
        tmp / "data",
        tmp / "out",
        n=1,
        datasets=SOURCES,
    )
    run(cfg, workers=1)
    return cfg.output.path


def test_store_records_each_sources_label_space(store_url: str) -> None:
    store = open_store(store_url)
    onto = load_ontology("nuclei")
    assert store.has_label_spaces
    for src in store.sources:
        ds = store.layouts[store.sources.index(src)].dataset
        want = label_space(load_taxonomy(ds), onto, load_mapping(ds, "nuclei")).to_dict()
        assert store.label_space(src) == want
    kumar = next(
        s for s in store.sources if store.layouts[store.sources.index(s)].dataset == "kumar"
    )
    assert store.label_space(kumar)["gives"] == "instances"
    with pytest.raises(KeyError):
        store.label_space("nope")


def test_training_patches_carry_mask_and_coarse_table(store_url: str) -> None:
    store = open_store(store_url)
    ids = store.class_ids.tolist()
    col = {c: j for j, c in enumerate(ids)}
    onto = store.ontology
    name = {c["id"]: c["name"] for c in onto.classes}
    ts = store.training_set(patch_size=32, layers=("semantic",))
    items = [ts[i] for i in range(len(ts))]
    assert {it["source"] for it in items} == set(store.sources)
    for it in items:
        valid, coarse = it["valid_classes"], it["coarse_of"]
        assert valid.shape == (len(ids),) and valid.dtype == bool
        assert coarse.shape == (len(ids), len(ids)) and coarse.dtype == bool
        space = store.label_space(it["source"])
        status = {c["name"]: c["status"] for c in space["classes"]}
        for c in space["classes"]:
            assert valid[col[c["id"]]] == (status[c["name"]] != "absent")
        # every label the patch holds (not ignore & co.) stands for at least one valid column,
        # and only for leaves of its subtree (checked with the store's own parent table)
        for v in np.unique(it["semantic"]).tolist():
            role = onto.by_id[v].get("role")
            if role in ("ignore", "ambiguous", "unlabeled"):
                assert not coarse[col[v]].any()
                continue
            row = np.flatnonzero(coarse[col[v]])
            assert row.size and valid[row].all(), name[v]
            for j in row:
                leaf = name[ids[j]]
                assert leaf == name[v] or name[v] in onto.ancestors(leaf)
    # a DataLoader's default collate stacks these: same shapes for every source
    batch = np.stack([it["coarse_of"] for it in items])
    assert batch.shape == (len(items), len(ids), len(ids))
    kumar = next(
        it for it in items if store.layouts[store.sources.index(it["source"])].dataset == "kumar"
    )
    leaves = {c["name"] for c in onto.classes if not c.get("role")} - {
        c["parent"] for c in onto.classes if c.get("parent")
    }
    got = {name[ids[j]] for j in np.flatnonzero(kumar["coarse_of"][col[onto.id_of("nucleus")]])}
    assert got == leaves


def test_store_without_label_spaces(store_url: str, tmp_path) -> None:
    import shutil

    copy = tmp_path / "old.zarr"
    shutil.copytree(store_url, copy)
    g = zarr.open_group(str(copy), mode="r+")
    meta = dict(g.attrs["harmonize"])
    meta.pop("label_spaces")
    g.attrs["harmonize"] = meta
    store = open_store(str(copy))
    assert not store.has_label_spaces
    with pytest.raises(StoreError):
        store.label_space(store.sources[0])
    item = store.training_set(patch_size=16, layers=("semantic",))[0]
    assert "valid_classes" not in item and "coarse_of" not in item
