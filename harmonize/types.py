"""Plain data types shared by every layer.

These are frozen dataclasses of numpy arrays, with no pydantic, YAML or zarr in sight, so that the
numba engine and the dataset readers can depend on them without pulling the rest of harmonize in.

* :class:`SampleRef` -- a cheap, picklable handle on one sample of one dataset (what a reader lists).
* :class:`RawSample` -- one sample as its dataset encodes it: label maps in **native** ids.
* :class:`CompiledMapping` -- a dataset -> ontology mapping compiled into lookup tables.
* :class:`HarmonizedSample` -- one sample in ontology ids, with its counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = [
    "BOX_DTYPE",
    "CompiledMapping",
    "HarmonizedSample",
    "RawSample",
    "SampleRef",
    "empty_boxes",
]

#: Structured dtype of a per-sample box table (CityPersons, or boxes derived from instances).
#: Boxes are ``(x, y, w, h)`` in pixels, ``(x, y)`` the top-left corner, as CityPersons stores them.
#: ``vis_*`` is the visible part of the object (CityPersons ``bboxVis``); equal to the full box when a
#: dataset does not distinguish them. ``instance_id`` is the native instance id the box belongs to
#: (0 when the box has no instance), ``label`` its native class id in the box dataset's taxonomy.
BOX_DTYPE = np.dtype(
    [
        ("instance_id", np.int64),
        ("label", np.int32),
        ("x", np.float32),
        ("y", np.float32),
        ("w", np.float32),
        ("h", np.float32),
        ("vis_x", np.float32),
        ("vis_y", np.float32),
        ("vis_w", np.float32),
        ("vis_h", np.float32),
    ]
)


def empty_boxes() -> np.ndarray:
    """Return an empty box table of dtype :data:`BOX_DTYPE`."""
    return np.zeros(0, dtype=BOX_DTYPE)


@dataclass(frozen=True, eq=False)
class SampleRef:
    """A cheap, picklable handle on one sample, as listed by a reader.

    Attributes
    ----------
    dataset : str
        Registry name of the dataset (``"cityscapes"``, ``"pannuke"``, ...).
    sample_id : str
        Stable, human-readable id, unique within the dataset (``"aachen_000000_000019"``,
        ``"fold1_00042"``, ``"train_1"``).
    split : str
        The dataset's own split name (``"train"``, ``"val"``, ``"test"``, ``"fold1"``, ...).
    paths : tuple of str
        The source files this sample is read from, image first.
    key : tuple
        Reader-specific locator (e.g. ``(fold, index)`` into a PanNuke array). Picklable.
    meta : mapping
        Cheap metadata known at listing time (city, tissue, magnification, ...).
    """

    dataset: str
    sample_id: str
    split: str
    paths: tuple[str, ...]
    key: tuple[Any, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class RawSample:
    """One sample in its dataset's **native** ids.

    Attributes
    ----------
    ref : SampleRef
        Where the sample came from.
    semantic : ndarray, shape (H, W), integer dtype
        Native class id per pixel, exactly as the dataset taxonomy declares them (including its
        void/ignore values, e.g. 255 for VOC, or the value a reader assigns to PanNuke's all-zero
        pixels).
    instance : ndarray, shape (H, W), integer dtype, or None
        Native instance id per pixel, 0 = no instance. Ids need not be contiguous (Cityscapes
        ``id*1000+k``, PanNuke's large ids). ``None`` when the dataset has no instances.
    instance_ids, instance_classes : ndarray, shape (K,), or None
        Native class per instance where the dataset states it per instance (CoNSeP ``inst_type``,
        Lizard ``class``, MoNuSAC's annotation class); ``instance_classes[i]`` is the class of the
        pixels ``instance == instance_ids[i]``. ``None`` where the class must be derived from the
        semantic map (majority vote, done by the engine).
    boxes : ndarray of :data:`BOX_DTYPE`, or None
        Optional box table (CityPersons).
    meta : mapping
        Free metadata: tissue type, city, magnification (``"40x"``), microns per pixel, ...
    load_image : callable returning ndarray (H, W, 3) uint8
        Loads the RGB image on demand (so a run that writes no images never decodes one). Must be
        picklable (a ``functools.partial`` of a module-level function), never a lambda.
    warnings : tuple of dict
        Problems the reader worked around without failing the sample (a polygon clipped by the
        image edge, a degenerate region dropped under ``on_error="skip"``), as plain dicts with
        ``path``, ``line``, ``region_id`` and ``message``. Carried into the run report and the
        store's ``warnings`` record.
    """

    ref: SampleRef
    semantic: np.ndarray
    instance: np.ndarray | None = None
    instance_ids: np.ndarray | None = None
    instance_classes: np.ndarray | None = None
    boxes: np.ndarray | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    load_image: Callable[[], np.ndarray] | None = None
    warnings: tuple[Mapping[str, Any], ...] = ()

    @property
    def sample_id(self) -> str:
        return self.ref.sample_id

    @property
    def split(self) -> str:
        return self.ref.split

    @property
    def dataset(self) -> str:
        return self.ref.dataset

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the label maps."""
        h, w = self.semantic.shape[:2]
        return int(h), int(w)

    def image(self) -> np.ndarray:
        """Decode and return the RGB image, ``(H, W, 3)`` uint8."""
        if self.load_image is None:
            raise ValueError(f"sample {self.sample_id!r} of {self.dataset!r} has no image")
        return self.load_image()


UnknownPolicy = Literal["error", "ignore"]


@dataclass(frozen=True, eq=False)
class CompiledMapping:
    """A dataset -> ontology mapping compiled into lookup tables (what the engine consumes).

    The table covers native ids ``offset .. offset + len(lut) - 1``: the output id of native id ``v``
    is ``lut[v - offset]``. Entries for ids the dataset taxonomy does not declare have
    ``declared[v - offset] == False``; the engine counts pixels that hit them (or fall outside the
    table) and applies ``unknown_policy``.

    Attributes
    ----------
    dataset, ontology : str
        Names of the dataset taxonomy and of the ontology.
    lut : ndarray, shape (N,), dtype ``out_dtype``
        Output id per native id (shifted by ``offset``).
    declared : ndarray, shape (N,), bool
        Whether the native id is declared by the dataset taxonomy.
    keep_instances : ndarray, shape (N,), bool
        Whether pixels of this native class may carry instances in the output (the class has
        instances natively and maps to a real ontology node, not to background or ignore).
    offset : int
        Smallest native id in the table (e.g. -1 for Cityscapes' license plate).
    out_dtype : numpy dtype
        Smallest unsigned dtype that holds every output id (uint8 for most ontologies).
    background : int or None
        Output id of background, if the ontology has one.
    ignore : int
        Output id of ignore (excluded from losses and metrics).
    unknown_policy : {"error", "ignore"}
        What to do with native values outside the table or undeclared: raise, or write ``ignore``.
    class_names : mapping of int to str
        Output id -> ontology node name (including the special values).
    report : mapping
        Human-readable account of merges, coarse and approximate mappings (from the compiler).
    """

    dataset: str
    ontology: str
    lut: np.ndarray
    declared: np.ndarray
    keep_instances: np.ndarray
    offset: int
    out_dtype: np.dtype
    background: int | None
    ignore: int
    unknown_policy: UnknownPolicy = "error"
    class_names: Mapping[int, str] = field(default_factory=dict)
    report: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_out(self) -> int:
        """Length of per-output-class count vectors (``max output id + 1``)."""
        top = int(self.lut.max(initial=0))
        top = max(top, self.ignore, self.background or 0)
        return top + 1


@dataclass(frozen=True, eq=False)
class HarmonizedSample:
    """One sample rewritten into ontology ids.

    Attributes
    ----------
    ref : SampleRef
        Where the sample came from.
    semantic : ndarray, shape (H, W), ``mapping.out_dtype``
        Ontology id per pixel.
    instance : ndarray, shape (H, W), uint32, or None
        Instance ids relabelled to ``1..K`` (0 = none).
    instance_classes : ndarray, shape (K,), ``mapping.out_dtype``
        Ontology class of instance ``k`` at index ``k - 1``.
    instance_old_ids : ndarray, shape (K,)
        Native instance id of instance ``k`` at index ``k - 1`` (the forward map's inverse).
    pixel_counts : ndarray, shape (mapping.n_out,), int64
        Pixels per output id (background and ignore included).
    instance_counts : ndarray, shape (mapping.n_out,), int64
        Instances per output id.
    unknown_pixels : int
        Pixels whose native value was outside the table or undeclared (written as ignore).
    mixed_instances : ndarray, shape (M,)
        Native ids of instances whose pixels span more than one output class (majority kept).
    boxes : ndarray of :data:`BOX_DTYPE`, or None
        Box table carried over from the raw sample.
    tied_instances : ndarray, shape (T,), int64
        Native ids of instances whose majority vote was a tie (smallest output id kept).
    dropped_instances : ndarray, shape (D,), int64
        Native ids of instances dropped (class ignore or background, or no instances in the
        output for their class); their pixels are 0 in ``instance``.
    warnings : tuple of dict
        The raw sample's reader warnings, carried over (see :class:`RawSample`).
    """

    ref: SampleRef
    semantic: np.ndarray
    instance: np.ndarray | None
    instance_classes: np.ndarray
    instance_old_ids: np.ndarray
    pixel_counts: np.ndarray
    instance_counts: np.ndarray
    unknown_pixels: int = 0
    mixed_instances: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    boxes: np.ndarray | None = None
    tied_instances: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    dropped_instances: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    warnings: tuple[Mapping[str, Any], ...] = ()
