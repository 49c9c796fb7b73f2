"""MoNuSAC reader and look-alike generator (nuclei_datasets.md §3)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import tifffile
from skimage import draw

from harmonize import datasets
from harmonize.datasets.base import SynthResult
from harmonize.datasets.monusac import canonical_sub_image
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    DuplicateSampleError,
    HarmonizeError,
    MissingFileError,
    MissingKeyError,
)
from harmonize.testing.contract import ReaderContract

TRAIN = "MoNuSAC_images_and_annotations"
TEST = "MoNuSAC Testing Data and Annotations"

# The challenge's class ids (nuclei_datasets.md §3.3, eva / Foucart columns), written out here
# rather than imported from the reader.
EVA_IDS = {"Epithelial": 1, "Lymphocyte": 2, "Neutrophil": 3, "Macrophage": 4, "Ambiguous": 5}


class TestMoNuSAC(ReaderContract):
    dataset = "monusac"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": (56, 64)}
    needs_image_files = True  # the XML holds no size: the image header gives it

    def image_files(self, result: SynthResult) -> list[Path]:
        return sorted(p for p in result.root.rglob("*") if p.suffix in (".tif", ".svs"))

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        xml = root / TEST / "TCGA-2Z-A9JG-01Z-00-DX1" / "TCGA-2Z-A9JG-01Z-00-DX1_1.xml"
        data = xml.read_bytes()
        xml.write_bytes(data[: len(data) // 2])  # truncated mid-document
        return "test_TCGA-2Z-A9JG-01Z-00-DX1_1", CorruptFileError


@pytest.fixture(scope="module")
def synth_edge_monusac(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    out = tmp_path_factory.mktemp("monusac_edge")
    return datasets.synthesize("monusac", out, n=3, seed=0, size=(56, 64), edge_cases=True)


# ------------------------------------------------------------------------------------------------
# the official n-ary notebook (ruchikaverma-iitg/MoNuSAC n-ary_mask_generation.ipynb), its loop
# re-implemented: one n-ary mask per Annotation, label from root[k][0], a per-image counter gt,
# draw.polygon(Y, X, shape), later regions overwrite within a mask.
# ------------------------------------------------------------------------------------------------
def notebook_masks(xml_file: Path, shape: tuple[int, int]) -> list[tuple[str, np.ndarray]]:
    tree = ET.parse(xml_file)
    root = tree.getroot()
    out = []
    gt = 0
    for k in range(len(root)):
        label = [x.attrib["Name"] for x in root[k][0]]
        label = label[0]
        n_ary_mask = None
        for child in root[k]:
            for x in child:
                r = x.tag
                if r == "Attribute":
                    label = x.attrib["Name"]
                    n_ary_mask = np.transpose(np.zeros((shape[1], shape[0])))
                if r == "Region":
                    vertices = x[1]
                    coords = np.zeros((len(vertices), 2))
                    for i, vertex in enumerate(vertices):
                        coords[i][0] = vertex.attrib["X"]
                        coords[i][1] = vertex.attrib["Y"]
                    vertex_row_coords = coords[:, 0]
                    vertex_col_coords = coords[:, 1]
                    fill_row_coords, fill_col_coords = draw.polygon(
                        vertex_col_coords, vertex_row_coords, n_ary_mask.shape
                    )
                    gt = gt + 1
                    n_ary_mask[fill_row_coords, fill_col_coords] = gt
        out.append((label, n_ary_mask))
    return out


def test_reader_matches_official_notebook(synth_edge_result: SynthResult) -> None:
    reader = datasets.open_reader("monusac", synth_edge_result.root)
    checked = 0
    for s in reader:
        tif, xml = (Path(p) for p in s.ref.paths)
        shape = tifffile.imread(tif).shape[:2]
        masks = notebook_masks(xml, shape)
        sem = np.zeros(shape, np.int64)
        inst = np.zeros(shape, np.int64)
        cls_of: dict[int, int] = {}
        for label, mask in masks:  # annotations in file order: a later layer is drawn on top
            on = mask > 0
            sem[on] = EVA_IDS[label]
            inst[on] = 0 if label == "Ambiguous" else mask[on]
            if label != "Ambiguous":
                cls_of.update({int(v): EVA_IDS[label] for v in np.unique(mask[on])})
        np.testing.assert_array_equal(s.semantic, sem, err_msg=s.sample_id)
        np.testing.assert_array_equal(s.instance, inst, err_msg=s.sample_id)  # same gt ids
        got = dict(zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True))
        assert got == {i: cls_of[i] for i in np.unique(inst).tolist() if i}
        checked += 1
    assert checked == len(synth_edge_result.samples)


@pytest.fixture(scope="module")
def synth_edge_result(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    out = tmp_path_factory.mktemp("monusac_edge_mod")
    return datasets.synthesize("monusac", out, n=3, seed=3, size=(56, 64), edge_cases=True)


def test_edge_case_files_have_the_quirks(synth_edge_result: SynthResult) -> None:
    q = synth_edge_result.quirks
    for name in (
        "rgba_tiff",
        "hyphen_name",
        "zero_padded_name",
        "uuid_patient_folder",
        "ambiguous",
        "overlap",
        "border",
        "tiny",
    ):
        assert q.get(name), name
    assert any(Path(p).name.endswith("-2.xml") for p in q["hyphen_name"])
    assert any(Path(p).name.endswith("_003.xml") for p in q["zero_padded_name"])
    uuid_folder = Path(q["uuid_patient_folder"][0]).parent.name
    assert "." in uuid_folder and uuid_folder.startswith("TCGA-EJ-5495-01Z-00-DX1.")
    # Annotation@Name empty, class in Attribute@Name, RegionAttributeHeaders first, Plots last
    root = ET.parse(q["ambiguous"][0]).getroot()
    assert root.tag == "Annotations"
    names = []
    for ann in root:
        assert ann.attrib["Name"] == ""
        assert [c.tag for c in ann] == ["Attributes", "Regions", "Plots"]
        assert ann.find("Regions")[0].tag == "RegionAttributeHeaders"
        names.append(ann.find("Attributes/Attribute").attrib["Name"])
        for v in ann.iter("Vertex"):
            assert "." in v.attrib["X"] and "." in v.attrib["Y"]
    assert "Ambiguous" in names
    # a polygon reaches past the image border
    border_xml = Path(q["border"][0])
    h, w = tifffile.imread(border_xml.with_suffix(".tif")).shape[:2]
    xs = [float(v.attrib["X"]) for v in ET.parse(border_xml).getroot().iter("Vertex")]
    ys = [float(v.attrib["Y"]) for v in ET.parse(border_xml).getroot().iter("Vertex")]
    assert min(xs) < 0 or min(ys) < 0 or max(xs) >= w or max(ys) >= h


def test_rgba_tiff_is_read_as_rgb(synth_edge_result: SynthResult) -> None:
    tif = Path(synth_edge_result.quirks["rgba_tiff"][0])
    raw = tifffile.imread(tif)
    assert raw.ndim == 3 and raw.shape[2] == 4
    reader = datasets.open_reader("monusac", synth_edge_result.root)
    (s,) = [reader.read(r) for r in reader.list_refs() if r.paths[0] == str(tif)]
    np.testing.assert_array_equal(s.image(), raw[..., :3])
    others = [r for r in reader.list_refs() if r.paths[0] != str(tif)]
    assert tifffile.imread(others[0].paths[0]).shape[2] == 3  # the others are plain RGB


def test_ambiguous_is_ignore_not_instance(synth_edge_result: SynthResult) -> None:
    reader = datasets.open_reader("monusac", synth_edge_result.root, splits=["test"])
    seen = 0
    for s in reader:
        amb = s.semantic == 5
        if amb.any():
            seen += 1
            assert not s.instance[amb].any()
            assert 5 not in s.instance_classes.tolist()
    assert seen >= 1


def test_sample_ids_canonical_and_meta(synth_edge_result: SynthResult) -> None:
    reader = datasets.open_reader("monusac", synth_edge_result.root)
    by_id = {r.sample_id: r for r in reader.list_refs()}
    ref = by_id["train_TCGA-EJ-5495-01Z-00-DX1_3"]
    assert ref.meta["stem"] == "TCGA-EJ-5495-01Z-00-DX1_003"
    assert ref.meta["slide"] == "TCGA-EJ-5495-01Z-00-DX1"
    assert ref.meta["patient"] == "TCGA-EJ-5495"
    assert ref.meta["organ"] == "prostate"  # torch-em ORGAN_SPLITS
    assert by_id["train_TCGA-EJ-5495-01Z-00-DX1_2"].meta["stem"].endswith("-2")
    assert by_id["test_TCGA-2Z-A9JG-01Z-00-DX1_1"].meta["organ"] == "kidney"
    assert ref.meta["magnification"] == "40x" and ref.meta["mpp"] == 0.25


@pytest.mark.parametrize(
    ("stem", "want"),
    [
        ("TCGA-55-1594-01Z-00-DX1_1", ("TCGA-55-1594-01Z-00-DX1", 1)),
        ("TCGA-55-1594-01Z-00-DX1-1", ("TCGA-55-1594-01Z-00-DX1", 1)),
        ("TCGA-55-1594-01Z-00-DX1_001", ("TCGA-55-1594-01Z-00-DX1", 1)),
        ("TCGA-55-1594-01Z-00-DX1_12", ("TCGA-55-1594-01Z-00-DX1", 12)),
        (
            "TCGA-EJ-5495-01Z-00-DX1.0db6207b-4c3e-4f8a-9d2e-7a1b5c6d8e9f_2",
            ("TCGA-EJ-5495-01Z-00-DX1", 2),
        ),
        # a stem that *ends* with the UUID has no index (its last group must not be read as one)
        (
            "TCGA-EJ-5495-01Z-00-DX1.0db6207b-4c3e-4f8a-9d2e-123456789012",
            ("TCGA-EJ-5495-01Z-00-DX1", None),
        ),
        ("TCGA-55-1594-01Z-00-DX1", ("TCGA-55-1594-01Z-00-DX1", None)),
    ],
)
def test_canonical_sub_image(stem: str, want: tuple[str, int | None]) -> None:
    assert canonical_sub_image(stem) == want


def _one_patient(tmp_path: Path) -> Path:
    result = datasets.synthesize("monusac", tmp_path / "ds", n=2, seed=1, size=(48, 48))
    return next(p for p in (result.root / TRAIN).iterdir() if p.is_dir())


def test_names_that_canonicalise_alike_are_a_duplicate_error(tmp_path: Path) -> None:
    folder = _one_patient(tmp_path)
    first = sorted(folder.glob("*_1.xml"))[0]
    twin = first.with_name(first.stem[: -len("_1")] + "_001.xml")
    shutil.copy(first, twin)
    shutil.copy(first.with_suffix(".tif"), twin.with_suffix(".tif"))
    reader = datasets.open_reader("monusac", tmp_path / "ds")
    with pytest.raises(DuplicateSampleError) as info:
        reader.list_refs()
    msg = str(info.value)
    assert first.stem in msg and twin.stem in msg  # both files named, nothing merged silently


def _first_xml(root: Path) -> Path:
    return sorted((root / TRAIN).glob("*/*.xml"))[0]


def _read_all(root: Path) -> None:
    for _ in datasets.open_reader("monusac", root):
        pass


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    folder = _one_patient(tmp_path)
    xml = sorted(folder.glob("*.xml"))[0]
    lines = xml.read_text().splitlines()
    assert lines[3].startswith("<Attribute ") and lines[3].endswith("/>")
    lines[3] = lines[3][:-2] + ">"  # <Attribute> left open: </Attributes> on line 5 mismatches
    xml.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorruptFileError) as info:
        _read_all(tmp_path / "ds")
    assert info.value.path == xml and info.value.line == 5
    assert str(xml) in str(info.value)


def test_unknown_class_name_is_class_id_error(tmp_path: Path) -> None:
    _one_patient(tmp_path)
    xml = _first_xml(tmp_path / "ds")
    text = xml.read_text()
    name = ET.fromstring(text).find("Annotation/Attributes/Attribute").attrib["Name"]
    xml.write_text(text.replace(f'Attribute Name="{name}"', 'Attribute Name="Mitotic"', 1))
    with pytest.raises(ClassIdError) as info:
        _read_all(tmp_path / "ds")
    assert "Mitotic" in str(info.value) and str(xml) in str(info.value)
    assert info.value.line == 2  # the <Annotation> element's line


def test_sub_images_without_tiff_are_read_from_their_svs(tmp_path: Path) -> None:
    """Some real test TIFFs are missing and only the ``.svs`` ships: its level 0 is read (tifffile
    and imagecodecs), checked against Pillow's own libtiff decoder and against the TIFF."""
    from PIL import Image

    result = datasets.synthesize("monusac", tmp_path / "ds", n=3, seed=2, size=(48, 56))
    tifs = sorted(result.root.rglob("*.tif"))
    assert len(tifs) == len(result.samples)
    with_tif = {p.with_suffix(".svs"): tifffile.imread(p)[..., :3] for p in tifs}
    for p in tifs:
        p.unlink()
    reader = datasets.open_reader("monusac", result.root)
    samples = {s.sample_id: s for s in reader}
    assert set(samples) == set(result.samples)
    for sid, s in samples.items():
        truth = result.samples[sid]
        svs = Path(s.ref.paths[0])
        assert svs.suffix == ".svs" and s.meta["image_file"] == "svs"
        np.testing.assert_array_equal(s.semantic, truth.semantic, err_msg=sid)
        img = s.image()
        assert img.shape == (*truth.image_shape, 3) and img.dtype == np.uint8
        with Image.open(svs) as pil:  # page 0 = level 0; libtiff's JPEG decoder
            assert pil.size == (truth.image_shape[1], truth.image_shape[0])
            np.testing.assert_allclose(img, np.asarray(pil.convert("RGB")), atol=1)
        # the same sub-image as the TIFF, up to JPEG loss (not the thumbnail, not another page)
        assert np.abs(img.astype(int) - with_tif[svs].astype(int)).mean() < 4.0, sid


def test_generator_writes_aperio_svs(tmp_path: Path) -> None:
    result = datasets.synthesize("monusac", tmp_path / "ds", n=2, seed=1, size=(48, 48))
    svs = sorted(result.root.rglob("*.svs"))
    assert len(svs) == len(result.samples)
    for p in svs:
        with tifffile.TiffFile(p) as tif:
            assert tif.is_svs
            level0, thumb = tif.pages[0], tif.pages[1]
            assert level0.is_tiled and level0.compression == tifffile.COMPRESSION.JPEG
            assert level0.description.startswith("Aperio Image Library")
            assert "|MPP = " in level0.description and "|AppMag = 40" in level0.description
            assert thumb.shape[0] < level0.shape[0]
            assert level0.shape[:2] == tifffile.imread(p.with_suffix(".tif")).shape[:2]


def test_edge_look_alike_has_a_sub_image_with_only_its_svs(synth_edge_monusac) -> None:
    (xml,) = synth_edge_monusac.quirks["missing_tif"]
    xml = Path(xml)
    assert not xml.with_suffix(".tif").exists() and xml.with_suffix(".svs").is_file()
    reader = datasets.open_reader("monusac", synth_edge_monusac.root)
    (s,) = [s for s in reader if s.meta["stem"] == xml.stem]
    assert s.meta["image_file"] == "svs" and s.image().shape[:2] == s.shape


def test_sub_image_without_tif_and_svs_says_what_it_needs(tmp_path: Path) -> None:
    _one_patient(tmp_path)
    xml = _first_xml(tmp_path / "ds")
    xml.with_suffix(".tif").unlink()
    xml.with_suffix(".svs").unlink()
    reader = datasets.open_reader("monusac", tmp_path / "ds")
    ref = next(r for r in reader.list_refs() if r.meta["stem"] == xml.stem)
    assert ref.paths == (str(xml),)  # listed, with only existing paths
    for images in (True, False):  # the XML holds no size: the image is needed either way
        reader = datasets.open_reader("monusac", tmp_path / "ds", images=images)
        with pytest.raises(MissingFileError) as info:
            reader.read(ref)
        assert str(xml.with_suffix(".tif")) in str(info.value)
        assert ".svs" in str(info.value) and "size" in str(info.value)


def test_region_without_vertices_and_bad_vertex(tmp_path: Path) -> None:
    _one_patient(tmp_path)
    xml = _first_xml(tmp_path / "ds")
    text = xml.read_text()
    lines = text.splitlines()
    # non-numeric coordinate: the error names the <Vertex> line
    k = next(i for i, line in enumerate(lines) if line.startswith("<Vertex "))
    bad = lines.copy()
    bad[k] = '<Vertex X="12,5" Y="3.0" Z="0"/>'
    xml.write_text("\n".join(bad) + "\n")
    with pytest.raises(CorruptFileError) as info:
        _read_all(tmp_path / "ds")
    assert info.value.line == k + 1 and "'12,5'" in str(info.value)
    # a Region without Vertices
    start = next(i for i, line in enumerate(lines) if line == "<Vertices>")
    end = next(i for i, line in enumerate(lines) if line == "</Vertices>")
    xml.write_text("\n".join(lines[:start] + lines[end + 1 :]) + "\n")
    with pytest.raises(MissingKeyError) as info2:
        _read_all(tmp_path / "ds")
    region = start - 2  # <Region ...> then <Attributes/> then <Vertices>
    assert lines[region].startswith("<Region ")
    assert info2.value.line == region + 1
    assert str(xml) in str(info2.value)


HAND_XML = """<Annotations MicronsPerPixel="0.25">
<Annotation Id="1" Name="" Type="4">
<Attributes><Attribute Name="Epithelial" Id="0" Value=""/></Attributes>
<Regions>
<RegionAttributeHeaders><AttributeHeader Id="9999" Name="Region" ColumnWidth="-1"/></RegionAttributeHeaders>
<Region Id="1"><Attributes/><Vertices>
<Vertex X="2.5" Y="2.5" Z="0"/><Vertex X="12.5" Y="2.5" Z="0"/>
<Vertex X="12.5" Y="12.5" Z="0"/><Vertex X="2.5" Y="12.5" Z="0"/>
</Vertices></Region>
<Region Id="2"><Attributes/><Vertices>
<Vertex X="-6" Y="20" Z="0"/><Vertex X="4.5" Y="20" Z="0"/>
<Vertex X="4.5" Y="40" Z="0"/><Vertex X="-6" Y="40" Z="0"/>
</Vertices></Region>
</Regions><Plots/>
</Annotation>
<Annotation Id="2" Name="" Type="4">
<Attributes><Attribute Name=" lymphocyte " Id="0" Value=""/></Attributes>
<Regions>
<Region Id="1"><Attributes/><Vertices>
<Vertex X="8.5" Y="8.5" Z="0"/><Vertex X="18.5" Y="8.5" Z="0"/>
<Vertex X="18.5" Y="18.5" Z="0"/><Vertex X="8.5" Y="18.5" Z="0"/>
</Vertices></Region>
</Regions><Plots/>
</Annotation>
</Annotations>
"""


def test_hand_written_overlap_later_overwrites_and_clipping(tmp_path: Path) -> None:
    folder = tmp_path / "ds" / TRAIN / "TCGA-55-1594-01Z-00-DX1"
    folder.mkdir(parents=True)
    (folder / "TCGA-55-1594-01Z-00-DX1_1.xml").write_text(HAND_XML)
    tifffile.imwrite(folder / "TCGA-55-1594-01Z-00-DX1_1.tif", np.zeros((32, 24, 3), np.uint8))
    (s,) = list(datasets.open_reader("monusac", tmp_path / "ds"))
    assert s.sample_id == "train_TCGA-55-1594-01Z-00-DX1_1"
    assert s.semantic.shape == (32, 24)
    # square 1 (Epithelial, id 1) alone; overlap: the later Lymphocyte square (id 3) wins
    assert s.semantic[5, 5] == 1 and s.instance[5, 5] == 1
    assert s.semantic[10, 10] == 2 and s.instance[10, 10] == 3
    assert s.semantic[16, 16] == 2 and s.instance[16, 16] == 3
    # region 2 starts at x = -6 and runs past the bottom: clipped, its pixels at column 0 remain
    assert s.instance[25, 0] == 2 and s.semantic[31, 2] == 1
    assert s.semantic[0, 23] == 0 and s.instance[0, 23] == 0
    assert dict(zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True)) == {
        1: 1,
        2: 1,
        3: 2,
    }
    assert s.meta["organ"] == "lung"


def test_cli_synth_writes_a_readable_dataset(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harmonize.cli import app

    res = CliRunner().invoke(
        app, ["synth", "monusac", str(tmp_path / "m"), "--n", "2", "--size", "40x48"]
    )
    assert res.exit_code == 0, res.output
    assert len(datasets.open_reader("monusac", tmp_path / "m")) == 2
