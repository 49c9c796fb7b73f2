"""Repo-level checks of the design rules in ARCHITECTURE.md: import boundaries, registry completeness,
and a fast-starting CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "harmonize"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


# package -> module prefixes it must never import (ARCHITECTURE.md "Import rules")
FORBIDDEN = {
    "datasets": ("harmonize.taxonomy", "harmonize.store", "harmonize.pipeline", "zarr", "pydantic"),
    "export": ("harmonize.pipeline", "harmonize.cli"),
    "engine": ("pydantic", "yaml", "zarr", "harmonize.taxonomy", "harmonize.store"),
    "store": ("harmonize.datasets",),
    "taxonomy": ("numba", "zarr", "harmonize.datasets", "harmonize.store"),
}


#: The one exception: the dataset registry asks harmonize.taxonomy.declared for the YAML-declared
#: datasets and hands the readers plain data (checked at run time below).
ALLOWED = {PKG / "datasets" / "__init__.py": ("harmonize.taxonomy.declared",)}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_boundaries(package: str) -> None:
    bad = []
    for path in sorted((PKG / package).rglob("*.py")):
        for mod in _imports(path):
            if mod in ALLOWED.get(path, ()):
                continue
            if any(mod == f or mod.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_datasets_may_use_only_the_engine_kernels() -> None:
    """Readers may call the compiled kernels (PanNuke channel collapse) but nothing else of engine."""
    for path in sorted((PKG / "datasets").rglob("*.py")):
        for mod in _imports(path):
            if mod.startswith("harmonize.engine"):
                assert mod == "harmonize.engine.kernels", f"{path.name} imports {mod}"


def test_readers_run_without_pydantic_or_the_taxonomy_package(tmp_path: Path) -> None:
    """The generic reader and the ported readers read from plain data: importing and running them
    loads neither pydantic nor harmonize.taxonomy (only the registry does)."""
    code = f"""
import sys
from harmonize.datasets import layout
from harmonize.datasets import coco_stuff, pascal_voc  # noqa: F401
data = {{"name": "toy", "title": "toy", "encoding": None, "values": [
    {{"value": 0, "id": 0, "name": "bg", "role": "background", "instances": False, "color": (0, 0, 0)}},
    {{"value": 1, "id": 1, "name": "a", "role": "class", "instances": True, "color": (200, 0, 0)}}],
  "layout": {{"roots": ["."], "splits": {{"names": ["train"], "list": None}},
    "image": ["img/{{split}}/{{stem}}.png"],
    "semantic": {{"path": ["lab/{{split}}/{{stem}}.png"], "encoding": "rgb", "dtype": "uint8",
                 "divisor": None}},
    "instance": None, "exclude": [], "stem_meta": None, "meta": {{}}, "encoding": None,
    "hint": None}}}}
res = layout.synthesize(data, {str(tmp_path)!r}, n=2)
reader = layout.make_reader(data)(res.root)
assert len(list(reader)) == 2
bad = [m for m in sys.modules if m == "pydantic" or m.startswith("harmonize.taxonomy")]
print(",".join(bad))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"readers import {out.stdout.strip()}"


def test_every_registered_dataset_has_a_taxonomy_and_a_way_to_be_read() -> None:
    """Every dataset is declared by its taxonomy YAML (``reader:`` or ``layout:``); a bespoke
    module reader has its own test file, a layout-only dataset is tested by
    tests/datasets/test_layout_datasets.py without one."""
    from harmonize import datasets
    from harmonize.taxonomy import load_taxonomy

    for name in datasets.names():
        spec = datasets.get(name)
        tax = load_taxonomy(spec.taxonomy)
        own = load_taxonomy(name)
        assert own.reader is not None or own.layout is not None, name
        assert tax.name == spec.taxonomy
        if own.reader is not None:
            assert own.reader == spec.reader.__module__, f"{name}: reader module"
            assert (ROOT / "tests" / "datasets" / f"test_{name}.py").is_file(), (
                f"no test for {name}"
            )


def test_cli_import_is_light() -> None:
    """`harmonize --help` must start fast: the CLI module must not import the heavy stack."""
    code = (
        "import sys, harmonize.cli; "
        "heavy = [m for m in ('numba', 'zarr', 'dask', 'numpy', 'scipy', 'skimage', 'pydantic') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"CLI start-up imports {out.stdout.strip()}"


def test_public_api_resolves() -> None:
    """Every name `harmonize` re-exports lazily points at a real object."""
    import harmonize

    for name in harmonize._EXPORTS:
        assert callable(getattr(harmonize, name)), name
    assert {"load_config", "run", "open_store", "load_taxonomy", "compile_mapping", "diff"} <= set(
        harmonize.__all__
    )
