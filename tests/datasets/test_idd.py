"""IDD (segmentation): the reader contract, the rasterization quirks and broken inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from harmonize import datasets
from harmonize.datasets.idd import LABELS, LEVEL3, rasterize
from harmonize.errors import ClassIdError, HarmonizeError, MissingKeyError
from harmonize.taxonomy import load_taxonomy
from harmonize.testing.contract import ReaderContract


class TestIdd(ReaderContract):
    dataset = "idd"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        path = next(iter(sorted((root / "gtFine").glob("*/*/*_polygons.json"))))
        doc = json.loads(path.read_text())
        doc["objects"].append({"label": "rickshaw", "polygon": [[0, 0], [2, 0], [2, 2]]})
        path.write_text(json.dumps(doc))
        city = path.parent.name
        return f"{city}_{path.name.split('_')[0]}", ClassIdError

    def test_layout(self, synth) -> None:
        jsons = sorted(synth.root.glob("gtFine/*/*/*_gtFine_polygons.json"))
        assert {p.parts[-3] for p in jsons} == {"train", "val"}
        for p in jsons:
            stem = p.name[: -len("_gtFine_polygons.json")]
            img = synth.root / "leftImg8bit" / p.parts[-3] / p.parts[-2] / f"{stem}_leftImg8bit.png"
            assert img.is_file()


def test_reader_table_is_the_taxonomy() -> None:
    tax = load_taxonomy("idd")
    assert [(c.id, c.name, c.instances, c.color) for c in tax.classes] == [
        (lab.id, lab.name, lab.has_instances, lab.color) for lab in LABELS
    ]
    assert {c.name: int(c.attributes["level3Id"]) for c in tax.classes} == LEVEL3


def _doc(objects: list[dict[str, Any]], h: int = 6, w: int = 8) -> dict[str, Any]:
    return {"imgHeight": h, "imgWidth": w, "objects": objects}


def test_quirks_of_json2instance_img(tmp_path: Path) -> None:
    rect = [[0, 0], [1, 0], [1, 1], [0, 1]]
    enc = rasterize(
        _doc(
            [
                {"label": "trailer", "polygon": rect},  # level3 12: 16*1000 + 0
                {"label": "caravan", "polygon": [[3, 0], [4, 1]]},  # 2 points: k=1 used, not drawn
                {"label": "train", "polygon": [[3, 0], [4, 0], [4, 1], [3, 1]]},  # 17*1000 + 2
                {"label": "cargroup", "polygon": [[6, 0], [7, 0], [7, 1], [6, 1]]},  # plain 12
                {"label": "person", "polygon": [[0, 3], [1, 3], [1, 4], [0, 4]], "deleted": 1},
                {"label": "license plate", "polygon": [[3, 3], [4, 3], [4, 4], [3, 4]]},  # drawn
            ]
        ),
        tmp_path / "x.json",
    )
    assert enc[0, 0] == 16000 and enc[0, 3] == 17002 and enc[0, 6] == 12
    assert enc[3, 0] == 35 and enc[3, 3] == 39  # deleted -> unlabeled; plate drawn (id 39)
    assert enc[5, 7] == 35  # background is unlabeled, not 0


@pytest.mark.parametrize(
    ("doc", "error", "match"),
    [
        (_doc([{"label": "rickshaw", "polygon": [[0, 0], [1, 0], [1, 1]]}]), ClassIdError, "IDD"),
        ({"imgHeight": 4, "objects": []}, MissingKeyError, "imgWidth"),
        (_doc([{"polygon": [[0, 0], [1, 0], [1, 1]]}]), MissingKeyError, "label"),
    ],
    ids=["unknown-label", "no-width", "no-label"],
)
def test_broken_polygon_files_name_the_file(
    tmp_path: Path, doc: dict[str, Any], error: type[HarmonizeError], match: str
) -> None:
    res = datasets.synthesize("idd", tmp_path, n=1, seed=1)
    path = next(iter((tmp_path / "gtFine").glob("*/*/*_polygons.json")))
    path.write_text(json.dumps(doc))
    reader = datasets.open_reader("idd", res.root)
    with pytest.raises(error, match=match) as info:
        list(reader)
    assert str(path) in str(info.value)


def test_edge_frame_against_numpy_painting(tmp_path: Path) -> None:
    # the look-alike's truth is painted with numpy; the reader draws with PIL
    res = datasets.synthesize("idd", tmp_path, n=1, seed=2, edge_cases=True)
    (path,) = res.quirks["every_quirk"]
    s = next(x for x in datasets.open_reader("idd", tmp_path) if x.ref.paths[1] == path)
    truth = res.samples[s.sample_id]
    np.testing.assert_array_equal(s.semantic, truth.semantic)
    np.testing.assert_array_equal(s.instance, truth.instance)
    assert 17002 in s.instance_ids.tolist()  # train after trailer and a 2-point caravan
