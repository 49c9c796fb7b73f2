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


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_boundaries(package: str) -> None:
    bad = []
    for path in sorted((PKG / package).rglob("*.py")):
        for mod in _imports(path):
            if any(mod == f or mod.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_datasets_may_use_only_the_engine_kernels() -> None:
    """Readers may call the compiled kernels (PanNuke channel collapse) but nothing else of engine."""
    for path in sorted((PKG / "datasets").rglob("*.py")):
        for mod in _imports(path):
            if mod.startswith("harmonize.engine"):
                assert mod == "harmonize.engine.kernels", f"{path.name} imports {mod}"


def test_every_registered_dataset_has_module_taxonomy_and_test() -> None:
    from harmonize import datasets

    for name in datasets.names():
        module = datasets._MODULES[name].rsplit(".", 1)[1]
        assert (PKG / "datasets" / f"{module}.py").is_file(), f"no module for {name}"
        assert (ROOT / "tests" / "datasets" / f"test_{name}.py").is_file(), f"no test for {name}"
        spec = datasets.get(name)
        assert (ROOT / "taxonomies" / "datasets" / f"{spec.taxonomy}.yaml").is_file(), (
            f"no taxonomy YAML for {name}"
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
