"""The run-related commands through the CLI, and fsspec URLs as outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml
from typer.testing import CliRunner

from harmonize.cli import app
from harmonize.pipeline import load_config, run
from harmonize.pipeline.demo import configs_dir, demo_config
from harmonize.store import open_store

runner = CliRunner()


def _small_config(tmp_path: Path) -> Path:
    cfg = demo_config(
        load_config(configs_dir() / "nuclei_merged.yaml"),
        tmp_path / "data",
        tmp_path / "out",
        n=1,
        datasets=("consep", "kumar"),
    )
    data = cfg.resolved()
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_config_schema_is_json_schema_of_run_configs() -> None:
    res = runner.invoke(app, ["config", "schema"])
    assert res.exit_code == 0, res.output
    schema = json.loads(res.output)
    assert {"name", "ontology", "sources", "output"} <= set(schema["properties"])
    assert set(schema["required"]) >= {"name", "ontology", "sources", "output"}


def test_config_check_plans_without_writing(tmp_path: Path) -> None:
    path = _small_config(tmp_path)
    res = runner.invoke(app, ["config", "check", str(path)])
    assert res.exit_code == 0, res.output
    assert "consep" in res.output and "kumar" in res.output
    assert not (tmp_path / "out" / "nuclei_merged.zarr").exists()


def test_run_json_report_and_info(tmp_path: Path) -> None:
    path = _small_config(tmp_path)
    res = runner.invoke(app, ["run", str(path), "-j", "1", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["written"] == report["samples"] > 0
    assert set(report["per_source"]) == {"consep", "kumar"}
    info = runner.invoke(app, ["info", report["store"]])
    assert info.exit_code == 0 and "complete" in info.output
    again = runner.invoke(app, ["run", str(path), "-j", "1", "--quiet"])
    assert again.exit_code != 0  # the store exists: needs --resume or --overwrite


def test_output_to_an_fsspec_url(tmp_path: Path) -> None:
    cfg = load_config(_small_config(tmp_path))
    url = "memory://harmonize-test/nuclei.zarr"
    cfg = cfg.model_copy(update={"output": cfg.output.model_copy(update={"path": url})})
    report = run(cfg.with_base(None), workers=1)
    assert report.store == url
    store = open_store(url)
    local_cfg = cfg.model_copy(
        update={"output": cfg.output.model_copy(update={"path": str(tmp_path / "local.zarr")})}
    )
    run(local_cfg.with_base(None), workers=1)
    local = open_store(tmp_path / "local.zarr")
    assert len(store) == len(local) == report.written
    for a, b in zip(store, local, strict=True):
        assert a.sample_id == b.sample_id
        np.testing.assert_array_equal(a.semantic, b.semantic)
        np.testing.assert_array_equal(a.instance, b.instance)


def test_demo_command_runs_end_to_end(tmp_path):
    """`make demo` is `harmonize demo`: every shipped config on look-alikes, stores summarized."""
    from typer.testing import CliRunner

    from harmonize.cli import app

    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--n", "1", "-q"])
    assert res.exit_code == 0, res.output
    stores = sorted(p.name for p in (tmp_path / "demo").glob("*.zarr"))
    assert stores, "no store written"
    for name in stores:
        assert f"{tmp_path / 'demo' / name}" in res.output.replace("\n", "")
    assert "source " in res.output  # the per-store summary printed after the runs
