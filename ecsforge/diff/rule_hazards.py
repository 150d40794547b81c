"""Hazards of security group rules across stacks (rules.py reads them).

EC2 keeps one rule per (group, peer, protocol, ports). A rule declared in two places is one rule:
creating the second copy is a duplicate (refused, or taken over), and deleting either copy deletes
it for both (aws-cdk#4437). `cdk deploy --all` deploys a stack before the stacks that depend on
it, and a removed stack goes only at `cdk destroy`, after the deploy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .model import ADDED, REMOVED, REPLACED, Hazard, ResourceChange, Templates
from .rules import Rule, declared_rules
from .templates import exports, imports, resources, ssm_parameter_name, ssm_writes

KIND = "security-group-rule"
TASK_DEFINITION = "AWS::ECS::TaskDefinition"
Declaration = tuple[str, str]  # (stack, logical ID of the rule or of the group declaring it inline)


def describe(key: tuple[Any, ...]) -> str:
    direction, group, peer, protocol, low, high = key
    ports = "all ports" if protocol == "-1" else (f"port {low}" if low == high else f"ports {low}-{high}")
    protocol = "all protocols" if protocol == "-1" else protocol
    where = "into" if direction == "in" else "out of"
    return f"{protocol} {ports} {where} {_group(group)} {'from' if direction == 'in' else 'to'} {_group(peer)}"


def _group(key: tuple[str, ...]) -> str:
    return f"{key[1]}/{key[2]}" if key[0] == "group" else key[-1]


def _declaration(rule: Rule) -> Declaration:
    return rule.stack, rule.logical_id.split("[")[0]


def _by_key(rules: Iterator[Rule]) -> dict[tuple[Any, ...], set[Declaration]]:
    found: dict[tuple[Any, ...], set[Declaration]] = {}
    for rule in rules:
        found.setdefault(rule.key, set()).add(_declaration(rule))
    return found


@dataclass
class RuleView:
    old: Templates
    new: Templates
    changes: dict[str, list[ResourceChange]]  # the stacks in both

    @cached_property
    def old_rules(self) -> dict[tuple[Any, ...], set[Declaration]]:
        return _by_key(declared_rules(self.old))

    @cached_property
    def new_rules(self) -> dict[tuple[Any, ...], set[Declaration]]:
        return _by_key(declared_rules(self.new))

    def _acted(self, declaration: Declaration, actions: tuple[str, ...]) -> bool:
        stack, logical_id = declaration
        return any(c.logical_id == logical_id and c.action in actions for c in self.changes.get(stack, []))

    def deleted(self, key: tuple[Any, ...], declaration: Declaration) -> bool:
        """An OLD declaration that this deploy (or the destroy of its stack) deletes."""
        if declaration[0] not in self.new:
            return True
        return self._acted(declaration, (REMOVED, REPLACED)) or declaration not in self.new_rules.get(key, set())

    def created(self, key: tuple[Any, ...], declaration: Declaration) -> bool:
        if declaration[0] not in self.old:
            return True
        return self._acted(declaration, (ADDED, REPLACED)) or declaration not in self.old_rules.get(key, set())

    @cached_property
    def dependents(self) -> dict[str, list[str]]:
        """OLD stack -> the other OLD stacks that run tasks (a task definition) and import its exports
        or read its SSM parameters."""
        exported = {stack: set(exports(t)) for stack, t in self.old.items()}
        written = {stack: set(ssm_writes(t)) for stack, t in self.old.items()}
        result: dict[str, list[str]] = {}
        for stack, template in self.old.items():
            if not any(r["Type"] == TASK_DEFINITION for r in resources(template).values()):
                continue
            read = imports(template)
            parameters = {ssm_parameter_name(p) for p in template.get("Parameters", {}).values()}
            for other in self.old:
                if other != stack and (read & exported[other] or parameters & written[other]):
                    result.setdefault(other, []).append(stack)
        return result


def _names(declarations: set[Declaration] | list[Declaration]) -> str:
    return ", ".join(f"{stack}/{logical_id}" for stack, logical_id in sorted(declarations))


def _some(stacks: list[str], shown: int = 3) -> str:
    rest = len(stacks) - shown
    return ", ".join(stacks[:shown]) + (f" and {rest} more" if rest > 0 else "")


def declared_twice(view: RuleView, key: tuple[Any, ...]) -> Hazard | None:
    """NEW declares one rule in two stacks: deleting either stack's copy, later, deletes it for both."""
    declarations = view.new_rules[key]
    if len({stack for stack, _ in declarations}) < 2:
        return None
    return Hazard(
        sorted(declarations)[0][0],
        KIND,
        f"{describe(key)} is declared by {_names(declarations)}: EC2 keeps one rule, and deleting any of "
        "them (a destroy, a removed or changed resource) deletes it for all",
        "declare the rule in one stack only (the stack that owns the group)",
    )


def created_beside_a_copy(view: RuleView, key: tuple[Any, ...]) -> Hazard | None:
    """A copy of a rule is created while another one exists (a rule that moves between stacks)."""
    old = view.old_rules.get(key, set())
    created = sorted(d for d in view.new_rules[key] if view.created(key, d))
    if not created or not old:
        return None
    lost = sorted(d for d in old if view.deleted(key, d))
    then = f", and deleting {_names(lost)} then deletes it" if lost else ""
    return Hazard(
        created[0][0],
        KIND,
        f"{describe(key)} is created by {_names(created)} while {_names(old)} declares it: EC2 keeps one rule, so "
        f"it refuses the copy as a duplicate (or CloudFormation takes over the existing rule){then}",
        "deploy in two steps: first the stacks that stop declaring it (`cdk deploy STACK -e`; the traffic it "
        "admits stops meanwhile), then the rest; or leave the rule where it is",
    )


def deleted_with_a_copy(view: RuleView, key: tuple[Any, ...]) -> Hazard | None:
    """A copy of a rule is deleted (its resource removed, or its stack destroyed) while another
    copy stays declared: the one rule goes, although NEW declares it."""
    old = view.old_rules.get(key, set())
    lost = sorted(d for d in old if view.deleted(key, d))
    kept = sorted(d for d in view.new_rules[key] if not view.created(key, d))
    if not lost or not kept:
        return None
    return Hazard(
        kept[0][0],
        KIND,
        f"{describe(key)} is deleted with {_names(lost)} while {_names(kept)} still declares it: EC2 keeps one "
        f"rule for all, so it is gone for {', '.join(sorted({stack for stack, _ in kept}))}",
        "declare the rule in one stack only (the one that owns the group) before removing the other; "
        "as it is, add the rule back by hand after the deploy and the destroys",
    )


def removed_before_users(view: RuleView, key: tuple[Any, ...], declaration: Declaration) -> Hazard | None:
    """A rule between two security groups deleted from a stack that other stacks build on: it
    deploys first, so what still runs in them behind that rule loses it until they are deployed
    or destroyed."""
    stack, logical_id = declaration
    _, group, peer, *_ = key
    users = view.dependents.get(stack, [])
    if key in view.new_rules or peer[0] != "group" or peer == group or not users or stack not in view.new:
        return None
    return Hazard(
        stack,
        KIND,
        f"{logical_id} ({describe(key)}) is deleted when {stack} deploys, before {_some(users)}: a workload "
        "of theirs that still needs it (one being removed, or moving to another group or network mode) is cut "
        "off until its stack is deployed or destroyed",
        "destroy the removed workloads' stacks first; for one that moves, expect the gap, or move it in two steps",
    )


def rule_hazards(old: Templates, new: Templates, changes: dict[str, list[ResourceChange]]) -> list[Hazard]:
    view = RuleView(old, new, changes)
    hazards: list[Hazard] = []
    for key in sorted(view.new_rules, key=repr):
        for rule in (declared_twice, created_beside_a_copy, deleted_with_a_copy):
            hazard = rule(view, key)
            if hazard is not None:
                hazards.append(hazard)
    for key, declarations in sorted(view.old_rules.items(), key=repr):
        for declaration in sorted(declarations):
            hazard = removed_before_users(view, key, declaration)
            if hazard is not None:
                hazards.append(hazard)
    return hazards
