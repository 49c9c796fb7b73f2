"""Small hand-made taxonomy files shared by the taxonomy tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

#: A tiny dataset taxonomy: ids 0..4 plus void 255, with a PNG encoding shifted by -1.
DATASET = """\
kind: dataset
name: toy
title: Toy dataset
classes:
  - {id: 0, name: background, role: background, color: [0, 0, 0]}
  - {id: 1, name: Tumour, instances: true, color: [255, 0, 0]}
  - {id: 2, name: Lymphocyte, instances: true, color: [0, 255, 0]}
  - {id: 3, name: Inflammatory, instances: true, color: [0, 0, 255]}
  - {id: 4, name: Grass, color: [0, 128, 0]}
  - {id: 255, name: void, role: void}
encodings:
  - name: png
    description: file value = id - 1; 254 is background
    offset: -1
    special: {254: 0, 255: 255}
  - name: raw
    description: identity
"""

#: A tiny ontology: root -> {tumour, immune -> {lymphocyte, macrophage}, grass (stuff)}.
ONTOLOGY = """\
kind: ontology
name: toy-onto
title: Toy ontology
special:
  - {id: 0, name: background, role: background}
  - {id: 250, name: ambiguous, role: ambiguous}
  - {id: 255, name: ignore, role: ignore}
nodes:
  - {id: 1, name: cell, color: [1, 1, 1]}
  - {id: 2, name: tumour, parent: cell, color: [2, 2, 2]}
  - {id: 3, name: immune, parent: cell, color: [3, 3, 3]}
  - {id: 4, name: lymphocyte, parent: immune, color: [4, 4, 4]}
  - {id: 5, name: macrophage, parent: immune, color: [5, 5, 5]}
  - {id: 6, name: grass, color: [6, 6, 6], instances: false}
"""

MAPPING = """\
kind: mapping
dataset: toy
ontology: toy-onto
rules:
  - {id: 0, name: background, to: background}
  - {id: 1, name: Tumour, to: tumour}
  - {id: 2, name: Lymphocyte, to: lymphocyte}
  - {id: 3, name: Inflammatory, to: immune, kind: coarse, note: not subtyped}
  - {id: 4, name: Grass, to: grass}
  - {id: 255, name: void, to: ignore}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write ``text`` (dedented) to ``tmp_path/name`` and return the path."""
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


@pytest.fixture
def toy_tree(tmp_path: Path) -> Path:
    """A taxonomies directory holding the toy dataset, ontology and mapping."""
    root = tmp_path / "taxonomies"
    write(root, "datasets/toy.yaml", DATASET)
    write(root, "ontologies/toy-onto.yaml", ONTOLOGY)
    write(root, "mappings/toy__toy-onto.yaml", MAPPING)
    return root


@pytest.fixture
def toy_texts() -> dict[str, str]:
    """The toy files' YAML text, for tests that edit one line."""
    return {"dataset": DATASET, "ontology": ONTOLOGY, "mapping": MAPPING}


@pytest.fixture
def write_yaml(tmp_path: Path):
    """``write_yaml(name, text) -> Path`` under ``tmp_path``."""

    def _write(name: str, text: str) -> Path:
        return write(tmp_path, name, text)

    return _write
