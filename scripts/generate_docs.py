"""Writes docs/manifest.md, the manifest reference, from the models: `python scripts/generate_docs.py`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ecsforge.docs import reference  # noqa: E402

TARGET = ROOT / "docs" / "manifest.md"


def main() -> None:
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(reference(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
