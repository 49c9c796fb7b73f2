"""Mapillary Vistas v1.2 / v2.0 (YAML-only layouts, ``packed16``): what the reader contract of
``test_layout_datasets.py`` does not say -- the released folders, and broken inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harmonize import datasets
from harmonize.errors import HarmonizeError


@pytest.mark.parametrize(
    ("name", "sub"), [("mapillary_vistas", ""), ("mapillary_vistas_v2", "v2.0/")]
)
def test_released_folders_and_independent_decoding(tmp_path: Path, name: str, sub: str) -> None:
    res = datasets.synthesize(name, tmp_path, n=4, seed=3, edge_cases=True)
    pngs = sorted(tmp_path.glob(f"*/{sub}instances/*.png"))
    assert pngs and {p.parts[-3 - sub.count("/")] for p in pngs} == {"training", "validation"}
    assert all((p.parents[1 + sub.count("/")] / "images" / f"{p.stem}.jpg").is_file() for p in pngs)
    reader = datasets.open_reader(name, tmp_path)
    things = {c["value"] for c in reader.values if c["instances"]}
    got = {s.sample_id: s for s in reader}
    assert set(got) == set(res.samples)
    for p in pngs:  # label = v // 256 (mapillary_vistas evaluation.py); objects = v of things
        v = np.asarray(Image.open(p)).astype(np.int64)
        s = got[p.stem]
        np.testing.assert_array_equal(s.semantic, v // 256)
        thing = np.isin(v // 256, sorted(things))
        np.testing.assert_array_equal(s.instance, np.where(thing, v + 1, 0))


def test_an_8bit_labels_png_in_instances_is_refused(tmp_path: Path) -> None:
    datasets.synthesize("mapillary_vistas", tmp_path, n=2, seed=0)
    reader = datasets.open_reader("mapillary_vistas", tmp_path)
    ref = reader.list_refs()[0]
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(ref.paths[1])
    with pytest.raises(HarmonizeError) as info:
        reader.read(ref)
    assert ref.paths[1] in str(info.value)


def test_a_jpeg_saved_as_instances_png_is_refused(tmp_path: Path) -> None:
    datasets.synthesize("mapillary_vistas_v2", tmp_path, n=2, seed=0)
    reader = datasets.open_reader("mapillary_vistas_v2", tmp_path)
    ref = reader.list_refs()[0]
    Image.new("L", (8, 8)).save(ref.paths[1], format="JPEG")
    with pytest.raises(HarmonizeError) as info:
        reader.read(ref)
    assert ref.paths[1] in str(info.value)
