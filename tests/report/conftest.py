"""A small nuclei store shared by the report tests (built once per test session and worker)."""

from __future__ import annotations

import pytest

from harmonize import datasets
from harmonize.pipeline import load_config, run
from harmonize.pipeline.demo import configs_dir, demo_config


@pytest.fixture(scope="session")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """CoNSeP + PanNuke (with its edge cases: void pixels, overlaps) + Kumar, two samples each."""
    root = tmp_path_factory.mktemp("report-store")
    cache = {
        "pannuke": datasets.synthesize("pannuke", root / "data" / "pannuke", n=2, edge_cases=True)
    }
    cfg = demo_config(
        load_config(configs_dir() / "nuclei_merged.yaml"),
        root / "data",
        root / "out",
        n=2,
        cache=cache,
        datasets=("consep", "pannuke", "kumar"),
    )
    run(cfg, workers=1)
    return cfg.output.path
