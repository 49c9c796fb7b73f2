"""Safety of writes and resumes: what --overwrite may delete, crashed creations, plan digests,
memory:// stores, selection typos and the training set's sampling state."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from _configs import nuclei_config

from harmonize.errors import ConfigError, StoreError
from harmonize.pipeline import config_from_dict, run
from harmonize.store import open_store


def test_overwrite_never_deletes_a_folder_that_is_not_a_store(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    (precious / "sub").mkdir(parents=True)
    (precious / "thesis.txt").write_text("years of work")
    cfg = nuclei_config(tmp_path, path=str(precious))
    for overwrite in (False, True):
        with pytest.raises(StoreError, match="not a harmonize store") as info:
            run(cfg, workers=1, overwrite=overwrite)
        assert str(precious) in str(info.value)
    assert (precious / "thesis.txt").read_text() == "years of work"
    assert (precious / "sub").is_dir()


def test_a_crash_while_creating_the_store_is_redone_by_resume(tmp_path: Path, monkeypatch) -> None:
    import zarr

    cfg = nuclei_config(tmp_path, datasets=("kumar", "cpm17"))
    real = zarr.Group.create_array
    calls = {"n": 0}

    def dying(self, *args, **kwargs):  # some arrays of the first source exist by then
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(zarr.Group, "create_array", dying)
    with pytest.raises(KeyboardInterrupt):
        run(cfg, workers=1)
    monkeypatch.setattr(zarr.Group, "create_array", real)
    with pytest.raises(StoreError, match="did not finish"):
        open_store(cfg.output.path, allow_incomplete=True)
    with pytest.raises(StoreError, match="--resume"):
        run(cfg, workers=1)  # neither resumed nor overwritten: refuses
    report = run(cfg, workers=1, resume=True)
    assert report.written == report.samples > 0 and report.resumed_shards == 0
    assert open_store(cfg.output.path).complete


def test_resume_refuses_a_changed_instance_rule(tmp_path: Path) -> None:
    import shutil

    import yaml

    tax = tmp_path / "tax"
    shutil.copytree(Path(__file__).resolve().parents[2] / "taxonomies", tax)
    cfg = nuclei_config(tmp_path, samples_per_shard=1)
    cfg = cfg.model_copy(update={"ontology": str(tax / "ontologies" / "nuclei.yaml")}).with_base(
        None
    )
    run(cfg, workers=1)
    onto = yaml.safe_load((tax / "ontologies" / "nuclei.yaml").read_text())
    for n in onto["nodes"]:
        if n["name"] == "nucleus":
            n["instances"] = False  # same table, but no instances any more
    (tax / "ontologies" / "nuclei.yaml").write_text(yaml.safe_dump(onto, sort_keys=False))
    with pytest.raises(StoreError, match="plan digest differs"):
        run(cfg, workers=1, resume=True)
    report = run(cfg, workers=1, resume=True, overwrite=True)  # both: start over
    assert report.resumed_shards == 0
    assert sum(s.instance.max() for s in open_store(cfg.output.path)) == 0


def test_description_changes_do_not_block_resume(tmp_path: Path) -> None:
    cfg = nuclei_config(tmp_path)
    run(cfg, workers=1)
    again = cfg.model_copy(update={"description": "edited"}).with_base(None)
    assert run(again, workers=1, resume=True).resumed_shards > 0


def test_memory_store_uses_one_process(tmp_path: Path) -> None:
    cfg = nuclei_config(tmp_path, path="memory://harmonize-safety/x.zarr", samples_per_shard=1)
    report = run(cfg, workers=2)
    assert report.workers == 1 and report.written == report.samples
    with pytest.raises(ConfigError, match="memory://"):
        run(cfg, executor="dask", overwrite=True)


def test_repeated_layers_are_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="repeat"):
        config_from_dict(
            {
                "name": "x",
                "ontology": "nuclei",
                "sources": [{"dataset": "kumar", "root": "k"}],
                "output": {"path": "o.zarr", "layers": ["semantic", "semantic"]},
            }
        )


def test_unknown_source_or_split_is_an_error_not_an_empty_selection(tmp_path: Path) -> None:
    cfg = nuclei_config(tmp_path, datasets=("kumar", "cpm17"))
    run(cfg, workers=1)
    store = open_store(cfg.output.path)
    assert store.indices("kumar") == store.indices(["kumar"]) != []
    with pytest.raises(StoreError, match="no source"):
        store.indices(["kumarcpm17"])
    with pytest.raises(StoreError, match="no split"):
        store.indices(split="tran")


def test_sample_weights_do_not_change_random_draws(tmp_path: Path) -> None:
    cfg = nuclei_config(tmp_path, datasets=("kumar", "cpm17"))
    run(cfg, workers=1)
    ts = open_store(cfg.output.path).training_set(
        patch_size=16, mode="random", samples_per_epoch=20, seed=1
    )
    before = [ts.locate(i) for i in range(20)]
    w = ts.sample_weights()
    assert len(w) == len(ts.indices)
    assert [ts.locate(i) for i in range(20)] == before
    grid = open_store(cfg.output.path).training_set(patch_size=16)
    iw = grid.item_weights()
    assert len(iw) == len(grid)
    with pytest.raises(ValueError):
        ts.item_weights()


def test_training_set_of_an_incomplete_store_pickles(tmp_path: Path) -> None:
    from harmonize.store._zarr import open_group

    cfg = nuclei_config(tmp_path)
    run(cfg, workers=1)
    g = open_group(cfg.output.path, mode="r+")
    meta = dict(g.attrs["harmonize"])
    meta["status"] = "incomplete"
    g.attrs["harmonize"] = meta
    store = open_store(cfg.output.path, allow_incomplete=True)
    ts = pickle.loads(pickle.dumps(store.training_set(patch_size=16)))
    np.testing.assert_array_equal(
        ts[0]["semantic"], store.training_set(patch_size=16)[0]["semantic"]
    )


def test_one_run_at_a_time_per_store(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    cfg = nuclei_config(tmp_path)
    lock = Path(cfg.output.path + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(f"{socket.gethostname()} {other.pid}\n")
        with pytest.raises(StoreError, match=f"another run \\(pid {other.pid}\\)"):
            run(cfg, workers=1)
    finally:
        other.kill()
        other.wait()
    report = run(cfg, workers=1)  # the lock's run is gone: taken over
    assert report.written == report.samples and not lock.exists()
