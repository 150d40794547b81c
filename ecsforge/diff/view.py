"""What the hazard and note rules look at: one common stack (its changes, both resource sets), or the deploy."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .changes import all_exports
from .model import ADDED, UPDATED, ResourceChange, Templates
from .services import is_traffic_shifting, scaled_services
from .templates import imports, resources

STATEFUL_TYPES = frozenset(
    {
        "AWS::ECR::Repository",
        "AWS::Logs::LogGroup",
        "AWS::SecretsManager::Secret",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::CodeCommit::Repository",
        "AWS::EFS::FileSystem",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        # What addon templates (manifest v1.2) and teams' own constructs commonly hold.
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::RDS::DBCluster",
    }
)


def is_released_tag(text: str) -> bool:
    return "releasedtag" in re.sub(r"[^a-z]", "", text.lower())


def is_stateful(logical_id: str, kind: str) -> bool:
    """What holds data or keys to data: replacing or deleting one loses it."""
    if kind in STATEFUL_TYPES:
        return True
    # ecsforge's other SSM parameters (listener, service name) are derived from other
    # resources and rewritten at every deploy; only a released tag holds state.
    return (kind.startswith("Custom::") or kind == "AWS::SSM::Parameter") and is_released_tag(f"{logical_id}{kind}")


@dataclass
class StackView:
    stack: str
    changes: list[ResourceChange]
    old_resources: dict[str, dict[str, Any]]  # with its addons' resources, as `<addon>/<logical id>`
    new_resources: dict[str, dict[str, Any]]
    removed_addons: frozenset[str] = frozenset()  # whose nested stack this deploy deletes

    @cached_property
    def added_types(self) -> dict[str, str]:
        """Type -> logical ID of a resource of that type that is added (the last one)."""
        return {c.type: c.logical_id for c in self.changes if c.action == ADDED}

    @cached_property
    def updated(self) -> dict[str, ResourceChange]:
        return {c.logical_id: c for c in self.changes if c.action == UPDATED}

    @cached_property
    def scaled(self) -> set[str]:
        return scaled_services(self.new_resources) | scaled_services(self.old_resources)

    @cached_property
    def shifting(self) -> list[str]:
        # The deployed (OLD) strategy decides: only a service that has shifted traffic owns its rule.
        return sorted(
            logical_id
            for logical_id, resource in self.old_resources.items()
            if resource["Type"] == "AWS::ECS::Service" and is_traffic_shifting(resource)
        )

    def kept_services(self) -> list[str]:
        """Services in both templates, in NEW's order."""
        return [
            logical_id
            for logical_id, resource in self.new_resources.items()
            if resource["Type"] == "AWS::ECS::Service" and logical_id in self.old_resources
        ]

    def successor(self, change: ResourceChange) -> str:
        """The clause naming a resource of the change's type that is added in its place, if any."""
        successor = self.added_types.get(change.type)
        return f"; {successor} of the same type is created instead" if successor else ""

    def desired_count(self, logical_id: str, old: bool = False) -> Any:
        resources = self.old_resources if old else self.new_resources
        return resources[logical_id].get("Properties", {}).get("DesiredCount")


@dataclass
class DeployView:
    """The whole deploy as the cross-stack rules see it."""

    old: Templates
    new: Templates
    old_manifest: str
    changed_exports: set[str]
    # The resources of the OLD stacks' addons (nested stacks), as `<addon>/<logical id>`, by stack.
    old_nested: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def old_resources(self, stack: str) -> dict[str, dict[str, Any]]:
        return {**resources(self.old[stack]), **self.old_nested.get(stack, {})}

    @cached_property
    def removed_stacks(self) -> list[str]:
        return sorted(set(self.old) - set(self.new))

    @cached_property
    def old_exports(self) -> dict[str, tuple[str, Any]]:
        return all_exports(self.old)

    @cached_property
    def new_exports(self) -> dict[str, tuple[str, Any]]:
        return all_exports(self.new)

    @cached_property
    def importers(self) -> dict[str, set[str]]:
        return {stack: imports(self.old[stack]) for stack in self.old}

    def users(self, export: str) -> list[str]:
        """The OLD stacks that import an export."""
        return sorted(stack for stack, names in self.importers.items() if export in names)

    @cached_property
    def destroy_first(self) -> set[str]:
        """Removed stacks that import an export this deploy changes or removes."""
        return {u for name in self.changed_exports for u in self.users(name) if u in self.removed_stacks}
