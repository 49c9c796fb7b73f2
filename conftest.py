"""Set-up of the package's doctests (``pytest --doctest-modules``; see ``[tool.pytest.ini_options]``).

Every doctest gets ``tmp``, a fresh temporary folder. A doctest that names ``nuclei_store`` gets the
path of a small store, written once per session by the shipped ``nuclei_merged.yaml`` config from
CoNSeP look-alikes (two per split), exactly as ``harmonize demo`` writes its stores.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def _doctest_nuclei_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    from harmonize.pipeline import load_config, run
    from harmonize.pipeline.demo import configs_dir, demo_config

    tmp: Path = tmp_path_factory.mktemp("doctest_store")
    cfg = load_config(configs_dir() / "nuclei_merged.yaml")
    cfg = demo_config(cfg, tmp / "data", tmp / "out", n=2, cache={}, datasets=("consep",))
    run(cfg, workers=1)
    return str(cfg.output.path)


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest, doctest_namespace: dict) -> None:
    if type(request.node).__name__ != "DoctestItem":  # only the doctests
        return
    doctest_namespace["tmp"] = request.getfixturevalue("tmp_path")
    if "nuclei_store" in (request.node.dtest.docstring or ""):
        doctest_namespace["nuclei_store"] = request.getfixturevalue("_doctest_nuclei_store")
