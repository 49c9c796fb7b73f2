"""Finding files by name (catalogue, env override) and the ``harmonize taxonomy`` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harmonize.cli import app
from harmonize.errors import MissingFileError, TaxonomyError
from harmonize.taxonomy import (
    list_files,
    load_mapping,
    load_ontology,
    load_taxonomy,
    taxonomies_dir,
)

runner = CliRunner()


@pytest.fixture
def toy_env(toy_tree: Path, monkeypatch) -> Path:
    monkeypatch.setenv("HARMONIZE_TAXONOMIES", str(toy_tree))
    return toy_tree


def test_catalog_lists_by_name(toy_env: Path) -> None:
    assert taxonomies_dir() == toy_env
    cat = list_files()
    assert cat.datasets == {"toy": toy_env / "datasets/toy.yaml"}
    assert cat.ontologies == {"toy-onto": toy_env / "ontologies/toy-onto.yaml"}
    assert cat.mappings == {("toy", "toy-onto"): toy_env / "mappings/toy__toy-onto.yaml"}
    assert cat.mappings_of("toy") == ["toy-onto"]
    assert len(cat.files()) == 3


def test_load_by_name(toy_env: Path) -> None:
    assert load_taxonomy("toy").name == "toy"
    assert load_ontology("toy-onto").name == "toy-onto"
    m1 = load_mapping("toy", "toy-onto")
    m2 = load_mapping("toy__toy-onto")
    m3 = load_mapping(toy_env / "mappings/toy__toy-onto.yaml")
    assert m1.dataset == m2.dataset == m3.dataset == "toy"
    # the loaded model remembers where it came from
    assert m1._source == toy_env / "mappings/toy__toy-onto.yaml"


def test_unknown_names(toy_env: Path) -> None:
    with pytest.raises(MissingFileError, match=r"no dataset taxonomy named 'toi' \(known: toy\)"):
        load_taxonomy("toi")
    with pytest.raises(MissingFileError, match="no mapping from 'toy' onto 'scene'"):
        load_mapping("toy", "scene")
    with pytest.raises(TaxonomyError, match="give a dataset and an ontology"):
        load_mapping("toy")


def test_env_var_must_name_a_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HARMONIZE_TAXONOMIES", str(tmp_path / "nope"))
    with pytest.raises(MissingFileError, match="HARMONIZE_TAXONOMIES"):
        taxonomies_dir()


def test_cli_list_and_show(toy_env: Path) -> None:
    res = runner.invoke(app, ["taxonomy", "list"])
    assert res.exit_code == 0, res.output
    assert "toy -> toy-onto" in res.output and "6 rules" in res.output
    res = runner.invoke(app, ["taxonomy", "show", "toy"])
    assert res.exit_code == 0, res.output
    assert "Inflammatory" in res.output and "png" in res.output
    res = runner.invoke(app, ["taxonomy", "show", "toy-onto"])
    assert res.exit_code == 0, res.output
    assert "lymphocyte" in res.output and "stuff" in res.output  # grass is stuff
    res = runner.invoke(app, ["taxonomy", "show", "toy__toy-onto"])
    assert res.exit_code == 0, res.output
    assert "coarse" in res.output and "not subtyped" in res.output
    res = runner.invoke(app, ["taxonomy", "show", "nope"])
    assert res.exit_code != 0


def test_cli_validate_exit_codes(toy_env: Path, tmp_path: Path, toy_texts) -> None:
    res = runner.invoke(app, ["taxonomy", "validate"])
    assert res.exit_code == 0, res.output
    assert "3/3 valid" in res.output
    # a folder: mappings are compiled against the files next to them
    res = runner.invoke(app, ["taxonomy", "validate", str(toy_env)])
    assert res.exit_code == 0, res.output
    assert "output ids" in res.output
    # a mapping that forgets class 4 is invalid as a cross-check, though valid alone
    broken = toy_env / "mappings/toy__toy-onto.yaml"
    broken.write_text(
        "\n".join(line for line in toy_texts["mapping"].splitlines() if "id: 4" not in line),
        encoding="utf-8",
    )
    res = runner.invoke(app, ["taxonomy", "validate", str(toy_env)])
    assert res.exit_code == 1, res.output
    assert "ERROR" in res.output and "4 'Grass'" in res.output and "2/3 valid" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: dataset\nname: x\n", encoding="utf-8")
    res = runner.invoke(app, ["taxonomy", "validate", str(bad)])
    assert res.exit_code == 1
    assert f"{bad}:" in res.output


def test_cli_schema(tmp_path: Path) -> None:
    res = runner.invoke(app, ["taxonomy", "schema"])
    assert res.exit_code == 0, res.output
    schema = json.loads(res.output)
    assert schema["discriminator"]["propertyName"] == "kind"
    res = runner.invoke(app, ["taxonomy", "schema", "--kind", "ontology"])
    schema = json.loads(res.output)
    assert schema["title"] == "Ontology"
    assert schema["additionalProperties"] is False
    assert "nodes" in schema["required"]
    res = runner.invoke(app, ["taxonomy", "schema", "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    written = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert written == [
        "dataset.schema.json",
        "mapping.schema.json",
        "ontology.schema.json",
        "taxonomy.schema.json",
    ]
    for p in (tmp_path / "s").iterdir():
        json.loads(p.read_text(encoding="utf-8"))
    res = runner.invoke(app, ["taxonomy", "schema", "--kind", "scene"])
    assert res.exit_code != 0


def test_cli_module_imports_stay_light() -> None:
    code = (
        "import sys, harmonize.cli; "
        "bad = [m for m in ('numpy', 'numba', 'zarr', 'pydantic', 'yaml', 'dask') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
