"""The text `ecsforge diff` prints."""

from __future__ import annotations

from .model import ADDED, REMOVED, REPLACED, UPDATED, DiffResult, ResourceChange, StackDiff, Templates
from .nested import SEPARATOR, addon_of

_SIGNS = {ADDED: "+", REMOVED: "-", UPDATED: "~", REPLACED: "!"}


def _change_line(change: ResourceChange, indent: str = "  ") -> str:
    detail = ""
    if change.action == UPDATED:
        detail = f" ({', '.join(change.properties)})" + (" tags only" if change.tags_only else "")
    elif change.action == REPLACED:
        detail = f" (replaced by {', '.join(change.replaced_by)}; changed {', '.join(change.properties)})"
    logical_id = change.logical_id.split(SEPARATOR, 1)[-1]
    return f"{indent}{_SIGNS[change.action]} {change.action} {logical_id} {change.type}{detail}"


def _stack_lines(stack: StackDiff) -> list[str]:
    lines = [f"STACK {stack.name} {stack.status}"]
    if stack.status == ADDED:
        return lines
    lines += [_change_line(change) for change in stack.changes if addon_of(change.logical_id) is None]
    # Each addon's nested resources under its name, after the stack's own.
    addons: dict[str, list[ResourceChange]] = {}
    for change in stack.changes:
        addon = addon_of(change.logical_id)
        if addon is not None:
            addons.setdefault(addon, []).append(change)
    for addon, changes in addons.items():
        lines.append(f"  addon {addon} (nested stack)")
        lines += [_change_line(change, "    ") for change in changes]
    if stack.outputs:
        lines.append(f"  ~ outputs {', '.join(stack.outputs)}")
    return lines


def render(result: DiffResult, old: Templates | None = None) -> str:
    lines = [f"ecsforge diff {result.old} -> {result.new}"]
    for stack in result.stacks:
        lines += _stack_lines(stack)
    lines += [d.line() for d in result.deployments]
    lines += [n.line() for n in result.notes]
    lines += [h.line() for h in result.hazards]
    lines.append(result.summary())
    return "\n".join(lines)
