"""Coverage of the shipped nuclei ontology against the reference's §8.1 mapping table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from harmonize.cli import app
from harmonize.errors import ConfigError
from harmonize.report.coverage import coverage_for, render, split


@pytest.fixture(scope="module")
def cov():
    return coverage_for("nuclei")


def test_lymphocyte_exact_only_in_monusac_lizard_and_conic(cov) -> None:
    # §8.1: MoNuSAC 2 Lymphocyte and Lizard / CoNIC 3 Lymphocyte -> lymphocyte (exact); nobody else
    assert cov.rows_with("lymphocyte", "exact") == ["conic", "lizard", "monusac"]


def test_pannuke_immune_only_coarse(cov) -> None:
    # §8.1: PanNuke Inflammatory -> immune (coarse); no finer immune class
    assert cov.state("pannuke", "immune") == "coarse"
    for node in ("lymphoid", "lymphocyte", "plasma", "myeloid", "macrophage", "neutrophil"):
        assert cov.state("pannuke", node) == "coarse", node
    via = cov.cells[("pannuke", "lymphocyte")].via
    assert [(r.name, r.to) for r in via] == [("Inflammatory", "immune")]


def test_reference_rows(cov) -> None:
    # CoNSeP: inflammatory -> immune coarse; its stromal classes exact
    assert cov.state("consep", "immune") == "coarse"
    assert [cov.state("consep", n) for n in ("fibroblast", "muscle", "endothelial")] == [
        "exact"
    ] * 3
    # MoNuSAC and Lizard epithelial: coarse (benign + malignant); Lizard connective: stromal coarse
    assert cov.state("monusac", "epithelial") == "coarse"
    assert cov.state("lizard", "epithelial") == "coarse"
    assert cov.state("lizard", "neoplastic_epithelial") == "coarse"
    assert cov.state("lizard", "stromal") == "coarse"
    assert cov.state("monusac", "macrophage") == "exact"
    assert cov.state("lizard", "macrophage") == "absent"
    # PanNuke Neoplastic -> neoplastic_epithelial flagged approx (the ontology's documented choice)
    assert cov.state("pannuke", "neoplastic_epithelial") == "approx"
    # segmentation-only datasets map to the root: every node is coarse for them
    for ds in ("kumar", "monuseg", "cpm17", "nuinsseg"):
        assert {cov.state(ds, n) for n in cov.nodes} == {"coarse"}
    # MoNuSAC labels macrophage and neutrophil below myeloid but not myeloid itself
    assert cov.state("monusac", "myeloid") == "partial"


def test_lymphocyte_macrophage_split(cov) -> None:
    sp = split(cov, "lymphocyte", "macrophage")
    assert sp.datasets == ["monusac"]
    why = {r["name"]: r["reason"] for r in sp.rows}
    assert "no class for 'macrophage'" in why["lizard"]
    assert "no class for 'macrophage'" in why["conic"]
    assert "'immune'" in why["pannuke"]
    # lymphoid vs myeloid: Lizard and CoNIC (lymphocyte/plasma vs neutrophil/eosinophil), MoNuSAC
    assert split(cov, "lymphoid", "myeloid").datasets == ["conic", "lizard", "monusac"]


def test_split_rejects_nested_or_unknown_nodes(cov) -> None:
    with pytest.raises(ConfigError):
        split(cov, "immune", "lymphocyte")
    with pytest.raises(ConfigError):
        split(cov, "lymphocyte", "lymphocyte")
    with pytest.raises(ConfigError):
        split(cov, "lymphocyte", "nope")


def test_formats(cov) -> None:
    sp = split(cov, "lymphocyte", "macrophage")
    d = json.loads(render(cov, "json", sp))
    assert d["cells"]["monusac"]["lymphocyte"]["state"] == "exact"
    assert d["split"]["distinguish"] == ["monusac"]
    md = render(cov, "markdown", sp)
    assert "| id | node |" in md and "monusac" in md
    html = render(cov, "html", sp)
    assert html.startswith("<!DOCTYPE html>") and '<td class="exact">exact</td>' in html
    assert "http" not in html.split("<body>")[0]  # no external assets


def test_cli_split() -> None:
    r = CliRunner().invoke(app, ["coverage", "nuclei", "--split", "lymphocyte,macrophage"])
    assert r.exit_code == 0, r.output
    assert "distinguish lymphocyte from macrophage: monusac" in r.stdout
    r = CliRunner().invoke(app, ["coverage", "nuclei", "--split", "lymphocyte"])
    assert r.exit_code != 0


def test_coverage_with_store_counts(tmp_path: Path) -> None:
    from harmonize.pipeline import run
    from harmonize.pipeline.config import config_from_dict
    from harmonize.pipeline.demo import demo_config
    from harmonize.store import open_store

    cfg = config_from_dict(
        {
            "name": "cov",
            "ontology": "nuclei",
            "sources": [{"dataset": "monusac", "root": "x"}, {"dataset": "consep", "root": "y"}],
            "output": {"path": "o.zarr", "layers": ["semantic", "instance"]},
        },
        tmp_path,
    )
    cfg = demo_config(cfg, tmp_path / "data", tmp_path / "out", n=1)
    run(cfg, workers=1)
    store = open_store(cfg.output.path)
    cov = coverage_for("nuclei", store=store)
    assert [r.name for r in cov.rows] == ["monusac", "consep"]
    # pixels per node, counted here from the stored semantic maps
    for src in ("monusac", "consep"):
        sem = [store[i].semantic for i in store.indices([src])]
        for node in cov.ontology.nodes:
            want = sum(int((s == node.id).sum()) for s in sem)
            assert cov.cells[(src, node.name)].pixels == want, (src, node.name)
    assert cov.state("monusac", "lymphocyte") == "exact"
    sp = split(cov, "lymphocyte", "macrophage")
    assert sp.datasets == ["monusac"]
    mon = next(r for r in sp.rows if r["name"] == "monusac")
    sem = [store[i].semantic for i in store.indices(["monusac"])]
    assert mon["a_pixels"] == sum(int((s == 7).sum()) for s in sem)
    assert mon["b_pixels"] == sum(int(np.isin(s, [10]).sum()) for s in sem)
    r = CliRunner().invoke(app, ["coverage", "nuclei", "--store", cfg.output.path, "-f", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["with_counts"] is True


def test_a_coarse_label_above_wins_over_finer_labels_below() -> None:
    from harmonize.report.coverage import Row, RuleView, compute_coverage
    from harmonize.taxonomy import load_ontology

    onto = load_ontology("nuclei")
    rows = [
        Row(
            "x",
            "x",
            (
                RuleView(1, "inflammatory", "immune", "coarse"),
                RuleView(2, "lymphocyte", "lymphocyte", "exact"),
            ),
        )
    ]
    c = compute_coverage(onto, rows)
    assert c.state("x", "lymphoid") == "coarse"  # labelled only at `immune` above it
    assert c.state("x", "lymphocyte") == "exact"


def test_finer_labels_covering_every_leaf_are_exact() -> None:
    from harmonize.report.coverage import Row, RuleView, compute_coverage
    from harmonize.taxonomy import load_ontology

    onto = load_ontology("nuclei")
    both = Row(
        "b", "b", (RuleView(1, "l", "lymphocyte", "exact"), RuleView(2, "p", "plasma", "exact"))
    )
    one = Row("o", "o", (RuleView(1, "l", "lymphocyte", "exact"),))
    c = compute_coverage(onto, [both, one])
    assert c.state("b", "lymphoid") == "exact"
    assert c.state("o", "lymphoid") == "partial"


def test_store_at_a_level_covers_what_it_holds(tmp_path: Path) -> None:
    from harmonize.pipeline import run
    from harmonize.pipeline.config import config_from_dict
    from harmonize.pipeline.demo import demo_config
    from harmonize.store import open_store

    cfg = config_from_dict(
        {
            "name": "lvl",
            "ontology": "nuclei",
            "level": {"nodes": ["epithelial", "immune", "stromal", "dead", "other"]},
            "sources": [{"dataset": "monusac", "root": "x"}],
            "output": {"path": "o.zarr", "layers": ["semantic"]},
        },
        tmp_path,
    )
    cfg = demo_config(cfg, tmp_path / "data", tmp_path / "out", n=1)
    run(cfg, workers=1)
    cov = coverage_for("nuclei", store=open_store(cfg.output.path))
    # MoNuSAC's lymphocytes are stored as `immune` under this cut: the store labels immune, and
    # lymphocyte only through it
    assert cov.state("monusac", "immune") == "exact"
    assert cov.state("monusac", "lymphocyte") == "coarse"
