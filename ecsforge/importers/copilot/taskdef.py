"""Where a Copilot change to a workload's task definition lands in ecsforge's template: the
logical ids of the stack `service-<name>` / `task-<name>` and the index of each container.

The ids are computed as aws-cdk computes them (the construct path's MD5), without importing
aws-cdk: ecsforge never renames a construct, so they hold across versions (README, "Logical IDs
are a contract"); tests/test_copilot_import.py synthesizes the result to keep the two together.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from ...manifest.runtime import LOG_ROUTER

# Container properties ecsforge never writes: a list Copilot appends to (`Ulimits[-]`) is created.
ABSENT_CONTAINER_LISTS = ("Ulimits", "SystemControls", "DockerSecurityOptions", "DnsServers", "DnsSearchDomains")
# Task definition properties a raw change must leave to ecsforge (or to a manifest field).
MANAGED = {
    "Family": "ecsforge names the family after the stack",
    "NetworkMode": "ecsforge chooses the network mode from the capacity",
    "RequiresCompatibilities": "ecsforge sets it from the capacity",
    "TaskRoleArn": "ecsforge creates the task role; use `permissions` or `managed_policies`",
    "ExecutionRoleArn": "ecsforge creates the execution role",
    "Cpu": "use the workload's `cpu`",
    "Memory": "use the workload's `memory`",
    "ContainerDefinitions": "ecsforge writes the containers from `containers`",
}


def logical_id(*path: str) -> str:
    """aws-cdk's makeUniqueId: the path without `Default`, its MD5 (8 hex digits) after the
    path's names without `Resource` and without a name the one before ends with."""
    parts = [p for p in path if p != "Default"]
    digest = hashlib.md5("/".join(parts).encode(), usedforsecurity=False).hexdigest()[:8].upper()
    human: list[str] = []
    for part in parts:
        if not human or not human[-1].endswith(part):  # aws-cdk's removeDupes: `ScheduledTask/Task` -> once
            human.append(part)
    return "".join(re.sub(r"[^A-Za-z0-9]", "", p) for p in human if p != "Resource") + digest


@dataclass
class Target:
    """One imported workload: its unit, its containers as written, and the operations so far."""

    unit: str  # service-<name> or task-<name>
    workload: dict[str, Any]  # the ecsforge service or scheduled task
    ops: list[dict[str, Any]] = field(default_factory=list)
    created: set[str] = field(default_factory=set)  # lists the operations so far created
    tested: set[int] = field(default_factory=set)  # containers whose name an operation tests

    @property
    def root(self) -> str:
        return "Service" if self.unit.startswith("service-") else "ScheduledTask"

    @property
    def task_definition(self) -> str:
        return f"/Resources/{logical_id(self.root, 'Task', 'TaskDefinition', 'Resource')}/Properties"

    @property
    def execution_policy(self) -> str:
        # A scheduled task that follows releases gets ecsforge's own roles, one level up.
        released = self.root == "ScheduledTask" and any(
            isinstance(c.get("image"), dict) and "tag" not in c["image"] for c in self.containers.values()
        )
        owner = ("Task",) if released else ("Task", "TaskDefinition")
        policy = logical_id(self.root, *owner, "ExecutionRole", "DefaultPolicy", "Resource")
        return f"/Resources/{policy}/Properties/PolicyDocument/Statement"

    @property
    def containers(self) -> dict[str, dict[str, Any]]:
        found = self.workload.get("containers")
        return found if isinstance(found, dict) else {}

    def index(self, container: str) -> int:
        """The container's place in ContainerDefinitions: the order of `containers`, with the log
        router just before the first container that logs through FireLens."""
        order: list[str] = []
        for name, spec in self.containers.items():
            logging = spec.get("logging")
            if isinstance(logging, dict) and "firelens" in logging and LOG_ROUTER not in order:
                order.append(LOG_ROUTER)
            order.append(name)
        return order.index(container)

    def container_path(self, container: str) -> str:
        index = self.index(container)
        path = f"{self.task_definition}/ContainerDefinitions/{index}"
        if index not in self.tested:
            # Stops synthesis, rather than patching another container, if the order ever differs.
            self.ops.append({"op": "test", "path": f"{path}/Name", "value": container})
            self.tested.add(index)
        return path

    def append(self, path: str, value: Any, absent: bool) -> None:
        """Copilot's `X[-]`: an item at the end of X, X created when ecsforge writes none."""
        if absent and path not in self.created:
            self.ops.append({"op": "add", "path": path, "value": [value]})
            self.created.add(path)
        else:
            self.ops.append({"op": "add", "path": f"{path}/-", "value": value})

    @property
    def has_volumes(self) -> bool:
        return any(spec.get("mounts") for spec in self.containers.values())


Token = str | int


def task_definition_change(target: Target, main: str, tokens: list[Token], value: Any) -> str | None:
    """Set (or append to) what `tokens` names under the task definition's Properties, the way
    Copilot does; the reason when ecsforge's template cannot take it with certainty."""
    if not tokens or not isinstance(tokens[0], str):
        return "expected a property of the task definition"
    head = tokens[0]
    if head == "ContainerDefinitions" and len(tokens) >= 3 and isinstance(tokens[1], int):
        if tokens[1] != 0:
            return (
                f"container {tokens[1]} of Copilot's task definition is a sidecar or log router, whose place in "
                "ecsforge's differs; write it as `overrides` on the container ecsforge's template shows"
            )
        return _container_change(target, main, tokens[2:], value)
    if head == "Volumes" and tokens[1:] == ["-"]:
        target.append(f"{target.task_definition}/Volumes", value, absent=not target.has_volumes)
        return None
    if head in MANAGED or head == "Volumes":
        return MANAGED.get(head, "ecsforge writes the volumes from `volumes` and `mounts`")
    if len(tokens) == 1:
        target.ops.append({"op": "add", "path": f"{target.task_definition}/{head}", "value": value})
        return None
    return "a nested property of the task definition, which ecsforge's template may not have"


def _container_change(target: Target, main: str, rest: list[Token], value: Any) -> str | None:
    path = target.container_path(main)
    if len(rest) == 1 and isinstance(rest[0], str) and rest[0] != "-":
        target.ops.append({"op": "add", "path": f"{path}/{rest[0]}", "value": value})
        return None
    if len(rest) == 2 and rest[1] == "-" and rest[0] in ABSENT_CONTAINER_LISTS:
        target.append(f"{path}/{rest[0]}", value, absent=True)
        return None
    if rest == ["MountPoints", "-"]:  # written by ecsforge exactly when the container has `mounts`
        target.append(f"{path}/MountPoints", value, absent=not target.containers[main].get("mounts"))
        return None
    return "a nested or list property of the container, which ecsforge's template may hold differently"


def foreign_references(value: Any) -> list[str]:
    """What a value refers to in Copilot's template (not AWS:: pseudo parameters)."""
    if isinstance(value, list):
        return [name for item in value for name in foreign_references(item)]
    if not isinstance(value, dict):
        return []
    found: list[str] = []
    for key, item in value.items():
        if key == "Ref" and isinstance(item, str) and not item.startswith("AWS::"):
            found.append(item)
        elif key in ("Fn::GetAtt", "Fn::ImportValue"):
            found.append(str(item[0] if isinstance(item, list) and item else item))
        elif key == "Fn::Sub":
            text = item[0] if isinstance(item, list) and item else item
            names = re.findall(r"\$\{([^}!]+)\}", text) if isinstance(text, str) else []
            found.extend(n for n in names if not n.startswith("AWS::"))
            found.extend(foreign_references(item[1:] if isinstance(item, list) else []))
        else:
            found.extend(foreign_references(item))
    return found
