"""Check the house's floors (`[tool.importlinter]` in pyproject.toml) with import-linter.

import-linter reads a package from one folder, but the installed namespace is assembled from several:
`wirehouse/` plus `flows/`, `tasks/`, `schemas/` and `warehouse/` mapped under it
(`[tool.setuptools] package-dir`). This lays the Python files out as the wheel installs them, in a
temporary folder, and runs `lint-imports` there with the project's own contract.

Usage: python tools/layers.py [ROOT]   (exit 0: contract kept; 1: broken, the imports named; 2: bad ROOT)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def package_dirs(root: Path) -> dict[str, Path]:
    """The installed package name -> its source folder, from pyproject.toml."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return {name: root / folder for name, folder in config["tool"]["setuptools"]["package-dir"].items()}


def assemble(root: Path, dest: Path) -> Path:
    """Copy the Python files of ``root`` into ``dest`` as the installed namespace; returns ``dest``."""
    mapped = package_dirs(root)
    for name, source in sorted(mapped.items(), key=lambda item: item[0].count(".")):
        target = dest.joinpath(*name.split("."))
        nested = {mapped[other].resolve() for other in mapped if other != name}
        for path in source.rglob("*.py"):
            # a folder mapped as its own package is laid out under its own name, not twice
            if any(parent.resolve() in nested for parent in path.parents) or "__pycache__" in path.parts:
                continue
            out = target / path.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)
    shutil.copyfile(root / "pyproject.toml", dest / "pyproject.toml")
    return dest


def lint(folder: Path) -> subprocess.CompletedProcess:
    """Run lint-imports on an assembled ``folder`` (its own copy of the code first on the path)."""
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(folder)}
    return subprocess.run([str(LINT), "--no-logo", "--no-cache", "--config", str(folder / "pyproject.toml")],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=600)


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else ROOT
    if not (root / "pyproject.toml").is_file():
        print(f"layers: {root}: no pyproject.toml", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="wirehouse-layers-") as tmp:
        result = lint(assemble(root, Path(tmp)))
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
