"""harmonize.taxonomy.diff on hand-made taxonomy pairs, checked exactly against JSON written here."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import harmonize
from harmonize.cli import app
from harmonize.errors import ConfigError, TaxonomyError
from harmonize.taxonomy.diff import diff
from harmonize.taxonomy.sets import load_git_rev, load_set

ONTO_OLD = """
kind: ontology
name: toy
title: Toy
special:
  - {id: 0, name: background, role: background}
  - {id: 255, name: ignore, role: ignore}
  - {id: 254, name: unsure, role: unlabeled}
nodes:
  - {id: 1, name: cell, color: [10, 10, 10]}
  - {id: 2, name: immune, parent: cell, color: [0, 200, 0]}
  - {id: 3, name: lymph, parent: immune, color: [255, 255, 0]}
  - {id: 4, name: macro, parent: immune, color: [0, 255, 160]}
  - {id: 5, name: stroma, parent: cell, color: [0, 0, 255]}
  - {id: 6, name: fibro, parent: stroma, color: [0, 0, 200]}
  - {id: 7, name: dead, parent: cell, color: [90, 50, 20]}
  - {id: 8, name: gone, parent: cell, color: [1, 2, 3]}
"""

# immune renamed to inflammatory (id 2 kept): lymph's parent is the same node, not a change;
# macro renumbered 4 -> 9; fibro moves under cell; dead recoloured; gone removed; plasma added;
# stroma becomes a stuff class; special `unsure` changes role.
ONTO_NEW = """
kind: ontology
name: toy
title: Toy
special:
  - {id: 0, name: background, role: background}
  - {id: 255, name: ignore, role: ignore}
  - {id: 254, name: unsure, role: ambiguous}
nodes:
  - {id: 1, name: cell, color: [10, 10, 10]}
  - {id: 2, name: inflammatory, parent: cell, color: [0, 200, 0]}
  - {id: 3, name: lymph, parent: inflammatory, color: [255, 255, 0]}
  - {id: 9, name: macro, parent: inflammatory, color: [0, 255, 160]}
  - {id: 5, name: stroma, parent: cell, color: [0, 0, 255], instances: false}
  - {id: 6, name: fibro, parent: cell, color: [0, 0, 200]}
  - {id: 7, name: dead, parent: cell, color: [100, 50, 20]}
  - {id: 10, name: plasma, parent: inflammatory, color: [180, 255, 100]}
"""

DS_OLD = """
kind: dataset
name: toyset
title: Toy set
classes:
  - {id: 0, name: background, role: background}
  - {id: 1, name: lymphocyte, instances: true}
  - {id: 2, name: macrophage, instances: true}
  - {id: 3, name: fibroblast, instances: true}
  - {id: 4, name: necrosis, instances: true, color: [1, 1, 1]}
  - {id: 5, name: smooth muscle, instances: true}
  - {id: 6, name: blur, role: class}
  - {id: 7, name: old class}
"""

# 4 renamed (necrosis -> dead cell) and recoloured; smooth muscle renumbered 5 -> 8;
# blur becomes ambiguous; fibroblast loses instances; old class removed; eosinophil added.
DS_NEW = """
kind: dataset
name: toyset
title: Toy set
version: 2
classes:
  - {id: 0, name: background, role: background}
  - {id: 1, name: lymphocyte, instances: true}
  - {id: 2, name: macrophage, instances: true}
  - {id: 3, name: fibroblast, instances: false}
  - {id: 4, name: dead cell, instances: true, color: [2, 2, 2]}
  - {id: 8, name: smooth muscle, instances: true}
  - {id: 6, name: blur, role: ambiguous}
  - {id: 9, name: eosinophil, instances: true}
"""

MAP_OLD = """
kind: mapping
dataset: toyset
ontology: toy
rules:
  - {id: 0, to: background}
  - {id: 1, to: lymph}
  - {id: 2, to: macro}
  - {id: 3, to: fibro}
  - {id: 4, to: dead}
  - {id: 5, to: fibro, kind: approx}
  - {id: 6, to: ignore}
  - {id: 7, to: immune, kind: coarse, note: old}
"""

# 1 unchanged; 2 macro -> lymph (merge into lymph) with a note; 3 fibro -> stroma (coarse);
# 4 kind exact -> approx; smooth muscle renumbered natively, so rules by id: 5 removed, 8 added;
# 6 ignore -> unsure (special to special); 7 removed; 9 added onto the renamed node.
MAP_NEW = """
kind: mapping
dataset: toyset
ontology: toy
version: 2
rules:
  - {id: 0, to: background}
  - {id: 1, to: lymph}
  - {id: 2, to: lymph, note: macrophages folded into lymphocytes}
  - {id: 3, to: stroma, kind: coarse}
  - {id: 4, to: dead, kind: approx}
  - {id: 8, to: fibro}
  - {id: 6, to: unsure}
  - {id: 9, to: inflammatory, kind: coarse}
"""


def _write(folder: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return folder


def _sets(tmp_path: Path) -> tuple[Path, Path]:
    old = _write(
        tmp_path / "old",
        {
            "ontologies/toy.yaml": ONTO_OLD,
            "datasets/toyset.yaml": DS_OLD,
            "mappings/toyset__toy.yaml": MAP_OLD,
        },
    )
    new = _write(
        tmp_path / "new",
        {
            "ontologies/toy.yaml": ONTO_NEW,
            "datasets/toyset.yaml": DS_NEW,
            "mappings/toyset__toy.yaml": MAP_NEW,
        },
    )
    return old, new


EMPTY = {
    "added": [],
    "removed": [],
    "renamed": [],
    "renumbered": [],
    "parent_changed": [],
    "color_changed": [],
    "role_changed": [],
    "instances_changed": [],
    "other_changed": [],
}


def _t(to: str, kind: str, node_id: int | None, special: bool = False) -> dict:
    return {"to": to, "kind": kind, "node_id": node_id, "special": special}


EXPECTED_ONTOLOGY = {
    "name": "toy",
    "status": "changed",
    "fields": [],
    "nodes": {
        **EMPTY,
        "added": [{"id": 10, "name": "plasma"}],
        "removed": [{"id": 8, "name": "gone"}],
        "renamed": [{"id": 2, "old_name": "immune", "new_name": "inflammatory"}],
        "renumbered": [{"name": "macro", "old_id": 4, "new_id": 9}],
        "parent_changed": [
            {"id": 6, "name": "fibro", "field": "parent", "old": "stroma", "new": "cell"}
        ],
        "color_changed": [
            {"id": 7, "name": "dead", "field": "color", "old": [90, 50, 20], "new": [100, 50, 20]}
        ],
        "instances_changed": [
            {"id": 5, "name": "stroma", "field": "instances", "old": None, "new": False}
        ],
    },
    "special": {
        **EMPTY,
        "role_changed": [
            {"id": 254, "name": "unsure", "field": "role", "old": "unlabeled", "new": "ambiguous"}
        ],
    },
}

EXPECTED_DATASET = {
    "name": "toyset",
    "status": "changed",
    "fields": [{"field": "version", "old": 1, "new": 2}],
    "classes": {
        **EMPTY,
        "added": [{"id": 9, "name": "eosinophil"}],
        "removed": [{"id": 7, "name": "old class"}],
        "renamed": [{"id": 4, "old_name": "necrosis", "new_name": "dead cell"}],
        "renumbered": [{"name": "smooth muscle", "old_id": 5, "new_id": 8}],
        "color_changed": [
            {"id": 4, "name": "dead cell", "field": "color", "old": [1, 1, 1], "new": [2, 2, 2]}
        ],
        "role_changed": [
            {"id": 6, "name": "blur", "field": "role", "old": "class", "new": "ambiguous"}
        ],
        "instances_changed": [
            {"id": 3, "name": "fibroblast", "field": "instances", "old": True, "new": False}
        ],
    },
}

EXPECTED_MAPPING = {
    "dataset": "toyset",
    "ontology": "toy",
    "status": "changed",
    "fields": [{"field": "version", "old": 1, "new": 2}],
    "targets": [
        {
            "id": 2,
            "name": "macrophage",
            "change": "remapped",
            "old": _t("macro", "exact", 4),
            "new": _t("lymph", "exact", 3),
        },
        {
            "id": 3,
            "name": "fibroblast",
            "change": "remapped",
            "old": _t("fibro", "exact", 6),
            "new": _t("stroma", "coarse", 5),
        },
        {
            "id": 4,
            "name": "dead cell",
            "change": "kind",
            "old": _t("dead", "exact", 7),
            "new": _t("dead", "approx", 7),
        },
        {
            "id": 5,
            "name": "smooth muscle",
            "change": "removed",
            "old": _t("fibro", "approx", 6),
            "new": None,
        },
        {
            "id": 6,
            "name": "blur",
            "change": "remapped",
            "old": _t("ignore", "exact", 255, True),
            "new": _t("unsure", "exact", 254, True),
        },
        {
            "id": 7,
            "name": "old class",
            "change": "removed",
            "old": _t("immune", "coarse", 2),
            "new": None,
        },
        {
            "id": 8,
            "name": "smooth muscle",
            "change": "added",
            "old": None,
            "new": _t("fibro", "exact", 6),
        },
        {
            "id": 9,
            "name": "eosinophil",
            "change": "added",
            "old": None,
            "new": _t("inflammatory", "coarse", 2),
        },
    ],
    # lymph now receives 1 (was lymph) and 2 (was macro)
    "merges": [
        {
            "into": "lymph",
            "from": [
                {"id": 1, "name": "lymphocyte", "old_to": "lymph"},
                {"id": 2, "name": "macrophage", "old_to": "macro"},
            ],
        }
    ],
    "splits": [],
    "notes_changed": [2],  # 7's note vanished with its rule: that is a removal, not a note change
}


def test_each_kind_of_change_exactly(tmp_path: Path) -> None:
    old, new = _sets(tmp_path)
    d = diff(old, new)
    got = d.to_dict()
    assert got == {
        "old": str(old),
        "new": str(new),
        "changed": True,
        "ontologies": [EXPECTED_ONTOLOGY],
        "datasets": [EXPECTED_DATASET],
        "mappings": [EXPECTED_MAPPING],
    }
    # JSON-exact and stable: a round trip changes nothing, and two runs give identical text
    text = json.dumps(got, sort_keys=True)
    assert json.loads(text) == got
    assert json.dumps(diff(old, new).to_dict(), sort_keys=True) == text


def test_nothing_changed_on_identical_sets(tmp_path: Path) -> None:
    old, _ = _sets(tmp_path)
    d = diff(old, old)
    assert not d.changed
    assert d.to_dict()["ontologies"] == [] and d.to_dict()["mappings"] == []


def test_split_and_merge_and_renamed_target(tmp_path: Path) -> None:
    """A split (one old target -> two) and a rename of a target node that is not a merge."""
    onto_new = ONTO_OLD.replace("name: immune,", "name: leukocyte,").replace(
        "parent: immune", "parent: leukocyte"
    )
    old_map = """
    kind: mapping
    dataset: toyset
    ontology: toy
    rules:
      - {id: 1, to: immune, kind: coarse}
      - {id: 2, to: immune, kind: coarse}
      - {id: 3, to: fibro}
    """
    new_map = """
    kind: mapping
    dataset: toyset
    ontology: toy
    rules:
      - {id: 1, to: lymph}
      - {id: 2, to: macro}
      - {id: 3, to: fibro}
    """
    old = _write(tmp_path / "o", {"toy.yaml": ONTO_OLD, "m.yaml": old_map})
    new = _write(tmp_path / "n", {"toy.yaml": onto_new, "m.yaml": new_map})
    m = diff(old, new).to_dict()["mappings"][0]
    assert m["merges"] == []
    assert m["splits"] == [
        {
            "source": "immune",
            "into": [
                {"id": 1, "name": "1", "new_to": "lymph"},
                {"id": 2, "name": "2", "new_to": "macro"},
            ],
        }
    ]
    # a rename of the target node alone (same id) is reported as such, not as a remap or merge
    renamed_map = new_map.replace("to: lymph", "to: leukocyte, kind: coarse").replace(
        "to: macro", "to: leukocyte, kind: coarse"
    )
    new2 = _write(tmp_path / "n2", {"toy.yaml": onto_new, "m.yaml": renamed_map})
    m2 = diff(old, new2).to_dict()["mappings"][0]
    assert [t["change"] for t in m2["targets"]] == ["target_renamed", "target_renamed"]
    assert m2["merges"] == [] and m2["splits"] == []


def test_swapped_ids_are_two_renumberings() -> None:
    import yaml

    from harmonize.taxonomy.loader import validate_data

    a = yaml.safe_load(ONTO_OLD)
    b = yaml.safe_load(ONTO_OLD)
    b["nodes"][2]["id"], b["nodes"][3]["id"] = 4, 3  # lymph <-> macro ids
    d = diff(validate_data(a), validate_data(b)).to_dict()
    assert d["ontologies"][0]["nodes"]["renumbered"] == [
        {"name": "lymph", "old_id": 3, "new_id": 4},
        {"name": "macro", "old_id": 4, "new_id": 3},
    ]
    assert d["ontologies"][0]["nodes"]["renamed"] == []


def test_public_export() -> None:
    assert harmonize.diff is diff


def test_invalid_file_names_file_and_line(tmp_path: Path) -> None:
    old, _ = _sets(tmp_path)
    bad = _write(
        tmp_path / "bad", {"toy.yaml": ONTO_OLD.replace("color: [0, 0, 255]", "color: [0, 0]")}
    )
    with pytest.raises(TaxonomyError) as exc:
        diff(old, bad)
    assert "toy.yaml" in str(exc.value) and exc.value.line is not None


# --------------------------------------------------------------------------------------------
# git revisions
# --------------------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_SYSTEM": "/dev/null",
            "HOME": str(repo),
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    _git(r, "init", "-q", "-b", "main")
    files = {
        "taxonomies/ontologies/toy.yaml": ONTO_OLD,
        "taxonomies/datasets/toyset.yaml": DS_OLD,
        "taxonomies/mappings/toyset__toy.yaml": MAP_OLD,
    }
    _write(r, files)
    _git(r, "add", "-A")
    _git(r, "commit", "-q", "-m", "v1")
    _git(r, "tag", "v1")
    _write(
        r,
        {
            "taxonomies/ontologies/toy.yaml": ONTO_NEW,
            "taxonomies/datasets/toyset.yaml": DS_NEW,
            "taxonomies/mappings/toyset__toy.yaml": MAP_NEW,
        },
    )
    _git(r, "commit", "-q", "-am", "v2")
    _git(r, "tag", "v2")
    return r


def test_git_revisions_match_the_folder_diff(repo: Path, tmp_path: Path) -> None:
    a, b = load_git_rev(repo, "v1"), load_git_rev(repo, "v2")
    assert a.label == "git:v1" and set(a.mappings) == {("toyset", "toy")}
    got = diff(a, b).to_dict()
    assert got["ontologies"] == [EXPECTED_ONTOLOGY]
    assert got["datasets"] == [EXPECTED_DATASET]
    assert got["mappings"] == [EXPECTED_MAPPING]
    assert not diff(load_git_rev(repo, "v2"), load_set(repo / "taxonomies")).changed


def test_git_bad_revision_is_a_config_error(repo: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_git_rev(repo, "nope")
    assert str(repo) in str(exc.value)


def test_cli_rev_exit_codes(repo: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["diff", "--rev", "v1..v2", "--repo", str(repo), "-f", "json"])
    assert r.exit_code == 1, r.output
    assert json.loads(r.stdout)["mappings"][0]["merges"] == EXPECTED_MAPPING["merges"]
    r = runner.invoke(app, ["diff", "--rev", "v2", "--repo", str(repo)])  # v2 vs working tree
    assert r.exit_code == 0, r.output
    assert "No changes" in r.stdout
