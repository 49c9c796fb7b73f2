"""CLI conventions (issue 15): clean stdout, --json on the listing commands, shell completion,
honest run reports after --resume and for memory:// stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from harmonize.cli import app
from harmonize.pipeline import config_from_dict, load_config, run
from harmonize.pipeline.demo import configs_dir, demo_config

runner = CliRunner()


def _config_file(tmp_path: Path, **output) -> Path:
    cfg = demo_config(
        load_config(configs_dir() / "nuclei_merged.yaml"),
        tmp_path / "data",
        tmp_path / "out",
        n=2,
        datasets=("kumar",),
    )
    data = cfg.resolved()
    data["output"].update(output)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _harmonize(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from harmonize.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_missing_config_prints_nothing_on_stdout() -> None:
    res = _harmonize("run", "/nonexistent/run.yaml")
    assert res.returncode == 2
    assert res.stdout == ""  # no empty line from a progress bar that never started
    assert res.stderr.strip().splitlines() == [
        "error: /nonexistent/run.yaml: no such run config file"
    ]


def test_progress_goes_to_stderr_and_stdout_is_the_summary(tmp_path: Path) -> None:
    path = _config_file(tmp_path, samples_per_shard=1)
    res = _harmonize("run", str(path), "-j", "1")
    assert res.returncode == 0, res.stderr
    assert "writing samples" in res.stderr
    assert "writing samples" not in res.stdout and "listing samples" not in res.stdout
    assert "kumar" in res.stdout  # the summary table


def test_json_of_listing_commands_parses_and_matches_the_library(tmp_path: Path) -> None:
    from harmonize import datasets
    from harmonize.taxonomy import list_files, load_file

    res = runner.invoke(app, ["datasets", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["name"] for r in rows] == list(datasets.names())
    assert next(r for r in rows if r["name"] == "pannuke")["splits"] == ["fold1", "fold2", "fold3"]

    res = runner.invoke(app, ["taxonomy", "list", "--json"])
    assert res.exit_code == 0, res.output
    files = json.loads(res.output)["files"]
    cat = list_files()
    assert len(files) == len(cat.datasets) + len(cat.ontologies) + len(cat.mappings)
    consep = next(f for f in files if f["kind"] == "dataset" and f["name"] == "consep")
    assert consep["classes"] == len(load_file(cat.datasets["consep"]).classes)

    res = runner.invoke(app, ["taxonomy", "show", "nuclei", "--json"])
    assert res.exit_code == 0, res.output
    shown = json.loads(res.output)
    model = load_file(cat.ontologies["nuclei"])
    assert shown["name"] == "nuclei"
    assert [n["name"] for n in shown["nodes"]] == [n.name for n in model.nodes]

    path = _config_file(tmp_path)
    res = runner.invoke(app, ["config", "check", str(path), "--json"])
    assert res.exit_code == 0, res.output
    plan = json.loads(res.output)
    assert plan["sources"]["kumar"]["samples"] == plan["samples"] > 0
    assert not Path(plan["store"]).exists()

    report = run(load_config(path), workers=1)
    res = runner.invoke(app, ["info", report.store, "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["complete"] is True and info["samples"] == report.written
    assert info["sources"]["kumar"]["samples"] == report.written
    assert abs(sum(c["pixel_share"] for c in info["classes"]) - 1.0) < 1e-9


def test_shell_completion_is_offered() -> None:
    # typer detects the calling shell from the process tree, which a test run need not have (a
    # detached CI job): its own switch makes the option take the shell name instead
    res = _harmonize(
        "--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    )
    assert res.returncode == 0, res.stderr
    assert "_harmonize_completion" in res.stdout or "complete" in res.stdout
    assert "--install-completion" in _harmonize("--help").stdout


def test_rate_after_resume_counts_only_this_runs_samples(tmp_path: Path) -> None:
    cfg = load_config(_config_file(tmp_path, samples_per_shard=1))
    first = run(cfg, workers=1)
    assert first.processed == first.written == first.samples
    again = run(cfg, workers=1, resume=True)  # every shard is already committed
    assert again.resumed_shards == again.shards and again.processed == 0
    assert again.written == first.written
    assert again.to_dict()["samples_per_second"] is None


def test_memory_store_reports_the_one_process_it_uses(tmp_path: Path) -> None:
    data = load_config(_config_file(tmp_path)).resolved()
    data["output"]["path"] = "memory://cli-conventions.zarr"
    report = run(config_from_dict(data), workers=2)
    assert report.workers == 1 and report.to_dict()["workers"] == 1


def test_store_timestamps_share_one_format(tmp_path: Path) -> None:
    import re

    import zarr

    report = run(load_config(_config_file(tmp_path)), workers=1)
    meta = zarr.open_group(report.store, mode="r").attrs["harmonize"]
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    assert stamp.match(meta["created"]), meta["created"]
    assert stamp.match(meta["completed"]), meta["completed"]
    assert meta["created"] <= meta["completed"]


def test_an_error_is_one_unwrapped_line_with_its_brackets(tmp_path: Path) -> None:
    """A long message stays on one line when stderr is a pipe, and ``[...]`` is not eaten as
    rich markup."""
    long_dir = tmp_path / ("d" * 120) / "[fold4]"
    res = _harmonize("run", str(long_dir / "run.yaml"))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert lines == [f"error: {long_dir / 'run.yaml'}: no such run config file"]


def test_storage_options_must_be_a_json_object(tmp_path: Path, monkeypatch) -> None:
    from harmonize.errors import ConfigError

    path = _config_file(tmp_path)
    for bad in ("[1, 2]", "{not json"):
        res = _harmonize("run", str(path), "--storage-options", bad)
        assert res.returncode == 2, res.stderr
        assert res.stderr.strip().startswith("error: --storage-options "), res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    monkeypatch.setenv("HARMONIZE_STORAGE_OPTIONS", "42")
    import pytest

    with pytest.raises(ConfigError, match="HARMONIZE_STORAGE_OPTIONS must be a JSON object"):
        run(load_config(path), workers=1)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_rate_after_a_partial_resume_counts_the_rewritten_shard_only(tmp_path: Path) -> None:
    """Through the command line: one uncommitted shard of two-sample shards is rewritten, and the
    rate is that shard's samples over this run's time, not the whole store's."""
    import zarr

    path = _config_file(tmp_path, samples_per_shard=2)
    res = runner.invoke(app, ["run", str(path), "-j", "1", "--json"])
    assert res.exit_code == 0, res.output
    first = json.loads(res.output)
    g = zarr.open_group(first["store"], mode="r+")
    src = next(iter(g["sources"].group_keys()))
    done = g["sources"][src]["shard_done"]
    n_in_shard = json.loads(done[0].item())["stop"] - json.loads(done[0].item())["start"]
    assert first["samples"] > n_in_shard  # the other shards stay committed
    done[0] = ""  # as if the run had been killed before committing shard 0
    g.attrs["harmonize"] = {**g.attrs["harmonize"], "status": "incomplete"}
    res = runner.invoke(app, ["run", str(path), "-j", "1", "--resume", "--json"])
    assert res.exit_code == 0, res.output
    again = json.loads(res.output)
    assert again["processed"] == n_in_shard and again["written"] == first["written"]
    import pytest

    assert again["samples_per_second"] == pytest.approx(n_in_shard / again["seconds"], rel=0.02)


def test_cli_memory_store_with_two_workers_reports_one(tmp_path: Path) -> None:
    data = load_config(_config_file(tmp_path)).resolved()
    data["output"]["path"] = "memory://cli-conventions-j2.zarr"
    path = tmp_path / "mem.yaml"
    path.write_text(yaml.safe_dump(data))
    res = runner.invoke(app, ["run", str(path), "-j", "2", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["workers"] == 1


def test_every_compression_stores_the_same_pixels(tmp_path: Path) -> None:
    """lz4 (the default), zstd, blosc and none: the codec is the one asked for, the pixels equal."""
    import numpy as np
    import zarr

    from harmonize.pipeline import run

    want = {"lz4": "blosc", "zstd": "zstd", "blosc": "blosc", "none": None}
    pixels = {}
    for comp, codec in want.items():
        extra = {} if comp == "lz4" else {"compression": comp}  # lz4 is the default
        cfg = load_config(_config_file(tmp_path / comp, **extra))
        report = run(cfg, workers=1)
        g = zarr.open_group(report.store, mode="r")
        arr = g["sources"]["kumar"]["semantic"]
        names = [c["name"] for c in arr.metadata.to_dict()["codecs"][0]["configuration"]["codecs"]]
        assert (codec in names) if codec else names == ["bytes"], (comp, names)
        if comp == "lz4":
            blosc = arr.metadata.to_dict()["codecs"][0]["configuration"]["codecs"][-1]
            assert blosc["configuration"]["cname"] == "lz4"
        pixels[comp] = {k: g["sources"]["kumar"][k][...] for k in ("semantic", "instance", "image")}
    for comp in want:
        for k, a in pixels[comp].items():
            np.testing.assert_array_equal(a, pixels["zstd"][k])


def test_blosc_level_above_9_is_a_config_error(tmp_path: Path) -> None:
    res = _harmonize("config", "check", str(_config_file(tmp_path, level=12)))
    assert res.returncode == 2 and "above blosc's 9" in res.stderr, res.stderr
