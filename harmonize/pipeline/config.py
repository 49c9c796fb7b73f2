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
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harmonize.datasets._io import DEFAULT_MAX_PIXELS
from harmonize.errors import ConfigError

if TYPE_CHECKING:
    from harmonize._yaml import LineIndex

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
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


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
    compression: Literal["lz4", "zstd", "blosc", "none"] = Field(
        "lz4",
        description=(
            "Codec of the pixel layers. lz4 (blosc, byte shuffle) decodes a training crop ~2x "
            "faster than zstd for a store ~1.2x larger (python -m benchmarks read); zstd for the "
            "smallest store; blosc = blosc's zstd with bit shuffle; none = uncompressed."
        ),
    )
    level: int = Field(3, ge=0, le=22, description="Compression level (lz4 and blosc: 0-9).")
    storage_options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_layers(self) -> OutputConfig:
        dup = sorted({x for x in self.layers if self.layers.count(x) > 1})
        if dup:
            raise ValueError(f"layers must not repeat; repeated: {dup}")
        if self.compression in ("lz4", "blosc") and self.level > 9:
            raise ValueError(
                f"level {self.level} is above blosc's 9 (compression: {self.compression})"
            )
        return self


class ExecutorConfig(_Model):
    """How to run: local worker processes, or a dask.distributed cluster."""

    kind: Literal["local", "dask"] = "local"
    workers: int | None = Field(None, ge=1, description="Local worker processes (default: cores).")
    scheduler: str | None = Field(None, description="dask scheduler address, tcp://host:8786.")
    worker_timeout: float = Field(
        60.0,
        gt=0,
        description="dask: seconds the cluster may have no worker at all before the run fails "
        "with ExecutorError (the store stays incomplete and resumable).",
    )


class LimitsConfig(_Model):
    """Resource limits applied to every input file (refused with a typed error naming the file)."""

    max_pixels: int = Field(
        DEFAULT_MAX_PIXELS,
        ge=1,
        strict=True,
        description="Largest image or label map, in pixels (H x W), read from the file's header "
        "before any decoding; larger files are refused (decompression bombs). Default 2**28 = "
        "268 Mpx (16384 x 16384), far above every supported dataset.",
    )


class RunConfig(_Model):
    """A harmonize run."""

    name: Identifier
    description: str | None = None
    ontology: str = Field(description="Ontology name or path.")
    taxonomies: list[str] = Field(
        default_factory=list,
        description="Further taxonomy folders (datasets/, ontologies/, mappings/), relative to the "
        "config file, laid over the shipped ones: how a YAML-declared dataset outside the "
        "repository is added.",
    )
    level: LevelConfig | None = None
    sources: list[SourceConfig] = Field(min_length=1)
    output: OutputConfig
    on_error: Literal["raise", "skip"] = "raise"
    unknown_values: Literal["error", "ignore"] = Field(
        "error", description="Label values the mapping does not declare: stop, or write ignore."
    )
    executor: ExecutorConfig = ExecutorConfig()
    limits: LimitsConfig = LimitsConfig()
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
    _lines: LineIndex | None = None  # the YAML line index, when loaded

    def line_of(self, loc: tuple) -> int | None:
        """1-based line of ``loc`` (e.g. ``("sources", 0, "splits")``) in the config file, or of
        its closest ancestor; ``None`` for configs not loaded from a file."""
        if self._lines is None:
            return None
        return self._lines.line(loc)

    def error(self, message: str, loc: tuple) -> ConfigError:
        """A :class:`ConfigError` naming the config file and the line of ``loc``."""
        return ConfigError(message, path=self._path, line=self.line_of(loc))

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
        if path is None:
            cfg._lines = None
        return cfg

    def resolved(self) -> dict[str, Any]:
        """The config as plain data with every path resolved (stored in the store's attributes)."""
        data = self.model_dump(mode="json")
        for s in data["sources"]:
            s["root"] = self.resolve(s["root"])
            if s.get("mapping"):
                s["mapping"] = self.resolve(s["mapping"])
        data["output"]["path"] = self.resolve(data["output"]["path"])
        data["taxonomies"] = [self.resolve(t) for t in data["taxonomies"]]
        data["output"]["storage_options"] = redact(data["output"]["storage_options"])
        from harmonize._yaml import looks_like_path

        if looks_like_path(data["ontology"]):
            data["ontology"] = self.resolve(data["ontology"])
        return data


#: Parts of option names that mark a credential (matched case-insensitively inside the name).
_SECRET_PARTS = (
    "key",
    "secret",
    "token",
    "password",
    "passwd",
    "credential",
    "auth",
    "signature",
    "sas",
    "private",
)

REDACTED = "***"


def redact(value: Any) -> Any:
    """A copy of ``value`` (storage options) with every secret-looking key's value replaced by
    ``"***"``, in nested mappings and lists too. Stored configs and digests never hold secrets."""
    if isinstance(value, dict):
        return {
            k: (
                REDACTED
                if any(part in str(k).lower() for part in _SECRET_PARTS) and not isinstance(v, dict)
                else redact(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def with_storage_options(cfg: RunConfig, extra: dict[str, Any] | None) -> RunConfig:
    """``cfg`` with ``extra`` storage options merged over its own (passed on the command line or
    in ``HARMONIZE_STORAGE_OPTIONS``; never written anywhere)."""
    if not extra:
        return cfg
    merged = {**cfg.output.storage_options, **extra}
    out = cfg.model_copy(
        update={"output": cfg.output.model_copy(update={"storage_options": merged})}
    )
    return out.with_base(cfg._base, cfg._path)


def load_config(path: str | PathLike[str]) -> RunConfig:
    """Load a run config from YAML; errors name the file and line.

    Raises
    ------
    ConfigError
        On a syntax error, an unknown key, or an invalid value.
    MissingFileError
        When the file does not exist.
    """
    from harmonize._yaml import load_model, read_yaml

    p = Path(path)
    cfg = load_model(p, RunConfig, ConfigError, what="run config")
    out = cfg.with_base(p.resolve().parent, p.resolve())
    out._lines = read_yaml(p, ConfigError)[1]  # for errors found later (plan) at their line
    return out


def config_from_dict(data: dict[str, Any], base: str | PathLike[str] | None = None) -> RunConfig:
    """Build a config from plain data (paths relative to ``base``)."""
    from pydantic import ValidationError

    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid run config: {exc}") from None
    return cfg.with_base(base)


def env_storage_options() -> dict[str, Any]:
    """Storage options from the environment variable ``HARMONIZE_STORAGE_OPTIONS`` (a JSON
    object), ``{}`` if unset."""
    import os

    return parse_storage_options(
        os.environ.get("HARMONIZE_STORAGE_OPTIONS"), "HARMONIZE_STORAGE_OPTIONS"
    )


def parse_storage_options(text: str | None, what: str) -> dict[str, Any]:
    """Storage options given as JSON text (``--storage-options``, ``HARMONIZE_STORAGE_OPTIONS``).

    Empty or ``None`` gives ``{}``; anything but a JSON object is a :class:`ConfigError` naming
    ``what``.
    """
    import json

    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what} is not JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a JSON object")
    return value
