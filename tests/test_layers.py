"""The house's floors (`[tool.importlinter]` in pyproject.toml) can fail: on a copy of the code laid
out as the installed namespace (`tools/layers.py`, what `make test` runs), an upward import and an
import between the stages and the storage each break the contract, and the offending import is
named; the clean copy keeps it."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("layers", ROOT / "tools" / "layers.py")
layers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layers)


@pytest.fixture(scope="module")
def house(tmp_path_factory) -> Path:
    if not layers.LINT.exists():
        pytest.skip("lint-imports is not installed (dev dependencies)")
    return layers.assemble(ROOT, tmp_path_factory.mktemp("house"))


def _with_import(house: Path, tmp_path: Path, module: str, line: str) -> Path:
    copy = tmp_path / "house"
    shutil.copytree(house, copy)
    path = copy / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    return copy


def test_the_layout_is_the_installed_namespace(house):
    # every source folder lands under wirehouse/, nothing generic at the top
    assert sorted(p.name for p in house.iterdir()) == ["pyproject.toml", "wirehouse"]
    assert (house / "wirehouse/tasks/rows.py").is_file() and (house / "wirehouse/warehouse/load.py").is_file()
    assert not (house / "wirehouse/tasks/tasks").exists()


def test_the_clean_house_keeps_the_contract(house):
    result = layers.lint(house)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    "module, line, named",
    [
        # a stage importing upward
        ("tasks/rows.py", "import wirehouse.flows.ingest  # noqa", "wirehouse.tasks.rows -> wirehouse.flows.ingest"),
        # a stage importing the storage, and the storage a stage
        ("tasks/rows.py", "import wirehouse.warehouse.load  # noqa", "wirehouse.tasks.rows -> wirehouse.warehouse.load"),
        ("warehouse/load.py", "import wirehouse.tasks.rows  # noqa", "wirehouse.warehouse.load -> wirehouse.tasks.rows"),
        # the bottom importing the command line
        ("settings.py", "import wirehouse.cli  # noqa", "wirehouse.settings -> wirehouse.cli"),
    ],
)
def test_a_forbidden_import_breaks_the_contract_and_is_named(house, tmp_path, module, line, named):
    copy = _with_import(house, tmp_path, f"wirehouse/{module}", line)
    result = layers.lint(copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and named in result.stdout, result.stdout


def test_only_the_one_namespace_is_installed():
    # The folders import as wirehouse.* only: not as bare `tasks` or `flows` (site-packages stays clean,
    # and a wrong import fails here as it would for a user; conftest keeps the checkout off sys.path).
    import importlib.util

    import wirehouse.flows.ingest
    import wirehouse.tasks.fetch

    assert Path(wirehouse.tasks.fetch.__file__).resolve() == ROOT / "tasks" / "fetch.py"
    assert Path(wirehouse.flows.ingest.__file__).resolve() == ROOT / "flows" / "ingest.py"
    for bare in ("tasks", "flows", "schemas", "warehouse"):
        assert importlib.util.find_spec(bare) is None, bare
