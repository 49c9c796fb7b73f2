"""The reader interface every dataset module implements, and the look-alike generator contract.

Each dataset has

* a :class:`Reader` subclass (``harmonize/datasets/<name>.py``) that lists samples cheaply
  (:meth:`Reader.list_refs`) and reads one sample at a time (:meth:`Reader.read`) from the
  dataset's exact native layout, and
* a look-alike generator (``harmonize/lookalike/<name>.py``), a :class:`Synthesize`: a
  ``synthesize(out, *, n=..., seed=..., size=..., edge_cases=False) -> SynthResult`` function that
  writes a miniature look-alike of that layout and returns the ground truth it encoded.

The dataset module registers both with :func:`harmonize.datasets.register`, the generator by its
``"module:function"`` name, so that reading never imports generator code.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import numpy as np

from harmonize._records import Record
from harmonize.datasets._io import read_image_rgb, read_image_size
from harmonize.errors import (
    DuplicateSampleError,
    HarmonizeError,
    MissingFileError,
    SizeMismatchError,
)
from harmonize.types import RawSample, SampleRef

__all__ = ["OnError", "Reader", "Skipped", "SynthResult", "SynthTruth", "Synthesize"]

OnError = Literal["raise", "skip"]


@dataclass(frozen=True)
class Skipped(Record):
    """A sample a reader skipped under ``on_error="skip"``: which, and why (``to_dict``: the
    record run reports and stores keep)."""

    sample_id: str
    path: str | None
    error: str
    kind: str  # the error class name, e.g. "CorruptFileError"

    @classmethod
    def from_error(cls, sample_id: str, exc: HarmonizeError) -> Skipped:
        """The record of ``sample_id`` failing with ``exc`` (the one place a skip is built)."""
        return cls(
            sample_id=sample_id,
            path=str(exc.path) if exc.path is not None else None,
            error=str(exc),
            kind=type(exc).__name__,
        )


class Reader(abc.ABC):
    """Read one dataset from its native on-disk layout.

    Parameters
    ----------
    root : path-like
        The dataset's root folder, as downloaded and unpacked.
    splits : sequence of str, optional
        Splits to read (dataset-specific names); all when omitted.
    on_error : {"raise", "skip"}
        ``"raise"`` stops at the first bad sample with a typed :class:`~harmonize.errors.HarmonizeError`
        naming the file; ``"skip"`` records it in :attr:`skipped` and goes on.
    images : bool
        Whether samples come with their images (default ``True``). ``False`` (a run whose layers
        exclude ``image``): image files are neither required nor read, and
        :attr:`RawSample.load_image` is ``None``; only readers whose labels carry no size
        (MoNuSAC, MoNuSeg XML) still read each image's header for it.
    **options
        Dataset-specific options (documented on each subclass).

    Notes
    -----
    Memory stays bounded by one sample: :meth:`list_refs` touches no pixel data, and iteration reads
    one sample at a time.

    Untrusted names and links: sample ids read from list files (split lists, CSVs, JSON, XML) go
    through :func:`harmonize.datasets._io.check_sample_id`, so an id such as ``../../outside/x`` is
    an :class:`~harmonize.errors.UnsafePathError` naming the list file and line, never a read
    outside ``root``. Symbolic links are followed (datasets are often assembled from links), but a
    listed file whose link resolves outside ``root`` is recorded in :attr:`SampleRef.paths` under
    its resolved target, so the store's ``paths`` say which file was really read.
    """

    #: Registry name, equal to the dataset taxonomy's ``name``.
    name: ClassVar[str]
    #: Every split name this dataset knows, in canonical order.
    split_names: ClassVar[tuple[str, ...]] = ()
    #: One line describing the expected layout, shown when nothing is found under ``root``.
    layout_hint: ClassVar[str] = ""
    #: Name of the taxonomy encoding the semantic values are in (``None`` = the taxonomy's first).
    encoding: str | None = None
    #: Label id -> name of the ``label`` field of the reader's box tables (``None``: no boxes).
    box_labels: ClassVar[Mapping[int, str] | None] = None

    def __init__(
        self,
        root: str | Path,
        *,
        splits: Sequence[str] | None = None,
        on_error: OnError = "raise",
        images: bool = True,
        **options: Any,
    ) -> None:
        self.root = Path(root)
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        if not isinstance(images, bool):
            raise ValueError(f"images must be true or false, not {images!r}")
        self.images = images
        if not self.root.exists():
            raise MissingFileError(f"{self.name} root folder does not exist", path=self.root)
        if splits is not None:
            unknown = sorted(set(splits) - set(self.split_names))
            if unknown and self.split_names:
                raise ValueError(
                    f"{self.name}: unknown split(s) {unknown}; known: {list(self.split_names)}"
                )
        self.splits: tuple[str, ...] | None = tuple(splits) if splits is not None else None
        self.on_error: OnError = on_error
        self.options = self.check_options(options)
        self.skipped: list[Skipped] = []
        self._refs: list[SampleRef] | None = None

    # -- to implement -------------------------------------------------------------------------
    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Validate dataset-specific options; the default accepts none."""
        if options:
            raise TypeError(f"{self.name} reader takes no options, got {sorted(options)}")
        return options

    @abc.abstractmethod
    def _list(self) -> Iterator[SampleRef]:
        """Yield a :class:`SampleRef` per sample of the selected splits (no pixel data read)."""

    @abc.abstractmethod
    def read(self, ref: SampleRef) -> RawSample:
        """Read one sample. Raises a typed :class:`~harmonize.errors.HarmonizeError` naming the file."""

    # -- provided -----------------------------------------------------------------------------
    def image_loader(
        self, image: str | Path, shape: tuple[int, int], label: str | Path
    ) -> Callable[[], np.ndarray] | None:
        """The loader of a sample's RGB image, once its header size is the label map's ``shape``.

        Returns ``None`` without touching ``image`` (which may then be absent) when the reader was
        opened with ``images=False``. A missing image is a
        :class:`~harmonize.errors.MissingFileError` naming it, a size mismatch a
        :class:`~harmonize.errors.SizeMismatchError` naming ``label`` and the image.
        """
        if not self.images:
            return None
        if not os.path.isfile(image):
            raise MissingFileError(
                "image not found (a run whose output.layers leave out `image` reads the labels "
                "without it)",
                path=image,
            )
        hw = read_image_size(image)
        if hw != tuple(shape[:2]):
            raise SizeMismatchError(
                f"label map is {tuple(shape[:2])} (H, W) but its image {image} is {hw}", path=label
            )
        return functools.partial(read_image_rgb, str(image))

    def list_refs(self) -> list[SampleRef]:
        """All samples of the selected splits, in a stable order. Duplicate ids are an error."""
        if self._refs is None:
            refs: list[SampleRef] = []
            seen: dict[str, SampleRef] = {}
            found = 0
            root_real = os.path.realpath(self.root)
            dirs: dict[str, str] = {}
            for ref in self._list():
                found += 1
                if self.splits is not None and ref.split not in self.splits:
                    continue
                if ref.sample_id in seen:
                    other = seen[ref.sample_id]
                    raise DuplicateSampleError(
                        f"sample id {ref.sample_id!r} also given by {other.paths[0] if other.paths else '?'}",
                        path=ref.paths[0] if ref.paths else self.root,
                    )
                seen[ref.sample_id] = ref
                refs.append(self._record_link_targets(ref, root_real, dirs))
            if not found:
                raise MissingFileError(
                    f"no {self.name} samples found; is this the dataset's root folder? "
                    f"({self.layout_hint})",
                    path=self.root,
                )
            self._refs = refs
        return self._refs

    @staticmethod
    def _record_link_targets(ref: SampleRef, root_real: str, dirs: dict[str, str]) -> SampleRef:
        """``ref`` with each path whose real location lies outside ``root_real`` replaced by it.

        One ``lstat`` per file: folders are resolved once each (``dirs`` caches them), a file's own
        link only when it is one.
        """
        paths = []
        changed = False
        inside = root_real.rstrip(os.sep) + os.sep
        for p in ref.paths:
            folder, name = os.path.split(os.path.abspath(p))
            if folder not in dirs:
                dirs[folder] = os.path.realpath(folder)
            real = os.path.realpath(p) if os.path.islink(p) else os.path.join(dirs[folder], name)
            if real != os.path.abspath(p) and not (real + os.sep).startswith(inside):
                paths.append(real)
                changed = True
            else:
                paths.append(p)
        return dataclasses.replace(ref, paths=tuple(paths)) if changed else ref

    def __len__(self) -> int:
        return len(self.list_refs())

    def __iter__(self) -> Iterator[RawSample]:
        for ref in self.list_refs():
            sample = self.read_checked(ref)
            if sample is not None:
                yield sample

    def read_checked(self, ref: SampleRef) -> RawSample | None:
        """Read ``ref``; under ``on_error="skip"`` record a failure and return ``None``."""
        try:
            return self.read(ref)
        except HarmonizeError as exc:
            if self.on_error == "raise":
                raise
            self.skipped.append(Skipped.from_error(ref.sample_id, exc))
            return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r}, splits={self.splits!r})"


@dataclass
class SynthTruth:
    """What a generator encoded for one sample, in native ids, before any file format touched it.

    ``instance`` may use any labelling (the reader's ids need only induce the same partition);
    ``instance_classes`` maps each id of ``instance`` to its native class. ``ignore_mask`` marks
    pixels the format encodes as void/ignore (PanNuke all-zero pixels, MoNuSAC Ambiguous, VOC 255).
    """

    sample_id: str
    split: str
    semantic: np.ndarray
    instance: np.ndarray | None = None
    instance_classes: dict[int, int] = field(default_factory=dict)
    image_shape: tuple[int, int] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    boxes: np.ndarray | None = None


@dataclass
class SynthResult:
    """What a generator wrote: the root to point a reader at, and per-sample ground truth."""

    dataset: str
    root: Path
    samples: dict[str, SynthTruth]
    #: Reader options needed to read this look-alike as written (usually none).
    reader_options: dict[str, Any] = field(default_factory=dict)
    #: Paths of files deliberately written with a quirk, keyed by quirk name (edge-case mode).
    quirks: dict[str, list[str]] = field(default_factory=dict)


class Synthesize(Protocol):
    """A dataset's look-alike generator (``harmonize.lookalike.<name>.synthesize``).

    Every generator takes at least these keyword arguments; some take more (Cityscapes
    ``annotations``, PASCAL VOC ``sbd``, COCO-Stuff ``release``), and some also accept a single
    int ``size`` for a square image. Defaults are the generator's own.

    Parameters
    ----------
    out : path-like
        Folder to write into (the dataset's root, or the folder holding it: see
        :attr:`SynthResult.root`).
    n : int
        Number of samples (per split or fold where the dataset has several).
    seed : int
        Random seed; the bytes written are identical for a seed.
    size : (int, int)
        ``(H, W)`` of the images in px (keep small for tests).
    edge_cases : bool
        Also write the dataset's known quirks, listed in :attr:`SynthResult.quirks`.

    Returns
    -------
    SynthResult
    """

    def __call__(
        self,
        out: str | Path,
        *,
        n: int = ...,
        seed: int = ...,
        size: tuple[int, int] = ...,
        edge_cases: bool = False,
    ) -> SynthResult: ...
