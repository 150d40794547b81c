"""Regenerate ecsforge/manifest/data/ec2_instance_types.json from cfn-lint's data.

The manifest layer checks instance types against the same per-region lists that the
cfn-lint gate uses, so a type the gate would reject is reported at its manifest line.
Run after upgrading cfn-lint: `python scripts/update_instance_types.py`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cfnlint

SOURCE = Path(cfnlint.__file__).parent / "data/schemas/extensions/aws_ec2_instance/instancetype_enum.json"
TARGET = Path(__file__).resolve().parent.parent / "ecsforge/manifest/data/ec2_instance_types.json"


def generate() -> str:
    regions = json.loads(SOURCE.read_text())
    # "all" is empty in cfn-lint; the union of the regions stands for it.
    data = {
        region: sorted(spec["enum"])
        for region, spec in sorted(regions.items())
        if isinstance(spec, dict) and spec["enum"]
    }
    return json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n"


if __name__ == "__main__":
    TARGET.write_text(generate())
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)", file=sys.stderr)
