"""Commands that read a store take storage options (``--storage-options``,
``HARMONIZE_STORAGE_OPTIONS``, ``--config``), and a missing credential is one line, exit code 2
(issue 15). The remote store is an in-memory fsspec filesystem that demands a token, as a bucket
demands credentials."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import fsspec
import pytest
import yaml
from fsspec.implementations.memory import MemoryFileSystem

from harmonize.cli import main
from harmonize.pipeline import load_config, run
from harmonize.pipeline.demo import configs_dir, demo_config

TOKEN = "s3cr3t"
TAXONOMIES = Path(__file__).resolve().parents[2] / "taxonomies"


class NoCredentialsError(Exception):
    """Like botocore's: not an ``OSError``, raised where the SDK looks for credentials."""


class GuardedFS(MemoryFileSystem):
    """``guarded://``: the memory filesystem, readable only with ``token=TOKEN``. Without a token
    it raises :class:`NoCredentialsError`, with a wrong one ``PermissionError``."""

    protocol = ("guarded",)

    def __init__(self, *args, token: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.token = token

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, str) and path.startswith("guarded://"):
            path = "memory://" + path[len("guarded://") :]
        return super()._strip_protocol(path)

    def _check(self) -> None:
        if self.token is None:
            raise NoCredentialsError("Unable to locate credentials")
        if self.token != TOKEN:
            raise PermissionError("Access Denied")


for _name in ("cat_file", "_open", "info", "ls", "exists", "pipe_file", "rm_file", "rm"):

    def _guarded(self, *a, _m=getattr(MemoryFileSystem, _name), **k):
        self._check()
        return _m(self, *a, **k)

    setattr(GuardedFS, _name, _guarded)

fsspec.register_implementation("guarded", GuardedFS, clobber=True)


def _harmonize(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """Run the console script in this process (the test filesystem is registered here)."""
    monkeypatch.setattr(sys, "argv", ["harmonize", *args])
    capsys.readouterr()
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def guarded_store(tmp_path_factory) -> tuple[str, Path, int]:
    tmp = tmp_path_factory.mktemp("guarded")
    cfg = demo_config(
        load_config(configs_dir() / "nuclei_merged.yaml"),
        tmp / "data",
        tmp / "out",
        n=1,
        datasets=("kumar",),
    )
    data = cfg.resolved()
    url = "guarded://cli-access/s.zarr"
    data["output"]["path"] = url
    data["output"]["storage_options"] = {"token": TOKEN}
    path = tmp / "run.yaml"
    path.write_text(yaml.safe_dump(data))
    report = run(load_config(path), workers=1)
    assert report.written == report.samples > 0
    return url, path, report.written


@pytest.mark.parametrize(
    "command",
    [
        ["info"],
        ["stats", "--no-sizes"],
        ["report", "--html", "r.html"],
        ["export", "png", "{URL}", "out"],
        ["export", "ome-zarr", "{URL}", "out"],
        ["view"],
        ["leakage"],
        ["coverage", "nuclei", "--store", "{URL}"],
        ["diff", str(TAXONOMIES), str(TAXONOMIES), "--store", "{URL}"],
    ],
)
def test_missing_credentials_are_one_line_exit_2(
    guarded_store, command, capsys, monkeypatch, tmp_path
) -> None:
    url, _, _ = guarded_store
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARMONIZE_STORAGE_OPTIONS", raising=False)
    args = [url if a == "{URL}" else a for a in command]
    if "{URL}" not in command:
        args.insert(1 if command[0] != "export" else 2, url)
    code, out, err = _harmonize(capsys, monkeypatch, *args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {url}: cannot read the store: access denied or credentials")
    assert "NoCredentialsError: Unable to locate credentials" in lines[0]
    assert "Traceback" not in err and out == ""


def test_a_wrong_credential_is_one_line_too(guarded_store, capsys, monkeypatch) -> None:
    url, _, _ = guarded_store
    opts = json.dumps({"token": "wrong"})
    code, _, err = _harmonize(capsys, monkeypatch, "info", url, "--storage-options", opts)
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: {url}: cannot read the store: access denied or credentials missing "
        "(PermissionError: Access Denied); pass them with --storage-options '{...}', "
        "HARMONIZE_STORAGE_OPTIONS or --config RUN.yaml"
    ]


def test_storage_options_from_the_flag_the_environment_and_the_config(
    guarded_store, capsys, monkeypatch
) -> None:
    url, config, written = guarded_store
    monkeypatch.delenv("HARMONIZE_STORAGE_OPTIONS", raising=False)
    opts = json.dumps({"token": TOKEN})
    code, out, err = _harmonize(
        capsys, monkeypatch, "info", url, "--json", "--storage-options", opts
    )
    assert code == 0, err
    info = json.loads(out)
    assert info["complete"] is True and info["sources"]["kumar"]["samples"] == written

    code, out, err = _harmonize(
        capsys, monkeypatch, "stats", url, "-f", "json", "--config", str(config)
    )
    assert code == 0, err
    assert json.loads(out)["store"] == url

    monkeypatch.setenv("HARMONIZE_STORAGE_OPTIONS", opts)
    code, out, err = _harmonize(capsys, monkeypatch, "leakage", url, "-f", "json", "-q")
    assert code == 0, err
    assert json.loads(out)["leaks"] == []
    # the flag wins over the environment
    code, _, err = _harmonize(
        capsys, monkeypatch, "info", url, "--storage-options", json.dumps({"token": "wrong"})
    )
    assert code == 2 and "PermissionError: Access Denied" in err


def test_a_bad_storage_options_flag_is_one_line(guarded_store, capsys, monkeypatch) -> None:
    url, _, _ = guarded_store
    code, _, err = _harmonize(capsys, monkeypatch, "info", url, "--storage-options", "[1]")
    assert code == 2
    assert err.strip().splitlines() == ["error: --storage-options must be a JSON object"]
