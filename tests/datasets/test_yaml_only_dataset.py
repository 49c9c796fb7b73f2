"""A dataset added with YAML alone, end to end: a CamVid-style colour-coded (``rgb``) dataset
declared in a temporary folder (taxonomy with ``layout:`` + a mapping onto the shipped ``scene``
ontology), its look-alike written by ``harmonize synth``, the reader contract, and ``harmonize
run`` into a store whose pixels are checked against the look-alike's truth mapped by the YAML
rules (read with plain ``yaml.safe_load``). This is the example of ``docs/adding-a-dataset.md``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from harmonize import datasets
from harmonize.errors import CorruptFileError, TaxonomyError, UnmappedValueError
from harmonize.taxonomy import catalog
from harmonize.testing.layout import LayoutContract

#: CamVid's 11 classes + void with the colours of its label images (SegNet's 11-class version).
CAMVID = [
    ("Sky", (128, 128, 128), "sky", "class"),
    ("Building", (128, 0, 0), "building", "class"),
    ("Pole", (192, 192, 128), "pole", "class"),
    ("Road", (128, 64, 128), "road", "class"),
    ("Pavement", (60, 40, 222), "pavement", "class"),
    ("Tree", (128, 128, 0), "tree", "class"),
    ("SignSymbol", (192, 128, 128), "traffic_sign", "class"),
    ("Fence", (64, 64, 128), "fence", "class"),
    ("Car", (64, 0, 128), "car", "class"),
    ("Pedestrian", (64, 64, 0), "pedestrian", "class"),
    ("Bicyclist", (0, 128, 192), "rider", "class"),
    ("Void", (0, 0, 0), "ignore", "void"),
]

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-dataset.md"


def doc_blocks() -> list[str]:
    """The three YAML blocks of the documented example: taxonomy, mapping, run config."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 3, "docs/adding-a-dataset.md lost its example"
    return blocks[:3]


def write_taxonomies(folder: Path) -> Path:
    """The two YAML files of the documented CamVid-style dataset, under ``folder``."""
    taxonomy, mapping, _ = doc_blocks()
    (folder / "datasets").mkdir(parents=True, exist_ok=True)
    (folder / "mappings").mkdir(parents=True, exist_ok=True)
    (folder / "datasets" / "camvid_toy.yaml").write_text(taxonomy)
    (folder / "mappings" / "camvid_toy__scene.yaml").write_text(mapping)
    return folder


def test_doc_example_is_the_table_of_this_test() -> None:
    taxonomy, mapping, _ = doc_blocks()
    classes = yaml.safe_load(taxonomy)["classes"]
    rules = yaml.safe_load(mapping)["rules"]
    assert [(c["name"], tuple(c["color"])) for c in classes] == [(n, c) for n, c, _, _ in CAMVID]
    assert [r["to"] for r in rules] == [to for _, _, to, _ in CAMVID]


@pytest.fixture(scope="module")
def taxonomies(tmp_path_factory: pytest.TempPathFactory):
    folder = write_taxonomies(tmp_path_factory.mktemp("camvid_tax"))
    saved = list(catalog._extra_dirs)
    catalog.add_taxonomy_dirs([folder])
    yield folder
    catalog._extra_dirs[:] = saved


class TestCamVidContract(LayoutContract):
    dataset = "camvid_toy"

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _declared(cls, taxonomies: Path) -> Path:
        return taxonomies


def test_generator_is_the_generic_one_bound_to_the_declaration(tmp_path: Path) -> None:
    """A layout-only dataset's generator is named, not imported, until it is used; it writes the
    look-alike of this declaration (the file names of the YAML's ``layout:``)."""
    tax = write_taxonomies(tmp_path / "tax")
    code = (
        "import sys\n"
        "from harmonize import datasets\n"
        "from harmonize.taxonomy import catalog\n"
        f"catalog.add_taxonomy_dirs([{str(tax)!r}])\n"
        "spec = datasets.get('camvid_toy')\n"
        "print(spec.generator, spec.declaration['name'])\n"
        "print('harmonize.lookalike.layout' in sys.modules)\n"
        f"res = spec.synthesize({str(tmp_path / 'out')!r}, n=2, seed=1)\n"
        "print('harmonize.lookalike.layout' in sys.modules, len(res.samples))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    named, before, after = out.stdout.strip().splitlines()
    assert named == f"{datasets.LAYOUT_GENERATOR} camvid_toy"
    assert before == "False"
    assert after == "True 2"
    assert len(list((tmp_path / "out").glob("*_labels/*_L.png"))) == 2


def _harmonize(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harmonize", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_synth_contract_and_run_end_to_end(tmp_path: Path) -> None:
    tax = write_taxonomies(tmp_path / "my-taxonomies")
    out = _harmonize("taxonomy", "validate", str(tax / "datasets" / "camvid_toy.yaml"))
    assert out.returncode == 0, out.stderr + out.stdout
    # 1. harmonize synth finds the dataset through HARMONIZE_TAXONOMIES
    data = tmp_path / "CamVid"
    out = _harmonize(
        "synth", "camvid_toy", str(data), "--n", "5", "--edge-cases",
        env={"HARMONIZE_TAXONOMIES": str(tax)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    labels = sorted(data.glob("*_labels/*_L.png"))
    assert len(labels) == 5 + 3  # n + background-only, tiny and every-value samples
    listed = _harmonize("datasets", "--json", "--taxonomies", str(tax))
    assert listed.returncode == 0, listed.stderr
    assert "camvid_toy" in [r["name"] for r in json.loads(listed.stdout)]
    # 2. harmonize run with the folder on the config's taxonomies: path (the shipped `scene`
    # ontology is still found)
    cfg = tmp_path / "camvid.yaml"
    cfg.write_text(doc_blocks()[2] + "executor: {workers: 2}\n")  # worker processes too
    out = _harmonize("run", str(cfg))
    assert out.returncode == 0, out.stderr + out.stdout
    # 3. the store against an independent decoding: Pillow RGB -> colour table -> YAML rules
    from harmonize.store import open_store

    onto = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "taxonomies/ontologies/scene.yaml").read_text()
    )
    ids = {n["name"]: n["id"] for n in [*onto["nodes"], *onto["special"]]}
    colour_to_onto = {col: ids[to] for _, col, to, _ in CAMVID}
    store = open_store(str(tmp_path / "out" / "camvid.zarr"))
    seen = set()
    for s in store:
        split = s.split
        label = data / f"{split}_labels" / f"{s.sample_id}_L.png"
        rgb = np.asarray(Image.open(label).convert("RGB"))
        want = np.zeros(rgb.shape[:2], np.int64)
        for col, oid in colour_to_onto.items():
            want[(rgb == col).all(axis=2)] = oid
        np.testing.assert_array_equal(s.semantic, want, err_msg=s.sample_id)
        img = np.asarray(Image.open(data / split / f"{s.sample_id}.png").convert("RGB"))
        np.testing.assert_array_equal(s.image, img)
        seen.add(s.sample_id)
    assert seen == {p.name[: -len("_L.png")] for p in labels}


def test_unknown_colour_is_an_error_naming_the_file(taxonomies: Path, tmp_path: Path) -> None:
    res = datasets.synthesize("camvid_toy", tmp_path / "c", n=2)
    ref = datasets.open_reader("camvid_toy", res.root).list_refs()[0]
    rgb = np.asarray(Image.open(ref.paths[1]).convert("RGB")).copy()
    rgb[0, 0] = (1, 2, 3)
    Image.fromarray(rgb).save(ref.paths[1])
    with pytest.raises(UnmappedValueError, match=r"\(1, 2, 3\)") as info:
        datasets.open_reader("camvid_toy", res.root).read(ref)
    assert ref.paths[1] in str(info.value)


def test_jpeg_label_is_refused(taxonomies: Path, tmp_path: Path) -> None:
    res = datasets.synthesize("camvid_toy", tmp_path / "c", n=2)
    ref = datasets.open_reader("camvid_toy", res.root).list_refs()[0]
    Image.open(ref.paths[1]).convert("RGB").save(ref.paths[1], format="JPEG")
    with pytest.raises(CorruptFileError, match="JPEG"):
        datasets.open_reader("camvid_toy", res.root).read(ref)


def test_a_broken_layout_is_a_taxonomy_error_with_its_line(tmp_path: Path) -> None:
    tax = write_taxonomies(tmp_path / "t")
    p = tax / "datasets" / "camvid_toy.yaml"
    text = p.read_text().replace('image: "{split}/{stem}.png"', 'image: "../{split}/{stem}.png"')
    p.write_text(text)
    line = 1 + text.splitlines().index('  image: "../{split}/{stem}.png"')
    saved = list(catalog._extra_dirs)
    try:
        catalog.add_taxonomy_dirs([tax])
        with pytest.raises(TaxonomyError, match="relative path") as info:
            datasets.get("camvid_toy")
    finally:
        catalog._extra_dirs[:] = saved
    assert f"{p}:{line}" in str(info.value)


def test_config_taxonomies_folder_must_exist(tmp_path: Path) -> None:
    from harmonize.errors import ConfigError
    from harmonize.pipeline import load_config
    from harmonize.pipeline.plan import make_plan

    cfg = tmp_path / "camvid.yaml"
    cfg.write_text(doc_blocks()[2])
    with pytest.raises(ConfigError, match="taxonomies") as info:
        make_plan(load_config(cfg))
    assert f"{cfg}:3" in str(info.value)
