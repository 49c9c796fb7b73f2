"""Run configurations: what `harmonize run` reads, writes and how.

A config is YAML validated by :class:`RunConfig` (unknown keys are errors with file and line).
Relative paths resolve against the config file's folder. Example::

    name: nuclei_merged
    ontology: nuclei
    level: {nodes: [epithelial, immune, stromal, dead, other], coarse_policy: keep}
    sources:
      - dataset: consep
        root: ../data/CoNSeP
      - dataset: pannuke
        root: ../data/PanNuke
        splits: [fold1, fold2]
    output:
      path: ../out/nuclei_merged.zarr
    on_error: skip
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harmonize.errors import ConfigError

__all__ = [
    "ExecutorConfig",
    "LevelConfig",
    "OutputConfig",
    "RunConfig",
    "SourceConfig",
    "load_config",
]

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LevelConfig(_Model):
    """A cut of the ontology (see the taxonomy docs): node names or a depth, and the policy for
    source classes coarser than the cut."""

    nodes: list[str] | None = Field(None, min_length=1)
    depth: int | None = Field(None, ge=0)
    coarse_policy: Literal["keep", "ignore"] = "keep"

    @model_validator(mode="after")
    def _one_of(self) -> LevelConfig:
        if (self.nodes is None) == (self.depth is None):
            raise ValueError("a level gives exactly one of `nodes` or `depth`")
        return self


class SourceConfig(_Model):
    """One dataset as downloaded, and how to read it."""

    dataset: str = Field(description="Dataset registry name (`harmonize datasets`).")
    root: str = Field(description="The dataset's root folder; relative to the config file.")
    name: Identifier | None = Field(
        None, description="Source name in the store (default: dataset)."
    )
    splits: list[str] | None = Field(None, description="Splits/folds to read (default: all).")
    mapping: str | None = Field(
        None, description="Mapping file (default: the shipped <dataset>__<ontology> mapping)."
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Reader options.")

    @property
    def source_name(self) -> str:
        return self.name or self.dataset.replace("_", "-")


class OutputConfig(_Model):
    """Where and what to write."""

    path: str = Field(description="Store path (relative to the config file) or fsspec URL.")
    layers: list[Literal["semantic", "instance", "image"]] = Field(
        ["semantic", "instance", "image"], min_length=1, description="Pixel layers to write."
    )
    boxes: bool = Field(False, description="Write box tables (CityPersons).")
    tile: int | None = Field(
        None,
        ge=16,
        description=(
            "Inner chunk edge in pixels (default: 512 for >= 1 Mpx samples, else 256; chosen "
            "for 256-1024 px training crops)."
        ),
    )
    instance_dtype: Literal["uint16", "uint32"] = Field(
        "uint16",
        description=(
            "Dtype of the instance layer. uint16 holds 65535 instances per sample (every "
            "supported dataset); a sample with more stops the run with a StoreError asking for "
            "uint32."
        ),
    )
    samples_per_shard: int | None = Field(None, ge=1, description="Default: ~64 MiB shards.")
    compression: Literal["zstd", "blosc", "none"] = "zstd"
    level: int = Field(3, ge=0, le=22)
    storage_options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_layers(self) -> OutputConfig:
        dup = sorted({x for x in self.layers if self.layers.count(x) > 1})
        if dup:
            raise ValueError(f"layers must not repeat; repeated: {dup}")
        return self


class ExecutorConfig(_Model):
    """How to run: local worker processes, or a dask.distributed cluster."""

    kind: Literal["local", "dask"] = "local"
    workers: int | None = Field(None, ge=1, description="Local worker processes (default: cores).")
    scheduler: str | None = Field(None, description="dask scheduler address, tcp://host:8786.")


class RunConfig(_Model):
    """A harmonize run."""

    name: Identifier
    description: str | None = None
    ontology: str = Field(description="Ontology name or path.")
    level: LevelConfig | None = None
    sources: list[SourceConfig] = Field(min_length=1)
    output: OutputConfig
    on_error: Literal["raise", "skip"] = "raise"
    unknown_values: Literal["error", "ignore"] = Field(
        "error", description="Label values the mapping does not declare: stop, or write ignore."
    )
    executor: ExecutorConfig = ExecutorConfig()
    leakage: bool = Field(
        False,
        description="After the run, look for images shared across sources or splits (exact, "
        "cropped or rescaled copies) and add the findings to the run report.",
    )

    @model_validator(mode="after")
    def _unique_sources(self) -> RunConfig:
        names = [s.source_name for s in self.sources]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"source names must be unique; repeated: {dup} (set `name:`)")
        return self

    # set by load_config: the folder relative paths resolve against
    _base: Path | None = None
    _path: Path | None = None

    @property
    def path(self) -> Path | None:
        """The config file this was loaded from, if any."""
        return self._path

    def resolve(self, value: str) -> str:
        """Resolve a path of the config against its folder (URLs are left alone)."""
        if "://" in value:
            return value
        p = Path(value).expanduser()
        if not p.is_absolute() and self._base is not None:
            p = self._base / p
        return str(p.resolve())

    def with_base(self, base: str | PathLike[str] | None, path: Path | None = None) -> RunConfig:
        cfg = self.model_copy()
        cfg._base = Path(base).resolve() if base is not None else None
        cfg._path = path
        return cfg

    def resolved(self) -> dict[str, Any]:
        """The config as plain data with every path resolved (stored in the store's attributes)."""
        data = self.model_dump(mode="json")
        for s in data["sources"]:
            s["root"] = self.resolve(s["root"])
            if s.get("mapping"):
                s["mapping"] = self.resolve(s["mapping"])
        data["output"]["path"] = self.resolve(data["output"]["path"])
        if "/" in data["ontology"] or data["ontology"].endswith((".yaml", ".yml")):
            data["ontology"] = self.resolve(data["ontology"])
        return data


def load_config(path: str | PathLike[str]) -> RunConfig:
    """Load a run config from YAML; errors name the file and line.

    Raises
    ------
    ConfigError
        On a syntax error, an unknown key, or an invalid value.
    MissingFileError
        When the file does not exist.
    """
    from harmonize._yaml import load_model

    p = Path(path)
    cfg = load_model(p, RunConfig, ConfigError, what="run config")
    return cfg.with_base(p.resolve().parent, p.resolve())


def config_from_dict(data: dict[str, Any], base: str | PathLike[str] | None = None) -> RunConfig:
    """Build a config from plain data (paths relative to ``base``)."""
    from pydantic import ValidationError

    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid run config: {exc}") from None
    return cfg.with_base(base)
