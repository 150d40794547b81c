"""The whole diff: stacks compared, then the deployments, hazards and notes of the deploy."""

from __future__ import annotations

from ..manifest import LoadedManifest
from .architecture import architecture_findings
from .changes import Propagation, propagate, stack_diffs
from .hazards import deploy_hazards, service_hazards, stateful_hazards
from .model import ADDED, Deployment, DiffResult, Hazard, Note, Templates
from .nested import (
    Nested,
    add_nested_changes,
    added_with_stack,
    changed_outputs,
    qualified_resources,
    removed_addons,
    split,
)
from .notes import removed_stack_notes, service_notes, stack_notes
from .rule_hazards import rule_hazards
from .services import deployments
from .synthesis import synthesize
from .templates import resources
from .view import DeployView, StackView


def _stack_views(
    old: Templates, new: Templates, propagation: Propagation, nested: tuple[Nested, Nested]
) -> dict[str, StackView]:
    """The stacks in both OLD and NEW, in name order, their addons' resources with their own."""
    old_nested, new_nested = nested
    return {
        stack: StackView(
            stack,
            propagation.stack_changes[stack],
            {**resources(old[stack]), **qualified_resources(old_nested, stack)},
            {**resources(new[stack]), **qualified_resources(new_nested, stack)},
            removed_addons(old_nested, new_nested, stack),
        )
        for stack in sorted(set(old) & set(new))
    }


def diff_templates(
    old_templates: Templates, new_templates: Templates, *, old_manifest: str, new_manifest: str, region: str
) -> DiffResult:
    # Addons' nested templates are part of their parent stack, never stacks of their own.
    (old, old_nested), (new, new_nested) = split(old_templates), split(new_templates)
    propagation = propagate(old, new, region, changed_outputs(old_nested, new_nested, region))
    add_nested_changes(propagation, old_nested, new_nested, region)
    stacks = stack_diffs(old, new, propagation)
    for diff in stacks:
        if diff.status == ADDED:
            diff.changes += added_with_stack(new_nested, diff.name)
    removed = {stack: qualified_resources(old_nested, stack) for stack in old_nested}
    deploy = DeployView(old, new, old_manifest, propagation.changed_exports, removed)
    views = _stack_views(old, new, propagation, (old_nested, new_nested))

    hazards: list[Hazard] = list(deploy_hazards(deploy))
    hazards += rule_hazards(old, new, propagation.stack_changes)
    notes: list[Note] = list(removed_stack_notes(deploy))
    found: list[Deployment] = []
    for view in views.values():
        hazards += stateful_hazards(view)
        found += deployments(view.stack, view.changes, view.new_resources)
        hazards += service_hazards(view)
        notes += service_notes(view)
    for diff in stacks:
        notes += stack_notes(diff, views.get(diff.name))
    return DiffResult(old_manifest, new_manifest, stacks, found, hazards, notes)


def diff_manifests(old: LoadedManifest, new: LoadedManifest) -> DiffResult:
    """Raises SynthError."""
    result = diff_templates(
        synthesize(old),
        synthesize(new),
        old_manifest=old.filename,
        new_manifest=new.filename,
        region=new.manifest.region,
    )
    # What the templates cannot tell: which architectures the released images hold.
    hazards, notes = architecture_findings(old.manifest, new.manifest)
    result.hazards += hazards
    result.notes += notes
    return result
