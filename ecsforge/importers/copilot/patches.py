"""A workload's `taskdef_overrides` and `overrides/cfn.patches.yml` -> ecsforge `overrides`
(and `permissions`, `log_retention_days`) where the change has an equivalent in ecsforge's
template; every other rule or operation is reported at its line.

Mapped: task definition properties and the main container's (`ContainerDefinitions[0]`, index 0
in Copilot's template), a list ecsforge never writes (Ulimits, SystemControls, ...), a task
volume (and the sidecar mounts of it that only the patch makes possible), statements added to the
execution role (onto ecsforge's execution role policy) or the task role (as `permissions`), and
the log group's retention (as `log_retention_days`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ...manifest.loader import decode
from . import convert
from .addons import TaggedLoader
from .containers import log_retention
from .context import Env
from .node import Doc, Node, dotted
from .notes import APPROXIMATE, NOT_IMPORTED, Note
from .reading import Workspace, label
from .taskdef import Target, Token, foreign_references, task_definition_change

_SEGMENT = re.compile(r"^([A-Za-z0-9_]+)(?:\[(\d+|-)\])?$")
_ROLE = re.compile(
    r"^/Resources/(TaskRole|ExecutionRole)/Properties/Policies/(\d+|-)(/PolicyDocument/Statement/(\d+|-))?$"
)
_TASK_DEFINITION = "/Resources/TaskDefinition/Properties/"
_RETENTION = "/Resources/LogGroup/Properties/RetentionInDays"
_OTHER = (
    "this part of Copilot's template has no equivalent the importer maps (it maps task definition and main "
    "container properties, task volumes, role statements and log retention); write it as `overrides` on "
    "ecsforge's template (`cdk synth` shows its logical ids)"
)


def target(env: Env, name: str) -> Target | None:
    for section, kind in (("services", "service"), ("scheduled_tasks", "task")):
        workload = env.doc.get(section, {}).get(name)
        if isinstance(workload, dict):
            return Target(f"{kind}-{name}", workload)
    return None


def workload_overrides(ws: Workspace, folder: str, doc: Doc, env: Env, name: str) -> None:
    """taskdef_overrides (in the manifest as deployed to env), then cfn.patches.yml, in
    Copilot's order; the result is the unit's `overrides`."""
    node = Node(doc, (), doc.data)
    found = target(env, name)
    if found is None:
        return
    rules = node.child("taskdef_overrides")
    if rules is not None:
        _taskdef_overrides(rules, env, found, name)
    patches = ws.root / folder / "overrides" / "cfn.patches.yml"
    if patches.is_file():
        _patches(ws, patches, doc, env, found, name)
    if found.ops:
        env.section("overrides")[found.unit] = found.ops


def _taskdef_overrides(rules: Node, env: Env, found: Target, main: str) -> None:
    if not isinstance(rules.value, list):
        rules.skip(None, "expected a list of {path, value}")
        return
    for rule in rules.elements():
        path = rule.value.get("path") if isinstance(rule.value, dict) else None
        tokens = _copilot_path(path) if isinstance(path, str) else None
        if tokens is None or "value" not in rule.value:
            rule.skip(None, "expected {path: A.B[0].C, value: ...}")
            continue
        why = task_definition_change(found, main, tokens, _interpolated(rule.value["value"], env, main))
        if why is None:
            rule.use()
        else:
            rule.skip(None, f"{path}: {why}")


def _interpolated(value: Any, env: Env, workload: str) -> Any:
    """Copilot's variables in a rule's value, as in every other field of the manifest."""
    if isinstance(value, str):
        return env.interpolate(value, workload)
    if isinstance(value, list):
        return [_interpolated(item, env, workload) for item in value]
    if isinstance(value, dict):
        return {key: _interpolated(item, env, workload) for key, item in value.items()}
    return value


def _copilot_path(path: str) -> list[Token] | None:
    tokens: list[Token] = []
    for part in path.split("."):
        match = _SEGMENT.match(part)
        if match is None:
            return None
        tokens.append(match.group(1))
        if match.group(2) is not None:
            tokens.append(match.group(2) if match.group(2) == "-" else int(match.group(2)))
    return tokens


def _pointer(path: str) -> list[Token]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")]
    return [int(p) if p.isdigit() else p for p in parts]


def _patches(ws: Workspace, path: Path, doc: Doc, env: Env, found: Target, main: str) -> None:
    where = label(ws.root, path)
    operations = _read_operations(path)
    if path in ws.others:
        ws.others.remove(path)
        ws.read.append(path)
    if not operations:
        env.report.add(Note(where, 1, 1, "overrides", NOT_IMPORTED, "no operation could be read; fix the file"))
    for index, (operation, line, column) in enumerate(operations):
        fields = operation if isinstance(operation, dict) else {}
        op, pointer = str(fields.get("op", "?")), str(fields.get("path", "?"))
        shown = f"[{index}] {op} {pointer}"
        why = _operation(op, pointer, fields.get("value"), doc, env, found, main)
        if why is None:
            env.report.mapped.add((where, shown))
        else:
            env.report.add(Note(where, line, column, shown, NOT_IMPORTED, why))


def _read_operations(path: Path) -> list[tuple[Any, int, int]]:
    """Each operation with its line: values may use CloudFormation's short forms (`!Sub`)."""
    try:
        root = yaml.compose(decode(path.read_bytes())[0] or "", Loader=TaggedLoader)
    except yaml.YAMLError:
        return []
    loader = TaggedLoader("")
    items = root.value if isinstance(root, yaml.SequenceNode) else []
    return [(loader.construct_object(i, deep=True), i.start_mark.line + 1, i.start_mark.column + 1) for i in items]


def _operation(op: str, pointer: str, value: Any, doc: Doc, env: Env, found: Target, main: str) -> str | None:
    foreign = sorted(set(foreign_references(value)))
    if foreign:
        return f"the value refers to {', '.join(foreign)} of Copilot's template; write it as `overrides` by hand"
    value = literal(value)
    if pointer == _RETENTION and op in ("add", "replace"):
        return _retention(value, found)
    role = _ROLE.match(pointer)
    if role is not None and op == "add":
        return _statements(role.group(1), role.group(3), value, found)
    if pointer.startswith(_TASK_DEFINITION) and op == "add":
        tokens = _pointer(pointer.removeprefix(_TASK_DEFINITION))
        why = task_definition_change(found, main, tokens, value)
        if why is None and tokens == ["Volumes", "-"] and isinstance(value, dict):
            _mount_patched_volume(doc, env, found, str(value.get("Name")))
        return why
    if pointer.startswith(_TASK_DEFINITION):
        return f"`{op}` depends on what Copilot's template holds there; write it as `overrides` on ecsforge's"
    return _OTHER


def literal(value: Any) -> Any:
    """CloudFormation's `${X}` (Fn::Sub, policy variables) kept literal: a manifest reads `${X}`
    from the environment, `$${X}` as `${X}`."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, list):
        return [literal(item) for item in value]
    if isinstance(value, dict):
        return {key: literal(item) for key, item in value.items()}
    return value


def _retention(value: Any, found: Target) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return "expected a number of days"
    for container in found.containers.values():
        container["log_retention_days"] = log_retention(value)
    return None


def _statements(role: str, one: str | None, value: Any, found: Target) -> str | None:
    """One statement (…/Statement/-) or a whole inline policy (Policies/-) added to a role."""
    statements: Any = [value]
    if one is None:
        document = value.get("PolicyDocument") if isinstance(value, dict) else None
        statements = document.get("Statement") if isinstance(document, dict) else None
        if not isinstance(statements, list):
            return "expected a policy with PolicyDocument.Statement"
    if role == "ExecutionRole":
        for statement in statements:
            found.ops.append({"op": "add", "path": f"{found.execution_policy}/-", "value": statement})
        return None
    permissions = [_permission(statement) for statement in statements]
    if any(p is None for p in permissions):
        return "a statement with NotAction, NotResource, Principal or intrinsics; add it to `permissions` by hand"
    found.workload.setdefault("permissions", []).extend(permissions)
    return None


def _permission(statement: Any) -> dict[str, Any] | None:
    if not isinstance(statement, dict) or set(statement) - {"Sid", "Effect", "Action", "Resource", "Condition"}:
        return None
    actions, resources = statement.get("Action"), statement.get("Resource")
    actions = [actions] if isinstance(actions, str) else actions
    resources = [resources] if isinstance(resources, str) else resources
    texts = [*(actions or []), *(resources or [])]
    if not actions or not resources or not all(isinstance(t, str) for t in texts):
        return None
    permission: dict[str, Any] = {"actions": actions, "resources": resources}
    if statement.get("Effect", "Allow") != "Allow":
        permission["effect"] = statement["Effect"]
    if isinstance(statement.get("Condition"), dict):
        permission["conditions"] = statement["Condition"]
    return permission


def _mount_patched_volume(doc: Doc, env: Env, found: Target, volume: str) -> None:
    """A sidecar mount of a volume only the patch declares was dropped by the task mapping; with
    the volume now in ecsforge's template, the mount goes there too."""
    sidecars = doc.data.get("sidecars") if isinstance(doc.data, dict) else None
    for raw_name, sidecar in sidecars.items() if isinstance(sidecars, dict) else ():
        points = sidecar.get("mount_points") if isinstance(sidecar, dict) else None
        name = convert.name(str(raw_name))
        for index, point in enumerate(points if isinstance(points, list) else []):
            if not isinstance(point, dict) or point.get("source_volume") != volume or name not in found.containers:
                continue
            read_only = point.get("read_only", True) is not False
            mount = {"SourceVolume": volume, "ContainerPath": str(point.get("path")), "ReadOnly": read_only}
            container = found.containers[name]
            found.append(f"{found.container_path(name)}/MountPoints", mount, absent=not container.get("mounts"))
            at = ("sidecars", raw_name, "mount_points", index)
            why = f"mounted through `overrides` ({found.unit}): its volume exists only through cfn.patches.yml"
            _replace_note(doc, at, why)


def _replace_note(doc: Doc, at: tuple[Any, ...], text: str) -> None:
    written = doc.written(at)
    field = dotted(written)
    dropped = {n for n in doc.report.notes if (n.file, n.field, n.kind) == (doc.file, field, NOT_IMPORTED)}
    doc.report.notes.difference_update(dropped)
    doc.note(at, APPROXIMATE, text)
