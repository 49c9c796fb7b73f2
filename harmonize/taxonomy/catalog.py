"""Find the shipped taxonomy files and load them by name.

Layout (the names are the file stems)::

    <taxonomies>/datasets/<dataset>.yaml
    <taxonomies>/ontologies/<ontology>.yaml
    <taxonomies>/mappings/<dataset>__<ontology>.yaml

``<taxonomies>`` is, in order: the ``HARMONIZE_TAXONOMIES`` environment variable; the
``taxonomies`` folder inside the installed package (the wheel force-includes the repository's
top-level ``taxonomies/`` there); the repository's top-level ``taxonomies/`` (a source checkout).

Further folders of the same layout can be laid over it (:func:`add_taxonomy_dirs`; a run config's
``taxonomies:`` list does this): their files are found by name too, and a file there replaces a
file of the same name in ``<taxonomies>``. This is how a dataset declared outside the repository
(its taxonomy with ``layout:``, its mappings) is added without copying the shipped ontologies.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import harmonize
from harmonize.errors import MissingFileError, TaxonomyError
from harmonize.taxonomy.loader import load_file
from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology

__all__ = [
    "ENV_VAR",
    "Catalog",
    "add_taxonomy_dirs",
    "extra_taxonomy_dirs",
    "list_files",
    "load_mapping",
    "load_ontology",
    "load_taxonomy",
    "taxonomies_dir",
]

#: Environment variable that overrides the taxonomies directory.
ENV_VAR = "HARMONIZE_TAXONOMIES"

_SUFFIXES = (".yaml", ".yml")

#: Folders laid over :func:`taxonomies_dir` (process-wide; see :func:`add_taxonomy_dirs`).
_extra_dirs: list[Path] = []


def add_taxonomy_dirs(dirs: Iterable[str | PathLike[str]]) -> None:
    """Lay the taxonomy folders ``dirs`` over :func:`taxonomies_dir` for this process.

    Each holds ``datasets/``, ``ontologies/`` and ``mappings/`` (any may be missing); later folders
    win over earlier ones and over the shipped files. Adding a folder twice has no effect.

    Raises
    ------
    MissingFileError
        When a folder does not exist.
    """
    for d in dirs:
        p = Path(d).expanduser().resolve()
        if not p.is_dir():
            raise MissingFileError("taxonomies folder does not exist", path=p)
        if p not in _extra_dirs:
            _extra_dirs.append(p)


def extra_taxonomy_dirs() -> tuple[Path, ...]:
    """The folders added by :func:`add_taxonomy_dirs`, in order."""
    return tuple(_extra_dirs)


def taxonomies_dir() -> Path:
    """The directory holding ``datasets/``, ``ontologies/`` and ``mappings/``.

    Raises
    ------
    MissingFileError
        When ``HARMONIZE_TAXONOMIES`` names a folder that does not exist.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env).expanduser()
        if not p.is_dir():
            raise MissingFileError(f"{ENV_VAR} names no directory", path=p)
        return p
    pkg = Path(harmonize.__file__).resolve().parent
    installed = pkg / "taxonomies"
    if installed.is_dir():
        return installed
    return pkg.parent / "taxonomies"


def _stems(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.suffix in _SUFFIXES and p.is_file() and not p.name.startswith("."):
            out.setdefault(p.stem, p)
    return out


@dataclass(frozen=True)
class Catalog:
    """The taxonomy files under one directory, by name (nothing is parsed).

    Attributes
    ----------
    root : Path
        The taxonomies directory.
    datasets, ontologies : dict of str to Path
        Name -> file.
    mappings : dict of (str, str) to Path
        ``(dataset, ontology)`` -> file.
    """

    root: Path
    datasets: dict[str, Path] = field(default_factory=dict)
    ontologies: dict[str, Path] = field(default_factory=dict)
    mappings: dict[tuple[str, str], Path] = field(default_factory=dict)

    def files(self) -> list[Path]:
        """Every file, datasets first, then ontologies, then mappings."""
        return [*self.datasets.values(), *self.ontologies.values(), *self.mappings.values()]

    def mappings_of(self, dataset: str) -> list[str]:
        """Names of the ontologies ``dataset`` has a mapping onto."""
        return [o for d, o in self.mappings if d == dataset]


def list_files(root: str | PathLike[str] | None = None) -> Catalog:
    """Catalogue the taxonomy files under ``root``.

    By default: :func:`taxonomies_dir` with the folders of :func:`add_taxonomy_dirs` laid over it.
    """
    base = Path(root) if root is not None else taxonomies_dir()
    folders = [base] if root is not None else [base, *_extra_dirs]
    datasets: dict[str, Path] = {}
    ontologies: dict[str, Path] = {}
    mappings: dict[tuple[str, str], Path] = {}
    for folder in folders:
        datasets.update(_stems(folder / "datasets"))
        ontologies.update(_stems(folder / "ontologies"))
        for stem, p in _stems(folder / "mappings").items():
            dataset, sep, ontology = stem.partition("__")
            if sep and dataset and ontology:
                mappings[(dataset, ontology)] = p
    return Catalog(root=base, datasets=datasets, ontologies=ontologies, mappings=mappings)


def _looks_like_path(name: str | PathLike[str]) -> bool:
    from harmonize._yaml import looks_like_path

    return looks_like_path(name)


def _resolve(name: str | PathLike[str], folder: str, kind: str) -> Path:
    if _looks_like_path(name):
        return Path(name)
    cat = list_files()
    table = {"datasets": cat.datasets, "ontologies": cat.ontologies}[folder]
    if name in table:
        return table[name]
    known = ", ".join(sorted(table)) or "none"
    raise MissingFileError(
        f"no {kind} named {name!r} (known: {known}); pass a path to load another file",
        path=cat.root / folder / f"{name}.yaml",
    )


def load_taxonomy(name_or_path: str | PathLike[str]) -> DatasetTaxonomy:
    """Load a dataset taxonomy by name (``"cityscapes"``) or path.

    Raises
    ------
    MissingFileError, TaxonomyError

    Examples
    --------
    >>> tax = load_taxonomy("consep")
    >>> tax.name, len(tax.classes), tax.classes[2].name
    ('consep', 8, 'inflammatory')
    """
    path = _resolve(name_or_path, "datasets", "dataset taxonomy")
    return load_file(path, kind="dataset")


def load_ontology(name_or_path: str | PathLike[str]) -> Ontology:
    """Load an ontology by name (``"nuclei"``) or path."""
    path = _resolve(name_or_path, "ontologies", "ontology")
    return load_file(path, kind="ontology")


def load_mapping(dataset_or_path: str | PathLike[str], ontology: str | None = None) -> Mapping:
    """Load a mapping: ``load_mapping("consep", "consep-4")`` or ``load_mapping(path)``.

    A single argument without a path separator or suffix is read as ``"<dataset>__<ontology>"``.
    """
    if ontology is None:
        if _looks_like_path(dataset_or_path):
            return load_file(dataset_or_path, kind="mapping")
        dataset, sep, ontology = str(dataset_or_path).partition("__")
        if not sep:
            raise TaxonomyError(
                f"load_mapping({dataset_or_path!r}): give a dataset and an ontology, "
                "'<dataset>__<ontology>', or a path"
            )
    else:
        dataset = str(dataset_or_path)
    cat = list_files()
    path = cat.mappings.get((dataset, ontology))
    if path is None:
        known = ", ".join(f"{d}->{o}" for d, o in sorted(cat.mappings)) or "none"
        raise MissingFileError(
            f"no mapping from {dataset!r} onto {ontology!r} (known: {known})",
            path=cat.root / "mappings" / f"{dataset}__{ontology}.yaml",
        )
    return load_file(path, kind="mapping")
