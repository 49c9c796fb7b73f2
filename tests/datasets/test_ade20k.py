"""ADE20K SceneParsing (ADEChallengeData2016), read by the generic layout reader.

Independent reference: a miniature release written here with PIL (not the look-alike generator),
named and placed as CSAILVision/sceneparsing's README gives it, whose values are then compared
with what the reader returns; plus the reader contract on the look-alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

from harmonize import datasets
from harmonize.errors import HarmonizeError, LossyLabelError, SizeMismatchError
from harmonize.testing.contract import ReaderContract


class TestAde20k(ReaderContract):
    dataset = "ade20k"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": (40, 56)}
    has_instances = False

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        png = root / "ADEChallengeData2016" / "annotations" / "training" / "ADE_train_00000002.png"
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(png, format="JPEG")  # lossy
        return png.stem, LossyLabelError


def _release(root: Path) -> dict[str, np.ndarray]:
    """A two-split miniature of the release: each label a distinct pattern over 0..150."""
    want = {}
    for split, prefix, k in (("training", "ADE_train_", 2), ("validation", "ADE_val_", 1)):
        for i in range(1, k + 1):
            stem = f"{prefix}{i:08d}"
            lab = ((np.arange(12 * 17).reshape(12, 17) * (i + 3)) % 151).astype(np.uint8)
            d = root / "ADEChallengeData2016"
            (d / "annotations" / split).mkdir(parents=True, exist_ok=True)
            (d / "images" / split).mkdir(parents=True, exist_ok=True)
            Image.fromarray(lab, mode="L").save(d / "annotations" / split / f"{stem}.png")
            Image.fromarray(np.full((12, 17, 3), 90, np.uint8)).save(
                d / "images" / split / f"{stem}.jpg"
            )
            want[stem] = lab
    return want


@pytest.mark.parametrize("inside", [False, True])
def test_reads_the_release_layout(tmp_path: Path, inside: bool) -> None:
    want = _release(tmp_path)
    root = tmp_path / "ADEChallengeData2016" if inside else tmp_path
    samples = {s.sample_id: s for s in datasets.open_reader("ade20k", root)}
    assert set(samples) == set(want)
    for stem, lab in want.items():
        s = samples[stem]
        assert s.split == ("training" if "train" in stem else "validation")
        np.testing.assert_array_equal(s.semantic, lab)
        assert s.instance is None
        assert s.meta["subset"] == ("train" if "train" in stem else "val")
        assert s.meta["index"] == int(stem[-8:])
        assert s.image().shape == (12, 17, 3)
    val = datasets.open_reader("ade20k", root, splits=["validation"])
    assert [r.sample_id for r in val.list_refs()] == ["ADE_val_00000001"]


def test_image_label_size_mismatch_names_the_file(tmp_path: Path) -> None:
    _release(tmp_path)
    img = tmp_path / "ADEChallengeData2016" / "images" / "training" / "ADE_train_00000001.jpg"
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(img)
    with pytest.raises(SizeMismatchError) as info:
        for _ in datasets.open_reader("ade20k", tmp_path):
            pass
    assert "ADE_train_00000001" in str(info.value)


def test_other_maps_to_background_and_classes_to_scene(tmp_path: Path) -> None:
    import yaml

    from harmonize.engine.sample import remap_sample
    from harmonize.taxonomy import compile_mapping, load_mapping, load_ontology, load_taxonomy

    _release(tmp_path)
    cm = compile_mapping(
        load_taxonomy("ade20k"), load_ontology("scene"), load_mapping("ade20k", "scene")
    )
    root = Path(__file__).resolve().parents[2] / "taxonomies"
    onto = yaml.safe_load((root / "ontologies/scene.yaml").read_text())
    rules = yaml.safe_load((root / "mappings/ade20k__scene.yaml").read_text())
    ids = {n["name"]: n["id"] for n in [*onto["nodes"], *onto["special"]]}
    to = {r["id"]: ids[r["to"]] for r in rules["rules"]}
    assert to[0] == 254 and len(set(to.values())) == 151  # lossless: 151 distinct targets
    for s in datasets.open_reader("ade20k", tmp_path):
        want = np.vectorize(to.__getitem__)(s.semantic.astype(int))
        np.testing.assert_array_equal(remap_sample(s, cm).semantic, want)
