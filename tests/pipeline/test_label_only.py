"""Label-only runs: ``output.layers`` without ``image`` read downloads that have no image folder.

Each run goes through ``harmonize run`` on a look-alike whose image folder was deleted, and its
store is compared array by array with the store of the same run on the complete look-alike (whose
pixels the shipped-config round trips check against the generators' truth).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
import zarr
from typer.testing import CliRunner

from harmonize import datasets
from harmonize.cli import app
from harmonize.errors import HarmonizeError
from harmonize.store import open_store

runner = CliRunner()

#: dataset, ontology, look-alike options, the image folders of its layout (relative to its root)
CASES = {
    "cityscapes": ("cityscapes-19", {"size": (48, 96)}, ("leftImg8bit",)),
    "consep": ("nuclei", {"size": (48, 48)}, ("Train/Images", "Test/Images")),
    "lizard": ("nuclei", {"size": (48, 48)}, ("Lizard_Images1", "Lizard_Images2")),
}


def _config(tmp_path: Path, name: str, dataset: str, root: Path, layers: list[str]) -> Path:
    ontology = CASES[dataset][0]
    path = tmp_path / f"{name}.yaml"
    doc = {
        "name": name,
        "ontology": ontology,
        "sources": [{"dataset": dataset, "root": str(root)}],
        "output": {"path": str(tmp_path / f"{name}.zarr"), "layers": layers},
        "on_error": "skip",  # a sample failing for want of its image must show up as skipped
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def _run(config: Path) -> dict:
    res = runner.invoke(app, ["run", str(config), "-j", "1", "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def _arrays(url: str) -> dict[str, np.ndarray]:
    g = zarr.open_group(url, mode="r")
    out = {}
    for src in g["sources"].group_keys():
        for name, arr in g["sources"][src].arrays():
            if name != "shard_done":
                out[f"{src}/{name}"] = arr[...]
    return out


def _look_alike(tmp_path: Path, dataset: str) -> tuple[datasets.SynthResult, Path]:
    result = datasets.synthesize(dataset, tmp_path / "data" / dataset, n=3, **CASES[dataset][1])
    labels_only = tmp_path / "labels_only" / dataset
    shutil.copytree(result.root, labels_only)
    removed = 0
    for folder in CASES[dataset][2]:
        if (labels_only / folder).is_dir():
            shutil.rmtree(labels_only / folder)
            removed += 1
    assert removed, f"no image folder of {dataset} found to delete"
    return result, labels_only


@pytest.mark.parametrize("dataset", sorted(CASES))
def test_run_without_image_layer_needs_no_images(tmp_path: Path, dataset: str) -> None:
    result, labels_only = _look_alike(tmp_path, dataset)
    layers = ["semantic", "instance"]
    full = _run(_config(tmp_path, "full", dataset, result.root, layers))
    bare = _run(_config(tmp_path, "bare", dataset, labels_only, layers))
    assert not bare["skipped"], bare["skipped"]
    assert bare["written"] == bare["samples"] == full["written"] == len(result.samples)
    a, b = _arrays(full["store"]), _arrays(bare["store"])
    assert a.keys() == b.keys() and not any(k.endswith("/image") for k in a)
    for k in a:
        if k.endswith("/paths"):  # the same files, under the two roots
            continue
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # asking for the image layer on the same download: every sample fails, naming its image
    config = _config(tmp_path, "img", dataset, labels_only, [*layers, "image"])
    res = runner.invoke(app, ["run", str(config), "-j", "1", "--json"])
    assert isinstance(res.exception, HarmonizeError), res.output
    msg = str(res.exception)
    assert f"{len(result.samples)} failed" in msg and "output.layers" in msg, msg
    assert str(labels_only) in msg


def test_image_layer_on_a_label_only_download_is_one_line_exit_2(tmp_path: Path) -> None:
    _, labels_only = _look_alike(tmp_path, "cityscapes")
    config = _config(tmp_path, "img", "cityscapes", labels_only, ["semantic", "image"])
    doc = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**doc, "on_error": "raise"}))
    res = subprocess.run(
        [sys.executable, "-c", "from harmonize.cli import main; main()", "run", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "leftImg8bit" in lines[0] and "output.layers" in lines[0], lines


def test_labelids_only_cityscapes_without_images(tmp_path: Path) -> None:
    """A third-party Cityscapes copy: ``_gtFine_labelIds.png`` only, no images. Semantic as from
    the complete copy, no instances, and the store's label space says the source gives none."""
    result, labels_only = _look_alike(tmp_path, "cityscapes")
    for p in [*labels_only.rglob("*_instanceIds.png"), *labels_only.rglob("*_polygons.json")]:
        p.unlink()
    layers = ["semantic", "instance"]
    full = _run(_config(tmp_path, "full", "cityscapes", result.root, layers))
    bare = _run(_config(tmp_path, "bare", "cityscapes", labels_only, layers))
    assert not bare["skipped"] and bare["written"] == len(result.samples)
    a, b = open_store(full["store"]), open_store(bare["store"])
    assert [s.sample_id for s in a] == [s.sample_id for s in b]
    for sa, sb in zip(a, b, strict=True):
        np.testing.assert_array_equal(sa.semantic, sb.semantic, err_msg=sa.sample_id)
        assert sb.instance is None or not sb.instance.any()
    assert any(s.instance is not None and s.instance.any() for s in a)
    space = b.label_space("cityscapes")
    assert space["instances"] is False and space["gives"] == "classes"
    assert space["samples_without_instances"] == len(result.samples)
    assert a.label_space("cityscapes")["instances"] is True
