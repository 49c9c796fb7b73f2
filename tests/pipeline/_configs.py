"""Run configs shared by the pipeline tests: the shipped nuclei config on small look-alikes."""

from __future__ import annotations

from pathlib import Path

from harmonize.pipeline import load_config
from harmonize.pipeline.config import RunConfig
from harmonize.pipeline.demo import configs_dir, demo_config


def nuclei_config(tmp_path: Path, *, datasets=("kumar",), **output) -> RunConfig:
    """``configs/nuclei_merged.yaml`` on 2-sample look-alikes of ``datasets`` under ``tmp_path``,
    its ``output`` updated with ``output``."""
    cfg = demo_config(
        load_config(configs_dir() / "nuclei_merged.yaml"),
        tmp_path / "data",
        tmp_path / "out",
        n=2,
        datasets=datasets,
    )
    return cfg.model_copy(update={"output": cfg.output.model_copy(update=output)}).with_base(None)
