"""Run configs, planning, executors (local processes, dask.distributed) and run reports."""

from harmonize.pipeline.config import RunConfig, config_from_dict, load_config
from harmonize.pipeline.execute import run
from harmonize.pipeline.report import RunReport

__all__ = ["RunConfig", "RunReport", "config_from_dict", "load_config", "run"]
