"""Maps are keyed by name, so the order of keys in a manifest changes no logical ID."""

from __future__ import annotations

from typing import Any

import yaml

from .helpers import ROOT, normalized


def reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(item) for item in value]
    return value


def test_reordering_every_mapping_changes_no_logical_id(synth, tmp_path):
    original = yaml.safe_load((ROOT / "platform.yml").read_text())
    reordered = reversed_keys(original)
    assert list(reordered) != list(original)
    assert list(reordered["registries"]) == list(reversed(list(original["registries"])))
    path = tmp_path / "reordered.yml"
    path.write_text(yaml.safe_dump(reordered, sort_keys=False))

    def logical_ids(templates):
        return {stack: {k: r["Type"] for k, r in t["Resources"].items()} for stack, t in templates.items()}

    before = normalized(synth("platform.yml").templates())
    after = normalized(synth(path).templates())
    assert logical_ids(after) == logical_ids(before)
    # Stacks without container lists (whose order the contract keeps) are identical.
    for stack in ("shop-prod-network", "shop-prod-cluster", "shop-prod-registries"):
        assert after[stack] == before[stack], stack
