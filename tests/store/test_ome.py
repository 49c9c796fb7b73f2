"""OME-NGFF 0.5 metadata of stores (ome-zarr-models, ome-zarr-py) and ``harmonize view``'s layers.

The reference for colours and names is the ontology YAML (via the taxonomy loader), not the store's
own attributes that the metadata is written from.
"""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr
from typer.testing import CliRunner

from harmonize.cli import app
from harmonize.errors import StoreError
from harmonize.pipeline import load_config, run
from harmonize.pipeline.demo import configs_dir, demo_config
from harmonize.store import open_store
from harmonize.store.ome import label_colors, palette_color, write_ome_metadata
from harmonize.store.view import view_layers
from harmonize.taxonomy.catalog import load_ontology

SOURCES = ("consep", "pannuke")


@pytest.fixture(scope="module")
def store_url(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("ome")
    cfg = load_config(configs_dir() / "nuclei_merged.yaml")
    cfg = demo_config(cfg, tmp / "data", tmp / "out", n=2, cache={}, datasets=SOURCES)
    run(cfg, workers=1)
    return cfg.output.path


@pytest.fixture(scope="module")
def scene_url(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("ome_scene")
    cfg = load_config(configs_dir() / "scene_merged.yaml")
    cfg = demo_config(cfg, tmp / "data", tmp / "out", n=1, cache={}, datasets=("pascal_voc",))
    run(cfg, workers=1)
    return cfg.output.path


def _reference_colors(ontology: str = "nuclei") -> dict[int, tuple[int, int, int]]:
    onto = load_ontology(ontology)
    return {int(c.id): tuple(c.color) for c in [*onto.nodes, *onto.special]}


def _strip_ome(url: str) -> None:
    """Turn a store into what harmonize wrote before OME metadata: no ``ome`` group attributes."""
    g = zarr.open_group(url, mode="a", use_consolidated=False)
    for name in g["sources"].group_keys():
        attrs = g["sources"][name].attrs
        attrs.put({k: v for k, v in attrs.asdict().items() if k != "ome"})
    _consolidate(g)


def _consolidate(group) -> None:
    with warnings.catch_warnings():  # "not part of the v3 specification": the store's choice
        warnings.simplefilter("ignore", UserWarning)
        zarr.consolidate_metadata(group.store)


@pytest.mark.parametrize(
    ("which", "ontology", "sources"),
    [("store_url", "nuclei", SOURCES), ("scene_url", "scene", ("voc",))],
)
def test_every_source_validates_as_an_ome_zarr_05_label_image(
    which: str, ontology: str, sources: tuple[str, ...], request
) -> None:
    import ome_zarr_models
    from ome_zarr_models.v05.image_label import ImageLabel

    url = request.getfixturevalue(which)
    ref = _reference_colors(ontology)
    for source in sources:
        g = zarr.open_group(f"{url}/sources/{source}", mode="r")
        model = ome_zarr_models.open_ome_zarr(g)
        assert isinstance(model, ImageLabel)
        (ms,) = model.ome_attributes.multiscales
        assert [a.name for a in ms.axes] == list(g["semantic"].metadata.dimension_names)
        assert [a.type for a in ms.axes] == ["sample", "space", "space"]
        assert [d.path for d in ms.datasets] == ["semantic"]
        label = model.ome_attributes.image_label
        fill = int(g["semantic"].fill_value)
        got = {c.label_value: c.rgba for c in label.colors}
        # every value the semantic map holds has a colour, with the ontology's RGB
        values = np.unique(g["semantic"][...])
        assert set(values.tolist()) <= set(got)
        for v, rgba in got.items():
            assert rgba[:3] == ref[v]
            assert rgba[3] == (0 if v == fill else 255)
        names = {p.label_value: p.model_extra["name"] for p in label.properties}
        onto = load_ontology(ontology)
        assert names == {
            int(c.id): c.name for c in [*onto.nodes, *onto.special] if int(c.id) in got
        }


def test_validator_rejects_metadata_that_does_not_fit_the_arrays(store_url: str, tmp_path) -> None:
    """The check above is not vacuous: the same validator refuses an axis order that does not
    match the array (as the channel-last image would be) and a dataset that is not there."""
    from ome_zarr_models.v05.image_label import ImageLabel

    url = str(tmp_path / "copy.zarr")
    shutil.copytree(store_url, url)
    g = zarr.open_group(f"{url}/sources/consep", mode="a", use_consolidated=False)
    good = g.attrs["ome"]
    bad = json.loads(json.dumps(good))
    bad["multiscales"][0]["axes"] = [bad["multiscales"][0]["axes"][i] for i in (0, 2, 1)]
    g.attrs["ome"] = bad
    with pytest.raises(ValueError, match="does not match the dimension names"):
        ImageLabel.from_zarr(zarr.open_group(f"{url}/sources/consep", mode="r"))
    bad = json.loads(json.dumps(good))
    bad["multiscales"][0]["datasets"][0]["path"] = "image_chw"
    g.attrs["ome"] = bad
    with pytest.raises(ValueError, match="image_chw"):
        ImageLabel.from_zarr(zarr.open_group(f"{url}/sources/consep", mode="r"))
    g.attrs["ome"] = good
    ImageLabel.from_zarr(zarr.open_group(f"{url}/sources/consep", mode="r"))


def test_ome_zarr_py_reads_the_label_maps_with_their_colours(store_url: str, capsys) -> None:
    """What napari-ome-zarr builds its layers from: ome-zarr-py's reader nodes."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Multiscales, Reader
    from ome_zarr.utils import info

    ref = _reference_colors()
    for source in SOURCES:
        path = f"{store_url}/sources/{source}"
        nodes = list(Reader(parse_url(path))())
        node = nodes[0]
        assert node.load(Label) is not None and node.load(Multiscales) is not None
        sem = zarr.open_array(f"{path}/semantic", mode="r")
        (data,) = node.data
        np.testing.assert_array_equal(np.asarray(data), sem[...])
        fill = int(sem.fill_value)
        colors = node.metadata["color"]
        for v, rgba in colors.items():
            want = [*(c / 255 for c in ref[v]), 0.0 if v == fill else 1.0]
            np.testing.assert_allclose(rgba, want)
        assert [a["name"] for a in node.metadata["axes"]] == ["sample", "y", "x"]
        list(info(path))  # what `ome_zarr info STORE/sources/<source>` prints
        out = capsys.readouterr().out
        assert "version: 0.5" in out and "Label" in out and str(sem.shape) in out


def test_stores_without_ome_metadata_still_open_and_view(store_url: str, tmp_path) -> None:
    url = str(tmp_path / "old.zarr")
    shutil.copytree(store_url, url)
    _strip_ome(url)
    assert "ome" not in zarr.open_group(f"{url}/sources/consep", mode="r").attrs
    old, new = open_store(url), open_store(store_url)
    assert len(old) == len(new)
    np.testing.assert_array_equal(old[0].semantic, new[0].semantic)
    a, b = view_layers(old), view_layers(new)
    assert [(x.name, x.colors) for x in a] == [(x.name, x.colors) for x in b]
    # and the metadata can be added to such a store afterwards
    import ome_zarr_models

    g = zarr.open_group(url, mode="a", use_consolidated=False)
    write_ome_metadata(g)
    _consolidate(g)
    ome_zarr_models.open_ome_zarr(zarr.open_group(f"{url}/sources/consep", mode="r"))


def test_view_layers_of_the_whole_stack(store_url: str) -> None:
    store = open_store(store_url)
    layers = view_layers(store)
    assert [x.name for x in layers] == [
        f"{s}: {a}" for s in SOURCES for a in ("image", "semantic", "instance")
    ]
    assert [x.kind for x in layers[:3]] == ["image", "labels", "labels"]
    # the first source is visible (its instance map hidden under the class map), the others not
    assert [x.visible for x in layers] == [True, True, False, False, False, False]
    g = zarr.open_group(store_url, mode="r")
    for x in layers:
        assert x.data.shape == g["sources"][x.source][x.array].shape  # the stored array, lazily
        assert x.axis_labels == ("sample", "y", "x")
    ref = _reference_colors()
    sem = layers[1]
    fill = store.ontology.ignore
    assert set(sem.colors) == set(store.class_ids.tolist())
    for v, rgba in sem.colors.items():
        np.testing.assert_allclose(rgba, [*(c / 255 for c in ref[v]), 0.0 if v == fill else 1.0])
    assert layers[2].colors is None  # instance ids get napari's own colours
    only = view_layers(store, source="pannuke")
    assert [x.name for x in only] == [x.name for x in layers[3:]]
    assert all(x.visible != (x.array == "instance") for x in only)


def test_view_layers_of_one_sample_are_cropped_to_its_size(store_url: str) -> None:
    store = open_store(store_url)
    n0 = store.layouts[0].n_samples
    s = store.sample("pannuke", 1)
    by_index = view_layers(store, sample=n0 + 1)  # store-wide index
    by_source = view_layers(store, source="pannuke", sample=1)
    assert [x.name for x in by_index] == [x.name for x in by_source]
    assert [x.name for x in by_index] == [
        f"pannuke/{s.sample_id}: {a}" for a in ("image", "semantic", "instance")
    ]
    img, sem, inst = by_index
    np.testing.assert_array_equal(img.data, s.image)
    np.testing.assert_array_equal(sem.data, s.semantic)
    np.testing.assert_array_equal(inst.data, s.instance)
    assert sem.data.shape == (s.height, s.width) and sem.axis_labels == ("y", "x")
    with pytest.raises(StoreError, match="out of range"):
        view_layers(store, sample=len(store))
    with pytest.raises(StoreError, match="out of range"):
        view_layers(store, source="consep", sample=n0)
    with pytest.raises(StoreError, match="no source 'nope'"):
        view_layers(store, source="nope")


def test_view_without_napari_exits_2_with_how_to_install(store_url: str, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "napari", None)  # import napari -> ImportError
    res = CliRunner().invoke(app, ["view", store_url, "--sample", "0"])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1
    assert "pip install 'harmonize[view]'" in lines[0]
    assert "napari --plugin napari-ome-zarr" in lines[0]


def test_view_of_a_bad_store_or_source_is_a_one_line_error(store_url: str, tmp_path) -> None:
    bad = tmp_path / "nothing.zarr"
    zarr.open_group(str(bad), mode="w")
    for args in (["view", str(bad)], ["view", store_url, "--source", "nope"]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code != 0
        assert isinstance(res.exception, StoreError)  # run_app prints it in one line, exit 2


def test_label_colors_palette_for_ids_without_colour() -> None:
    classes = [{"id": 0, "color": [1, 2, 3]}, {"id": 7}]
    got = label_colors(classes, [7, 0, 9, 0], transparent=(9,))
    assert list(got) == [0, 7, 9]
    assert got[0] == (1, 2, 3, 255)
    assert got[7] == (*palette_color(7), 255)
    assert got[9] == (*palette_color(9), 0)
    assert len({palette_color(i) for i in range(64)}) == 64  # distinct, deterministic
    assert palette_color(5) == palette_color(5)


def test_root_metadata_is_untouched_and_consolidated(store_url: str) -> None:
    """The OME attributes sit on the source groups only and are part of the consolidated
    metadata (so a remote open still reads one document)."""
    root = json.loads((Path(store_url) / "zarr.json").read_text())
    assert "ome" not in root["attributes"]
    meta = root["consolidated_metadata"]["metadata"]
    for source in SOURCES:
        assert meta[f"sources/{source}"]["attributes"]["ome"]["version"] == "0.5"
