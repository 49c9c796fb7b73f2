"""A suite of broken taxonomy files: each must raise TaxonomyError naming the file, line and problem.

The expected line is where the ``# <-`` marker sits in the YAML text, so the test does not depend
on the loader's own line bookkeeping.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harmonize.errors import MissingFileError, TaxonomyError
from harmonize.taxonomy import compile_mapping, load_file, load_ontology, load_taxonomy

GOOD_DATASET = """\
kind: dataset
name: toy
title: Toy
classes:
  - id: 0
    name: background
    role: background
  - id: 1
    name: Tumour
    instances: true
    color: [255, 0, 0]
  - id: 2
    name: Lymphocyte
    color: [0, 255, 0]
"""

GOOD_ONTOLOGY = """\
kind: ontology
name: onto
title: Onto
special:
  - {id: 0, name: background, role: background}
  - {id: 255, name: ignore, role: ignore}
nodes:
  - {id: 1, name: cell, color: [1, 1, 1]}
  - {id: 2, name: tumour, parent: cell, color: [2, 2, 2]}
  - {id: 3, name: lymphocyte, parent: cell, color: [3, 3, 3]}
"""


def _marker_line(text: str) -> int:
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if "# <-" in line]
    assert len(lines) == 1, "each case marks exactly one line"
    return lines[0]


# (case id, file kind, YAML text with a `# <-` marker, substrings the message must contain)
FILE_CASES: list[tuple[str, str, list[str]]] = [
    (
        "unknown-key",
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - id: 0
            name: background
            colour: [0, 0, 0]  # <-
        """,
        ["classes[0].colour", "unknown key 'colour'", "did you mean 'color'"],
    ),
    (
        "unknown-top-level-key",
        """\
        kind: ontology
        name: onto
        title: Onto
        parents: []  # <-
        special: [{id: 255, name: ignore, role: ignore}]
        nodes: [{id: 1, name: a, color: [1, 2, 3]}]
        """,
        ["unknown key 'parents'", "allowed:"],
    ),
    (
        "bad-colour",
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - {id: 0, name: background}
          - {id: 1, name: a}
          - {id: 2, name: b}
          - id: 3
            name: c
            color: [300, 0, 0]  # <-
        """,
        ["classes[3].color: a colour is three integers 0..255, got [300, 0, 0]"],
    ),
    (
        "colour-two-values",
        """\
        kind: ontology
        name: onto
        title: Onto
        special: [{id: 255, name: ignore, role: ignore}]
        nodes:
          - {id: 1, name: a, color: [1, 2]}  # <-
        """,
        ["nodes[0].color", "three integers", "[1, 2]"],
    ),
    (
        "colour-not-a-list",
        """\
        kind: ontology
        name: onto
        title: Onto
        special: [{id: 255, name: ignore, role: ignore}]
        nodes:
          - id: 1
            name: a
            color: red  # <-
        """,
        ["nodes[0].color", "three integers", "'red'"],
    ),
    (
        "duplicate-class-id",
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - {id: 0, name: background}
          - {id: 1, name: a}
          - {id: 1, name: b}  # <-
        """,
        ["duplicate class id 1", "first at line 6"],
    ),
    (
        "duplicate-class-name",
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - {id: 0, name: a}
          - {id: 1, name: a}  # <-
        """,
        ["duplicate class name 'a'"],
    ),
    (
        "duplicate-node-id",
        """\
        kind: ontology
        name: onto
        title: Onto
        special: [{id: 255, name: ignore, role: ignore}]
        nodes:
          - {id: 1, name: a, color: [1, 1, 1]}
          - {id: 1, name: b, color: [1, 1, 1]}  # <-
        """,
        ["duplicate id 1"],
    ),
    (
        "node-id-equals-special-id",
        """\
        kind: ontology
        name: onto
        title: Onto
        special: [{id: 0, name: background, role: background}, {id: 255, name: ignore, role: ignore}]
        nodes:
          - {id: 0, name: a, color: [1, 1, 1]}  # <-
        """,
        ["duplicate id 0"],
    ),
    (
        "node-name-equals-special-name",
        """\
        kind: ontology
        name: onto
        title: Onto
        special: [{id: 255, name: ignore, role: ignore}]
        nodes:
          - {id: 1, name: ignore, color: [1, 1, 1]}  # <-
        """,
        ["duplicate name 'ignore'"],
    ),
    (
        "unknown-parent",
        """\
        kind: ontology
        name: onto
        title: Onto
        special: [{id: 255, name: ignore, role: ignore}]
        nodes:
          - {id: 1, name: cell, color: [1, 1, 1]}
          - id: 2
            name: tumour
            parent: cel  # <-
            color: [1, 1, 1]
        """,
        ["nodes[1].parent", "unknown parent 'cel'", "'tumour'"],
    ),
    (
        "parent-cycle",
        """\
        kind: ontology
        name: onto
        title: Onto
        special: [{id: 255, name: ignore, role: ignore}]
        nodes:
          - {id: 1, name: root, color: [1, 1, 1]}
          - {id: 2, name: a, parent: c, color: [1, 1, 1]}  # <-
          - {id: 3, name: b, parent: a, color: [1, 1, 1]}
          - {id: 4, name: c, parent: b, color: [1, 1, 1]}
        """,
        ["cycle in parents: a -> c -> b -> a"],
    ),
    (
        "self-parent",
        """\
        kind: ontology
        name: onto
        title: Onto
        special: [{id: 255, name: ignore, role: ignore}]
        nodes:
          - {id: 1, name: a, parent: a, color: [1, 1, 1]}  # <-
        """,
        ["cycle in parents: a -> a"],
    ),
    (
        "id-does-not-fit-dtype",
        """\
        kind: ontology
        name: onto
        title: Onto
        dtype: uint8
        special: [{id: 255, name: ignore, role: ignore}]
        nodes:
          - {id: 1, name: a, color: [1, 1, 1]}
          - {id: 300, name: b, color: [1, 1, 1]}  # <-
        """,
        ["id 300", "does not fit dtype uint8"],
    ),
    (
        "no-ignore-special",
        """\
        kind: ontology
        name: onto
        title: Onto
        special:  # <-
          - {id: 0, name: background, role: background}
        nodes:
          - {id: 1, name: a, color: [1, 1, 1]}
        """,
        ["exactly one special value must have role 'ignore'"],
    ),
    (
        "two-backgrounds",
        """\
        kind: ontology
        name: onto
        title: Onto
        special:
          - {id: 0, name: background, role: background}
          - {id: 1, name: bg2, role: background}  # <-
          - {id: 255, name: ignore, role: ignore}
        nodes:
          - {id: 2, name: a, color: [1, 1, 1]}
        """,
        ["at most one special value may have role 'background'"],
    ),
    (
        "duplicate-yaml-key",
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - id: 0
            name: a
            id: 1  # <-
        """,
        ["duplicate key 'id'", "first given at line 5"],
    ),
    (
        "yaml-syntax-error",
        """\
        kind: dataset
        name: toy
        title: Toy: Broken  # <-
        classes: []
        """,
        ["YAML syntax error", "mapping values are not allowed"],
    ),
    (
        "unsafe-tag",
        """\
        kind: dataset
        name: toy
        title: !!python/object/apply:os.system ["echo hi"]  # <-
        classes: [{id: 0, name: a}]
        """,
        ["python/object/apply"],
    ),
    (
        "bad-role",
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - id: 0
            name: a
            role: ignored  # <-
        """,
        ["classes[0].role", "must be 'class', 'background'", "'ignored'"],
    ),
    (
        "id-as-string",
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - id: "3"  # <-
            name: a
        """,
        ["classes[0].id", "must be an integer", "'3'"],
    ),
    (
        "bool-is-not-an-id",
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - id: yes  # <-
            name: a
        """,
        ["classes[0].id", "must be an integer"],
    ),
    (
        "missing-required-key",
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - id: 0  # <-
        """,
        ["classes[0]: missing required key 'name'"],
    ),
    (
        "unknown-kind",
        """\
        kind: taxonomy  # <-
        name: toy
        """,
        ["kind: must be one of", "'taxonomy'"],
    ),
    (
        "node-name-with-space",
        """\
        kind: ontology
        name: onto
        title: Onto
        special: [{id: 255, name: ignore, role: ignore}]
        nodes:
          - {id: 1, name: Big cell, color: [1, 1, 1]}  # <-
        """,
        ["nodes[0].name", "no spaces", "'Big cell'"],
    ),
    (
        "special-collides-with-regular-value",
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - {id: 0, name: unlabeled, role: unlabeled}
          - {id: 1, name: a}
          - {id: 2, name: b}
        encodings:
          - name: png
            description: shifted
            offset: -1
            special:
              0: 0  # <-
        """,
        ["file value 0 is special for class 0", "regular value of class 1"],
    ),
    (
        "special-to-undeclared-class",
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - {id: 0, name: a}
        encodings:
          - name: png
            description: x
            special: {255: 7}  # <-
        """,
        ["file value 255 maps to class id 7, which no class declares"],
    ),
    (
        "duplicate-rule",
        """\
        kind: mapping
        dataset: toy
        ontology: onto
        rules:
          - {id: 0, to: background}
          - {id: 1, to: tumour}
          - {id: 1, to: cell}  # <-
        """,
        ["native id 1 has two rules", "first at line 6"],
    ),
]


@pytest.mark.parametrize(
    ("text", "needles"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES]
)
def test_broken_file(tmp_path: Path, text: str, needles: list[str]) -> None:
    text = textwrap.dedent(text)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaxonomyError) as info:
        load_file(path)
    err = info.value
    assert err.path == path
    assert err.line == _marker_line(text), str(err)
    for needle in needles:
        assert needle in str(err), f"{needle!r} not in {err}"
    assert str(err).startswith(f"{path}:{err.line}: ")


# Cross-file errors: a mapping compiled against GOOD_DATASET and GOOD_ONTOLOGY.
MAPPING_CASES: list[tuple[str, str, list[str]]] = [
    (
        "unmapped-class",
        """\
        kind: mapping
        dataset: toy
        ontology: onto
        rules:  # <-
          - {id: 0, to: background}
        """,
        ["2 native class(es)", "1 'Tumour'", "2 'Lymphocyte'"],
    ),
    (
        "rule-name-mismatch",
        """\
        kind: mapping
        dataset: toy
        ontology: onto
        rules:
          - {id: 0, name: background, to: background}
          - id: 1
            name: Lymphocyte  # <-
            to: lymphocyte
          - {id: 2, name: Lymphocyte, to: lymphocyte}
        """,
        ["native id 1 is 'Tumour'", "not 'Lymphocyte'", "shifted by one"],
    ),
    (
        "unknown-target",
        """\
        kind: mapping
        dataset: toy
        ontology: onto
        rules:
          - {id: 0, to: background}
          - {id: 1, to: tumor}  # <-
          - {id: 2, to: lymphocyte}
        """,
        ["'tumor' is neither a node nor a special value", "did you mean 'tumour'"],
    ),
    (
        "undeclared-native-id",
        """\
        kind: mapping
        dataset: toy
        ontology: onto
        rules:
          - {id: 0, to: background}
          - {id: 1, to: tumour}
          - {id: 2, to: lymphocyte}
          - {id: 3, to: cell}  # <-
        """,
        ["native id 3 is not declared by dataset taxonomy 'toy'"],
    ),
    (
        "wrong-dataset",
        """\
        kind: mapping
        dataset: other  # <-
        ontology: onto
        rules:
          - {id: 0, to: background}
        """,
        ["this mapping is for 'other'", "'toy'"],
    ),
    (
        "wrong-ontology",
        """\
        kind: mapping
        dataset: toy
        ontology: scene  # <-
        rules:
          - {id: 0, to: background}
        """,
        ["onto 'scene'", "'onto'"],
    ),
]


@pytest.mark.parametrize(
    ("text", "needles"), [c[1:] for c in MAPPING_CASES], ids=[c[0] for c in MAPPING_CASES]
)
def test_broken_mapping(tmp_path: Path, text: str, needles: list[str]) -> None:
    (tmp_path / "d.yaml").write_text(GOOD_DATASET, encoding="utf-8")
    (tmp_path / "o.yaml").write_text(GOOD_ONTOLOGY, encoding="utf-8")
    tax = load_taxonomy(tmp_path / "d.yaml")
    onto = load_ontology(tmp_path / "o.yaml")
    text = textwrap.dedent(text)
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    mapping = load_file(path)  # valid on its own
    with pytest.raises(TaxonomyError) as info:
        compile_mapping(tax, onto, mapping)
    err = info.value
    assert err.path == path
    assert err.line == _marker_line(text), str(err)
    for needle in needles:
        assert needle in str(err), f"{needle!r} not in {err}"


def test_good_files_load(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(GOOD_DATASET, encoding="utf-8")
    tax = load_file(tmp_path / "d.yaml")
    assert tax.kind == "dataset"
    assert [c.id for c in tax.classes] == [0, 1, 2]
    assert tax.classes[1].color == (255, 0, 0)


def test_wrong_kind_for_loader(tmp_path: Path) -> None:
    (tmp_path / "o.yaml").write_text(GOOD_ONTOLOGY, encoding="utf-8")
    with pytest.raises(TaxonomyError, match="expected a file of kind 'dataset'") as info:
        load_taxonomy(tmp_path / "o.yaml")
    assert info.value.line == 1


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        load_file(tmp_path / "nope.yaml")
    assert isinstance(info.value, MissingFileError)
    assert info.value.path == tmp_path / "nope.yaml"


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("# only a comment\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="empty"):
        load_file(tmp_path / "e.yaml")


def test_several_problems_are_all_listed(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        kind: dataset
        name: toy
        title: Toy
        classes:
          - {id: 0, name: a, color: [1, 2, 256]}
          - {id: 1, name: b, colr: [1, 2, 3]}
        """
    )
    (tmp_path / "x.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(TaxonomyError) as info:
        load_file(tmp_path / "x.yaml")
    assert info.value.line == 5
    assert "line 6: classes[1].colr: unknown key 'colr'" in str(info.value)
    assert [ln for ln, _ in info.value.problems] == [5, 6]
