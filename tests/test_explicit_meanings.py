"""Background, unlabeled, ignore and ambiguous are distinct named values; unknown never becomes 0.

For every shipped mapping: native values the dataset taxonomy does not declare (holes in the table
and values beyond it) go through compile_mapping and the engine, and must come out as the ignore
value (policy ``ignore``) or raise (policy ``error``) -- never as 0 and never as a real class.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import yaml

from harmonize.engine.remap import remap_semantic
from harmonize.engine.sample import remap_sample
from harmonize.errors import UnmappedValueError
from harmonize.taxonomy import (
    compile_mapping,
    list_files,
    load_mapping,
    load_ontology,
    load_taxonomy,
)
from harmonize.taxonomy.reverse import evaluation_mapping
from harmonize.types import RawSample, SampleRef

CAT = list_files()
SHIPPED = sorted(CAT.mappings)


def _undeclared(cm, rng, n: int = 200) -> np.ndarray:
    """Random int32 values the compiled table does not declare (holes and out of range)."""
    lo, hi = cm.offset, cm.offset + len(cm.lut) - 1
    holes = (np.flatnonzero(~cm.declared) + lo).tolist()
    outside = [hi + 1, hi + 7, hi + 1000, lo - 1, lo - 50, 70000]
    pool = np.array(holes + outside, dtype=np.int64)
    vals = rng.choice(pool, size=n)
    return vals.astype(np.int32)


@pytest.mark.parametrize(("dataset", "ontology"), SHIPPED, ids=[f"{d}-{o}" for d, o in SHIPPED])
def test_undeclared_native_values_never_become_zero(dataset: str, ontology: str) -> None:
    tax, onto, m = load_taxonomy(dataset), load_ontology(ontology), load_mapping(dataset, ontology)
    # the ignore value of the ontology, read from the YAML itself
    raw = yaml.safe_load(CAT.ontologies[ontology].read_text())
    ignore = next(s["id"] for s in raw["special"] if s["role"] == "ignore")
    assert ignore != 0
    rng = np.random.default_rng(zlib.crc32(f"{dataset}:{ontology}".encode()))
    lenient = compile_mapping(tax, onto, m, unknown_policy="ignore")
    strict = compile_mapping(tax, onto, m, unknown_policy="error")
    bad = _undeclared(lenient, rng).reshape(10, 20)
    # declared values elsewhere in the map, so that a wrong table could also write 0 there
    declared = (np.flatnonzero(lenient.declared) + lenient.offset).astype(np.int32)
    mixed = np.where(rng.random(bad.shape) < 0.5, bad, rng.choice(declared, size=bad.shape))
    is_bad = ~np.isin(mixed, declared)
    out, _ = remap_semantic(mixed, lenient)
    assert (out[is_bad] == ignore).all()
    assert not (out[is_bad] == 0).any()
    sample = RawSample(SampleRef(dataset, "s", "test", ()), mixed)
    h = remap_sample(sample, lenient)
    assert h.unknown_pixels == int(is_bad.sum()) and (h.semantic[is_bad] == ignore).all()
    with pytest.raises(UnmappedValueError):
        remap_sample(sample, strict)


@pytest.mark.parametrize("ontology", ["nuclei", "scene"])
def test_undeclared_ontology_ids_in_evaluation_mappings(ontology: str) -> None:
    target = {"nuclei": "consep", "scene": "pascal_voc"}[ontology]
    lenient = evaluation_mapping(ontology, target, unknown_policy="ignore")
    strict = evaluation_mapping(ontology, target, unknown_policy="error")
    onto_ids = {n.id for n in load_ontology(ontology).nodes} | {
        s.id for s in load_ontology(ontology).special
    }
    holes = [v for v in range(256) if v not in onto_ids] or [256]
    pred = np.array(holes * 3, dtype=np.int32)[:60].reshape(6, 10)
    out, _ = remap_semantic(pred, lenient)
    assert (out == lenient.ignore).all() and lenient.ignore != 0
    with pytest.raises(UnmappedValueError):
        remap_sample(RawSample(SampleRef("model", "p", "test", ()), pred), strict)


@pytest.mark.parametrize("ontology", sorted(CAT.ontologies))
def test_specials_are_distinct_and_named_in_every_output(ontology: str) -> None:
    raw = yaml.safe_load(CAT.ontologies[ontology].read_text())
    specials = {s["name"]: (s["id"], s["role"]) for s in raw["special"]}
    assert len({i for i, _ in specials.values()}) == len(specials)
    node_ids = {n["id"] for n in raw["nodes"]}
    assert not node_ids & {i for i, _ in specials.values()}
    for d, o in SHIPPED:
        if o != ontology:
            continue
        cm = compile_mapping(load_taxonomy(d), load_ontology(o), load_mapping(d, o))
        for name, (sid, _role) in specials.items():
            assert cm.class_names[sid] == name
        for item in cm.report["outputs"]:
            if item["id"] in {i for i, _ in specials.values()}:
                assert item["role"] == specials[item["name"]][1]


def test_store_ontology_table_names_all_four(tmp_path) -> None:
    from harmonize.pipeline import load_config, run
    from harmonize.pipeline.demo import configs_dir, demo_config
    from harmonize.store import open_store

    cfg = demo_config(
        load_config(configs_dir() / "nuclei_merged.yaml"),
        tmp_path / "d",
        tmp_path / "o",
        n=1,
        datasets={"monusac"},
    )
    run(cfg, workers=1)
    store = open_store(cfg.output.path)
    raw = yaml.safe_load(CAT.ontologies["nuclei"].read_text())
    want = {s["role"]: (s["id"], s["name"]) for s in raw["special"]}
    assert set(want) == {"background", "unlabeled", "ignore", "ambiguous"}
    got = {c["role"]: (c["id"], c["name"]) for c in store.ontology.classes if c.get("role")}
    assert got == want
    assert store.ontology.ignore == want["ignore"][0]
    assert store.ontology.background == want["background"][0]
    # every special value has its own column in the count tables
    assert {i for i, _ in want.values()} <= set(store.class_ids.tolist())
