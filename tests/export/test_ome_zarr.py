"""``export ome-zarr``: the copy validates as OME-NGFF 0.5 and holds exactly the store's pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr
from typer.testing import CliRunner

from harmonize.cli import app
from harmonize.errors import StoreError
from harmonize.export.ome_zarr import export_ome_zarr
from harmonize.taxonomy.catalog import load_ontology


@pytest.fixture(scope="module")
def exported(nuclei_store, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("omez") / "x.zarr"
    r = export_ome_zarr(nuclei_store, out)
    assert r == {"sources": nuclei_store.sources, "samples": len(nuclei_store)}
    return out


def test_every_source_validates_as_an_image_with_label_images(nuclei_store, exported) -> None:
    from ome_zarr_models.v05.image import Image
    from ome_zarr_models.v05.image_label import ImageLabel

    onto = load_ontology("nuclei")
    ref = {int(c.id): tuple(c.color) for c in [*onto.nodes, *onto.special]}
    for lay in nuclei_store.layouts:
        g = zarr.open_group(str(exported / lay.name), mode="r")
        img = Image.from_zarr(g)  # also validates labels/ (dtypes, levels, each label image)
        (ms,) = img.ome_attributes.multiscales
        assert [(a.name, a.type) for a in ms.axes] == [
            ("sample", "sample"),
            ("c", "channel"),
            ("y", "space"),
            ("x", "space"),
        ]
        assert img.labels.label_paths == ["semantic", "instance"]
        sem = ImageLabel.from_zarr(g["labels/semantic"]).ome_attributes.image_label
        assert sem.source.image == "../../"
        for c in sem.colors:
            assert c.rgba == (*ref[c.label_value], 0 if c.label_value == lay.fill_semantic else 255)
        inst = ImageLabel.from_zarr(g["labels/instance"]).ome_attributes.image_label
        assert inst.colors is None


def test_exported_pixels_equal_the_store(nuclei_store, exported) -> None:
    for lay in nuclei_store.layouts:
        g = zarr.open_group(str(exported / lay.name), mode="r")
        image, sem, inst = g["0"][...], g["labels/semantic/0"][...], g["labels/instance/0"][...]
        assert image.shape == (lay.n_samples, 3, lay.height, lay.width)
        assert sem.dtype == np.dtype(lay.semantic_dtype)
        assert inst.dtype == np.dtype(lay.instance_dtype)
        for i in range(lay.n_samples):
            s = nuclei_store.sample(lay.name, i)
            h, w = s.height, s.width
            assert (int(g["height"][i]), int(g["width"][i])) == (h, w)
            assert str(g["sample_id"][i]) == s.sample_id and str(g["split"][i]) == s.split
            np.testing.assert_array_equal(image[i, :, :h, :w].transpose(1, 2, 0), s.image)
            np.testing.assert_array_equal(sem[i, :h, :w], s.semantic)
            np.testing.assert_array_equal(inst[i, :h, :w], s.instance)
            # padding reads as the fill values
            assert (sem[i, h:, :] == lay.fill_semantic).all()
            assert (sem[i, :, w:] == lay.fill_semantic).all()
            assert not image[i, :, h:, :].any() and not inst[i, :, w:].any()


def test_ome_zarr_py_finds_the_image_and_both_label_maps(exported) -> None:
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Multiscales, Reader

    nodes = list(Reader(parse_url(str(exported / "consep")))())
    kinds = {str(n.zarr).split("consep")[-1].split(" ")[0]: n for n in nodes}
    assert set(kinds) == {"", "/labels", "/labels/semantic", "/labels/instance"}
    assert kinds[""].load(Multiscales) is not None and kinds[""].data[0].shape[1] == 3
    for name in ("/labels/semantic", "/labels/instance"):
        assert kinds[name].load(Label) is not None
    assert kinds["/labels/semantic"].metadata["color"]  # class colours
    assert not kinds["/labels/instance"].metadata["color"]  # instance ids: the viewer's own


def test_export_refuses_a_non_empty_folder(nuclei_store, exported, tmp_path) -> None:
    with pytest.raises(StoreError, match="not empty"):
        export_ome_zarr(nuclei_store, exported)
    res = CliRunner().invoke(app, ["export", "ome-zarr", nuclei_store.url, str(exported)])
    assert res.exit_code != 0 and isinstance(res.exception, StoreError)
    out = tmp_path / "cli.zarr"
    res = CliRunner().invoke(app, ["export", "ome-zarr", nuclei_store.url, str(out)])
    assert res.exit_code == 0, res.output
    assert f"wrote {len(nuclei_store)} samples of 3 sources" in res.output


def test_export_refuses_a_store_without_images(tmp_path) -> None:
    from harmonize.pipeline import load_config, run
    from harmonize.pipeline.demo import configs_dir, demo_config
    from harmonize.store import open_store

    cfg = demo_config(
        load_config(configs_dir() / "nuclei_merged.yaml"),
        tmp_path / "data",
        tmp_path / "out",
        n=1,
        datasets=("consep",),
    )
    cfg = cfg.model_copy(
        update={"output": cfg.output.model_copy(update={"layers": ["semantic", "instance"]})}
    )
    run(cfg, workers=1)
    store = open_store(cfg.output.path)
    with pytest.raises(StoreError, match="consep: the source has no image layer"):
        export_ome_zarr(store, tmp_path / "x.zarr")
    assert not (tmp_path / "x.zarr").exists()
    # the class map is still an OME label image in the store itself
    g = zarr.open_group(f"{cfg.output.path}/sources/consep", mode="r")
    assert g.attrs["ome"]["multiscales"][0]["datasets"][0]["path"] == "semantic"
