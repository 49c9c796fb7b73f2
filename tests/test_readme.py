"""The README's library example runs as written (on generated look-alikes)."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_library_example_runs(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Library API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "harmonize.run(" in code and "training_set(" in code
    code = code.replace('"out/readme', f'"{tmp_path}/readme')
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        ns: dict = {}
        exec(compile(code, "README.md", "exec"), ns)
    finally:
        os.chdir(cwd)
    assert ns["report"].written > 0
    assert ns["patch"]["semantic"].shape == (64, 64)
    assert ns["patch"]["image"].shape == (64, 64, 3)
    assert any(v > 0 for v in ns["weights"].values())
