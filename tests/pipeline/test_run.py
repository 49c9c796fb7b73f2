"""End-to-end runs of the shipped configs on generated look-alikes.

Every stored sample is compared with a reference computed independently of the compiler and the
engine: the generator's in-memory ground truth (native ids), decoded and mapped with the YAML
rules read by plain ``yaml.safe_load``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from harmonize import datasets
from harmonize.errors import ConfigError, HarmonizeError, StoreError
from harmonize.pipeline import load_config, run
from harmonize.pipeline.demo import configs_dir, demo_config
from harmonize.store import open_store
from harmonize.testing.contract import assert_same_partition

ROOT = Path(__file__).resolve().parents[2]
TAX = ROOT / "taxonomies"


def _yaml(kind: str, name: str) -> dict:
    return yaml.safe_load((TAX / kind / f"{name}.yaml").read_text())


class Reference:
    """Native truth -> ontology ids, from the YAML files alone."""

    def __init__(self, dataset: str, ontology: str, encoding: str | None) -> None:
        tax_name = datasets.get(dataset).taxonomy
        tax = _yaml("datasets", tax_name)
        onto = _yaml("ontologies", ontology)
        rules = _yaml("mappings", f"{tax_name}__{ontology}")["rules"]
        ids = {n["name"]: n["id"] for n in onto["nodes"]}
        ids.update({s["name"]: s["id"] for s in onto["special"]})
        self.special_ids = {s["id"] for s in onto["special"]}
        self.ignore = next(s["id"] for s in onto["special"] if s["role"] == "ignore")
        nodes = {n["name"]: n for n in onto["nodes"]}

        def thing(name: str) -> bool:
            while name is not None:
                if nodes[name].get("instances") is not None:
                    return bool(nodes[name]["instances"])
                name = nodes[name].get("parent")
            return True

        encs = tax.get("encodings") or []
        enc = next((e for e in encs if e["name"] == encoding), encs[0] if encs else None)
        offset = enc.get("offset", 0) if enc else 0
        special = {int(k): v for k, v in (enc.get("special") or {}).items()} if enc else {}
        cls_inst = {c["id"]: c.get("instances", False) for c in tax["classes"]}
        self.class_to_out = {r["id"]: ids[r["to"]] for r in rules}
        self.class_keeps = {
            r["id"]: cls_inst[r["id"]] and r["to"] in nodes and thing(r["to"]) for r in rules
        }
        targets = set(special.values())
        self.value_to_class = {c + offset: c for c in cls_inst if c not in targets}
        self.value_to_class.update(special)

    def semantic(self, native: np.ndarray) -> np.ndarray:
        out = np.full(native.shape, -1, np.int64)
        for v in np.unique(native):
            out[native == v] = self.class_to_out[self.value_to_class[int(v)]]
        return out


def _run_demo(tmp_path: Path, config: str, n: int = 2, datasets=None, **overrides):
    cfg = load_config(configs_dir() / config)
    cache: dict = {}
    cfg = demo_config(cfg, tmp_path / "data", tmp_path / "out", n=n, cache=cache, datasets=datasets)
    if overrides:
        cfg = cfg.model_copy(update=overrides).with_base(None)
    return cfg, cache


@pytest.mark.parametrize(
    "config",
    [
        "nuclei_merged.yaml",
        "nuclei_conic.yaml",
        "cityscapes_19.yaml",
        "scene_merged.yaml",
        "driving.yaml",
        "camvid_scene.yaml",
        "mseg_train.yaml",
    ],
)
def test_shipped_config_round_trips_against_truth(tmp_path: Path, config: str) -> None:
    cfg, cache = _run_demo(tmp_path, config)
    report = run(cfg, workers=1)
    assert report.written == report.samples and not report.skipped
    store = open_store(cfg.output.path)
    assert store.complete
    seen = set()
    for sc in cfg.sources:
        res = cache[sc.dataset]
        reader = datasets.open_reader(sc.dataset, sc.root, splits=sc.splits, **sc.options)
        ref = Reference(sc.dataset, cfg.ontology, getattr(reader, "encoding", None))
        name = sc.source_name
        wanted = {r.sample_id for r in reader.list_refs()}
        got = {store[i].sample_id: store[i] for i in store.indices([name])}
        assert set(got) == wanted, f"{name}: stored samples differ from the reader's listing"
        for sid, s in got.items():
            truth = res.samples[sid]
            assert s.split == truth.split
            want = ref.semantic(truth.semantic)
            np.testing.assert_array_equal(s.semantic, want, err_msg=f"{name}/{sid}")
            if s.image is not None:
                assert s.image.shape == (*truth.semantic.shape, 3)
            if truth.instance is None:
                assert s.instance is None or not s.instance.any()
                continue
            # instances kept: native class has instances and maps to a thing node
            keep = np.zeros_like(truth.instance, dtype=bool)
            want_cls = {}
            for tid in np.unique(truth.instance):
                if tid == 0:
                    continue
                m = truth.instance == tid
                native = truth.instance_classes.get(int(tid))
                if native is None:  # class from the majority of the instance's pixels
                    vals, cnt = np.unique(truth.semantic[m], return_counts=True)
                    native = ref.value_to_class[int(vals[np.argmax(cnt)])]
                if ref.class_keeps.get(native, False):
                    keep |= m
                    want_cls[int(tid)] = ref.class_to_out[native]
            want_inst = np.where(keep, truth.instance, 0)
            bij = assert_same_partition(s.instance.astype(np.int64), want_inst, f"{name}/{sid}")
            assert sorted(bij.values()) == list(range(1, len(bij) + 1)), "ids not 1..K"
            for tid, k in bij.items():
                assert s.instance_classes[k - 1] == want_cls[tid], f"{name}/{sid} inst {tid}"
            seen.add(name)
    if cfg.output.boxes:
        s = store[0]
        assert s.boxes is not None


def _arrays(url: str) -> dict[str, np.ndarray]:
    import zarr

    g = zarr.open_group(url, mode="r")
    out = {}
    for src in g["sources"].group_keys():
        for name, arr in g["sources"][src].arrays():
            if name == "shard_done":  # holds per-shard JSON; compared via the data it summarises
                continue
            out[f"{src}/{name}"] = arr[...]
    return out


def _assert_same_store(a: str, b: str) -> None:
    xa, xb = _arrays(a), _arrays(b)
    assert xa.keys() == xb.keys()
    for k in xa:
        np.testing.assert_array_equal(xa[k], xb[k], err_msg=k)


def _small_nuclei(tmp_path: Path, n: int = 2, **output):
    cfg, cache = _run_demo(
        tmp_path, "nuclei_merged.yaml", n=n, datasets=("consep", "pannuke", "kumar")
    )
    out = cfg.output.model_copy(update=output)
    return cfg.model_copy(update={"output": out}).with_base(None), cache


@pytest.mark.slow  # starts a dask cluster
def test_dask_executor_matches_local(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    cfg, _ = _small_nuclei(tmp_path, samples_per_shard=2)
    local = cfg.model_copy(
        update={"output": cfg.output.model_copy(update={"path": str(tmp_path / "local.zarr")})}
    ).with_base(None)
    dask = cfg.model_copy(
        update={"output": cfg.output.model_copy(update={"path": str(tmp_path / "dask.zarr")})}
    ).with_base(None)
    run(local, workers=2)
    report = run(dask, executor="dask", workers=2)
    assert report.executor == "dask"
    _assert_same_store(str(tmp_path / "local.zarr"), str(tmp_path / "dask.zarr"))


def test_killed_run_resumes_to_the_same_store(tmp_path: Path) -> None:
    cfg, _ = _small_nuclei(tmp_path, n=6, samples_per_shard=1)
    clean = cfg.model_copy(
        update={"output": cfg.output.model_copy(update={"path": str(tmp_path / "clean.zarr")})}
    ).with_base(None)
    run(clean, workers=1)
    data = clean.resolved()
    data["output"]["path"] = str(tmp_path / "killed.zarr")
    cfg_path = tmp_path / "killed.yaml"
    cfg_path.write_text(yaml.safe_dump(data))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "harmonize", "run", str(cfg_path), "-j", "1", "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    import zarr

    killed = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            g = zarr.open_group(str(tmp_path / "killed.zarr"), mode="r")
            done = sum(
                int((g["sources"][s]["shard_done"][:] != "").sum())
                for s in g["sources"].group_keys()
            )
        except Exception:
            done = 0
        if done >= 2:
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.01)
    proc.wait()
    if not killed:
        pytest.fail(f"the run finished before it could be killed: {proc.stderr.read()[-500:]}")
    with pytest.raises(StoreError, match="incomplete"):
        open_store(tmp_path / "killed.zarr")
    report = run(load_config(cfg_path), resume=True, workers=1)
    assert report.resumed_shards >= 2
    assert open_store(tmp_path / "killed.zarr").complete
    assert not list((tmp_path / "killed.zarr").rglob("*.partial")), "a killed write's temp file"
    _assert_same_store(str(tmp_path / "clean.zarr"), str(tmp_path / "killed.zarr"))


def test_existing_store_needs_resume_or_overwrite(tmp_path: Path) -> None:
    cfg, _ = _small_nuclei(tmp_path)
    run(cfg, workers=1)
    with pytest.raises(StoreError, match="--resume"):
        run(cfg, workers=1)
    run(cfg, workers=1, overwrite=True)
    report = run(cfg, workers=1, resume=True)
    assert report.resumed_shards == report.shards


def _truncate_one_consep_png(cache) -> tuple[str, Path]:
    res = cache["consep"]
    sid = sorted(res.samples)[0]
    png = next(p for p in Path(res.root).rglob(f"{sid}.png") if p.parent.name == "Images")
    png.write_bytes(png.read_bytes()[:200])
    return sid, png


def test_bad_input_skip_lists_it_and_raise_names_it(tmp_path: Path) -> None:
    cfg, cache = _small_nuclei(tmp_path)
    sid, png = _truncate_one_consep_png(cache)
    skip = cfg.model_copy(update={"on_error": "skip"}).with_base(None)
    report = run(skip, workers=1)
    bad = [s for s in report.skipped if s["sample_id"] == sid]
    assert len(bad) == 1 and str(png) in bad[0]["error"]
    store = open_store(skip.output.path)
    assert sid not in {s.sample_id for s in store if s.source == "consep"}
    assert report.written == report.samples - 1
    stop = skip.model_copy(
        update={
            "on_error": "raise",
            "output": skip.output.model_copy(update={"path": str(tmp_path / "raise.zarr")}),
        }
    ).with_base(None)
    with pytest.raises(HarmonizeError) as info:
        run(stop, workers=1)
    assert str(png) in str(info.value)


def test_config_errors_name_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(
        "name: x\nontology: nuclei\nsources:\n  - dataset: consep\n    rot: data\n"
        "output: {path: out.zarr}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    # the missing `root` is reported at the source's line, the typo at its own line
    assert msg.startswith(f"{p}:4: sources[0]: missing required key 'root'")
    assert "line 5: sources[0].rot: unknown key 'rot'; did you mean 'root'?" in msg


def test_relative_paths_resolve_against_the_config(tmp_path: Path) -> None:
    sub = tmp_path / "configs"
    sub.mkdir()
    p = sub / "c.yaml"
    p.write_text(
        "name: x\nontology: nuclei\nsources:\n  - {dataset: consep, root: ../data/C}\n"
        "output: {path: ../out/x.zarr}\n"
    )
    cfg = load_config(p)
    r = cfg.resolved()
    assert r["sources"][0]["root"] == str((tmp_path / "data" / "C").resolve())
    assert r["output"]["path"] == str((tmp_path / "out" / "x.zarr").resolve())


def test_export_png_layout(tmp_path: Path) -> None:
    from PIL import Image

    from harmonize.export.png import export_png

    cfg, _ = _small_nuclei(tmp_path)
    run(cfg, workers=1)
    store = open_store(cfg.output.path)
    n = export_png(store, tmp_path / "png", instances=True)
    assert n == len(store)
    classes = json.loads((tmp_path / "png" / "classes.json").read_text())
    value_of = {c["id"]: c["value"] for c in classes if "id" in c}
    s = store[0]
    ann = np.asarray(
        Image.open(tmp_path / "png" / "annotations" / s.split / f"{s.source}__{s.sample_id}.png")
    )
    specials = {
        c["id"] for c in store.ontology.classes if c.get("role") not in (None, "background")
    }
    for cid in np.unique(s.semantic):
        want = 255 if int(cid) in specials else value_of[int(cid)]
        assert (ann[s.semantic == cid] == want).all()


def test_local_map_shares_shards_between_coordinator_and_pool(monkeypatch) -> None:
    """``--workers N`` spawns N - 1 processes and the coordinator writes shards too: every task is
    processed exactly once, some by the pool and some by the coordinator; a failure propagates."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from harmonize.pipeline import execute as run_mod

    seen: list[tuple[int, str]] = []

    def fake_process_shard(task: int) -> dict:
        time.sleep(0.005)
        seen.append((task, threading.current_thread().name))
        if task == -1:
            raise RuntimeError("shard -1 failed")
        return {"start": task, "stop": task + 1}

    monkeypatch.setattr(run_mod, "process_shard", fake_process_shard)
    tasks = list(range(40))
    with ThreadPoolExecutor(1, thread_name_prefix="pool") as pool:
        out = [s["start"] for s in run_mod._local_map(tasks, pool, 1)]
    assert sorted(out) == tasks
    assert sorted(t for t, _ in seen) == tasks
    who = {name.startswith("pool") for _, name in seen}
    assert who == {True, False}  # both the pool and the coordinator wrote shards
    with ThreadPoolExecutor(1) as pool, pytest.raises(RuntimeError, match="shard -1"):
        list(run_mod._local_map([0, 1, -1, 2, 3], pool, 1))
