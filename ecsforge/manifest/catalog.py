"""Facts about AWS that the manifest is checked against, kept as data in this package."""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from pathlib import Path

_INSTANCE_TYPES = Path(__file__).parent / "data" / "ec2_instance_types.json"
# family, generation, capabilities, size: m7gd.large -> ("m", "7", "gd", "large")
_INSTANCE_TYPE = re.compile(r"^([a-z]+)(\d{1,2})([a-z-]*)\.([a-z0-9-]+)$")
ARM64 = "arm64"
X86_64 = "x86_64"


@cache
def instance_types_by_region() -> dict[str, frozenset[str]]:
    """EC2 instance types offered per region (from cfn-lint's data, so that the manifest
    and the cfn-lint gate agree); regenerate with scripts/update_instance_types.py."""
    data: dict[str, list[str]] = json.loads(_INSTANCE_TYPES.read_text())
    return {region: frozenset(types) for region, types in data.items()}


@cache
def all_instance_types() -> frozenset[str]:
    return frozenset().union(*instance_types_by_region().values())


def instance_type_problem(instance_type: str, region: str) -> str | None:
    """Why an instance type cannot be used in a region, with what to use instead; or None."""
    known = all_instance_types()
    if instance_type not in known:
        close = difflib.get_close_matches(instance_type, sorted(known), n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}?" if close else "use an EC2 instance type such as t3.medium"
        return f"{instance_type!r} is not an EC2 instance type; {hint}"
    offered = instance_types_by_region().get(region)
    if offered is not None and instance_type not in offered:
        family = instance_type.split(".")[0]
        same_family = sorted(t for t in offered if t.split(".")[0] == family)
        hint = f"use one that is, e.g. {same_family[0]}" if same_family else "choose a family offered there"
        return f"{instance_type!r} is not offered in {region}; {hint}"
    return None


def instance_architecture(instance_type: str) -> str:
    """arm64 for Graviton (a1, and a `g` right after the generation: m7g, c7gn, x2gd, t4g),
    x86_64 otherwise: the rule aws-cdk's InstanceType.architecture applies, which picks the
    AMI. The catalog lists names only, so the name decides."""
    match = _INSTANCE_TYPE.match(instance_type)
    if match is None:
        return X86_64
    family, _, capabilities, _ = match.groups()
    return ARM64 if family == "a" or capabilities.startswith("g") else X86_64
