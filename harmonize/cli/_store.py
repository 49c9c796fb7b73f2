"""Opening a store from a command that reads one (``info``, ``stats``, ``report``, ``export``,
``leakage``): storage options from ``--storage-options``, ``HARMONIZE_STORAGE_OPTIONS`` and a run
config, and access errors (missing or wrong credentials) as one typed line."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

__all__ = [
    "config_option",
    "is_access_error",
    "open_cli_store",
    "storage_options_for",
    "storage_options_option",
    "store_access",
]

#: Exception class names of the cloud SDKs' credential and permission errors (botocore
#: ``NoCredentialsError``, google-auth ``DefaultCredentialsError``, azure
#: ``ClientAuthenticationError``, HTTP 401/403 ``Unauthorized``/``Forbidden``, ``AccessDenied``).
_ACCESS_NAMES = re.compile(r"Credential|Authentic|Unauthori[sz]ed|Forbidden|AccessDenied")


def storage_options_option() -> Any:
    """The ``--storage-options`` option of a command that reads a store."""
    return typer.Option(
        None,
        "--storage-options",
        help="JSON fsspec options (credentials) for reading the store, merged over "
        "HARMONIZE_STORAGE_OPTIONS and the --config file's output.storage_options.",
    )


def config_option() -> Any:
    """The ``--config`` option: a run config whose ``output.storage_options`` to use."""
    return typer.Option(
        None,
        "--config",
        help="Run config whose output.storage_options are used to read the store.",
    )


def storage_options_for(text: str | None, config: Path | None) -> dict[str, Any] | None:
    """Storage options for reading a store: the config's ``output.storage_options``, then
    ``HARMONIZE_STORAGE_OPTIONS``, then ``--storage-options`` (later ones win), as
    :func:`harmonize.pipeline.run` merges them. ``None`` when there are none."""
    from harmonize.pipeline.config import env_storage_options, load_config, parse_storage_options

    base = dict(load_config(config).output.storage_options) if config is not None else {}
    merged = {**base, **env_storage_options(), **parse_storage_options(text, "--storage-options")}
    return merged or None


def is_access_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is a permission or credential error."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, PermissionError) or any(
            _ACCESS_NAMES.search(k.__name__) for k in type(cur).__mro__
        ):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


@contextlib.contextmanager
def store_access(url: str) -> Iterator[None]:
    """Turn a permission or credential error while reading the store at ``url`` into one
    :class:`~harmonize.errors.StoreError` (the CLI prints it as one line, exit code 2)."""
    from harmonize.errors import HarmonizeError, StoreError

    try:
        yield
    except HarmonizeError:
        raise
    except Exception as exc:
        if not is_access_error(exc):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        cause = type(exc).__name__ + (f": {first}" if first else "")
        raise StoreError(
            f"cannot read the store: access denied or credentials missing ({cause}); pass them "
            "with --storage-options '{...}', HARMONIZE_STORAGE_OPTIONS or --config RUN.yaml",
            path=url,
        ) from None


def open_cli_store(
    url: str,
    storage_options: str | None,
    config: Path | None,
    *,
    allow_incomplete: bool = False,
):
    """:func:`harmonize.store.open_store` with the command line's storage options; access errors
    become one :class:`~harmonize.errors.StoreError`."""
    from harmonize.store import open_store

    so = storage_options_for(storage_options, config)
    with store_access(url):
        return open_store(url, allow_incomplete=allow_incomplete, storage_options=so)
