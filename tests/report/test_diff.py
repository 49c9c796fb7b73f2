"""Diff reports: formats, CLI exit codes, and the data impact on a store built from generated data.

The impact is checked against counts made here from the generator's native ground truth (which
native class each pixel and instance has), independently of the store's count tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from harmonize.cli import app
from harmonize.report.diff_report import DiffReport, render, store_impact
from harmonize.taxonomy.diff import diff
from harmonize.taxonomy.loader import validate_data
from harmonize.taxonomy.sets import TaxonomySet

TAX = Path(__file__).resolve().parents[2] / "taxonomies"
LEVEL = ["epithelial", "immune", "stromal", "dead", "other"]


def _yaml(rel: str) -> dict:
    return yaml.safe_load((TAX / rel).read_text())


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A consep store at the lineage level (epithelial <- 3+4, stromal <- 5+6+7), and its truth."""
    from harmonize.pipeline import run
    from harmonize.pipeline.config import config_from_dict
    from harmonize.pipeline.demo import demo_config
    from harmonize.store import open_store

    tmp = tmp_path_factory.mktemp("impact")
    cfg = config_from_dict(
        {
            "name": "impact",
            "ontology": "nuclei",
            "level": {"nodes": LEVEL},
            "sources": [{"dataset": "consep", "root": "x"}],
            "output": {"path": "o.zarr", "layers": ["semantic", "instance"]},
        },
        tmp,
    )
    cache: dict = {}
    cfg = demo_config(cfg, tmp / "data", tmp / "out", n=2, cache=cache)
    run(cfg, workers=1)
    return open_store(cfg.output.path), cache["consep"]


def _truth_counts(res) -> tuple[dict[int, int], dict[int, int]]:
    """Native class -> pixels, and -> instances present in the map, over all truth samples."""
    pix: dict[int, int] = {}
    ins: dict[int, int] = {}
    for t in res.samples.values():
        vals, cnt = np.unique(t.semantic, return_counts=True)
        for v, c in zip(vals.tolist(), cnt.tolist(), strict=True):
            pix[v] = pix.get(v, 0) + c
        for tid in np.unique(t.instance):
            if tid == 0:
                continue
            cls = t.instance_classes[int(tid)]
            ins[cls] = ins.get(cls, 0) + 1
    return pix, ins


def _sides() -> tuple[TaxonomySet, TaxonomySet, dict, dict]:
    onto_old, map_old = _yaml("ontologies/nuclei.yaml"), _yaml("mappings/consep__nuclei.yaml")
    onto_new = yaml.safe_load(yaml.safe_dump(onto_old))
    map_new = yaml.safe_load(yaml.safe_dump(map_old))
    for n in onto_new["nodes"]:
        if n["name"] == "immune":
            n["id"] = 25  # renumbered: stored immune pixels change id, not class
    to = {1: "ignore", 2: "lymphocyte", 3: "dead", 4: "dead", 5: "other"}
    for r in map_new["rules"]:
        if r["id"] in to:
            r["to"] = to[r["id"]]
    old = TaxonomySet("old", {"nuclei": validate_data(onto_old)})
    old.add(validate_data(map_old))
    new = TaxonomySet("new", {"nuclei": validate_data(onto_new)})
    new.add(validate_data(map_new))
    return old, new, onto_new, map_new


def test_store_impact_against_truth(built) -> None:
    store, res = built
    pix, ins = _truth_counts(res)
    old, new, _, _ = _sides()
    d = diff(old, new)
    imp = store_impact(d, old, new, store).to_dict()
    groups = {g["output"]: g for g in imp["groups"]}
    # 2 inflammatory -> lymphocyte rolls up to `immune` again: no class change in this store
    assert "immune" not in groups
    # epithelial held 3 and 4, both move to dead: exact
    g = groups["epithelial"]
    assert g["exact"] and g["staying"] == []
    assert g["pixels_changed"] == pix.get(3, 0) + pix.get(4, 0)
    assert g["instances_changed"] == ins.get(3, 0) + ins.get(4, 0)
    assert [(m["id"], m["new_output"]) for m in g["moved"]] == [(3, "dead"), (4, "dead")]
    # other held only 1, which goes to ignore: exact
    g = groups["other"]
    assert g["exact"] and g["pixels_changed"] == pix.get(1, 0)
    assert g["instances_changed"] == ins.get(1, 0)
    # stromal held 5, 6, 7; only 5 moves: not separable, bounded by the stromal total
    g = groups["stromal"]
    assert not g["exact"] and g["pixels_changed"] is None and g["instances_changed"] is None
    stromal = sum(pix.get(c, 0) for c in (5, 6, 7))
    assert g["pixels_max"] == stromal and stromal >= pix.get(5, 0)
    assert [s["id"] for s in g["staying"]] == [6, 7]
    assert "not separable" in g["note"]
    tot = imp["totals"]["consep"]
    assert tot["pixels"] == sum(pix.values())
    assert tot["pixels_changed"] == sum(pix.get(c, 0) for c in (1, 3, 4))
    assert tot["pixels_changed_max"] == tot["pixels_changed"] + stromal
    # immune renumbered 5 -> 25: its stored pixels change id (exactly the inflammatory pixels)
    assert imp["relabels"] == [
        {
            "source": "consep",
            "name": "immune",
            "old_id": 5,
            "new_id": 25,
            "pixels": pix.get(2, 0),
            "instances": ins.get(2, 0),
        }
    ]
    assert imp["warnings"] == []


def test_renamed_cut_node_is_no_data_change(built) -> None:
    # the store was cut at LEVEL; renaming a cut node (same id) must not read as pixels moving
    store, _ = built
    onto_old, map_old = _yaml("ontologies/nuclei.yaml"), _yaml("mappings/consep__nuclei.yaml")
    text = yaml.safe_dump(onto_old)
    onto_new = yaml.safe_load(text)
    for n in onto_new["nodes"]:
        if n["name"] == "stromal":
            n["name"] = "connective"
        if n.get("parent") == "stromal":
            n["parent"] = "connective"
    map_new = yaml.safe_load(yaml.safe_dump(map_old))
    for r in map_new["rules"]:
        if r["to"] == "stromal":
            r["to"] = "connective"
    old = TaxonomySet("old", {"nuclei": validate_data(onto_old)})
    old.add(validate_data(map_old))
    new = TaxonomySet("new", {"nuclei": validate_data(onto_new)})
    new.add(validate_data(map_new))
    imp = store_impact(diff(old, new), old, new, store).to_dict()
    assert imp["groups"] == [] and imp["relabels"] == []
    assert imp["totals"]["consep"]["pixels_changed"] == 0


def test_cli_store_impact_and_formats(built, tmp_path: Path) -> None:
    store, _ = built
    old, new, onto_new, map_new = _sides()
    for side, (o, m) in {
        "old": (_yaml("ontologies/nuclei.yaml"), _yaml("mappings/consep__nuclei.yaml")),
        "new": (onto_new, map_new),
    }.items():
        (tmp_path / side).mkdir()
        (tmp_path / side / "nuclei.yaml").write_text(yaml.safe_dump(o))
        (tmp_path / side / "consep__nuclei.yaml").write_text(yaml.safe_dump(m))
    runner = CliRunner()
    args = ["diff", str(tmp_path / "old"), str(tmp_path / "new"), "--store", store.url]
    r = runner.invoke(app, [*args, "-f", "json"])
    assert r.exit_code == 1, r.output
    got = json.loads(r.stdout)
    want = store_impact(diff(old, new), old, new, store).to_dict()
    assert got["impact"]["groups"] == want["groups"]
    assert got["mappings"][0]["merges"] == [
        {
            "into": "dead",
            "from": [
                {"id": 3, "name": "healthy epithelial", "old_to": "non_neoplastic_epithelial"},
                {
                    "id": 4,
                    "name": "dysplastic/malignant epithelial",
                    "old_to": "neoplastic_epithelial",
                },
            ],
        }
    ]
    md = runner.invoke(app, [*args, "-f", "markdown"])
    assert md.exit_code == 1
    assert "## Mapping consep -> nuclei (changed)" in md.stdout
    assert "| 5 | fibroblast | remapped | fibroblast | exact | other | exact |" in md.stdout
    assert "Data impact" in md.stdout and "renumbered classes" in md.stdout
    out = tmp_path / "diff.html"
    h = runner.invoke(app, [*args, "-f", "html", "-o", str(out)])
    assert h.exit_code == 1
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<td>remapped</td>" in page and "merge into &#x27;dead&#x27;" in page
    assert "<link" not in page and "<script" not in page and "src=" not in page
    txt = runner.invoke(app, [*args])
    assert txt.exit_code == 1 and "merge into 'dead'" in txt.stdout
    same = runner.invoke(app, ["diff", str(tmp_path / "old"), str(tmp_path / "old")])
    assert same.exit_code == 0 and "No changes" in same.stdout


def test_colour_changes_render_as_swatches() -> None:
    onto = _yaml("ontologies/nuclei.yaml")
    onto2 = yaml.safe_load(yaml.safe_dump(onto))
    onto2["nodes"][6]["color"] = [1, 2, 3]  # lymphocyte
    d = diff(validate_data(onto), validate_data(onto2))
    html = render(DiffReport(d), "html")
    assert 'style="background:#010203"' in html and 'style="background:#ffff00"' in html
    md = render(d, "markdown")
    assert "`#ffff00` | `#010203`" in md
