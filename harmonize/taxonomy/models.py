"""Pydantic models of the three kinds of taxonomy file.

* :class:`DatasetTaxonomy` (``kind: dataset``) -- a dataset's native classes exactly as its files
  encode them.
* :class:`Ontology` (``kind: ontology``) -- a shared target class tree with stable integer ids and
  named special values (background, ignore, ...).
* :class:`Mapping` (``kind: mapping``) -- one (dataset, ontology) pair: every native class to one
  ontology node or special value, with a kind and a note.

All models forbid unknown keys, so a typo in YAML is an error. Per-field checks (colours, id
ranges, name patterns) live here; cross-field checks that need only the file itself (duplicate ids,
parent cycles) live in :mod:`harmonize.taxonomy.checks` so that they can name the YAML line; checks
across files (a mapping's classes against its dataset taxonomy) live in
:mod:`harmonize.taxonomy.compile`.

:class:`Level` (a cut through an ontology) is not a file kind; run configurations embed it.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)

__all__ = [
    "Color",
    "DatasetTaxonomy",
    "Encoding",
    "InstanceLayer",
    "Layout",
    "LayoutSplits",
    "Level",
    "Mapping",
    "MappingRule",
    "NativeClass",
    "Ontology",
    "OntologyNode",
    "SemanticLayer",
    "SpecialValue",
    "TaxonomyFile",
]


def _list_to_tuple(value: Any) -> Any:
    # YAML (and JSON) give sequences as lists; a colour is validated as a tuple, also in strict mode.
    return tuple(value) if isinstance(value, list) else value


#: An RGB colour, three integers 0..255.
Color = Annotated[
    tuple[
        Annotated[int, Field(ge=0, le=255)],
        Annotated[int, Field(ge=0, le=255)],
        Annotated[int, Field(ge=0, le=255)],
    ],
    BeforeValidator(_list_to_tuple),
]

Name = Annotated[str, Field(min_length=1, pattern=r"^[^\s].*[^\s]$|^[^\s]$")]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]
Scalar = str | int | float | bool


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # Where the model was loaded from (set by harmonize.taxonomy.loader; None when built in Python):
    # the YAML file and a map from a location (keys and list indices) to its 1-based line.
    _source: Path | None = PrivateAttr(None)
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)
    # Derived lookups (e.g. the parent map of an ontology), computed once per frozen model.
    _memo: dict[str, Any] = PrivateAttr(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Dataset taxonomies
# --------------------------------------------------------------------------------------------

NativeRole = Literal["class", "background", "unlabeled", "void", "ambiguous"]


class NativeClass(_Model):
    """One native class (or special value) of a dataset, as its files encode it."""

    id: int = Field(description="The class id (see the dataset's `encodings` for file values).")
    name: Name = Field(description="The dataset's own name for the class, verbatim.")
    color: Color | None = Field(None, description="RGB colour of the dataset's own visualisation.")
    role: NativeRole = Field(
        "class",
        description=(
            "`class` for a real class; `background` for the dataset's background value; "
            "`unlabeled` (never annotated), `void` (boundary / do-not-care) and `ambiguous` "
            "(annotated as uncertain) for the values that carry no class."
        ),
    )
    instances: bool = Field(False, description="Whether the dataset gives instances of this class.")
    category: str | None = Field(
        None, description="The dataset's own grouping (Cityscapes category)."
    )
    description: str | None = None
    attributes: dict[str, Scalar] = Field(
        default_factory=dict,
        description="Further per-class facts of the dataset (e.g. Cityscapes catId, ignoreInEval).",
    )


class Encoding(_Model):
    """How one kind of file encodes class ids: ``file value = id + offset``, except ``special``."""

    name: Identifier
    description: str
    dtype: Literal["uint8", "uint16", "int32", "uint32", "int64", "float64", "str"] = "uint8"
    offset: int = Field(0, description="file value = class id + offset (COCO-Stuff PNGs: -1).")
    special: dict[int, int] = Field(
        default_factory=dict,
        description="file value -> class id, for values outside the offset rule (255 -> 0).",
    )
    instance: str | None = Field(
        None, description="How instance ids are encoded in this kind of file, in words."
    )


# --------------------------------------------------------------------------------------------
# Declarative layouts (read by harmonize.datasets.layout)
# --------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _relative_path(value: str) -> str:
    """A relative POSIX path inside the dataset root: no absolute path, no ``..``, no ``\\``."""
    p = PurePosixPath(value)
    if not value or p.is_absolute() or "\\" in value or ".." in p.parts or ":" in value:
        raise ValueError(
            f"{value!r} must be a relative path inside the dataset root (no leading '/', no '..', "
            "no '\\' or drive letter)"
        )
    return value


def _template(value: str) -> str:
    """A path template: relative, placeholders ``{split}`` and ``{stem}`` only, ``{stem}`` once
    and in the file name."""
    _relative_path(value)
    names = _PLACEHOLDER.findall(value)
    unknown = sorted(set(names) - {"split", "stem"})
    if unknown:
        raise ValueError(f"{value!r}: unknown placeholder(s) {unknown}; use {{split}} and {{stem}}")
    if names.count("stem") != 1 or "{stem}" not in value.rsplit("/", 1)[-1]:
        raise ValueError(f"{value!r}: {{stem}} must appear exactly once, in the file name")
    if "*" in value or "?" in value or "[" in value:
        raise ValueError(f"{value!r}: write {{stem}} instead of glob characters")
    return value


def _list_template(value: str) -> str:
    _relative_path(value)
    names = _PLACEHOLDER.findall(value)
    if names != ["split"]:
        raise ValueError(f"{value!r}: a split list path holds {{split}} once and nothing else")
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a regular expression ({exc})") from None
    return value


def _one_or_more(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


RelPath = Annotated[str, AfterValidator(_relative_path)]
Template = Annotated[str, AfterValidator(_template)]
Templates = Annotated[list[Template], BeforeValidator(_one_or_more), Field(min_length=1)]
Regex = Annotated[str, AfterValidator(_regex)]


class LayoutSplits(_Model):
    """The splits of a declarative layout: folders (``{split}`` in the paths) or list files."""

    names: list[Identifier] = Field(min_length=1, description="Split names, in canonical order.")
    list_file: Annotated[str, AfterValidator(_list_template)] | None = Field(
        None,
        alias="list",
        description=(
            "Split list file, e.g. `ImageSets/Segmentation/{split}.txt`: one sample stem per "
            "line (first token). Without it, samples are the files found by the first path "
            "template, with `{split}` a folder."
        ),
    )


class SemanticLayer(_Model):
    """The semantic label files of a declarative layout and how they encode class values."""

    path: Templates = Field(
        description="Path template(s) with {stem} (and {split}); alternatives: first found wins."
    )
    encoding: Literal["index", "palette", "rgb", "instance16", "packed16"] = Field(
        "index",
        description=(
            "`index`: the stored single-channel value (grey, or a palette PNG's index, never "
            "its colour); `palette`: like index, but the PNG must be a palette image; `rgb`: "
            "an RGB PNG whose colours are the `color`s of the classes; `instance16`: a 16-bit "
            "PNG holding `class * divisor + i` on instance pixels and the class elsewhere; "
            "`packed16`: a 16-bit PNG holding `class * divisor + i` on every pixel, `i` "
            "numbering the objects of the classes with `instances: true` (from 0) and not read "
            "on the other classes (Mapillary Vistas' instances PNGs)."
        ),
    )
    dtype: Literal["uint8", "uint16"] = "uint8"
    divisor: int | None = Field(None, ge=2, description="instance16, packed16: the K of class*K+i.")

    @model_validator(mode="after")
    def _check(self) -> SemanticLayer:
        packed = self.encoding in ("instance16", "packed16")
        if packed != (self.divisor is not None):
            raise ValueError("`divisor` is given exactly when encoding is instance16 or packed16")
        if packed and self.dtype != "uint16":
            raise ValueError(f"encoding {self.encoding} needs dtype uint16")
        if self.encoding == "rgb" and self.dtype != "uint8":
            raise ValueError("encoding rgb takes no dtype (the class values are the ids)")
        return self


class InstanceLayer(_Model):
    """Separate instance label files of a declarative layout (one object index per pixel)."""

    path: Templates
    dtype: Literal["uint8", "uint16"] = "uint8"
    none: list[int] = Field(
        [0], min_length=1, description="Values that are no instance (VOC: 0 and 255)."
    )
    optional: bool = Field(
        False, description="Read only when the file's folder exists (then every sample has one)."
    )


class Layout(_Model):
    """How a folder of images and label files is laid out; read by the generic layout reader."""

    roots: list[RelPath] = Field(
        ["."],
        min_length=1,
        description="Candidate dataset folders under the root given to the reader, first found wins.",
    )
    splits: LayoutSplits
    image: Templates = Field(description="Image path template(s) with {stem} (and {split}).")
    semantic: SemanticLayer
    instance: InstanceLayer | None = None
    exclude: list[str] = Field(
        default_factory=list,
        description="File-name globs that are not samples (e.g. `*_labelTrainIds.png`).",
    )
    stem_meta: Regex | None = Field(
        None,
        description=(
            "Regex matched at the start of each stem; its named groups that match go into the "
            "sample metadata (digits as integers)."
        ),
    )
    meta: dict[str, Scalar] = Field(default_factory=dict, description="Metadata of every sample.")
    encoding: Identifier | None = Field(
        None,
        description="Name of the taxonomy encoding the semantic values are in (default: first).",
    )
    hint: str | None = Field(None, description="One line shown when nothing is found.")

    @model_validator(mode="after")
    def _check(self) -> Layout:
        if self.splits.list_file is None:
            first = self.semantic.path
            if not all("{split}" in t for t in first):
                raise ValueError(
                    "without a split list (splits.list), {split} must be a folder in every "
                    "semantic.path template"
                )
        if self.instance is not None and self.semantic.encoding in ("instance16", "packed16"):
            raise ValueError(
                f"{self.semantic.encoding} labels carry their instances; drop the instance layer"
            )
        return self


class DatasetTaxonomy(_Model):
    """A dataset's native classes (``kind: dataset``)."""

    kind: Literal["dataset"]
    name: Identifier = Field(description="Registry name, equal to the reader's name.")
    title: str
    version: int = Field(1, ge=1)
    description: str | None = None
    url: str | None = None
    license: str | None = None
    reference: str | None = Field(None, description="Where the facts come from.")
    task: Literal["semantic", "instance", "panoptic", "boxes"] = "panoptic"
    encodings: list[Encoding] = Field(
        default_factory=list,
        description="File encodings of class ids; the first is the default. Empty = identity.",
    )
    classes: list[NativeClass] = Field(min_length=1)
    attributes: dict[str, Scalar] = Field(default_factory=dict)
    reader: Annotated[str, Field(pattern=r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")] | None = Field(
        None,
        description=(
            "Python module of a bespoke reader (it calls harmonize.datasets.register), e.g. "
            "`harmonize.datasets.consep`; with `layout:` too, the module's reader extends the "
            "generic one."
        ),
    )
    layout: Layout | None = Field(
        None, description="Declarative layout read by the generic reader (no Python needed)."
    )


# --------------------------------------------------------------------------------------------
# Ontologies
# --------------------------------------------------------------------------------------------

SpecialRole = Literal["background", "ignore", "unlabeled", "ambiguous"]


class SpecialValue(_Model):
    """A named output value that is not a class: background, ignore, unlabeled, ambiguous."""

    id: int = Field(ge=0)
    name: Identifier
    role: SpecialRole
    color: Color = (0, 0, 0)
    description: str | None = None


class OntologyNode(_Model):
    """A node of an ontology tree with a stable id."""

    id: int = Field(ge=0)
    name: Identifier = Field(description="Unique within the ontology; referenced by mappings.")
    parent: Identifier | None = Field(None, description="Parent node name; null for a root.")
    color: Color
    description: str | None = None
    title: str | None = Field(None, description="Display name, when it differs from `name`.")
    instances: bool | None = Field(
        None, description="Whether this is a `thing` class (instances); inherited from the parent."
    )
    xref: list[str] = Field(default_factory=list, description="Cross-references (e.g. CL:0000542).")


class Ontology(_Model):
    """A shared target class set (``kind: ontology``)."""

    kind: Literal["ontology"]
    name: Identifier
    title: str
    version: int = Field(1, ge=1)
    description: str | None = None
    reference: str | None = None
    dtype: Literal["uint8", "uint16", "uint32"] | None = Field(
        None, description="Output dtype; the smallest fitting unsigned type when omitted."
    )
    special: list[SpecialValue] = Field(min_length=1)
    nodes: list[OntologyNode] = Field(min_length=1)


# --------------------------------------------------------------------------------------------
# Mappings
# --------------------------------------------------------------------------------------------

MappingKind = Literal["exact", "coarse", "approx"]


class MappingRule(_Model):
    """One native class -> one ontology node (or special value)."""

    id: int = Field(description="Native class id (as in the dataset taxonomy).")
    name: Name | None = Field(
        None, description="Native class name; checked against the taxonomy to catch off-by-ones."
    )
    to: Identifier = Field(description="Ontology node name or special value name.")
    kind: MappingKind = Field(
        "exact",
        description=(
            "`exact`: same concept; `coarse`: the source is less specific than the node's "
            "children; `approx`: semantic mismatch worth a warning."
        ),
    )
    note: str | None = None


class Mapping(_Model):
    """A (dataset, ontology) mapping (``kind: mapping``). Every native id must appear once."""

    kind: Literal["mapping"]
    dataset: Identifier
    ontology: Identifier
    version: int = Field(1, ge=1)
    description: str | None = None
    reference: str | None = None
    rules: list[MappingRule] = Field(min_length=1)


# --------------------------------------------------------------------------------------------
# Levels (cuts through an ontology; used by run configurations, not a file kind)
# --------------------------------------------------------------------------------------------


class Level(_Model):
    """A cut through an ontology tree: a set of node names, or a depth.

    ``nodes`` must be an antichain (no node an ancestor of another). ``depth`` counts from the
    roots (depth 0); the cut is every node at that depth plus the leaves shallower than it. Each
    mapped node rolls up to its nearest ancestor-or-self in the cut.
    """

    nodes: list[Identifier] | None = Field(
        None, min_length=1, description="Names of the ontology nodes of the cut."
    )
    depth: int | None = Field(None, ge=0, description="Depth of the cut (roots are depth 0).")

    @model_validator(mode="after")
    def _one_of(self) -> Level:
        if (self.nodes is None) == (self.depth is None):
            raise ValueError("a level gives exactly one of `nodes` or `depth`")
        return self


TaxonomyFile = Annotated[DatasetTaxonomy | Ontology | Mapping, Field(discriminator="kind")]
