"""The mapping compiler on small hand-made taxonomies, against independent numpy computations.

The expected native -> output tables below are written out by hand from the toy files in
``conftest.py`` (not computed by the code under test); decoding of file values is re-done here
with plain dictionaries and ``np.vectorize``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harmonize.errors import ConfigError, TaxonomyError
from harmonize.taxonomy import (
    Level,
    compile_mapping,
    load_file,
    validate_data,
)
from harmonize.taxonomy import hierarchy as h
from harmonize.types import CompiledMapping

# Output ids of the toy ontology (conftest.ONTOLOGY).
BG, CELL, TUMOUR, IMMUNE, LYMPH, MACRO, GRASS, IGNORE = 0, 1, 2, 3, 4, 5, 6, 255

# Native id -> output id without a level, by hand from conftest.MAPPING.
EXPECTED_NO_LEVEL = {0: BG, 1: TUMOUR, 2: LYMPH, 3: IMMUNE, 4: GRASS, 255: IGNORE}
# File value -> native id of the `png` encoding (offset -1, special {254: 0, 255: 255}).
PNG_DECODE = {0: 1, 1: 2, 2: 3, 3: 4, 254: 0, 255: 255}


@pytest.fixture
def toy(toy_tree: Path):
    tax = load_file(toy_tree / "datasets/toy.yaml")
    onto = load_file(toy_tree / "ontologies/toy-onto.yaml")
    mapping = load_file(toy_tree / "mappings/toy__toy-onto.yaml")
    return tax, onto, mapping


def _apply(cm: CompiledMapping, img: np.ndarray) -> np.ndarray:
    return cm.lut[img.astype(np.int64) - cm.offset]


def _reference(img: np.ndarray, decode: dict[int, int], native_to_out: dict[int, int]):
    return np.vectorize(lambda v: native_to_out[decode[int(v)]])(img)


def _lut_as_dict(cm: CompiledMapping) -> dict[int, int]:
    return {int(i) + cm.offset: int(cm.lut[i]) for i in np.flatnonzero(cm.declared)}


def test_default_encoding_png(toy) -> None:
    tax, onto, mapping = toy
    cm = compile_mapping(tax, onto, mapping)
    assert cm.report["encoding"] == "png"
    assert cm.offset == 0
    assert cm.lut.shape == (256,)
    assert cm.out_dtype == np.uint8 and cm.lut.dtype == np.uint8
    rng = np.random.default_rng(0)
    img = rng.choice(np.array(sorted(PNG_DECODE), dtype=np.uint8), size=(64, 64))
    np.testing.assert_array_equal(_apply(cm, img), _reference(img, PNG_DECODE, EXPECTED_NO_LEVEL))
    # undeclared slots: ignore and declared=False
    undeclared = np.setdiff1d(np.arange(256), list(PNG_DECODE))
    assert not cm.declared[undeclared].any()
    assert (cm.lut[undeclared] == IGNORE).all()
    assert cm.declared[list(PNG_DECODE)].all()
    assert cm.background == BG and cm.ignore == IGNORE


def test_identity_encoding(toy) -> None:
    tax, onto, mapping = toy
    cm = compile_mapping(tax, onto, mapping, encoding="raw")
    assert cm.offset == 0 and cm.lut.shape == (256,)
    assert _lut_as_dict(cm) == EXPECTED_NO_LEVEL


def test_unknown_encoding(toy) -> None:
    tax, onto, mapping = toy
    with pytest.raises(TaxonomyError, match=r"no encoding 'jpeg'.*png, raw"):
        compile_mapping(tax, onto, mapping, encoding="jpeg")


def test_keep_instances(toy) -> None:
    tax, onto, mapping = toy
    cm = compile_mapping(tax, onto, mapping, encoding="raw")
    keep = {int(i) + cm.offset for i in np.flatnonzero(cm.keep_instances)}
    # 0 background: special; 4 Grass: no native instances; 255 void: special
    assert keep == {1, 2, 3}


def test_keep_instances_needs_a_thing_node(toy_texts, write_yaml) -> None:
    # Grass has instances natively, but the ontology's grass node is stuff.
    ds = toy_texts["dataset"].replace("name: Grass,", "name: Grass, instances: true,")
    tax = load_file(write_yaml("d.yaml", ds))
    onto = load_file(write_yaml("o.yaml", toy_texts["ontology"]))
    mapping = load_file(write_yaml("m.yaml", toy_texts["mapping"]))
    cm = compile_mapping(tax, onto, mapping, encoding="raw")
    assert not cm.keep_instances[4 - cm.offset]
    dropped = {e["id"]: e["reason"] for e in cm.report["instances_dropped"]}
    assert "not a thing" in dropped[4]


def test_instances_inherit_from_ancestors(toy_texts, write_yaml) -> None:
    onto_text = toy_texts["ontology"].replace(
        "{id: 3, name: immune, parent: cell,",
        "{id: 3, name: immune, parent: cell, instances: false,",
    )
    onto = load_file(write_yaml("o.yaml", onto_text))
    assert not h.is_thing(onto, "lymphocyte")  # inherits from immune
    assert h.is_thing(onto, "tumour")  # unset everywhere above -> True
    assert not h.is_thing(onto, "grass")
    tax = load_file(write_yaml("d.yaml", toy_texts["dataset"]))
    mapping = load_file(write_yaml("m.yaml", toy_texts["mapping"]))
    cm = compile_mapping(tax, onto, mapping, encoding="raw")
    keep = {int(i) + cm.offset for i in np.flatnonzero(cm.keep_instances)}
    assert keep == {1}


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        # cut at the roots: every cell class rolls up to `cell`
        (Level(nodes=["cell", "grass"]), {1: CELL, 2: CELL, 3: CELL, 4: GRASS}),
        (Level(depth=0), {1: CELL, 2: CELL, 3: CELL, 4: GRASS}),
        (0, {1: CELL, 2: CELL, 3: CELL, 4: GRASS}),
        # depth 1: tumour, immune, plus the shallower leaf grass
        (Level(depth=1), {1: TUMOUR, 2: IMMUNE, 3: IMMUNE, 4: GRASS}),
        (["tumour", "immune", "grass"], {1: TUMOUR, 2: IMMUNE, 3: IMMUNE, 4: GRASS}),
        ({"nodes": ["tumour", "immune", "grass"]}, {1: TUMOUR, 2: IMMUNE, 3: IMMUNE, 4: GRASS}),
        # a deep level: the leaves; Inflammatory (-> immune) is coarser, kept at immune
        (Level(depth=9), {1: TUMOUR, 2: LYMPH, 3: IMMUNE, 4: GRASS}),
    ],
)
def test_levels_keep(toy, level, expected) -> None:
    tax, onto, mapping = toy
    cm = compile_mapping(tax, onto, mapping, level, encoding="raw")
    assert _lut_as_dict(cm) == {0: BG, 255: IGNORE, **expected}
    rng = np.random.default_rng(1)
    img = rng.choice(np.array([0, 1, 2, 3, 4, 255]), size=(32, 48))
    ref = _reference(img, {v: v for v in (0, 1, 2, 3, 4, 255)}, {0: BG, 255: IGNORE, **expected})
    np.testing.assert_array_equal(_apply(cm, img), ref)


def test_level_cut_names(toy) -> None:
    _, onto, _ = toy
    assert set(h.cut_at_depth(onto, 0)) == {"cell", "grass"}
    assert set(h.cut_at_depth(onto, 1)) == {"tumour", "immune", "grass"}
    assert set(h.cut_at_depth(onto, 2)) == {"tumour", "lymphocyte", "macrophage", "grass"}


def test_coarse_policy_keep_and_ignore(toy) -> None:
    tax, onto, mapping = toy
    level = Level(nodes=["tumour", "lymphocyte", "macrophage", "grass"])
    keep = compile_mapping(tax, onto, mapping, level, coarse_policy="keep", encoding="raw")
    assert _lut_as_dict(keep)[3] == IMMUNE
    assert keep.keep_instances[3 - keep.offset]
    assert keep.class_names[IMMUNE] == "immune"  # joins the output classes
    [item] = keep.report["policy"]
    assert item["id"] == 3 and item["action"] == "keep"
    assert item["reason"] == "coarser than the level"
    assert item["cut_below"] == ["lymphocyte", "macrophage"]

    ign = compile_mapping(tax, onto, mapping, level, coarse_policy="ignore", encoding="raw")
    assert _lut_as_dict(ign) == {0: BG, 1: TUMOUR, 2: LYMPH, 3: IGNORE, 4: GRASS, 255: IGNORE}
    assert not ign.keep_instances[3 - ign.offset]
    assert IMMUNE not in ign.class_names
    assert [e["id"] for e in ign.report["policy"]] == [3]
    assert any(e["id"] == 3 and e["reason"].startswith("policy") for e in ign.report["ignored"])
    assert any(e["id"] == 3 for e in ign.report["instances_dropped"])


def test_uncovered_nodes_follow_the_policy(toy) -> None:
    tax, onto, mapping = toy
    cm = compile_mapping(tax, onto, mapping, ["lymphocyte"], coarse_policy="ignore", encoding="raw")
    assert _lut_as_dict(cm) == {0: BG, 1: IGNORE, 2: LYMPH, 3: IGNORE, 4: IGNORE, 255: IGNORE}
    reasons = {e["id"]: e["reason"] for e in cm.report["policy"]}
    assert reasons == {
        1: "not covered by the level",
        3: "coarser than the level",
        4: "not covered by the level",
    }


def test_level_errors(toy) -> None:
    tax, onto, mapping = toy
    with pytest.raises(TaxonomyError, match="ancestor") as info:
        compile_mapping(tax, onto, mapping, ["immune", "lymphocyte"])
    assert info.value.path == onto._source
    with pytest.raises(TaxonomyError, match=r"'lymphocite' \(did you mean 'lymphocyte'\?\)"):
        compile_mapping(tax, onto, mapping, ["lymphocite"])
    with pytest.raises(ConfigError, match="coarse_policy"):
        compile_mapping(tax, onto, mapping, coarse_policy="drop")  # type: ignore[arg-type]


def test_report(toy) -> None:
    tax, onto, mapping = toy
    cm = compile_mapping(tax, onto, mapping, Level(nodes=["cell", "grass"]), encoding="raw")
    report = json.loads(json.dumps(cm.report))  # JSON-serialisable
    assert report["level"] == {"nodes": ["cell", "grass"]}
    assert report["cut"] == ["cell", "grass"]
    merged = {m["name"]: sorted(s["id"] for s in m["sources"]) for m in report["merged"]}
    assert merged == {"cell": [1, 2, 3]}
    assert [c["id"] for c in report["coarse"]] == [3]
    assert report["coarse"][0]["note"] == "not subtyped"
    assert sorted(r["id"] for r in report["rolled_up"]) == [1, 2, 3]
    outputs = {o["id"]: o["name"] for o in report["outputs"]}
    assert outputs == {BG: "background", CELL: "cell", GRASS: "grass", IGNORE: "ignore"}
    assert cm.class_names == {
        BG: "background",
        CELL: "cell",
        GRASS: "grass",
        250: "ambiguous",
        IGNORE: "ignore",
    }


def test_no_level_class_names_cover_all_nodes(toy) -> None:
    tax, onto, mapping = toy
    cm = compile_mapping(tax, onto, mapping)
    assert set(cm.class_names) == {n.id for n in onto.nodes} | {s.id for s in onto.special}
    assert cm.report["level"] is None and cm.report["cut"] is None


def _models(dataset: dict, ontology: dict, mapping: dict):
    return validate_data(dataset), validate_data(ontology), validate_data(mapping)


def test_negative_ids_and_python_built_models() -> None:
    # A Cityscapes-like license plate at -1, identity encoding; models built without YAML.
    tax, onto, mapping = _models(
        {
            "kind": "dataset",
            "name": "city",
            "title": "City",
            "classes": [
                {"id": -1, "name": "license plate", "instances": True},
                {"id": 0, "name": "unlabeled", "role": "unlabeled"},
                {"id": 1, "name": "car", "instances": True},
                {"id": 5, "name": "road"},
            ],
        },
        {
            "kind": "ontology",
            "name": "o",
            "title": "O",
            "special": [{"id": 300, "name": "ignore", "role": "ignore"}],
            "nodes": [
                {"id": 0, "name": "car", "color": [0, 0, 1]},
                {"id": 1, "name": "road", "color": [0, 1, 0], "instances": False},
            ],
        },
        {
            "kind": "mapping",
            "dataset": "city",
            "ontology": "o",
            "rules": [
                {"id": -1, "name": "license plate", "to": "ignore"},
                {"id": 0, "to": "ignore"},
                {"id": 1, "to": "car"},
                {"id": 5, "to": "road"},
            ],
        },
    )
    cm = compile_mapping(tax, onto, mapping)
    assert cm.offset == -1
    assert cm.out_dtype == np.uint16  # ignore is 300: the smallest unsigned type is uint16
    assert cm.lut.shape == (7,)  # -1 .. 5
    img = np.array([[-1, 0, 1], [5, 5, 1]], dtype=np.int32)
    ref = _reference(img, {v: v for v in (-1, 0, 1, 5)}, {-1: 300, 0: 300, 1: 0, 5: 1})
    np.testing.assert_array_equal(_apply(cm, img), ref)
    assert cm.declared.tolist() == [True, True, True, False, False, False, True]
    assert cm.keep_instances.tolist() == [False, False, True, False, False, False, False]
    assert cm.background is None


def test_negative_file_values_from_offset() -> None:
    # offset -1 without a special entry for class 0: file value -1 (a signed file format).
    tax = validate_data(
        {
            "kind": "dataset",
            "name": "d",
            "title": "D",
            "encodings": [{"name": "signed", "description": "x", "dtype": "int32", "offset": -1}],
            "classes": [{"id": 0, "name": "a"}, {"id": 3, "name": "b"}],
        }
    )
    onto = validate_data(
        {
            "kind": "ontology",
            "name": "o",
            "title": "O",
            "special": [{"id": 9, "name": "ignore", "role": "ignore"}],
            "nodes": [{"id": 1, "name": "a", "color": [1, 1, 1]}],
        }
    )
    mapping = validate_data(
        {
            "kind": "mapping",
            "dataset": "d",
            "ontology": "o",
            "rules": [{"id": 0, "to": "a"}, {"id": 3, "to": "ignore"}],
        }
    )
    cm = compile_mapping(tax, onto, mapping)
    assert cm.offset == -1
    assert _lut_as_dict(cm) == {-1: 1, 2: 9}
    assert cm.lut.shape == (4,)


def test_errors_of_python_built_models_have_no_path() -> None:
    tax = validate_data(
        {"kind": "dataset", "name": "d", "title": "D", "classes": [{"id": 0, "name": "a"}]}
    )
    onto = validate_data(
        {
            "kind": "ontology",
            "name": "o",
            "title": "O",
            "special": [{"id": 9, "name": "ignore", "role": "ignore"}],
            "nodes": [{"id": 1, "name": "a", "color": [1, 1, 1]}],
        }
    )
    mapping = validate_data(
        {"kind": "mapping", "dataset": "d", "ontology": "o", "rules": [{"id": 0, "to": "b"}]}
    )
    with pytest.raises(TaxonomyError, match="'b' is neither") as info:
        compile_mapping(tax, onto, mapping)
    assert info.value.path is None and info.value.line is None


def test_rule_names_compare_loosely(toy_texts, write_yaml) -> None:
    text = toy_texts["mapping"].replace("name: Tumour,", "name: '  tumour ',")
    tax = load_file(write_yaml("d.yaml", toy_texts["dataset"]))
    onto = load_file(write_yaml("o.yaml", toy_texts["ontology"]))
    with pytest.raises(TaxonomyError):  # leading whitespace is not a valid name
        load_file(write_yaml("m.yaml", text))
    text = toy_texts["mapping"].replace("name: Tumour,", "name: TUMOUR,")
    cm = compile_mapping(tax, onto, load_file(write_yaml("m2.yaml", text)))
    assert cm.lut[0] == TUMOUR


def test_hierarchy_helpers(toy) -> None:
    _, onto, _ = toy
    assert h.ancestors(onto, "lymphocyte") == ["immune", "cell"]
    assert h.ancestors(onto, "cell") == []
    assert h.children(onto, "immune") == ["lymphocyte", "macrophage"]
    assert h.roots(onto) == ["cell", "grass"]
    assert h.depth(onto, "macrophage") == 2
    assert set(h.descendants(onto, "cell")) == {"tumour", "immune", "lymphocyte", "macrophage"}
    assert set(h.leaves(onto)) == {"tumour", "lymphocyte", "macrophage", "grass"}
    assert h.roll_up(onto, "lymphocyte", {"immune", "tumour"}) == "immune"
    assert h.roll_up(onto, "grass", {"immune"}) is None
    assert h.is_antichain(onto, ["immune", "macrophage"]) == ("immune", "macrophage")
    assert h.is_antichain(onto, ["tumour", "macrophage"]) is None
    with pytest.raises(KeyError):
        h.ancestors(onto, "nope")


def test_reload_after_edit(toy_texts, write_yaml) -> None:
    p = write_yaml("d.yaml", toy_texts["dataset"])
    assert load_file(p).title == "Toy dataset"
    p.write_text(toy_texts["dataset"].replace("Toy dataset", "Edited toy"), encoding="utf-8")
    assert load_file(p).title == "Edited toy"


def test_level_from_a_generator_and_bad_levels(toy) -> None:
    tax, onto, mapping = toy
    cm = compile_mapping(tax, onto, mapping, (n for n in ["cell", "grass"]), encoding="raw")
    assert cm.report["level"] == {"nodes": ["cell", "grass"]}
    assert _lut_as_dict(cm)[2] == CELL
    with pytest.raises(ConfigError, match="invalid level"):
        compile_mapping(tax, onto, mapping, {"nodes": ["cell"], "depth": 1})
    with pytest.raises(ConfigError, match="invalid level"):
        compile_mapping(tax, onto, mapping, -1)
