"""Resource changes per stack, with replacements propagated through Refs, exports and SSM parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import ADDED, CHANGED, REMOVED, REPLACED, UNCHANGED, UPDATED, ResourceChange, StackDiff, Templates
from .schemas import MISSING, create_only_paths, values_at
from .templates import exports, refs, resources, ssm_parameter_name, ssm_writes

Resources = dict[str, dict[str, Any]]
# Attributes beside Properties whose change is an update of the resource.
RESOURCE_ATTRIBUTES = ("Condition", "DeletionPolicy", "UpdateReplacePolicy", "UpdatePolicy")
# Cross-stack propagation stops after this many rounds even without a fixpoint.
MAX_ROUNDS = 10


@dataclass
class Dirty:
    """What resolves to something new in NEW although the template text is the same."""

    resources: set[str] = field(default_factory=set)  # replaced in this stack
    parameters: set[str] = field(default_factory=set)
    conditions: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)  # export names whose value changes
    attributes: set[str] = field(default_factory=set)  # "Id.Outputs.Name": a nested stack's output that changes

    def touches(self, value: Any) -> bool:
        for kind, name in refs(value):
            if kind == "ref" and (name in self.resources or name in self.parameters):
                return True
            if kind == "attribute" and name in self.attributes:
                return True
            if kind == "import" and name in self.imports:
                return True
            if kind == "condition" and name in self.conditions:
                return True
        return False


@dataclass
class Propagation:
    """The outcome of comparing all common stacks until exports and SSM values stop changing."""

    stack_changes: dict[str, list[ResourceChange]]
    changed_exports: set[str]
    changed_ssm: set[str]
    # Per stack, the outputs of its nested stacks (addons) whose value changes ("Id.Outputs.Name").
    changed_attributes: dict[str, set[str]] = field(default_factory=dict)


def differs(old: Any, new: Any, dirty: Dirty) -> bool:
    return old != new or (new is not MISSING and dirty.touches(new))


def stack_dirty(
    stack: str,
    changes: dict[str, list[ResourceChange]],
    changed_exports: set[str],
    attributes: dict[str, set[str]] | None = None,
) -> Dirty:
    replaced = {c.logical_id for c in changes.get(stack, []) if c.action == REPLACED}
    return Dirty(resources=replaced, imports=set(changed_exports), attributes=set((attributes or {}).get(stack, ())))


# --- one stack -------------------------------------------------------------------------------


def _dirty_inputs(
    old: dict[str, Any], new: dict[str, Any], changed_exports: set[str], changed_ssm: set[str], passed: frozenset[str]
) -> Dirty:
    """Parameters and conditions of NEW that resolve differently, and the imports that do;
    passed: the parameters a nested stack's parent passes a new value."""
    old_parameters, new_parameters = old.get("Parameters", {}), new.get("Parameters", {})
    dirty = Dirty(parameters=set(passed), imports=set(changed_exports))
    for name, parameter in new_parameters.items():
        if old_parameters.get(name) != parameter or ssm_parameter_name(parameter) in changed_ssm:
            dirty.parameters.add(name)
    old_conditions, new_conditions = old.get("Conditions", {}), new.get("Conditions", {})
    # Conditions depend on parameters: a condition over a dirty parameter is dirty too.
    for name, condition in new_conditions.items():
        if old_conditions.get(name) != condition or dirty.touches(condition):
            dirty.conditions.add(name)
    return dirty


def _forces_replacement(
    old_props: dict[str, Any], new_props: dict[str, Any], path: tuple[str, ...], dirty: Dirty
) -> bool:
    olds, news = list(values_at(old_props, path)), list(values_at(new_props, path))
    return olds != news or any(dirty.touches(v) for v in news if v is not MISSING)


def _replaced_ids(old_resources: Resources, new_resources: Resources, region: str, dirty: Dirty) -> set[str]:
    """Resources of both templates, of the same type, whose create-only properties change."""
    replaced = set()
    for logical_id, resource in new_resources.items():
        before = old_resources.get(logical_id)
        if before is None or before["Type"] != resource["Type"]:
            continue
        old_props, new_props = before.get("Properties", {}), resource.get("Properties", {})
        if any(
            _forces_replacement(old_props, new_props, p, dirty) for p in create_only_paths(region, resource["Type"])
        ):
            replaced.add(logical_id)
    return replaced


def _mark_replacements(old_resources: Resources, new_resources: Resources, region: str, dirty: Dirty) -> None:
    # Replacements change Refs to the replaced resource, which can replace more: to a fixpoint.
    while True:
        replaced = _replaced_ids(old_resources, new_resources, region, dirty)
        if replaced <= dirty.resources:
            return
        dirty.resources |= replaced


def _changed_names(before: dict[str, Any], after: dict[str, Any], dirty: Dirty) -> list[str]:
    """The top-level properties, then the resource attributes, that change."""
    old_props, new_props = before.get("Properties", {}), after.get("Properties", {})
    names = sorted(
        name
        for name in set(old_props) | set(new_props)
        if differs(old_props.get(name, MISSING), new_props.get(name, MISSING), dirty)
    )
    names += [
        attribute
        for attribute in RESOURCE_ATTRIBUTES
        if differs(before.get(attribute, MISSING), after.get(attribute, MISSING), dirty)
    ]
    return names


def _resource_changes(
    logical_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None, region: str, dirty: Dirty
) -> list[ResourceChange]:
    if after is None:
        assert before is not None
        return [ResourceChange(logical_id, before["Type"], REMOVED)]
    if before is None:
        return [ResourceChange(logical_id, after["Type"], ADDED)]
    if before["Type"] != after["Type"]:
        return [ResourceChange(logical_id, before["Type"], REMOVED), ResourceChange(logical_id, after["Type"], ADDED)]
    names = _changed_names(before, after, dirty)
    if logical_id in dirty.resources:
        old_props, new_props = before.get("Properties", {}), after.get("Properties", {})
        forced = sorted(
            "/".join(path)
            for path in create_only_paths(region, after["Type"])
            if _forces_replacement(old_props, new_props, path, dirty)
        )
        return [ResourceChange(logical_id, after["Type"], REPLACED, tuple(names), tuple(forced))]
    if names:
        return [ResourceChange(logical_id, after["Type"], UPDATED, tuple(names))]
    return []


def compare_stack(
    old: dict[str, Any],
    new: dict[str, Any],
    region: str,
    changed_exports: set[str],
    changed_ssm: set[str],
    *,
    dirty_parameters: frozenset[str] = frozenset(),
    dirty_attributes: frozenset[str] = frozenset(),
) -> list[ResourceChange]:
    """Every resource of one stack that is added, removed, updated or replaced."""
    old_resources, new_resources = resources(old), resources(new)
    dirty = _dirty_inputs(old, new, changed_exports, changed_ssm, dirty_parameters)
    dirty.attributes |= dirty_attributes
    _mark_replacements(old_resources, new_resources, region, dirty)
    changes = []
    for logical_id in sorted(set(old_resources) | set(new_resources)):
        changes += _resource_changes(
            logical_id, old_resources.get(logical_id), new_resources.get(logical_id), region, dirty
        )
    return changes


def changed_outputs(old: dict[str, Any], new: dict[str, Any], dirty: Dirty) -> tuple[str, ...]:
    before, after = old.get("Outputs", {}), new.get("Outputs", {})
    return tuple(
        sorted(
            name
            for name in set(before) | set(after)
            if differs(before.get(name, MISSING), after.get(name, MISSING), dirty)
        )
    )


# --- across stacks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """What a round of propagation starts from: the exports found changing, and the nested outputs."""

    exports: set[str]
    attributes: dict[str, set[str]]


def all_exports(templates: Templates) -> dict[str, tuple[str, Any]]:
    """Export name -> (exporting stack, value expression)."""
    return {name: (stack, value) for stack in templates for name, value in exports(templates[stack]).items()}


def _exports_changing(
    old: Templates, new: Templates, removed_stacks: list[str], changes: dict[str, list[ResourceChange]], known: Known
) -> set[str]:
    """Exports of OLD that NEW removes, moves or gives another value."""
    new_exports = all_exports(new)
    result = set()
    for name, (stack, value) in all_exports(old).items():
        if stack in removed_stacks:
            continue  # cdk deploy leaves a removed stack, and its exports, in place
        if name not in new_exports:
            result.add(name)
            continue
        new_stack, new_value = new_exports[name]
        dirty = stack_dirty(new_stack, changes, known.exports, known.attributes)
        if new_stack != stack or value != new_value or dirty.touches(new_value):
            result.add(name)
    return result


def _ssm_changing(
    old: Templates, new: Templates, common: list[str], changes: dict[str, list[ResourceChange]], known: Known
) -> set[str]:
    """SSM parameters the common stacks write with a new value."""
    old_ssm = {name: item for stack in common for name, item in ssm_writes(old[stack]).items()}
    result = set()
    for stack in common:
        dirty = stack_dirty(stack, changes, known.exports, known.attributes)
        for name, (_logical_id, value) in ssm_writes(new[stack]).items():
            before = old_ssm.get(name)
            if before is None or before[1] != value or dirty.touches(value):
                result.add(name)
    return result


def propagate(
    old: Templates, new: Templates, region: str, changed_attributes: dict[str, set[str]] | None = None
) -> Propagation:
    """Compare the common stacks until the changed exports and SSM values are a fixpoint.

    Export values and SSM-parameter values change when their expression does or when what
    they refer to is replaced: iterate, since a replacement can travel through several stacks.
    changed_attributes: per stack, its nested stacks' outputs that change (diff/nested.py).
    """
    common = sorted(set(old) & set(new))
    removed_stacks = sorted(set(old) - set(new))
    result = Propagation({}, set(), set(), dict(changed_attributes or {}))
    attributes = result.changed_attributes
    for _ in range(MAX_ROUNDS):
        result.stack_changes = {
            stack: compare_stack(
                old[stack],
                new[stack],
                region,
                result.changed_exports,
                result.changed_ssm,
                dirty_attributes=frozenset(attributes.get(stack, ())),
            )
            for stack in common
        }
        known = Known(result.changed_exports, attributes)
        exports_now = _exports_changing(old, new, removed_stacks, result.stack_changes, known)
        ssm_now = _ssm_changing(old, new, common, result.stack_changes, known)
        if exports_now == result.changed_exports and ssm_now == result.changed_ssm:
            break
        result.changed_exports, result.changed_ssm = exports_now, ssm_now
    return result


def stack_diffs(old: Templates, new: Templates, propagation: Propagation) -> list[StackDiff]:
    """Every stack of OLD and NEW, in name order, with its status and changes."""
    stacks: list[StackDiff] = []
    for stack in sorted(set(old) | set(new)):
        if stack not in old:
            changes = [ResourceChange(k, v["Type"], ADDED) for k, v in sorted(resources(new[stack]).items())]
            stacks.append(StackDiff(stack, ADDED, changes))
        elif stack not in new:
            stacks.append(StackDiff(stack, REMOVED))
        else:
            changes = propagation.stack_changes[stack]
            dirty = stack_dirty(
                stack, propagation.stack_changes, propagation.changed_exports, propagation.changed_attributes
            )
            outputs = changed_outputs(old[stack], new[stack], dirty)
            stacks.append(StackDiff(stack, CHANGED if changes or outputs else UNCHANGED, changes, outputs))
    return stacks
