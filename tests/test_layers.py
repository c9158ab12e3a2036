"""The house's floors (`[tool.importlinter]` in pyproject.toml) can fail: on a copy of the source
packages, an upward import and an import between the stages and the storage each break the
contract, and `lint-imports` names the offending import; the clean copy keeps it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("wirehouse", "flows", "tasks", "warehouse", "schemas")
LINT = Path(sys.executable).with_name("lint-imports")


def _python_only(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__" or (not n.endswith(".py") and not os.path.isdir(os.path.join(folder, n)))]


@pytest.fixture(scope="module")
def house(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("house")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=_python_only)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")   # the real contract
    return copy


def _lint(folder: Path) -> subprocess.CompletedProcess:
    if not LINT.exists():
        pytest.skip("lint-imports is not installed (dev dependencies)")
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(folder)}
    return subprocess.run([str(LINT), "--config", str(folder / "pyproject.toml"), "--no-cache"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def _with_import(house: Path, tmp_path: Path, module: str, line: str) -> Path:
    copy = tmp_path / "house"
    shutil.copytree(house, copy)
    path = copy / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    return copy


def test_the_clean_house_keeps_the_contract(house):
    result = _lint(house)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    "line, named",
    [
        ("import flows.ingest  # noqa", "tasks.rows -> flows.ingest"),            # a stage importing upward
        ("import warehouse.load  # noqa", "tasks.rows -> warehouse.load"),        # a stage importing the storage
    ],
)
def test_a_forbidden_import_breaks_the_contract_and_is_named(house, tmp_path, line, named):
    copy = _with_import(house, tmp_path, "tasks/rows.py", line)
    result = _lint(copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and named in result.stdout, result.stdout


def test_the_storage_importing_a_stage_breaks_the_contract(house, tmp_path):
    copy = _with_import(house, tmp_path, "warehouse/load.py", "import tasks.rows  # noqa")
    result = _lint(copy)
    assert result.returncode != 0
    assert "warehouse.load -> tasks.rows" in result.stdout, result.stdout
