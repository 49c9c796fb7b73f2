"""The dataset registry: datasets come from taxonomy YAML (``reader:`` / ``layout:``) and from the
``harmonize.datasets`` entry point group of installed packages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harmonize import datasets
from harmonize.taxonomy import list_files, load_taxonomy


def test_names_are_the_declared_taxonomies() -> None:
    declared = {
        n for n in list_files().datasets if load_taxonomy(n).reader or load_taxonomy(n).layout
    }
    assert set(datasets.names()) >= declared
    assert set(datasets.names()) >= {"pascal_voc", "coco_stuff", "consep", "cityscapes"}


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="pascal_voc"):
        datasets.get("no_such_dataset")


def test_ported_readers_get_their_yaml_layout() -> None:
    from harmonize.datasets.layout import LayoutReader

    for name in ("pascal_voc", "coco_stuff"):
        reader = datasets.get(name).reader
        assert issubclass(reader, LayoutReader)
        assert reader.layout == load_taxonomy(name).layout.model_dump(by_alias=True)


def test_entry_point_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package declaring ``[harmonize.datasets] toy_ep = toy_ep_module`` is found and imported."""
    dist = tmp_path / "toy_ep-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-ep\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[harmonize.datasets]\ntoy_ep = toy_ep_module\n")
    (tmp_path / "toy_ep_module.py").write_text(
        "from harmonize.datasets import register\n"
        "from harmonize.datasets.cpm17 import CPM17Reader\n"
        "class ToyReader(CPM17Reader):\n    name = 'toy_ep'\n"
        "register('toy_ep', reader=ToyReader, synthesize='harmonize.lookalike.cpm17:synthesize',"
        " description='toy',"
        " taxonomy='cpm17')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "toy_ep_module", raising=False)
    try:
        assert "toy_ep" in datasets.names()
        spec = datasets.get("toy_ep")
        assert spec.reader.__name__ == "ToyReader" and spec.taxonomy == "cpm17"
    finally:
        datasets._REGISTRY.pop("toy_ep", None)
