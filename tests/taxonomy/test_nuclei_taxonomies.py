"""The shipped nuclei taxonomies against the datasets' own documented conventions.

Expected values are embedded in this file (written from the project's nuclei_datasets.md notes,
which live outside the repository and are never read by tests, and from the dataset documents they
quote), not read back from the YAML files: the CoNSeP README class table and
HoVer-Net's merge snippet (§1.4), the PanNuke channel order (§2.3) and HoVer-Net ``type_info.json``
colours, MoNuSAC's official ``label_map`` (§3.3), Lizard's ``read_label.py`` classes (§5.1), the
§8.1 mapping table and the ``nuclei`` tree asked for in project issue 2.

Files are validated both through the pydantic models directly and through harmonize's loader;
mappings are applied both from the YAML rules by hand and through the compiled lookup table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import TypeAdapter

from harmonize.taxonomy.catalog import list_files, load_ontology, load_taxonomy
from harmonize.taxonomy.checks import check_file
from harmonize.taxonomy.compile import compile_mapping
from harmonize.taxonomy.loader import load_file
from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology, TaxonomyFile

ROOT = Path(__file__).resolve().parents[2] / "taxonomies"
#: Every dataset with a mapping onto `nuclei` (derived: a new one is checked without an edit here).
NUCLEI_DATASETS = tuple(sorted(d for d, o in list_files(ROOT).mappings if o == "nuclei"))
#: Reference facts (reference §1): datasets with one nucleus class, magnifications. Datasets not
#: listed here are still checked by every generic test.
SEGMENTATION_ONLY = ("cpm17", "kumar", "monuseg")
MAGNIFICATION = {"lizard": "20x", "conic": "20x", "cpm17": "20x and 40x", "pannuke": "40x",
                 "consep": "40x", "kumar": "40x", "monusac": "40x", "monuseg": "40x"}  # fmt: skip

DATASET_FILES = [ROOT / "datasets" / f"{d}.yaml" for d in NUCLEI_DATASETS]
ONTOLOGY_FILES = [ROOT / "ontologies" / "nuclei.yaml", ROOT / "ontologies" / "consep-4.yaml"]
MAPPING_FILES = [ROOT / "mappings" / f"{d}__nuclei.yaml" for d in NUCLEI_DATASETS] + [
    ROOT / "mappings" / "consep__consep-4.yaml"
]
ALL_FILES = DATASET_FILES + ONTOLOGY_FILES + MAPPING_FILES

_ADAPTER: TypeAdapter[Any] = TypeAdapter(TaxonomyFile)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def _model(path: Path) -> DatasetTaxonomy | Ontology | Mapping:
    with path.open(encoding="utf-8") as fh:
        return _ADAPTER.validate_python(yaml.safe_load(fh))


def _dataset(name: str) -> DatasetTaxonomy:
    model = _model(ROOT / "datasets" / f"{name}.yaml")
    assert isinstance(model, DatasetTaxonomy)
    return model


def _ontology(name: str) -> Ontology:
    model = _model(ROOT / "ontologies" / f"{name}.yaml")
    assert isinstance(model, Ontology)
    return model


def _mapping(dataset: str, ontology: str) -> Mapping:
    model = _model(ROOT / "mappings" / f"{dataset}__{ontology}.yaml")
    assert isinstance(model, Mapping)
    return model


def _compiled(dataset: str, ontology: str) -> Any:
    """The compiled mapping, from files read by the shared loader."""
    return compile_mapping(
        load_file(ROOT / "datasets" / f"{dataset}.yaml"),
        load_file(ROOT / "ontologies" / f"{ontology}.yaml"),
        load_file(ROOT / "mappings" / f"{dataset}__{ontology}.yaml"),
    )


def _output_ids(onto: Ontology) -> dict[str, int]:
    """Ontology name (node or special value) -> output id."""
    ids = {s.name: s.id for s in onto.special}
    ids.update({n.name: n.id for n in onto.nodes})
    return ids


def _rule_table(dataset: str, ontology: str) -> dict[int, int]:
    """Native id -> output id, straight from the YAML rules (no compiler)."""
    ids = _output_ids(_ontology(ontology))
    return {r.id: ids[r.to] for r in _mapping(dataset, ontology).rules}


def _apply(dataset: str, ontology: str, native: np.ndarray) -> list[np.ndarray]:
    """Map ``native`` through the YAML rules and through the compiled LUT."""
    table = _rule_table(dataset, ontology)
    out = np.full(native.shape, -1, dtype=np.int64)
    for src, dst in table.items():
        out[native == src] = dst
    compiled = _compiled(dataset, ontology)
    lut = np.asarray(compiled.lut)
    return [out, lut[native.astype(np.int64) - int(compiled.offset)].astype(np.int64)]


def _parents(onto: Ontology) -> dict[str, str | None]:
    return {n.name: n.parent for n in onto.nodes}


def _ancestors(onto: Ontology, name: str) -> list[str]:
    parents = _parents(onto)
    out: list[str] = []
    cur = parents[name]
    while cur is not None:
        out.append(cur)
        cur = parents[cur]
    return out


# ------------------------------------------------------------------------------------------------
# every file validates
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_file_validates_through_models(path: Path) -> None:
    model = _model(path)
    expected = {"datasets": DatasetTaxonomy, "ontologies": Ontology, "mappings": Mapping}
    assert isinstance(model, expected[path.parent.name])


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_file_passes_within_file_checks(path: Path) -> None:
    check_file(_model(path))


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_file_loads_through_loader(path: Path) -> None:
    loaded = load_file(path)
    assert type(loaded) is type(_model(path))
    assert loaded.model_dump() == _model(path).model_dump()


@pytest.mark.parametrize("dataset", NUCLEI_DATASETS)
def test_catalog_finds_files_by_name(dataset: str) -> None:
    assert load_taxonomy(dataset).name == dataset
    assert load_ontology("nuclei").name == "nuclei"
    assert load_ontology("consep-4").name == "consep-4"


@pytest.mark.parametrize("dataset", NUCLEI_DATASETS)
def test_file_names_match_declared_names(dataset: str) -> None:
    assert _dataset(dataset).name == dataset
    m = _mapping(dataset, "nuclei")
    assert (m.dataset, m.ontology) == (dataset, "nuclei")
    assert _ontology("nuclei").name == "nuclei"
    assert _ontology("consep-4").name == "consep-4"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_file_starts_with_source_comment(path: Path) -> None:
    head = path.read_text(encoding="utf-8").splitlines()[:12]
    assert head[0].startswith("#")
    assert any("nuclei_datasets.md" in line for line in head if line.startswith("#"))


# ------------------------------------------------------------------------------------------------
# native ids of each dataset (reference tables)
# ------------------------------------------------------------------------------------------------

# CoNSeP README "Class values" (reference §1.4).
CONSEP_README = {
    0: "background",
    1: "other",
    2: "inflammatory",
    3: "healthy epithelial",
    4: "dysplastic/malignant epithelial",
    5: "fibroblast",
    6: "muscle",
    7: "endothelial",
}


def test_consep_ids_and_names_are_the_readme_table() -> None:
    tax = _dataset("consep")
    assert {c.id: c.name for c in tax.classes} == CONSEP_README
    roles = {c.id: c.role for c in tax.classes}
    assert roles[0] == "background"
    assert all(roles[i] == "class" for i in range(1, 8))
    assert all(c.instances for c in tax.classes if c.id != 0)


# PanNuke-metrics README: "ordering of the channels from index 0 to 4 is neoplastic, inflammatory,
# connective tissue, dead and non-neoplastic epithelial"; channel 5 background (reference §2.3).
PANNUKE_CHANNELS = ("neoplastic", "inflammatory", "connective", "dead", "epithelial")
# vqdang/hover_net type_info.json: type id -> (short name, colour).
HOVERNET_PANNUKE_TYPE_INFO = {
    0: ("nolabe", (0, 0, 0)),
    1: ("neopla", (255, 0, 0)),
    2: ("inflam", (0, 255, 0)),
    3: ("connec", (0, 0, 255)),
    4: ("necros", (255, 255, 0)),
    5: ("no-neo", (255, 165, 0)),
}


def test_pannuke_class_id_is_channel_plus_one() -> None:
    tax = _dataset("pannuke")
    by_id = {c.id: c for c in tax.classes}
    assert set(by_id) == {0, 1, 2, 3, 4, 5, 255}
    for channel, word in enumerate(PANNUKE_CHANNELS):
        cls = by_id[channel + 1]
        assert word in cls.name.lower(), (channel, cls.name)
        assert cls.role == "class" and cls.instances
        assert cls.attributes.get("channel") == channel
    assert by_id[0].role == "background" and by_id[0].attributes.get("channel") == 5
    assert by_id[255].role == "void" and not by_id[255].instances


def test_pannuke_colours_are_hovernet_type_info() -> None:
    by_id = {c.id: c for c in _dataset("pannuke").classes}
    for tid, (short, colour) in HOVERNET_PANNUKE_TYPE_INFO.items():
        assert by_id[tid].color == colour
        assert by_id[tid].attributes.get("hovernet_name") == short


def test_pannuke_collapsed_stack_yields_only_declared_ids() -> None:
    """The engine's channel collapse (what the reader emits) agrees with the taxonomy."""
    from harmonize.engine.kernels import collapse_channels

    rng = np.random.default_rng(0)
    h = w = 32
    stack = np.zeros((h, w, 6), dtype=np.float64)
    owner = rng.integers(-1, 6, size=(h, w))  # -1 = void, 0..4 class channel, 5 background
    for c in range(5):
        stack[..., c] = np.where(owner == c, 1000.0 + c, 0.0)
    stack[..., 5] = (owner == 5).astype(np.float64)
    tax = _dataset("pannuke")
    channel_of = {c.attributes["channel"]: c.id for c in tax.classes if "channel" in c.attributes}
    void = next(c.id for c in tax.classes if c.role == "void")
    classes = np.array([channel_of[c] for c in range(5)])
    semantic = collapse_channels(stack, classes, background_channel=5, background=0, void=void)[0]
    # Independent expectation: channel c -> c + 1 (reference §2.3), background 0, void 255.
    expected = np.where(owner == -1, 255, np.where(owner == 5, 0, owner + 1))
    np.testing.assert_array_equal(semantic, expected)


# MoNuSAC official Cell_counting.ipynb label_map, eva bg 0 / Ambiguous 5 (reference §3.3);
# organiser colours from adfoucart result_parser.py (§3.5).
MONUSAC_LABEL_MAP = {"Epithelial": 1, "Lymphocyte": 2, "Neutrophil": 3, "Macrophage": 4}
MONUSAC_COLOURS = {
    "Epithelial": (255, 0, 0),
    "Lymphocyte": (255, 255, 0),
    "Neutrophil": (0, 0, 255),
    "Macrophage": (0, 255, 0),
}


def test_monusac_class_names_and_ids() -> None:
    tax = _dataset("monusac")
    by_name = {c.name: c for c in tax.classes}
    for name, cid in MONUSAC_LABEL_MAP.items():
        assert by_name[name].id == cid
        assert by_name[name].role == "class" and by_name[name].instances
        assert by_name[name].color == MONUSAC_COLOURS[name]
    assert by_name["Ambiguous"].id == 5 and by_name["Ambiguous"].role == "ambiguous"
    assert {c.id for c in tax.classes} == {0, 1, 2, 3, 4, 5}
    assert next(c for c in tax.classes if c.id == 0).role == "background"
    # The class lives in the XML as a string (Attribute@Name), so the default encoding says so.
    assert tax.encodings[0].dtype == "str"


# Lizard read_label.py / CoNIC README (reference §5.1): 5 is Eosinophil (README typo says Neutrophil).
LIZARD_CLASSES = {
    1: "neutrophil",
    2: "epithelial",
    3: "lymphocyte",
    4: "plasma",
    5: "eosinophil",
    6: "connective",
}


def test_lizard_ids() -> None:
    tax = _dataset("lizard")
    by_id = {c.id: c for c in tax.classes}
    assert set(by_id) == {0, *LIZARD_CLASSES}
    assert by_id[0].role == "background"
    for cid, word in LIZARD_CLASSES.items():
        assert by_id[cid].name.lower().startswith(word)
        assert by_id[cid].instances
    assert "neutrophil" not in by_id[5].name.lower()


@pytest.mark.parametrize("dataset", SEGMENTATION_ONLY)
def test_segmentation_only_datasets_have_background_and_nucleus(dataset: str) -> None:
    tax = _dataset(dataset)
    by_id = {c.id: c for c in tax.classes}
    assert set(by_id) == {0, 1}
    assert by_id[0].role == "background"
    assert by_id[1].role == "class" and by_id[1].instances
    assert tax.task == "instance"


@pytest.mark.parametrize("dataset", NUCLEI_DATASETS)
def test_dataset_documents_encoding_and_magnification(dataset: str) -> None:
    tax = _dataset(dataset)
    assert tax.encodings, "the default encoding must be stated"
    assert all(e.instance for e in tax.encodings), "every encoding says how instances are stored"
    assert "magnification" in tax.attributes, "the magnification must be stated"
    if dataset in MAGNIFICATION:
        assert str(tax.attributes["magnification"]).startswith(MAGNIFICATION[dataset])


# ------------------------------------------------------------------------------------------------
# HoVer-Net CoNSeP merge (reference §1.4, hover_net dataset.py __CoNSeP.load_ann)
# ------------------------------------------------------------------------------------------------


def _hovernet_merge(type_map: np.ndarray) -> np.ndarray:
    ann_type = type_map.copy()
    ann_type[(ann_type == 3) | (ann_type == 4)] = 3
    ann_type[(ann_type == 5) | (ann_type == 6) | (ann_type == 7)] = 4
    return ann_type


def test_consep_4_reproduces_hovernet_merge_exactly() -> None:
    rng = np.random.default_rng(69)
    type_map = rng.integers(0, 8, size=(96, 80)).astype(np.int32)
    expected = _hovernet_merge(type_map)
    for got in _apply("consep", "consep-4", type_map):
        np.testing.assert_array_equal(got, expected)


def test_consep_4_is_flat_with_hovernet_names() -> None:
    onto = _ontology("consep-4")
    assert all(n.parent is None for n in onto.nodes)
    ids = _output_ids(onto)
    # tensorflow-final src/config.py nuclei_type_dict / eva consep.py names.
    assert ids["background"] == 0 and ids["ignore"] == 255
    titles = {n.id: (n.title or n.name).lower() for n in onto.nodes}
    assert titles[1] == "miscellaneous"
    assert titles[2].startswith("inflam")
    assert titles[3].startswith("epith")
    assert titles[4].startswith("spindle")
    assert {s.role for s in onto.special} == {"background", "ignore"}


def test_consep_hovernet_merged_id_attribute_agrees_with_snippet() -> None:
    for cls in _dataset("consep").classes:
        if cls.id == 0:
            continue
        merged = _hovernet_merge(np.array([cls.id]))[0]
        assert cls.attributes["hovernet_merged_id"] == merged


# ------------------------------------------------------------------------------------------------
# the nuclei ontology (issue 2 tree) and every mapping onto it
# ------------------------------------------------------------------------------------------------

# Issue 2: nucleus (root) -> epithelial {neoplastic, non-neoplastic}, immune {lymphoid
# {lymphocyte, plasma}, myeloid {macrophage, granulocyte {neutrophil, eosinophil}}}, stromal
# {fibroblast, muscle, endothelial}, dead, other.
ISSUE_TREE: dict[str, str | None] = {
    "nucleus": None,
    "epithelial": "nucleus",
    "neoplastic_epithelial": "epithelial",
    "non_neoplastic_epithelial": "epithelial",
    "immune": "nucleus",
    "lymphoid": "immune",
    "lymphocyte": "lymphoid",
    "plasma": "lymphoid",
    "myeloid": "immune",
    "macrophage": "myeloid",
    "granulocyte": "myeloid",
    "neutrophil": "granulocyte",
    "eosinophil": "granulocyte",
    "stromal": "nucleus",
    "fibroblast": "stromal",
    "muscle": "stromal",
    "endothelial": "stromal",
    "dead": "nucleus",
    "other": "nucleus",
}


def test_nuclei_tree_is_the_issue_tree() -> None:
    onto = _ontology("nuclei")
    assert _parents(onto) == ISSUE_TREE
    assert _ancestors(onto, "lymphocyte") == ["lymphoid", "immune", "nucleus"]
    assert _ancestors(onto, "eosinophil") == ["granulocyte", "myeloid", "immune", "nucleus"]
    assert _ancestors(onto, "neoplastic_epithelial") == ["epithelial", "nucleus"]


def test_nuclei_nodes_ids_names_colours() -> None:
    onto = _ontology("nuclei")
    ids = [n.id for n in onto.nodes] + [s.id for s in onto.special]
    assert len(ids) == len(set(ids)) and max(ids) <= 255
    names = [n.name for n in onto.nodes]
    assert all(name == name.lower() for name in names)
    colours = [n.color for n in onto.nodes]
    assert len(set(colours)) == len(colours), "node colours must be distinct"
    root = next(n for n in onto.nodes if n.parent is None)
    assert root.instances is True
    # No node turns instances off: every nucleus class is a thing.
    assert all(n.instances in (None, True) for n in onto.nodes)
    assert all(n.description for n in onto.nodes)
    assert all(x.startswith("CL:") for n in onto.nodes for x in n.xref)


def test_nuclei_special_values_are_distinct_and_named() -> None:
    onto = _ontology("nuclei")
    by_role = {s.role: s for s in onto.special}
    assert set(by_role) == {"background", "ignore", "unlabeled", "ambiguous"}
    assert len(onto.special) == 4
    assert by_role["background"].id == 0
    assert by_role["ignore"].id == 255
    assert len({s.id for s in onto.special}) == 4
    assert len({s.name for s in onto.special}) == 4


# Reference §8.1 (source id -> node, flag), in this ontology's node names.
EXPECTED_NUCLEI = {
    "consep": {
        0: ("background", None),
        1: ("other", "exact"),
        2: ("immune", "coarse"),
        3: ("non_neoplastic_epithelial", "exact"),
        4: ("neoplastic_epithelial", "exact"),
        5: ("fibroblast", "exact"),
        6: ("muscle", "exact"),
        7: ("endothelial", "exact"),
    },
    "pannuke": {
        0: ("background", None),
        # §8 footnote: strict lineage tree -> epithelial neoplastic node, flagged approx.
        1: ("neoplastic_epithelial", "approx"),
        2: ("immune", "coarse"),
        3: ("stromal", "coarse"),
        4: ("dead", "exact"),
        5: ("non_neoplastic_epithelial", "exact"),
        255: ("ignore", None),
    },
    "monusac": {
        0: ("background", None),
        1: ("epithelial", "coarse"),
        2: ("lymphocyte", "exact"),
        3: ("neutrophil", "exact"),
        4: ("macrophage", "exact"),
        5: ("ambiguous", None),
    },
    "lizard": {
        0: ("background", None),
        1: ("neutrophil", "exact"),
        2: ("epithelial", "coarse"),
        3: ("lymphocyte", "exact"),
        4: ("plasma", "exact"),
        5: ("eosinophil", "exact"),
        6: ("stromal", "coarse"),
    },
    # §5.2: CoNIC's type map uses Lizard's class ids, so §8.1's Lizard / CoNIC row.
    "conic": {
        0: ("background", None),
        1: ("neutrophil", "exact"),
        2: ("epithelial", "coarse"),
        3: ("lymphocyte", "exact"),
        4: ("plasma", "exact"),
        5: ("eosinophil", "exact"),
        6: ("stromal", "coarse"),
    },
    # Segmentation only, plus the annotators' vague areas (masih4/NuInsSeg README: regions too
    # ambiguous to segment) as the ontology's ambiguous value, like MoNuSAC's Ambiguous.
    "nuinsseg": {0: ("background", None), 1: ("nucleus", "coarse"), 255: ("ambiguous", None)},
    **{d: {0: ("background", None), 1: ("nucleus", "coarse")} for d in SEGMENTATION_ONLY},
}


@pytest.mark.parametrize("dataset", sorted(EXPECTED_NUCLEI))
def test_mapping_matches_reference_table(dataset: str) -> None:
    rules = {r.id: r for r in _mapping(dataset, "nuclei").rules}
    expected = EXPECTED_NUCLEI[dataset]
    assert set(rules) == set(expected)
    for cid, (node, kind) in expected.items():
        assert rules[cid].to == node, (dataset, cid)
        if kind is not None:
            assert rules[cid].kind == kind, (dataset, cid)


@pytest.mark.parametrize(
    ("dataset", "ontology"), [(d, "nuclei") for d in NUCLEI_DATASETS] + [("consep", "consep-4")]
)
def test_every_native_class_reaches_a_node_or_explicit_special(dataset: str, ontology: str) -> None:
    tax = _dataset(dataset)
    onto = _ontology(ontology)
    mapping = _mapping(dataset, ontology)
    rules = {r.id: r for r in mapping.rules}
    assert len(rules) == len(mapping.rules), "a native id has two rules"
    assert set(rules) == {c.id for c in tax.classes}, "every native id mapped, none invented"
    nodes = {n.name for n in onto.nodes}
    special_role = {s.name: s.role for s in onto.special}
    expected_special = {"background": "background", "void": "ignore", "ambiguous": "ambiguous"}
    roots = {n.name for n in onto.nodes if n.parent is None}
    for cls in tax.classes:
        rule = rules[cls.id]
        assert rule.name == cls.name, f"{dataset} id {cls.id}: rule name {rule.name!r}"
        if cls.role == "class":
            assert rule.to in nodes, f"{dataset} {cls.name!r} must reach a tree node"
            top = ([rule.to, *_ancestors(onto, rule.to)])[-1]
            assert top in roots
            if ontology == "nuclei":
                assert top == "nucleus"
        else:
            assert special_role.get(rule.to) == expected_special[cls.role], (dataset, cls.name)


@pytest.mark.parametrize("dataset", NUCLEI_DATASETS)
def test_mapping_kinds_agree_with_the_tree(dataset: str) -> None:
    """`coarse` targets an internal node; `exact` onto a node targets a leaf."""
    onto = _ontology("nuclei")
    internal = {n.parent for n in onto.nodes if n.parent is not None}
    nodes = {n.name for n in onto.nodes}
    for rule in _mapping(dataset, "nuclei").rules:
        if rule.to not in nodes:
            continue
        if rule.kind == "coarse":
            assert rule.to in internal, (dataset, rule.name)
        elif rule.kind == "exact":
            assert rule.to not in internal, (dataset, rule.name)
        if rule.kind != "exact":
            assert rule.note, f"{dataset} {rule.name!r}: a {rule.kind} rule needs a note"


@pytest.mark.parametrize("dataset", NUCLEI_DATASETS)
def test_mapping_applied_to_a_label_map(dataset: str) -> None:
    """Rules (and the compiled LUT, when present) send each native value to its §8.1 node."""
    onto_ids = _output_ids(_ontology("nuclei"))
    native_ids = np.array(sorted(EXPECTED_NUCLEI[dataset]))
    rng = np.random.default_rng(len(dataset))
    native = native_ids[rng.integers(0, len(native_ids), size=(48, 40))]
    expected = np.vectorize(lambda v: onto_ids[EXPECTED_NUCLEI[dataset][int(v)][0]])(native)
    for got in _apply(dataset, "nuclei", native):
        np.testing.assert_array_equal(got, expected)


def test_compiled_consep_4_keeps_instances_of_nuclei_only() -> None:
    compiled = _compiled("consep", "consep-4")
    keep = np.asarray(compiled.keep_instances)
    off = int(compiled.offset)
    assert not keep[0 - off]
    assert all(keep[i - off] for i in range(1, 8))


def test_consep_on_nuclei_cut_at_lineage_equals_hovernet_merge() -> None:
    """CoNSeP -> nuclei cut at the lineage level (issue 2's example cut) is HoVer-Net's merge."""
    compiled = compile_mapping(
        load_file(ROOT / "datasets" / "consep.yaml"),
        load_file(ROOT / "ontologies" / "nuclei.yaml"),
        load_file(ROOT / "mappings" / "consep__nuclei.yaml"),
        level=["epithelial", "immune", "stromal", "dead", "other"],
    )
    rng = np.random.default_rng(7)
    type_map = rng.integers(0, 8, size=(64, 64)).astype(np.int32)
    out = np.asarray(compiled.lut)[type_map - int(compiled.offset)]
    names = np.vectorize(lambda v: compiled.class_names[int(v)])(out)
    # HoVer-Net merged ids in words (tensorflow-final nuclei_type_dict; §8.1 "CoNSeP merged").
    merged_words = {0: "background", 1: "other", 2: "immune", 3: "epithelial", 4: "stromal"}
    expected = np.vectorize(merged_words.__getitem__)(_hovernet_merge(type_map))
    np.testing.assert_array_equal(names, expected)
