"""Issue 11 (hardening), the config/store/run cases: one test per numbered case."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from _configs import nuclei_config

from harmonize.errors import ConfigError, StoreError, TaxonomyError
from harmonize.pipeline import load_config, run
from harmonize.pipeline.demo import configs_dir
from harmonize.store import open_store
from harmonize.store.writer import utc_timestamp

# -- 1: never write into (or delete) a folder that is not a harmonize store ---------------------


def test_1_an_empty_zarr_group_with_user_files_is_refused(tmp_path: Path) -> None:
    import zarr

    out = tmp_path / "mine"
    zarr.open_group(str(out), mode="a")
    (out / "notes.txt").write_text("notes")
    (out / "mydata").mkdir()
    (out / "mydata" / "results.csv").write_text("a,b\n1,2\n")
    cfg = nuclei_config(tmp_path, path=str(out))
    for overwrite in (False, True):
        with pytest.raises(StoreError, match="not a harmonize store"):
            run(cfg, workers=1, overwrite=overwrite)
    assert (out / "notes.txt").read_text() == "notes"
    assert (out / "mydata" / "results.csv").read_text() == "a,b\n1,2\n"


def test_1_overwrite_keeps_user_files_inside_a_store(tmp_path: Path) -> None:
    cfg = nuclei_config(tmp_path)
    run(cfg, workers=1)
    store = Path(cfg.output.path)
    (store / "my_notes.txt").write_text("keep me")
    (store / "sources" / "kumar" / "extra.csv").write_text("keep me too")
    with pytest.raises(StoreError, match="did not write"):
        run(cfg, workers=1, overwrite=True)
    assert (store / "my_notes.txt").read_text() == "keep me"
    assert (store / "sources" / "kumar" / "extra.csv").exists()
    (store / "my_notes.txt").unlink()
    (store / "sources" / "kumar" / "extra.csv").unlink()
    assert run(cfg, workers=1, overwrite=True).written > 0  # a clean store is replaced


# -- 4: --resume notices an input file edited in place ----------------------------------------


def test_4_resume_refuses_an_input_edited_in_place(tmp_path: Path) -> None:
    from harmonize.pipeline.plan import make_plan

    cfg = nuclei_config(tmp_path, samples_per_shard=1)
    run(cfg, workers=1)
    ref = make_plan(cfg).sources[0].refs[0]
    label = Path(ref.paths[-1])
    data = label.read_bytes()
    label.write_bytes(data)  # same size, same bytes even: only the mtime moves
    st = label.stat()
    os.utime(label, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    with pytest.raises(StoreError, match="plan digest differs"):
        run(cfg, workers=1, resume=True)


# -- 6: credentials are used, never stored ------------------------------------------------------


def test_6_storage_credentials_never_reach_the_store(tmp_path: Path, monkeypatch) -> None:
    import fsspec
    from fsspec.implementations.memory import MemoryFileSystem
    from typer.testing import CliRunner

    from harmonize.cli import app
    from harmonize.store._zarr import open_group

    class KeyedMemory(MemoryFileSystem):  # an in-memory "cloud" filesystem taking credentials
        protocol = "keyedmem"
        store: ClassVar[dict] = {}
        pseudo_dirs: ClassVar[list] = [""]

        def __init__(self, key=None, Client_Kwargs=None, **kwargs):
            super().__init__()

    fsspec.register_implementation("keyedmem", KeyedMemory, clobber=True)
    url = "keyedmem://harmonize-hardening/secret.zarr"
    opts = {"key": "AKIAEXAMPLEKEY", "Client_Kwargs": {"aws_session_token": "SESSIONTOK"}}
    cfg = nuclei_config(tmp_path, path=url, storage_options=opts)
    digest_with = (
        run(cfg, workers=1)
        and open_group(url, storage_options=opts).attrs["harmonize"]["plan_digest"]
    )
    attrs = json.dumps(open_group(url, storage_options=opts).attrs.asdict())
    assert "AKIAEXAMPLEKEY" not in attrs and "SESSIONTOK" not in attrs
    stored = open_group(url, storage_options=opts).attrs["harmonize"]["config"]["output"][
        "storage_options"
    ]
    assert stored == {"key": "***", "Client_Kwargs": {"aws_session_token": "***"}}
    # another user's key, passed in the environment and on the command line: same plan, no trace
    path = tmp_path / "c.yaml"
    plain = cfg.resolved()
    plain["output"]["storage_options"] = {}
    path.write_text(yaml.safe_dump(plain))
    monkeypatch.setenv("HARMONIZE_STORAGE_OPTIONS", json.dumps({"key": "ENVKEY123"}))
    res = CliRunner().invoke(
        app,
        [
            *("run", str(path), "-j", "1", "--json", "--overwrite", "--storage-options"),
            json.dumps({"Client_Kwargs": {"aws_session_token": "CLITOKEN9"}}),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "ENVKEY123" not in res.output and "CLITOKEN9" not in res.output
    attrs = json.dumps(open_group(url, storage_options=opts).attrs.asdict())
    assert "ENVKEY123" not in attrs and "CLITOKEN9" not in attrs
    assert open_group(url, storage_options=opts).attrs["harmonize"]["plan_digest"] == digest_with


# -- 9: YAML alias bombs fail at once ----------------------------------------------------------


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_9_yaml_alias_bombs_fail_in_milliseconds(tmp_path: Path) -> None:
    from harmonize.taxonomy import load_ontology

    cfg = tmp_path / "bomb.yaml"
    cfg.write_text("name: bomb\nontology: nuclei\n" + _alias_bomb())
    onto = tmp_path / "bomb_onto.yaml"
    onto.write_text("name: bomb\n" + _alias_bomb())
    cases = ((cfg, load_config, ConfigError, 4), (onto, load_ontology, TaxonomyError, 3))
    for path, load, err, line in cases:
        t0 = time.perf_counter()
        with pytest.raises(err, match="aliases") as info:
            load(path)
        assert time.perf_counter() - t0 < 1.0
        assert f"{path}:{line}:" in str(info.value)  # a1's line, where *a0 is first reused


# -- 12: file:// URLs are locked like plain paths ---------------------------------------------


def test_12_file_urls_are_locked(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    store = tmp_path / "out" / "locked.zarr"
    cfg = nuclei_config(tmp_path, path=f"file://{store}")
    lock = Path(f"{store}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(f"{socket.gethostname()} {other.pid}\n")
        with pytest.raises(StoreError, match=f"another run \\(pid {other.pid}\\)"):
            run(cfg, workers=1)
    finally:
        other.kill()
        other.wait()
    assert not (store / "zarr.json").exists()  # the refused run wrote nothing
    report = run(cfg, workers=1)
    assert report.written == report.samples > 0 and not lock.exists()


# -- 13: disk full / read-only output: one typed error, store resumable -------------------------


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_13_disk_full_or_read_only_is_a_store_error(
    tmp_path: Path, monkeypatch, capsys, code
) -> None:
    """Simulated: tests run as root (chmod does not stop writes) and no tiny tmpfs is at hand,
    so the zarr local store's ``set`` raises the OS error once the first shard is written."""
    from zarr.storage import LocalStore

    from harmonize.cli import main

    cfg = nuclei_config(tmp_path, samples_per_shard=1)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg.resolved()))
    real = LocalStore.set
    state = {"shards": 0}

    async def failing(self, key, value):
        if "shard_done" in key and "/c/" in key:
            state["shards"] += 1
            if state["shards"] > 1:
                raise OSError(code, os.strerror(code))
        return await real(self, key, value)

    monkeypatch.setattr(LocalStore, "set", failing)
    monkeypatch.setattr("sys.argv", ["harmonize", "run", str(path), "-j", "1", "-q"])
    with pytest.raises(SystemExit) as info:
        main()  # the console entry point: typed errors become one line and exit code 2
    monkeypatch.setattr(LocalStore, "set", real)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert os.strerror(code) in err and "--resume" in err
    assert cfg.output.path in err.replace("\n", "")
    again = run(cfg, workers=1, resume=True)
    assert again.resumed_shards == 1 and again.written == again.samples
    assert open_store(cfg.output.path).complete


# -- 17: `ontology: x.yml` is a path, as `x.yaml` is ---------------------------------------------


def test_17_relative_yml_ontology_is_a_path(tmp_path: Path) -> None:
    import shutil

    from harmonize.pipeline.plan import make_plan

    base = nuclei_config(tmp_path)
    shipped = Path(__file__).resolve().parents[2] / "taxonomies" / "ontologies" / "nuclei.yaml"
    conf = tmp_path / "conf"
    conf.mkdir()
    shutil.copy(shipped, conf / "nuclei_copy.yml")
    data = base.resolved()
    data["ontology"] = "nuclei_copy.yml"
    path = conf / "run.yaml"
    path.write_text(yaml.safe_dump(data))
    cfg = load_config(path)
    assert cfg.resolved()["ontology"] == str(conf / "nuclei_copy.yml")
    assert make_plan(cfg).ontology["name"] == "nuclei"


# -- 15: no silent coercion in run configs ------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("boxes", "no", "boolean"), ("samples_per_shard", "2", "integer")],
)
def test_15_config_types_are_strict(tmp_path: Path, key, value, message) -> None:
    data = nuclei_config(tmp_path).resolved()
    data["output"][key] = value
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if f"{key}:" in t)
    assert f"{path}:{line}:" in str(info.value)
    for shipped in sorted(configs_dir().glob("*.yaml")):
        load_config(shipped)  # every shipped config still loads


# -- 14 / 16: config mistakes found while planning name the config line -------------------------


def _config_file(tmp_path: Path, datasets, edit) -> tuple[Path, list[str]]:
    data = nuclei_config(tmp_path, datasets=datasets).resolved()
    edit(data)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, path.read_text().splitlines()


def _line(lines: list[str], text: str, after: str | None = None) -> int:
    start = 0 if after is None else next(i for i, t in enumerate(lines) if after in t)
    return next(i for i, t in enumerate(lines[start:], start + 1) if text in t)


@pytest.mark.parametrize(
    ("dataset", "key", "value", "needle"),
    [
        ("consep", "splits", ["val"], "splits:"),
        ("pannuke", "splits", ["fold4"], "splits:"),
        ("consep", "options", {"legacy": True}, "options:"),
        ("pannuke", "options", {"allow_pickle_types": "yes"}, "options:"),
    ],
)
def test_14_reader_mistakes_are_config_errors_at_their_line(
    tmp_path: Path, dataset, key, value, needle
) -> None:
    from harmonize.pipeline.plan import make_plan

    def edit(data):
        data["sources"][0][key] = value

    path, lines = _config_file(tmp_path, (dataset,), edit)
    with pytest.raises(ConfigError) as info:
        make_plan(load_config(path))
    assert str(info.value).startswith(f"{path}:{_line(lines, needle)}: sources[0].{key}")


def test_14_unknown_url_scheme_is_a_config_error(tmp_path: Path) -> None:
    from harmonize.pipeline.plan import make_plan

    def edit(data):
        data["output"]["path"] = "foo://bucket/x.zarr"

    path, lines = _config_file(tmp_path, ("kumar",), edit)
    with pytest.raises(ConfigError, match="foo://") as info:
        make_plan(load_config(path))
    assert f"{path}:{_line(lines, 'path: foo://')}:" in str(info.value)


def test_16_unknown_level_node_is_reported_at_the_config_line(tmp_path: Path) -> None:
    from harmonize.pipeline.plan import make_plan

    def edit(data):
        data["level"] = {"nodes": ["epithelial", "immnue"], "coarse_policy": "keep"}

    path, lines = _config_file(tmp_path, ("kumar",), edit)
    with pytest.raises(ConfigError, match="immnue") as info:
        make_plan(load_config(path))
    assert str(info.value).startswith(f"{path}:{_line(lines, '- immnue')}:")


def test_12_a_url_store_being_created_by_another_run_is_refused(tmp_path: Path) -> None:
    import zarr

    url = "memory://harmonize-hardening/creating.zarr"
    g = zarr.open_group(url, mode="w")
    g.attrs["harmonize"] = {
        "format": "harmonize.store",
        "format_version": 1,
        "status": "creating",
        "run_id": "someone-else",
        "creating_since": utc_timestamp(),  # the format create_store writes
    }
    cfg = nuclei_config(tmp_path, path=url)
    with pytest.raises(StoreError, match="another run began creating"):
        run(cfg, workers=1, resume=True)
    g.attrs["harmonize"] = dict(g.attrs["harmonize"], creating_since=time.time())
    with pytest.raises(StoreError, match="another run began creating"):  # a number: before issue 15
        run(cfg, workers=1, resume=True)
    assert zarr.open_group(url).attrs["harmonize"]["run_id"] == "someone-else"
    report = run(cfg, workers=1, overwrite=True)  # the user says it is gone
    assert report.written == report.samples > 0


def test_12_a_url_store_whose_creation_is_old_is_taken_as_crashed(tmp_path: Path) -> None:
    import zarr

    url = "memory://harmonize-hardening/crashed.zarr"
    g = zarr.open_group(url, mode="w")
    g.attrs["harmonize"] = {
        "format": "harmonize.store",
        "format_version": 2,
        "status": "creating",
        "run_id": "someone-else",
        "creating_since": "2000-01-01T00:00:00Z",
    }
    report = run(nuclei_config(tmp_path, path=url), workers=1, resume=True)
    assert report.written == report.samples > 0
