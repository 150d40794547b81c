"""Regenerate ecsforge/manifest/data/ec2_instance_types.json, region_resource_types.json and
availability_zones.json from cfn-lint's data.

The manifest layer checks instance types against the same per-region lists that the
cfn-lint gate uses, so a type the gate would reject is reported at its manifest line.
Run after upgrading cfn-lint: `python scripts/update_instance_types.py`.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import cfnlint

SOURCE = Path(cfnlint.__file__).parent / "data/schemas/extensions/aws_ec2_instance/instancetype_enum.json"
ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "ecsforge/manifest/data/ec2_instance_types.json"
REGIONS_TARGET = ROOT / "ecsforge/manifest/data/region_resource_types.json"
ZONES_TARGET = ROOT / "ecsforge/manifest/data/availability_zones.json"
PROVIDERS = Path(cfnlint.__file__).parent / "data/schemas/providers"
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)?-[a-z]+-[0-9]+$")


def generate() -> str:
    regions = json.loads(SOURCE.read_text())
    # "all" is empty in cfn-lint; the union of the regions stands for it.
    data = {
        region: sorted(spec["enum"])
        for region, spec in sorted(regions.items())
        if isinstance(spec, dict) and spec["enum"]
    }
    return json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n"


def generate_regions() -> str:
    sys.path.insert(0, str(ROOT))
    from ecsforge.manifest.catalog import FEATURE_RESOURCE_TYPES

    wanted = sorted({t for types in FEATURE_RESOURCE_TYPES.values() for t in types})
    data = {}
    for path in sorted(PROVIDERS.glob("*.json")):
        if REGION.match(path.stem):
            offered = json.loads(path.read_text())
            data[path.stem] = [t for t in wanted if t in offered]
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def generate_zones() -> str:
    from cfnlint.helpers import AVAILABILITY_ZONES

    data = {region: sorted(zones) for region, zones in sorted(AVAILABILITY_ZONES.items()) if REGION.match(region)}
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    TARGET.write_text(generate())
    REGIONS_TARGET.write_text(generate_regions())
    ZONES_TARGET.write_text(generate_zones())
    for target in (TARGET, REGIONS_TARGET, ZONES_TARGET):
        print(f"wrote {target} ({target.stat().st_size} bytes)", file=sys.stderr)
