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
    "datasets": (
        "harmonize.taxonomy",
        "harmonize.store",
        "harmonize.pipeline",
        "harmonize.lookalike",
        "zarr",
        "pydantic",
    ),
    # generators may import harmonize.datasets (format constants, path helpers), not the reverse
    "lookalike": (
        "harmonize.taxonomy",
        "harmonize.store",
        "harmonize.pipeline",
        "zarr",
        "pydantic",
    ),
    "export": ("harmonize.pipeline", "harmonize.cli"),
    "engine": ("pydantic", "yaml", "zarr", "harmonize.taxonomy", "harmonize.store"),
    "store": ("harmonize.datasets",),
    "taxonomy": ("numba", "zarr", "harmonize.datasets", "harmonize.store"),
    # the pipeline runs readers into stores; it never renders reports or reaches into the CLI
    "pipeline": ("harmonize.cli", "harmonize.report", "harmonize.export", "harmonize.lookalike"),
    # reports read stores and taxonomies (and run configs through the pipeline's resolution)
    "report": (
        "harmonize.cli",
        "harmonize.datasets",
        "harmonize.lookalike",
        "harmonize.engine",
        "harmonize.export",
        "harmonize.leakage",
    ),
    # leakage works on store images only
    "leakage": (
        "harmonize.cli",
        "harmonize.pipeline",
        "harmonize.report",
        "harmonize.datasets",
        "harmonize.lookalike",
        "harmonize.taxonomy",
        "harmonize.export",
    ),
    # the CLI is the top: it calls the library, never the test helpers or the generators directly
    "cli": ("harmonize.testing", "harmonize.lookalike"),
}


def _lookalike_module(name: str) -> str:
    return "harmonize.lookalike." + name  # one generator module per dataset, named after it


def _forbidden(mod: str, package: str) -> bool:
    return any(mod == f or mod.startswith(f + ".") for f in FORBIDDEN[package])


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
            if _forbidden(mod, package):
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_cli() -> None:
    """The CLI is the top layer: no package of the library imports it (``__main__`` aside)."""
    bad = [
        f"{path.relative_to(ROOT)} imports {mod}"
        for path in sorted(PKG.rglob("*.py"))
        if path.parent.name != "cli" and path.name != "__main__.py"
        for mod in _imports(path)
        if mod == "harmonize.cli" or mod.startswith("harmonize.cli.")
    ]
    assert not bad, "\n".join(bad)


def _package_graph(root: Path) -> dict[str, set[str]]:
    """Package -> the other packages of ``root`` it imports (any import, lazy ones included)."""
    name = root.name
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    graph: dict[str, set[str]] = {p: set() for p in packages}
    for p in packages:
        for path in (root / p).rglob("*.py"):
            for mod in _imports(path):
                parts = mod.split(".")
                if parts[0] == name and len(parts) > 1 and parts[1] in packages and parts[1] != p:
                    graph[p].add(parts[1])
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle of ``graph`` found by a depth-first search (each as a closed path)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_no_import_cycles_between_packages() -> None:
    """Imports between harmonize's packages flow one way (lazy imports inside functions count)."""
    cycles = _cycles(_package_graph(PKG))
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_check_finds_a_planted_cycle(tmp_path: Path) -> None:
    """The control: a package tree with a lazy a -> b -> c -> a import is reported, one with the
    back-edge removed is not."""
    root = tmp_path / "toy"
    for p, body in {
        "a": "from toy.b import x\n",
        "b": "import toy.c.deep\n",
        "c": "def f():\n    from toy.a import y\n",
        "d": "import toy.a\n",
    }.items():
        (root / p).mkdir(parents=True)
        (root / p / "__init__.py").write_text("")
        (root / p / "mod.py").write_text(body)
    (root / "c" / "deep.py").write_text("")
    graph = _package_graph(root)
    assert graph == {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    (root / "c" / "mod.py").write_text("def f():\n    pass\n")
    assert _cycles(_package_graph(root)) == []


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
from harmonize.lookalike import layout as layout_lookalike
data = {{"name": "toy", "title": "toy", "encoding": None, "values": [
    {{"value": 0, "id": 0, "name": "bg", "role": "background", "instances": False, "color": (0, 0, 0)}},
    {{"value": 1, "id": 1, "name": "a", "role": "class", "instances": True, "color": (200, 0, 0)}}],
  "layout": {{"roots": ["."], "splits": {{"names": ["train"], "list": None}},
    "image": ["img/{{split}}/{{stem}}.png"],
    "semantic": {{"path": ["lab/{{split}}/{{stem}}.png"], "encoding": "rgb", "dtype": "uint8",
                 "divisor": None}},
    "instance": None, "exclude": [], "stem_meta": None, "meta": {{}}, "encoding": None,
    "hint": None}}}}
res = layout_lookalike.synthesize(data, {str(tmp_path)!r}, n=2)
reader = layout.make_reader(data)(res.root)
assert len(list(reader)) == 2
bad = [m for m in sys.modules if m == "pydantic" or m.startswith("harmonize.taxonomy")]
print(",".join(bad))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"readers import {out.stdout.strip()}"


def test_every_registered_dataset_has_a_taxonomy_and_a_way_to_be_read() -> None:
    """Every dataset is declared by its taxonomy YAML (``reader:`` or ``layout:``), or, when it is
    read with another dataset's taxonomy, by an entry point of this package; a bespoke module
    reader has its own test file, a layout-only dataset is tested by
    tests/datasets/test_layout_datasets.py without one."""
    from harmonize import datasets
    from harmonize.taxonomy import load_taxonomy

    for name in datasets.names():
        spec = datasets.get(name)
        tax = load_taxonomy(spec.taxonomy)
        assert tax.name == spec.taxonomy
        if not (ROOT / "taxonomies" / "datasets" / f"{name}.yaml").is_file():
            # e.g. coco_stuff_json, read with coco_stuff's taxonomy
            assert name in datasets._entry_points(), f"{name}: not declared"
            assert (ROOT / "tests" / "datasets" / f"test_{name}.py").is_file(), name
            continue
        own = load_taxonomy(name)
        assert own.reader is not None or own.layout is not None, name
        assert tax.name == spec.taxonomy
        if own.reader is not None:
            assert own.reader == spec.reader.__module__, f"{name}: reader module"
            assert (ROOT / "tests" / "datasets" / f"test_{name}.py").is_file(), (
                f"no test for {name}"
            )


def test_generators_live_in_lookalike_and_are_registered_by_name() -> None:
    """Generators are registered as "harmonize.lookalike.<module>:synthesize" strings; a dataset
    declared by ``layout:`` alone gets the generic one, bound to its declaration."""
    from harmonize import datasets

    for name in datasets.names():
        spec = datasets.get(name)
        if spec.declaration is not None:
            assert spec.generator == datasets.LAYOUT_GENERATOR, (name, spec.generator)
            continue
        module = _lookalike_module(name)
        assert spec.generator == f"{module}:synthesize", (name, spec.generator)
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), f"no {module}"


def test_generators_follow_the_synthesize_protocol() -> None:
    """Every generator takes ``out`` then the keywords of :class:`Synthesize`; extras have defaults."""
    import inspect

    from harmonize import datasets
    from harmonize.datasets.base import Synthesize

    want = [
        p for p in inspect.signature(Synthesize.__call__).parameters.values() if p.name != "self"
    ]
    for name in datasets.names():
        params = inspect.signature(datasets.get(name).synthesize).parameters
        first = next(iter(params.values()))
        assert first.name == "out" and first.kind is first.POSITIONAL_OR_KEYWORD, name
        for p in want[1:]:
            assert p.name in params, f"{name} generator has no {p.name!r}"
            assert params[p.name].kind is p.KEYWORD_ONLY, f"{name}: {p.name} is not keyword-only"
        assert params["edge_cases"].default is False, name
        extra = [p for p in params.values() if p.name not in {w.name for w in want}]
        assert all(p.default is not p.empty for p in extra), f"{name}: extras need defaults"
        assert inspect.signature(datasets.get(name).synthesize).return_annotation in (
            "SynthResult",
            datasets.SynthResult,
        ), name


def test_reading_does_not_import_generators() -> None:
    """Registering a reader leaves its generator unimported until ``spec.synthesize`` is used."""
    from harmonize import datasets

    names = list(datasets.names())
    code = (
        "import sys\n"
        "from harmonize import datasets\n"
        f"for n in {names!r}: datasets.get(n)\n"
        "print(sorted(m for m in sys.modules if m.startswith('harmonize.lookalike')))\n"
        f"datasets.get({names[0]!r}).synthesize\n"
        f"print({_lookalike_module(names[0])!r} in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    after_reading, resolved = out.stdout.strip().splitlines()
    assert after_reading == "[]", f"reading {names} imported {after_reading}"
    assert resolved == "True"  # the control: spec.synthesize does import the generator


def test_register_refuses_a_malformed_generator_name() -> None:
    from harmonize import datasets

    with pytest.raises(ValueError, match="module:function"):
        datasets.register(
            "not_a_dataset",
            reader=datasets.get("cpm17").reader,
            synthesize="harmonize.lookalike.cpm17.synthesize",
            description="",
        )
    assert "not_a_dataset" not in datasets._REGISTRY


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
