"""Run configs, planning, executors (local processes, dask.distributed) and run reports."""

from harmonize.pipeline.config import RunConfig, config_from_dict, load_config
from harmonize.pipeline.execute import RunReport, run

__all__ = ["RunConfig", "RunReport", "config_from_dict", "load_config", "run"]
