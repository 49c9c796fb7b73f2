"""Issue 11 (hardening), the config/store/run cases: one test per numbered case."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harmonize.errors import StoreError
from harmonize.pipeline import load_config, run
from harmonize.pipeline.demo import configs_dir, demo_config


def _cfg(tmp_path: Path, *, datasets=("kumar",), **output):
    cfg = demo_config(
        load_config(configs_dir() / "nuclei_merged.yaml"),
        tmp_path / "data",
        tmp_path / "out",
        n=2,
        datasets=datasets,
    )
    return cfg.model_copy(update={"output": cfg.output.model_copy(update=output)}).with_base(None)


# -- 1: never write into (or delete) a folder that is not a harmonize store ---------------------


def test_1_an_empty_zarr_group_with_user_files_is_refused(tmp_path: Path) -> None:
    import zarr

    out = tmp_path / "mine"
    zarr.open_group(str(out), mode="a")
    (out / "notes.txt").write_text("notes")
    (out / "mydata").mkdir()
    (out / "mydata" / "results.csv").write_text("a,b\n1,2\n")
    cfg = _cfg(tmp_path, path=str(out))
    for overwrite in (False, True):
        with pytest.raises(StoreError, match="not a harmonize store"):
            run(cfg, workers=1, overwrite=overwrite)
    assert (out / "notes.txt").read_text() == "notes"
    assert (out / "mydata" / "results.csv").read_text() == "a,b\n1,2\n"


def test_1_overwrite_keeps_user_files_inside_a_store(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
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

    cfg = _cfg(tmp_path, samples_per_shard=1)
    run(cfg, workers=1)
    ref = make_plan(cfg).sources[0].refs[0]
    label = Path(ref.paths[-1])
    data = label.read_bytes()
    label.write_bytes(data)  # same size, same bytes even: only the mtime moves
    st = label.stat()
    os.utime(label, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    with pytest.raises(StoreError, match="plan digest differs"):
        run(cfg, workers=1, resume=True)
