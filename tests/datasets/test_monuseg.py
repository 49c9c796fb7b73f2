"""MoNuSeg 2018 reader and look-alike generator (nuclei_datasets.md §4.1)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import tifffile
from skimage import draw

from harmonize import datasets
from harmonize.datasets.base import SynthResult
from harmonize.errors import ConfigError, CorruptFileError, HarmonizeError, MissingFileError
from harmonize.testing.contract import ReaderContract, assert_same_partition

TRAIN = "MoNuSeg 2018 Training Data"
TEST = "MoNuSegTestData"


class TestMoNuSeg(ReaderContract):
    dataset = "monuseg"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": (56, 56)}
    needs_image_files = True  # the XML holds no size: the TIFF header gives it

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        xml = root / TEST / "TCGA-2Z-A9J9-01A-01-TS1.xml"
        xml.write_text(xml.read_text().replace("</Regions>", "</Region>", 1))
        return "TCGA-2Z-A9J9-01A-01-TS1", CorruptFileError


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    out = tmp_path_factory.mktemp("monuseg_edge_mod")
    return datasets.synthesize("monuseg", out, n=3, seed=5, size=(56, 56), edge_cases=True)


# HoVer-Net tensorflow-final:src/misc/proc_kumar_ann.py, re-implemented: every Region found by
# './/Region', float vertices, one filled mask per region, sorted by area ascending (stable), painted
# with idx + 1 so larger nuclei end on top. cv2.drawContours is replaced by draw.polygon (no cv2).
def hovernet_order(xml_file: Path, shape: tuple[int, int]) -> np.ndarray:
    xml = ET.parse(xml_file)
    insts_list = []
    for region_xml in xml.findall(".//Region"):
        vertices = []
        for vertex_xml in region_xml.findall(".//Vertex"):
            attrib = vertex_xml.attrib
            vertices.append([float(attrib["X"]), float(attrib["Y"])])
        vertices = np.array(vertices)
        blob = np.zeros(shape, np.uint8)
        rr, cc = draw.polygon(vertices[:, 1], vertices[:, 0], shape)
        blob[rr, cc] = 1
        insts_list.append(blob)
    if not insts_list:
        return np.zeros(shape, np.int32)
    sizes = [int(m.sum()) for m in insts_list]
    pairs = sorted(zip(insts_list, sizes, strict=True), key=lambda x: x[1])
    ann = np.zeros(shape, np.int32)
    for idx, (inst_map, _) in enumerate(pairs):
        ann[inst_map > 0] = idx + 1
    return ann


# CellViT cell_segmentation/datasets/prepare_monuseg.py, re-implemented: root[0], its 'Regions'
# child, each Region's y[1] = Vertices, draw.polygon(Y, X, shape) with a running id (file order).
def cellvit_order(xml_file: Path, shape: tuple[int, int]) -> np.ndarray:
    root = ET.parse(xml_file).getroot()
    mask = np.zeros(shape, np.int32)
    i = 1
    for child in root[0]:
        if child.tag != "Regions":
            continue
        for y in child:
            if y.tag != "Region":
                continue
            coords = np.array([[float(v.attrib["X"]), float(v.attrib["Y"])] for v in y[1]])
            rr, cc = draw.polygon(coords[:, 1], coords[:, 0], shape)
            mask[rr, cc] = i
            i += 1
    return mask


@pytest.mark.parametrize(
    ("overlap", "reference"), [("area", hovernet_order), ("file", cellvit_order)]
)
def test_paint_order_matches_reference_converters(edge: SynthResult, overlap, reference) -> None:
    reader = datasets.open_reader("monuseg", edge.root, overlap=overlap)
    for s in reader:
        tif, xml = (Path(p) for p in s.ref.paths)
        want = reference(xml, tifffile.imread(tif).shape[:2])
        np.testing.assert_array_equal(s.instance, want, err_msg=f"{s.sample_id} ({overlap})")
        np.testing.assert_array_equal(s.semantic, (want > 0).astype(np.uint8))
        assert s.instance_ids.tolist() == [i for i in np.unique(want).tolist() if i]
        assert set(s.instance_classes.tolist()) <= {1}


def test_overlap_orders_differ_where_regions_overlap(edge: SynthResult) -> None:
    nested = Path(edge.quirks["nested"][0])
    sid = nested.stem
    area = {s.sample_id: s for s in datasets.open_reader("monuseg", edge.root, overlap="area")}
    file = {s.sample_id: s for s in datasets.open_reader("monuseg", edge.root, overlap="file")}
    a, f = area[sid].instance, file[sid].instance
    # a small nucleus written after a larger one that contains it: hidden under "area" (larger on
    # top), visible under "file" (later on top); the foreground is the same
    n_regions = len(ET.parse(nested).getroot().findall(".//Region"))
    assert len(np.unique(a)) - 1 == n_regions - 1
    assert len(np.unique(f)) - 1 == n_regions
    np.testing.assert_array_equal(a > 0, f > 0)
    # images without overlaps give the same partition under both orders
    plain = next(
        s for s in edge.samples if s not in {Path(p).stem for q in edge.quirks.values() for p in q}
    )
    assert_same_partition(area[plain].instance, file[plain].instance, plain)


def test_edge_layout_doubled_folder_and_empty_image(edge: SynthResult) -> None:
    doubled = Path(edge.quirks["doubled_training_folder"][0])
    assert doubled == edge.root / TRAIN / TRAIN
    assert (doubled / "Tissue Images").is_dir() and (doubled / "Annotations").is_dir()
    reader = datasets.open_reader("monuseg", edge.root)
    refs = {r.sample_id: r for r in reader.list_refs()}
    assert {r.split for r in refs.values()} == {"train", "test"}
    empty = Path(edge.quirks["empty"][0]).stem
    s = reader.read(refs[empty])
    assert not s.instance.any() and len(s.instance_ids) == 0
    # the single Annotation carries a generic Attribute, not a class
    root = ET.parse(edge.quirks["overlap"][0]).getroot()
    assert len(root.findall("Annotation")) == 1
    assert root.find("Annotation/Attributes/Attribute").attrib["Name"] == "Description"


def test_bad_overlap_option() -> None:
    with pytest.raises(ConfigError):
        datasets.open_reader("monuseg", Path(__file__).parent, overlap="z-order")


def test_missing_annotation_is_missing_file(tmp_path: Path) -> None:
    result = datasets.synthesize("monuseg", tmp_path / "d", n=2, seed=2, size=(40, 40))
    xml = next((result.root / TRAIN / "Annotations").glob("*.xml"))
    xml.unlink()
    reader = datasets.open_reader("monuseg", result.root)
    ref = next(r for r in reader.list_refs() if r.sample_id == xml.stem)
    with pytest.raises(MissingFileError) as info:
        reader.read(ref)
    assert str(xml) in str(info.value)


def test_non_numeric_vertex_names_line(tmp_path: Path) -> None:
    result = datasets.synthesize("monuseg", tmp_path / "d", n=2, seed=2, size=(40, 40))
    xml = next((result.root / TEST).glob("*.xml"))
    lines = xml.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("<Vertex "))
    lines[k] = '<Vertex X="nan" Y="1.0" Z="0"/>'
    xml.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorruptFileError) as info:
        list(datasets.open_reader("monuseg", result.root, splits=["test"]))
    assert info.value.line == k + 1 and str(xml) in str(info.value)
