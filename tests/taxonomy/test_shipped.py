"""Every shipped file under taxonomies/ validates; every mapping compiles and covers every native id.

Runs on whatever files exist (other issues add more); the catalog must find files of every kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonize.taxonomy import (
    compile_mapping,
    file_values,
    list_files,
    load_file,
    load_mapping,
    load_ontology,
    load_taxonomy,
    taxonomies_dir,
)
from harmonize.taxonomy import hierarchy as h

CATALOG = list_files()
REPO_TAXONOMIES = Path(__file__).resolve().parents[2] / "taxonomies"


def _params(items):
    return list(items)


def test_catalog_finds_every_kind() -> None:
    """The parametrized tests below run on the catalog: an empty one must fail, not skip them."""
    assert CATALOG.datasets and CATALOG.ontologies and CATALOG.mappings
    assert set(CATALOG.files()) >= {*CATALOG.datasets.values(), *CATALOG.ontologies.values()}


def test_taxonomies_dir_is_the_repo_folder(monkeypatch) -> None:
    monkeypatch.delenv("HARMONIZE_TAXONOMIES", raising=False)
    assert taxonomies_dir().resolve() == REPO_TAXONOMIES.resolve()


@pytest.mark.parametrize("path", _params(CATALOG.files()), ids=lambda p: p and p.name)
def test_file_validates(path: Path) -> None:
    model = load_file(path)
    folder = {"dataset": "datasets", "ontology": "ontologies", "mapping": "mappings"}[model.kind]
    assert path.parent.name == folder, f"{path}: a {model.kind} file belongs in {folder}/"
    if model.kind == "mapping":
        assert path.stem == f"{model.dataset}__{model.ontology}"
    else:
        assert path.stem == model.name
    assert path.read_text(encoding="utf-8").lstrip().startswith("#"), (
        f"{path}: every shipped YAML starts with a comment block citing its sources"
    )


@pytest.mark.parametrize(
    "pair", _params(sorted(CATALOG.mappings)), ids=lambda p: p and "__".join(p)
)
def test_mapping_compiles_and_covers_every_native_id(pair: tuple[str, str]) -> None:
    dataset, ontology = pair
    tax = load_taxonomy(dataset)
    onto = load_ontology(ontology)
    mapping = load_mapping(dataset, ontology)
    targets = {n.id: n.name for n in onto.nodes} | {s.id: s.name for s in onto.special}
    encodings = [e.name for e in tax.encodings] or [None]
    for enc in encodings:
        cm = compile_mapping(tax, onto, mapping, encoding=enc)
        decoded = file_values(tax, next((e for e in tax.encodings if e.name == enc), None))
        # every native class is reached by at least one file value of every encoding
        assert set(decoded.values()) == {c.id for c in tax.classes}
        for value in decoded:
            i = value - cm.offset
            assert 0 <= i < len(cm.lut) and cm.declared[i], (dataset, enc, value)
            assert int(cm.lut[i]) in targets
            assert int(cm.lut[i]) in cm.class_names
        assert int(cm.declared.sum()) == len(decoded)
    # the rule of each native class names the output its id gets
    rule_to = {r.id: r.to for r in mapping.rules}
    by_name = {n.name: n.id for n in onto.nodes} | {s.name: s.id for s in onto.special}
    cm = compile_mapping(tax, onto, mapping, encoding=encodings[0])
    decoded = file_values(tax, next((e for e in tax.encodings if e.name == encodings[0]), None))
    for value, cid in decoded.items():
        assert int(cm.lut[value - cm.offset]) == by_name[rule_to[cid]]


@pytest.mark.parametrize(
    "pair", _params(sorted(CATALOG.mappings)), ids=lambda p: p and "__".join(p)
)
def test_mapping_compiles_at_every_depth(pair: tuple[str, str]) -> None:
    dataset, ontology = pair
    tax, onto, mapping = load_taxonomy(dataset), load_ontology(ontology), load_mapping(*pair)
    deepest = max(h.depth(onto, n.name) for n in onto.nodes)
    for d in range(deepest + 1):
        for policy in ("keep", "ignore"):
            cm = compile_mapping(tax, onto, mapping, d, coarse_policy=policy)
            cut = set(h.cut_at_depth(onto, d))
            outs = {int(v) for v in cm.lut[cm.declared]}
            node_ids = {n.name: n.id for n in onto.nodes}
            kept = {node_ids[e["to"]] for e in cm.report["policy"] if e["action"] == "keep"}
            allowed = {node_ids[n] for n in cut} | {s.id for s in onto.special} | kept
            assert outs <= allowed, (d, policy, outs - allowed)
            if policy == "ignore":
                assert not kept
