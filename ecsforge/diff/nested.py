"""Addons' nested stacks in a diff: their templates (`*.nested.template.json`) belong to the
stack that holds their AWS::CloudFormation::Stack resource, and their resources are compared
as that stack's own, named `<addon>/<logical id>`.

CloudFormation updates a nested stack as part of its parent's update: a nested resource is
replaced, updated or deleted by the parent's deploy, and removing the nested stack resource
deletes the nested stack with every resource in it not kept by `DeletionPolicy: Retain`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .changes import Dirty, Propagation, compare_stack, stack_dirty
from .model import ADDED, REMOVED, REPLACED, Hazard, ResourceChange, Templates
from .schemas import MISSING
from .templates import NESTED_SUFFIX, resources

NESTED_STACK = "AWS::CloudFormation::Stack"
SEPARATOR = "/"


@dataclass(frozen=True)
class NestedStack:
    logical_id: str  # of its AWS::CloudFormation::Stack resource in the parent
    addon: str  # the addon's key (its template's file name), as the parent's construct path has it
    resource: dict[str, Any]
    template: dict[str, Any]

    def qualified(self, logical_id: str) -> str:
        return f"{self.addon}{SEPARATOR}{logical_id}"

    def qualified_resources(self) -> dict[str, dict[str, Any]]:
        return {self.qualified(k): v for k, v in resources(self.template).items()}


# Parent stack -> its nested stacks, by their resource's logical id.
Nested = dict[str, dict[str, NestedStack]]


def addon_of(logical_id: str) -> str | None:
    """The addon a qualified logical id belongs to; None for the parent's own resources."""
    return logical_id.split(SEPARATOR, 1)[0] if SEPARATOR in logical_id else None


def _addon_name(logical_id: str, resource: dict[str, Any]) -> str:
    # ".../Addons/orders-table.NestedStack/orders-table.NestedStackResource" (path metadata is on
    # under `cdk synth` and in ecsforge's own synthesis); otherwise the resource's logical id.
    path = str(resource.get("Metadata", {}).get("aws:cdk:path", ""))
    parts = path.split("/")
    if len(parts) >= 2 and parts[-2].endswith(".NestedStack"):
        return parts[-2].removesuffix(".NestedStack")
    return logical_id


def split(templates: Templates) -> tuple[Templates, Nested]:
    """The deployable stacks, and each one's nested stacks (found by the asset path CDK writes
    on the nested stack resource)."""
    top = {name: t for name, t in templates.items() if not name.endswith(NESTED_SUFFIX)}
    nested: Nested = {}
    for stack, template in top.items():
        for logical_id, resource in resources(template).items():
            if resource["Type"] != NESTED_STACK:
                continue
            asset = str(resource.get("Metadata", {}).get("aws:asset:path", "")).removesuffix(".template.json")
            if asset in templates:
                found = NestedStack(logical_id, _addon_name(logical_id, resource), resource, templates[asset])
                nested.setdefault(stack, {})[logical_id] = found
    return top, nested


def qualified_resources(nested: Nested, stack: str) -> dict[str, dict[str, Any]]:
    return {k: v for n in nested.get(stack, {}).values() for k, v in n.qualified_resources().items()}


def _dirty_parameters(old: NestedStack, new: NestedStack, parent: Dirty) -> frozenset[str]:
    """The nested stack's parameters whose value the parent passes anew (or that now resolves anew)."""
    before = old.resource.get("Properties", {}).get("Parameters", {}) or {}
    after = new.resource.get("Properties", {}).get("Parameters", {}) or {}
    return frozenset(
        name
        for name in set(before) | set(after)
        if before.get(name) != after.get(name) or parent.touches(after.get(name))
    )


def _changed_outputs(before: NestedStack, after: NestedStack, region: str) -> set[str]:
    """The outputs ("Id.Outputs.Name") whose value changes: their expression, or what they refer
    to is replaced, or a parameter they read is passed anew (as the parent's template says it)."""
    parameters = _dirty_parameters(before, after, Dirty())
    found = compare_stack(before.template, after.template, region, set(), set(), dirty_parameters=parameters)
    dirty = Dirty(resources={c.logical_id for c in found if c.action == REPLACED}, parameters=set(parameters))
    old_outputs, new_outputs = before.template.get("Outputs", {}), after.template.get("Outputs", {})
    return {
        f"{after.logical_id}.Outputs.{name}"
        for name in set(old_outputs) | set(new_outputs)
        if old_outputs.get(name, MISSING) != new_outputs.get(name, MISSING)
        or dirty.touches(new_outputs.get(name, {}).get("Value"))
    }


def changed_outputs(old: Nested, new: Nested, region: str) -> dict[str, set[str]]:
    """Per parent stack, the outputs of its nested stacks that change: what reads them (a task
    definition's variable, an SSM parameter) changes with them."""
    result: dict[str, set[str]] = {}
    for stack, stacks in new.items():
        for logical_id, after in stacks.items():
            before = old.get(stack, {}).get(logical_id)
            if before is not None:
                result.setdefault(stack, set()).update(_changed_outputs(before, after, region))
    return result


def _all(nested: NestedStack, action: str) -> list[ResourceChange]:
    return [
        ResourceChange(nested.qualified(k), v["Type"], action) for k, v in sorted(resources(nested.template).items())
    ]


def nested_changes(
    old: dict[str, NestedStack], new: dict[str, NestedStack], region: str, parent: Dirty
) -> list[ResourceChange]:
    """Every nested resource of one parent stack added, removed, updated or replaced, with
    replacements from the create-only properties as for the parent's own resources."""
    changes: list[ResourceChange] = []
    for logical_id in sorted(set(old) | set(new), key=lambda k: (new.get(k) or old[k]).addon):
        before, after = old.get(logical_id), new.get(logical_id)
        if before is None and after is not None:
            changes += _all(after, ADDED)
        elif after is None and before is not None:
            changes += _all(before, REMOVED)
        elif before is not None and after is not None:
            dirty = _dirty_parameters(before, after, parent)
            found = compare_stack(before.template, after.template, region, set(), set(), dirty_parameters=dirty)
            changes += [replace(c, logical_id=after.qualified(c.logical_id)) for c in found]
    return changes


def add_nested_changes(propagation: Propagation, old: Nested, new: Nested, region: str) -> None:
    """The nested resources' changes, after their parent's own, for the stacks in both."""
    for stack, changes in propagation.stack_changes.items():
        if stack in old or stack in new:
            parent = stack_dirty(
                stack, propagation.stack_changes, propagation.changed_exports, propagation.changed_attributes
            )
            changes += nested_changes(old.get(stack, {}), new.get(stack, {}), region, parent)


def added_with_stack(nested: Nested, stack: str) -> list[ResourceChange]:
    return [c for n in sorted(nested.get(stack, {}).values(), key=lambda n: n.addon) for c in _all(n, ADDED)]


def removed_addons(old: Nested, new: Nested, stack: str) -> frozenset[str]:
    """The addons whose nested stack the deploy deletes."""
    kept = set(new.get(stack, {}))
    return frozenset(n.addon for logical_id, n in old.get(stack, {}).items() if logical_id not in kept)


def deleted_with_addon(stack: str, change: ResourceChange, addon: str) -> Hazard:
    """Removing an addon deletes its nested stack, and with it each resource not retained."""
    logical_id = change.logical_id.split(SEPARATOR, 1)[1]
    return Hazard(
        stack,
        "stateful",
        f"removing addon {addon} deletes its nested stack, and {logical_id} ({change.type}) with its data",
        f"first add `DeletionPolicy: Retain` (and `UpdateReplacePolicy: Retain`) to {logical_id} in the addon's "
        "template and deploy that, then remove the addon (the resource is then kept, outside any stack)",
    )
