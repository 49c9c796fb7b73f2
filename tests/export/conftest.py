"""Small demo stores shared by the export tests (built once per module)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonize.pipeline import load_config, run
from harmonize.pipeline.demo import configs_dir, demo_config
from harmonize.store import open_store


def _build(tmp: Path, config: str, datasets: tuple[str, ...], n: int = 2):
    cfg = load_config(configs_dir() / config)
    cfg = demo_config(cfg, tmp / "data", tmp / "out", n=n, cache={}, datasets=datasets)
    run(cfg, workers=1)
    return open_store(cfg.output.path)


@pytest.fixture(scope="session")
def scene_store(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("scene"), "scene_merged.yaml", ("pascal_voc",))


@pytest.fixture(scope="session")
def nuclei_store(tmp_path_factory):
    return _build(
        tmp_path_factory.mktemp("nuclei"), "nuclei_merged.yaml", ("consep", "pannuke", "kumar")
    )
