"""`overrides` (manifest v1.2, "Escape hatches"): RFC 6902 JSON Patch operations applied to the
template ecsforge synthesizes for one stack, named by its unit.

Here: the form of each operation, and whether its stack exists. Whether its path exists is known
only once the template is synthesized (ecsforge/stacks/overrides.py reports it at the same line).
"""

from __future__ import annotations

import datetime
import difflib
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field

from .base import NAME_PATTERN, Model, Rule, matching, reject
from .problems import show

if TYPE_CHECKING:
    from .models import Manifest

# The top-level sections of a CloudFormation template; a path starts with one of them.
SECTIONS = (
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
)
# Units named by the contract; which of them are stacks depends on the manifest (stack_units).
_UNIT = r"^(network|cluster|registries|resources|addons|(service|task|pipeline)-" + NAME_PATTERN[1:-1] + ")$"
UnitName = Annotated[
    str,
    matching(
        _UNIT,
        "stack unit",
        "service-orders",
        "write network, cluster, registries, resources, addons, service-<name>, task-<name> or pipeline-<name>",
    ),
]
Pointer = Annotated[
    str,
    matching(
        r"^(/([^~/]|~[01])*)+$",
        "JSON Pointer into a template",
        "/Resources/Service9571FDD8/Properties/HealthCheckGracePeriodSeconds (~1 for a / in a key, ~0 for a ~)",
    ),
]
_VALUE_OPS = ("add", "replace", "test")
_FROM_OPS = ("move", "copy")
_SHOWN_UNITS = 12
# Why a unit of the contract has no stack in a manifest.
_NO_STACK = {
    "network": "network.import uses an existing VPC",
    "registries": "it has no registries",
    "resources": "it has no topics, queues, buckets or created volumes",
    "addons": "it has no environment addons",
}


def _json_value(value: Any) -> Any:
    """The values a template can hold: YAML also reads dates and .nan, which JSON has not."""
    if isinstance(value, datetime.date):
        raise reject(f"{value.isoformat()} is a YAML date, not a template value; quote it: '{value.isoformat()}'")
    if isinstance(value, float) and not math.isfinite(value):
        raise reject(f"{value} is not a number a template can hold; write a finite number or a quoted string")
    if isinstance(value, list):
        for item in value:
            _json_value(item)
    elif isinstance(value, dict):
        for item in value.values():
            _json_value(item)
    return value


class Override(Model):
    """One RFC 6902 operation on the synthesized template of a stack."""

    op: Literal["add", "remove", "replace", "move", "copy", "test"] = Field(
        description=(
            "Required. add (a member, or an array item at an index or `-` for the end), remove, replace (the path "
            "must exist), move and copy (from `from`), test (the value at `path` must equal `value`, or synthesis "
            "stops)."
        )
    )
    path: Pointer = Field(
        description=(
            "Required. A JSON Pointer into the template `cdk synth` writes for the stack, starting with its section: "
            "/Resources/<logical id>/Properties/<name>, /Outputs/<name>, ... Array items by index: /0/."
        )
    )
    value: Annotated[Any, AfterValidator(_json_value)] = Field(
        None,
        description=(
            "Default: none (remove, move, copy). Required for add, replace and test: the JSON value (a YAML "
            "mapping, list or scalar; intrinsic functions as in a JSON template: {Ref: Name}, "
            "{Fn::GetAtt: [Id, Attr]})."
        ),
    )
    from_: Pointer | None = Field(
        None,
        alias="from",
        description="Default: none (add, remove, replace, test). Required for move and copy: the JSON Pointer of "
        "the value taken.",
    )

    def check(self) -> Iterator[Rule]:
        has_value = "value" in self.model_fields_set
        if self.op in _VALUE_OPS and not has_value:
            yield ("value",), f"required for `op: {self.op}`; add `value:`"
        if self.op not in _VALUE_OPS and has_value:
            yield ("value",), f"`op: {self.op}` takes no value; remove `value:`"
        if self.op in _FROM_OPS and self.from_ is None:
            yield ("from",), f"required for `op: {self.op}`; add `from:` with the pointer of the value to {self.op}"
        if self.op not in _FROM_OPS and self.from_ is not None:
            yield ("from",), f"`op: {self.op}` takes no `from`; remove it"
        for member, pointer in (("path", self.path), ("from", self.from_)):
            section = pointer.split("/")[1] if pointer is not None else None
            if section is not None and section not in SECTIONS:
                close = difflib.get_close_matches(section, SECTIONS, n=1, cutoff=0.5)
                hint = f"did you mean /{close[0]}?" if close else "start with one of /" + ", /".join(SECTIONS)
                yield (member,), f"{pointer!r}: a template has no top-level {section!r}; {hint}"
        if self.op == "move" and self.from_ is not None and self.path.startswith(self.from_ + "/"):
            yield ("from",), f"{self.from_!r} contains {self.path!r}: a value cannot move into itself; copy it instead"


def stack_units(manifest: Manifest) -> list[str]:
    """The units whose stacks this manifest makes, as platform.build decides (tests/test_overrides.py
    holds the two together)."""
    units = ["network"] if manifest.network.import_ is None else []
    units.append("cluster")
    if manifest.registries:
        units.append("registries")
    if manifest.has_resources:
        units.append("resources")
    if manifest.addons:
        units.append("addons")
    units += [f"service-{name}" for name in manifest.services]
    units += [f"task-{name}" for name in manifest.scheduled_tasks]
    units += [f"pipeline-{name}" for name in manifest.pipelines]
    return units


def override_rules(manifest: Manifest) -> Iterator[Rule]:
    if not manifest.overrides:
        return
    units = stack_units(manifest)
    for unit in manifest.overrides:
        if unit in units:
            continue
        close = difflib.get_close_matches(unit, units, n=1, cutoff=0.6)
        listed = ", ".join(units[:_SHOWN_UNITS]) + (", ..." if len(units) > _SHOWN_UNITS else "")
        hint = f"did you mean {close[0]}?" if close else f"the stacks of this manifest are {listed}"
        why = f" ({_NO_STACK[unit]})" if unit in _NO_STACK else ""
        yield (
            ("overrides", unit),
            f"{show(unit)}: this manifest makes no {manifest.stack_name(unit)} stack{why}; {hint}",
        )
