"""Sets of taxonomy files to compare: a file, a folder, models, or a folder at a git revision.

:func:`load_set` reads a YAML file or every YAML file under a folder (``taxonomies/``-like with
``datasets/``, ``ontologies/``, ``mappings/``, or any folder of YAML files, found recursively);
:func:`load_git_rev` reads such a folder as it is at a git revision (``git ls-tree`` / ``git show``;
nothing is checked out); :func:`as_set` accepts any of these or models. The diff itself
(:mod:`harmonize.taxonomy.diff`) works on the resulting :class:`TaxonomySet` only.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from harmonize.errors import ConfigError, MissingFileError, TaxonomyError
from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology

__all__ = ["TaxonomySet", "as_set", "load_git_rev", "load_set"]

_SUFFIXES = (".yaml", ".yml")


@dataclass
class TaxonomySet:
    """A set of taxonomy models, by name.

    Attributes
    ----------
    label : str
        Where the set comes from (a path, ``git:REV``), for reports.
    ontologies : dict of str to Ontology
    datasets : dict of str to DatasetTaxonomy
    mappings : dict of (str, str) to Mapping
        ``(dataset, ontology)`` -> mapping.
    """

    label: str = ""
    ontologies: dict[str, Ontology] = field(default_factory=dict)
    datasets: dict[str, DatasetTaxonomy] = field(default_factory=dict)
    mappings: dict[tuple[str, str], Mapping] = field(default_factory=dict)

    def add(self, model: DatasetTaxonomy | Ontology | Mapping, where: str = "") -> None:
        """Add one model; a second model with the same name is an error naming ``where``."""
        if isinstance(model, Ontology):
            table: dict[Any, Any] = self.ontologies
            key: Any = model.name
        elif isinstance(model, DatasetTaxonomy):
            table, key = self.datasets, model.name
        elif isinstance(model, Mapping):
            table, key = self.mappings, (model.dataset, model.ontology)
        else:
            raise TaxonomyError(f"not a taxonomy model: {type(model).__name__}", path=where or None)
        if key in table:
            raise TaxonomyError(
                f"two {model.kind} files define {key!r} in the same set ({self.label})",
                path=where or None,
            )
        table[key] = model

    def __bool__(self) -> bool:
        return bool(self.ontologies or self.datasets or self.mappings)


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in _SUFFIXES and p.is_file() and not any(s.startswith(".") for s in p.parts)
    )


def load_set(path: str | PathLike[str]) -> TaxonomySet:
    """Load a taxonomy file, or every taxonomy YAML under a folder (recursively).

    Parameters
    ----------
    path : path-like
        A YAML file of any kind, or a folder such as the repository's ``taxonomies/``.

    Raises
    ------
    MissingFileError
        When ``path`` does not exist.
    TaxonomyError
        When a file is invalid (naming file and line), or two files define the same name.
    """
    from harmonize.taxonomy.loader import load_file

    p = Path(path)
    if not p.exists():
        raise MissingFileError("no taxonomy file or folder here", path=p)
    out = TaxonomySet(label=str(p))
    files = [p] if p.is_file() else _yaml_files(p)
    for f in files:
        out.add(load_file(f), str(f))
    return out


def _git(repo: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args],
            check=False,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError as exc:  # pragma: no cover - git missing
        raise ConfigError("git is not installed; --rev needs it", path=repo) from exc
    if proc.returncode != 0:
        msg = proc.stderr.strip().splitlines()
        raise ConfigError(
            f"git {' '.join(args)} failed: {msg[-1] if msg else proc.returncode}", path=repo
        )
    return proc.stdout


def load_git_rev(repo: str | PathLike[str], rev: str, folder: str = "taxonomies") -> TaxonomySet:
    """Load every taxonomy YAML under ``folder`` as it is at git revision ``rev`` of ``repo``.

    Files are read with ``git ls-tree`` and ``git show REV:PATH``; the working tree is untouched.
    Error messages name files as ``REV:PATH``.

    Raises
    ------
    ConfigError
        When ``repo`` is not a git repository or ``rev`` / ``folder`` does not exist there.
    TaxonomyError
        When a file at that revision is invalid.
    """
    from harmonize._yaml import parse_yaml
    from harmonize.taxonomy.loader import validate_data

    root = Path(repo)
    folder = folder.strip("/")
    listing = _git(root, "ls-tree", "-r", "--name-only", rev, "--", folder).splitlines()
    names = sorted(n for n in listing if n.endswith(_SUFFIXES))
    if not names:
        raise ConfigError(f"no taxonomy YAML under {folder!r} at revision {rev!r}", path=root)
    out = TaxonomySet(label=f"git:{rev}")
    for name in names:
        where = f"{rev}:{name}"
        text = _git(root, "show", where)
        data, lines = parse_yaml(text, where)
        out.add(validate_data(data, lines, where), where)
    return out


def as_set(
    value: TaxonomySet
    | str
    | PathLike[str]
    | DatasetTaxonomy
    | Ontology
    | Mapping
    | Iterable[DatasetTaxonomy | Ontology | Mapping],
    label: str | None = None,
) -> TaxonomySet:
    """Turn a set, a path (file or folder), one model or several models into a :class:`TaxonomySet`."""
    if isinstance(value, TaxonomySet):
        return value
    if isinstance(value, str | PathLike):
        return load_set(value)
    out = TaxonomySet(label=label or "")
    models = [value] if isinstance(value, DatasetTaxonomy | Ontology | Mapping) else list(value)
    for m in models:
        out.add(m)
    return out
