"""What a diff finds: resource changes per stack, ECS deployments, hazards and notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Templates = dict[str, dict[str, Any]]

ADDED, REMOVED, UPDATED, REPLACED = "added", "removed", "updated", "replaced"
CHANGED, UNCHANGED = "changed", "unchanged"
TAGS_ONLY = frozenset({"Tags"})


@dataclass(frozen=True)
class ResourceChange:
    logical_id: str
    type: str
    action: str  # added | removed | updated | replaced
    properties: tuple[str, ...] = ()  # changed top-level properties (updated, replaced)
    replaced_by: tuple[str, ...] = ()  # the create-only properties that force the replacement

    @property
    def tags_only(self) -> bool:
        return self.action == UPDATED and bool(self.properties) and set(self.properties) <= TAGS_ONLY


@dataclass(frozen=True)
class Deployment:
    stack: str
    service: str  # logical ID of the AWS::ECS::Service
    strategy: str  # rolling | blue_green | canary | linear | code_deploy | external
    minutes: int | None  # None when the template's values are not literal numbers
    reasons: tuple[str, ...]

    def line(self) -> str:
        duration = f"~{self.minutes} min" if self.minutes is not None else "unknown duration"
        return f"DEPLOY {self.stack}: {self.service} {self.strategy} {duration} ({', '.join(self.reasons)})"


@dataclass(frozen=True)
class Hazard:
    stack: str
    # export | stateful | stack-removed | desired-count | listener-rule | load-balancer | https |
    # target-group | dns | endpoint | waf | architecture | security-group-rule
    kind: str
    what: str
    action: str

    def line(self) -> str:
        return f"HAZARD {self.stack}: {self.what}; {self.action}"


@dataclass(frozen=True)
class Note:
    stack: str
    text: str

    def line(self) -> str:
        return f"NOTE {self.stack}: {self.text}"


@dataclass
class StackDiff:
    name: str
    status: str  # added | removed | changed | unchanged
    changes: list[ResourceChange] = field(default_factory=list)
    outputs: tuple[str, ...] = ()  # outputs added, removed or changed

    def by_action(self, action: str) -> list[ResourceChange]:
        return [c for c in self.changes if c.action == action]

    @property
    def tags_only(self) -> bool:
        return self.status == CHANGED and bool(self.changes) and all(c.tags_only for c in self.changes)


@dataclass
class DiffResult:
    old: str
    new: str
    stacks: list[StackDiff]
    deployments: list[Deployment]
    hazards: list[Hazard]
    notes: list[Note]

    def stack(self, name: str) -> StackDiff:
        return next(s for s in self.stacks if s.name == name)

    def changes(self, action: str | None = None) -> list[tuple[str, ResourceChange]]:
        return [(s.name, c) for s in self.stacks for c in s.changes if action is None or c.action == action]

    @property
    def exit_code(self) -> int:
        return 3 if self.hazards else 0

    def summary(self) -> str:
        count = {status: sum(1 for s in self.stacks if s.status == status) for status in (ADDED, REMOVED, CHANGED)}
        unchanged = sum(1 for s in self.stacks if s.status == UNCHANGED)
        resources = {action: len(self.changes(action)) for action in (ADDED, REMOVED, UPDATED, REPLACED)}
        minutes = [d.minutes for d in self.deployments if d.minutes is not None]
        longest = f" (longest ~{max(minutes)} min)" if minutes else ""
        return (
            f"SUMMARY stacks: {count[ADDED]} added, {count[REMOVED]} removed, {count[CHANGED]} changed, "
            f"{unchanged} unchanged; resources: {resources[ADDED]} added, {resources[REMOVED]} removed, "
            f"{resources[UPDATED]} updated, {resources[REPLACED]} replaced; "
            f"ECS deployments: {len(self.deployments)}{longest}; hazards: {len(self.hazards)}"
        )
