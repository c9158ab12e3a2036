"""Fetch plotly.js's basic partial bundle (bar, pie, scatter: what the report draws) for the plotly.js
version the installed plotly package ships, into wirehouse/data/ with its MIT licence.

Usage: .venv/bin/python tools/vendor_plotly.py   (needs npm and the npm registry)

The plotly package on PyPI ships only the full 4.8 MB bundle; the basic one (1.2 MB) keeps the
self-contained report under 1.5 MB. tests/test_report.py fails when the two versions differ.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import plotly

DATA = Path(__file__).resolve().parents[1] / "wirehouse" / "data"
FULL = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def main() -> int:
    version = re.search(r"v(\d+\.\d+\.\d+)", FULL.read_text(encoding="utf-8")[:200]).group(1)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(["npm", "pack", f"plotly.js-basic-dist-min@{version}"], cwd=tmp, check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"error: npm pack plotly.js-basic-dist-min@{version} failed: {exc}", file=sys.stderr)
            return 1
        (archive,) = Path(tmp).glob("*.tgz")
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        shutil.copy(Path(tmp) / "package" / "plotly-basic.min.js", DATA / "plotly-basic.min.js")
        shutil.copy(Path(tmp) / "package" / "LICENSE", DATA / "plotly-basic.LICENSE")
    print(f"plotly.js basic {version} -> {DATA / 'plotly-basic.min.js'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
