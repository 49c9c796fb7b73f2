"""``ReaderContract``: the tests every dataset reader must pass (subclass it, as zarr's StoreTests).

Usage, in ``tests/datasets/test_<name>.py``::

    from harmonize.testing.contract import ReaderContract

    class TestConSeP(ReaderContract):
        dataset = "consep"
        synth_kwargs = {"n": 4, "size": (64, 64)}

        # plus tests of the format's own quirks

The contract generates a look-alike with the dataset's generator, reads it back with the dataset's
reader, and checks the result against the generator's in-memory ground truth: sample ids and
splits, the semantic map exactly, the instance partition exactly (ids may differ by a bijection),
the class of every instance, the image size, and determinism for a seed. It also checks that every
native value the reader yields is declared in the dataset's taxonomy YAML.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from harmonize import datasets
from harmonize.datasets.base import SynthResult
from harmonize.errors import HarmonizeError, MissingFileError
from harmonize.types import RawSample

__all__ = ["ReaderContract", "assert_same_partition", "tree_digest"]


def tree_digest(root: Path) -> str:
    """SHA-256 over every file's relative path and bytes under ``root``."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def assert_same_partition(got: np.ndarray, want: np.ndarray, what: str = "") -> dict[int, int]:
    """Assert two instance maps induce the same partition (0 = none in both).

    Returns the bijection ``want id -> got id``.
    """
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert np.array_equal(got == 0, want == 0), f"{what}: instance foreground differs"
    fg = want != 0
    pairs = np.unique(np.stack([want[fg].astype(np.int64), got[fg].astype(np.int64)]), axis=1)
    w, g = pairs
    assert len(np.unique(w)) == len(w), f"{what}: a true instance is split across reader ids"
    assert len(np.unique(g)) == len(g), f"{what}: reader merged two true instances"
    return dict(zip(w.tolist(), g.tolist(), strict=True))


class ReaderContract:
    """Base class of every dataset's reader test. Set :attr:`dataset`; override kwargs as needed."""

    #: Registry name of the dataset under test.
    dataset: ClassVar[str]
    #: Keyword arguments for the generator (keep samples small: tests run on 2 cores).
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0}
    #: Whether the dataset has instances at all.
    has_instances: ClassVar[bool] = True
    #: Whether a reader opened with ``images=False`` still needs every image file: its labels
    #: carry no size and the image header gives it (MoNuSAC and MoNuSeg XML), or the reader does
    #: not honour ``images=False`` yet. ``False``: labels read with the images deleted.
    needs_image_files: ClassVar[bool] = False

    # -- fixtures -----------------------------------------------------------------------------
    @pytest.fixture(scope="class")
    @classmethod
    def synth(cls, tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
        out = tmp_path_factory.mktemp(f"{cls.dataset}_plain")
        return datasets.synthesize(cls.dataset, out, **cls.synth_kwargs)

    @pytest.fixture(scope="class")
    @classmethod
    def synth_edge(cls, tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
        out = tmp_path_factory.mktemp(f"{cls.dataset}_edge")
        return datasets.synthesize(cls.dataset, out, **{**cls.synth_kwargs, "edge_cases": True})

    @staticmethod
    def read_all(result: SynthResult, **kwargs: Any) -> dict[str, RawSample]:
        reader = datasets.open_reader(
            result.dataset, result.root, **{**result.reader_options, **kwargs}
        )
        samples = {s.sample_id: s for s in reader}
        assert not reader.skipped, f"reader skipped samples of a valid look-alike: {reader.skipped}"
        return samples

    # -- the contract -------------------------------------------------------------------------
    def check_against_truth(self, result: SynthResult, **reader_kwargs: Any) -> None:
        samples = self.read_all(result, **reader_kwargs)
        with_images = reader_kwargs.get("images", True)
        assert set(samples) == set(result.samples), "sample ids differ from the generator's"
        for sid, truth in result.samples.items():
            s = samples[sid]
            assert s.dataset == self.dataset
            assert s.split == truth.split, f"{sid}: split {s.split!r} != {truth.split!r}"
            assert np.issubdtype(s.semantic.dtype, np.integer), f"{sid}: semantic not integer"
            assert s.semantic.shape == truth.semantic.shape, f"{sid}: semantic shape"
            np.testing.assert_array_equal(s.semantic, truth.semantic, err_msg=f"{sid}: semantic")
            if truth.instance is not None:
                assert s.instance is not None, f"{sid}: reader gave no instance map"
                bij = assert_same_partition(s.instance, truth.instance, sid)
                if truth.instance_classes:
                    got_cls = self.instance_class_table(s)
                    for tid, gid in bij.items():
                        assert got_cls.get(gid) == truth.instance_classes[tid], (
                            f"{sid}: instance {tid} class {got_cls.get(gid)} != "
                            f"{truth.instance_classes[tid]}"
                        )
            if not with_images:
                assert s.load_image is None, f"{sid}: images=False but the sample has an image"
            elif truth.image_shape is not None:
                img = s.image()
                assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, sid
                assert img.shape[:2] == truth.image_shape, f"{sid}: image shape"
                assert img.shape[:2] == s.semantic.shape, f"{sid}: image/label size"

    @staticmethod
    def instance_class_table(s: RawSample) -> dict[int, int]:
        """Native class per instance id: as given by the reader, else the semantic majority."""
        if s.instance_ids is not None and s.instance_classes is not None:
            return dict(zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True))
        out: dict[int, int] = {}
        assert s.instance is not None
        for iid in np.unique(s.instance):
            if iid == 0:
                continue
            vals, counts = np.unique(s.semantic[s.instance == iid], return_counts=True)
            out[int(iid)] = int(vals[np.argmax(counts)])
        return out

    def test_reads_what_the_generator_wrote(self, synth: SynthResult) -> None:
        assert synth.samples, "generator wrote no samples"
        self.check_against_truth(synth)

    def test_edge_cases_read_exactly(self, synth_edge: SynthResult) -> None:
        self.check_against_truth(synth_edge)

    def image_files(self, result: SynthResult) -> list[Path]:
        """The look-alike's image files: by default the first listed path of every sample."""
        reader = datasets.open_reader(result.dataset, result.root, **result.reader_options)
        return sorted({Path(ref.paths[0]) for ref in reader.list_refs()})

    def test_images_false_reads_labels_without_the_images(self, tmp_path: Path) -> None:
        """A run whose layers exclude ``image`` opens readers with ``images=False``: a label-only
        download (image files deleted) reads exactly (or, where the image gives the label map's
        size, fails naming the image)."""
        result = datasets.synthesize(self.dataset, tmp_path / "labels_only", **self.synth_kwargs)
        images = self.image_files(result)
        assert images, "no image files found to delete"
        for p in images:
            p.unlink()
        if not self.needs_image_files:
            self.check_against_truth(result, images=False)
            return
        reader = datasets.open_reader(
            self.dataset, result.root, images=False, **result.reader_options
        )
        with pytest.raises(MissingFileError) as info:
            for _ in reader:
                pass
        assert any(str(p) in str(info.value) for p in images), str(info.value)

    def test_generator_is_deterministic(self, synth: SynthResult, tmp_path: Path) -> None:
        again = datasets.synthesize(self.dataset, tmp_path / "again", **self.synth_kwargs)
        assert tree_digest(again.root) == tree_digest(synth.root)
        other = datasets.synthesize(
            self.dataset, tmp_path / "other", **{**self.synth_kwargs, "seed": 12345}
        )
        assert tree_digest(other.root) != tree_digest(synth.root)

    def test_native_values_are_declared_in_taxonomy(self, synth_edge: SynthResult) -> None:
        from harmonize.taxonomy import load_taxonomy

        reader = datasets.open_reader(self.dataset, synth_edge.root, **synth_edge.reader_options)
        tax = load_taxonomy(datasets.get(self.dataset).taxonomy)
        enc = tax.encodings[0] if tax.encodings else None
        name = getattr(reader, "encoding", None)
        if name is not None:
            enc = next(e for e in tax.encodings if e.name == name)
        declared = {c.id + (enc.offset if enc else 0) for c in tax.classes}
        if enc is not None:
            declared |= set(enc.special)
        for s in reader:
            extra = set(np.unique(s.semantic).tolist()) - declared
            assert not extra, f"{s.sample_id}: values {sorted(extra)} not declared in taxonomy"
            if s.instance_classes is not None:
                extra = set(s.instance_classes.tolist()) - {c.id for c in tax.classes}
                assert not extra, f"{s.sample_id}: instance classes {sorted(extra)} undeclared"

    def test_refs_are_cheap_and_stable(self, synth: SynthResult) -> None:
        r1 = datasets.open_reader(self.dataset, synth.root, **synth.reader_options)
        r2 = datasets.open_reader(self.dataset, synth.root, **synth.reader_options)
        ids = [r.sample_id for r in r1.list_refs()]
        assert ids == [r.sample_id for r in r2.list_refs()], "listing order is not stable"
        assert len(ids) == len(set(ids))
        for ref in r1.list_refs():
            assert ref.paths, f"{ref.sample_id}: no source paths"
            for p in ref.paths:
                assert Path(p).exists(), f"{ref.sample_id}: listed path {p} does not exist"

    def test_split_selection(self, synth: SynthResult) -> None:
        reader = datasets.open_reader(self.dataset, synth.root, **synth.reader_options)
        splits = sorted({r.split for r in reader.list_refs()})
        one = splits[0]
        sub = datasets.open_reader(self.dataset, synth.root, splits=[one], **synth.reader_options)
        assert {r.split for r in sub.list_refs()} == {one}
        want = {sid for sid, t in synth.samples.items() if t.split == one}
        assert {r.sample_id for r in sub.list_refs()} == want

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        """Damage one file of a fresh look-alike at ``root`` (truncate a PNG, drop a .mat key,
        corrupt an XML...) and return the affected sample id and the error class expected.
        Every dataset test must implement this with a real broken file."""
        raise NotImplementedError(f"{type(self).__name__} must implement break_one_file")

    def test_broken_file_raises_or_is_skipped(self, tmp_path: Path) -> None:
        result = datasets.synthesize(self.dataset, tmp_path / "broken", **self.synth_kwargs)
        sample_id, error = self.break_one_file(result.root)
        reader = datasets.open_reader(self.dataset, result.root, **result.reader_options)
        with pytest.raises(error) as info:
            for _ in reader:
                pass
        assert str(result.root) in str(info.value), "error does not name the file"
        skipping = datasets.open_reader(
            self.dataset, result.root, on_error="skip", **result.reader_options
        )
        got = [s.sample_id for s in skipping]
        assert sample_id not in got
        assert set(got) == set(result.samples) - {sample_id}
        assert [k.sample_id for k in skipping.skipped] == [sample_id]
        assert skipping.skipped[0].kind == error.__name__ or issubclass(
            getattr(
                __import__("harmonize.errors", fromlist=[skipping.skipped[0].kind]),
                skipping.skipped[0].kind,
            ),
            error,
        )

    def test_missing_root_names_the_path(self, tmp_path: Path) -> None:
        missing = tmp_path / "does-not-exist"
        with pytest.raises(MissingFileError) as info:
            datasets.open_reader(self.dataset, missing)
        assert str(missing) in str(info.value)

    def test_empty_root_is_an_error_not_an_empty_dataset(self, tmp_path: Path) -> None:
        with pytest.raises(HarmonizeError) as info:
            reader = datasets.open_reader(self.dataset, tmp_path)
            reader.list_refs()
        assert str(tmp_path) in str(info.value)
