"""Write prefect.yaml from the one declaration of the deployments (`wirehouse/deployments.py`).

    .venv/bin/python tools/prefect_yaml.py          # rewrite prefect.yaml
    .venv/bin/python tools/prefect_yaml.py --check  # exit 1 when the committed file differs
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))   # run from anywhere: the checkout's wirehouse, not an installed one

from wirehouse.deployments import prefect_yaml  # noqa: E402


def main(argv: list[str]) -> int:
    target = ROOT / "prefect.yaml"
    text = prefect_yaml()
    if "--check" in argv:
        if target.read_text(encoding="utf-8") != text:
            print(f"{target} differs from wirehouse/deployments.py: run tools/prefect_yaml.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
