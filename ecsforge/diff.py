"""`python -m ecsforge diff OLD.yml NEW.yml`: what deploying NEW over OLD would do, offline.

Both manifests are synthesized in this process and their templates compared by structure:
resources added, removed, updated and replaced (from the CloudFormation resource schemas'
createOnlyProperties, which cfn-lint ships), the ECS deployments the change starts, and
every hazard. Nothing here calls AWS.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .manifest import LoadedManifest

ROOT = Path(__file__).resolve().parent.parent

# What holds data or keys to data: replacing or deleting one loses it.
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
    }
)
# Service properties whose change makes ECS start a deployment (new tasks replace old ones).
DEPLOYMENT_PROPERTIES = frozenset(
    {
        "TaskDefinition",
        "LoadBalancers",
        "NetworkConfiguration",
        "CapacityProviderStrategy",
        "LaunchType",
        "PlacementStrategies",
        "PlacementConstraints",
        "PlatformVersion",
        "ServiceRegistries",
        "ServiceConnectConfiguration",
        "VolumeConfigurations",
        "ForceNewDeployment",
        "EnableExecuteCommand",
    }
)
# The modelled duration of a deployment: a rolling one takes about this long...
ROLLING_MINUTES = 5
# ...and every deployment this much more: tasks starting, health checks, deregistration delay.
DEPLOYMENT_MARGIN_MINUTES = 10
TAGS_ONLY = frozenset({"Tags"})
IGNORED_TYPES = frozenset({"AWS::CDK::Metadata"})
README_RULE_PROCEDURE = 'README "ecsforge diff: listener rules of blue/green services"'
SCHEMA_FALLBACK_REGION = "us-east-1"

ADDED, REMOVED, UPDATED, REPLACED = "added", "removed", "updated", "replaced"
CHANGED, UNCHANGED = "changed", "unchanged"


# --- result ----------------------------------------------------------------------------------


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
    kind: str  # export | stateful | stack-removed | desired-count | listener-rule | load-balancer | https
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


# --- synthesis -------------------------------------------------------------------------------

Templates = dict[str, dict[str, Any]]


def cdk_context() -> dict[str, Any]:
    """The feature flags of cdk.json and the CLI's defaults, which `cdk synth` passes to the app."""
    context = dict(json.loads((ROOT / "cdk.json").read_text())["context"])
    context.pop("manifest", None)
    # What the CLI adds by default, so in-process templates equal `cdk synth`'s.
    context.update(
        {
            "aws:cdk:enable-path-metadata": True,
            "aws:cdk:enable-asset-metadata": True,
            "aws:cdk:version-reporting": True,
        }
    )
    return context


def synthesize(loaded: LoadedManifest) -> Templates:
    """The manifest's templates, synthesized in this process, with CDK's own output swallowed."""
    from aws_cdk import App

    from .platform import build

    with tempfile.TemporaryDirectory(prefix="ecsforge-diff-") as outdir:
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            try:
                app = App(outdir=outdir, context=cdk_context())
                build(app, loaded.manifest)
                app.synth()
            except Exception as error:
                raise SynthError(f"{loaded.filename}: synthesis failed: {error}\n{captured.getvalue()}") from None
        return {
            path.name.removesuffix(".template.json"): json.loads(path.read_text())
            for path in sorted(Path(outdir).glob("*.template.json"))
        }


class SynthError(Exception):
    pass


def diff_manifests(old: LoadedManifest, new: LoadedManifest) -> DiffResult:
    """Raises SynthError."""
    return diff_templates(
        synthesize(old),
        synthesize(new),
        old_manifest=old.filename,
        new_manifest=new.filename,
        region=new.manifest.region,
    )


# --- schemas ---------------------------------------------------------------------------------


def _schema_dir() -> Path:
    # cfn-lint's resource schemas, found without importing cfn-lint (slow, and untyped).
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise SynthError("cfn-lint is not installed: `ecsforge diff` reads its CloudFormation resource schemas")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


@lru_cache(maxsize=8)
def _providers(region: str) -> dict[str, str]:
    path = _schema_dir() / "providers" / f"{region.replace('_', '-')}.json"
    if not path.exists():
        path = _schema_dir() / "providers" / f"{SCHEMA_FALLBACK_REGION}.json"
    result: dict[str, str] = json.loads(path.read_text())
    return result


@lru_cache(maxsize=512)
def create_only_paths(region: str, kind: str) -> tuple[tuple[str, ...], ...]:
    """createOnlyProperties of a type as key paths below Properties ("*" for list items)."""
    digest = _providers(region).get(kind)
    if digest is None:
        return ()
    schema = json.loads((_schema_dir() / "resources" / f"{digest}.json").read_text())
    paths = []
    for pointer in schema.get("createOnlyProperties", []):
        parts = pointer.split("/")
        if parts[:2] == ["", "properties"] and len(parts) > 2:
            paths.append(tuple(parts[2:]))
    return tuple(paths)


_MISSING = object()


def _at(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """Every value at path ("*" iterates a list), _MISSING where a key is absent."""
    if not path:
        yield value
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(value, list):
            for item in value:
                yield from _at(item, rest)
        else:
            yield _MISSING
    elif isinstance(value, dict) and head in value:
        yield from _at(value[head], rest)
    else:
        yield _MISSING


# --- template comparison ---------------------------------------------------------------------


def _refs(value: Any) -> Iterator[tuple[str, str]]:
    """("ref", id), ("getatt", id), ("import", name), ("condition", name) found in a value."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, arg), *_ = value.items()
            if key == "Ref" and isinstance(arg, str):
                yield ("ref", arg)
            elif key == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) and arg else str(arg).split(".")[0]
                if isinstance(target, str):
                    yield ("ref", target)
            elif key == "Fn::ImportValue" and isinstance(arg, str):
                yield ("import", arg)
            elif key == "Fn::If" and isinstance(arg, list) and arg and isinstance(arg[0], str):
                yield ("condition", arg[0])
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) and arg else arg
                if isinstance(text, str):
                    for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                        yield ("ref", name.split(".")[0])
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


@dataclass
class _Dirty:
    """What resolves to something new in NEW although the template text is the same."""

    resources: set[str] = field(default_factory=set)  # replaced in this stack
    parameters: set[str] = field(default_factory=set)
    conditions: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)  # export names whose value changes

    def touches(self, value: Any) -> bool:
        for kind, name in _refs(value):
            if kind == "ref" and (name in self.resources or name in self.parameters):
                return True
            if kind == "import" and name in self.imports:
                return True
            if kind == "condition" and name in self.conditions:
                return True
        return False


def _differs(old: Any, new: Any, dirty: _Dirty) -> bool:
    return old != new or (new is not _MISSING and dirty.touches(new))


def _resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") not in IGNORED_TYPES}


def _ssm_parameter_name(parameter: dict[str, Any]) -> str | None:
    if str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value<"):
        default = parameter.get("Default")
        return default if isinstance(default, str) else None
    return None


def _compare_stack(
    old: dict[str, Any], new: dict[str, Any], region: str, changed_exports: set[str], changed_ssm: set[str]
) -> list[ResourceChange]:
    old_resources, new_resources = _resources(old), _resources(new)
    old_parameters, new_parameters = old.get("Parameters", {}), new.get("Parameters", {})
    dirty = _Dirty(imports=set(changed_exports))
    for name, parameter in new_parameters.items():
        if old_parameters.get(name) != parameter or _ssm_parameter_name(parameter) in changed_ssm:
            dirty.parameters.add(name)
    old_conditions, new_conditions = old.get("Conditions", {}), new.get("Conditions", {})
    # Conditions depend on parameters: a condition over a dirty parameter is dirty too.
    for name, condition in new_conditions.items():
        if old_conditions.get(name) != condition or dirty.touches(condition):
            dirty.conditions.add(name)
    common = [k for k in new_resources if k in old_resources and old_resources[k]["Type"] == new_resources[k]["Type"]]
    # Replacements change Refs to the replaced resource, which can replace more: to a fixpoint.
    while True:
        replaced = set()
        for logical_id in common:
            kind = new_resources[logical_id]["Type"]
            old_props = old_resources[logical_id].get("Properties", {})
            new_props = new_resources[logical_id].get("Properties", {})
            for path in create_only_paths(region, kind):
                olds, news = list(_at(old_props, path)), list(_at(new_props, path))
                if olds != news or any(dirty.touches(v) for v in news if v is not _MISSING):
                    replaced.add(logical_id)
                    break
        if replaced <= dirty.resources:
            break
        dirty.resources |= replaced
    changes = []
    for logical_id in sorted(set(old_resources) | set(new_resources)):
        before: dict[str, Any] | None = old_resources.get(logical_id)
        after: dict[str, Any] | None = new_resources.get(logical_id)
        if after is None:
            assert before is not None
            changes.append(ResourceChange(logical_id, before["Type"], REMOVED))
            continue
        if before is None:
            changes.append(ResourceChange(logical_id, after["Type"], ADDED))
            continue
        if before["Type"] != after["Type"]:
            changes.append(ResourceChange(logical_id, before["Type"], REMOVED))
            changes.append(ResourceChange(logical_id, after["Type"], ADDED))
            continue
        old_props, new_props = before.get("Properties", {}), after.get("Properties", {})
        names = sorted(
            name
            for name in set(old_props) | set(new_props)
            if _differs(old_props.get(name, _MISSING), new_props.get(name, _MISSING), dirty)
        )
        names += [
            attribute
            for attribute in ("Condition", "DeletionPolicy", "UpdateReplacePolicy", "UpdatePolicy")
            if _differs(before.get(attribute, _MISSING), after.get(attribute, _MISSING), dirty)
        ]
        if logical_id in dirty.resources:
            forced = sorted(
                "/".join(path)
                for path in create_only_paths(region, after["Type"])
                if list(_at(old_props, path)) != list(_at(new_props, path))
                or any(dirty.touches(v) for v in _at(new_props, path) if v is not _MISSING)
            )
            changes.append(ResourceChange(logical_id, after["Type"], REPLACED, tuple(names), tuple(forced)))
        elif names:
            changes.append(ResourceChange(logical_id, after["Type"], UPDATED, tuple(names)))
    return changes


def _exports(template: dict[str, Any]) -> dict[str, Any]:
    """Export name -> value expression (the names CDK writes are literal strings)."""
    result = {}
    for output in template.get("Outputs", {}).values():
        name = output.get("Export", {}).get("Name")
        if isinstance(name, str):
            result[name] = output.get("Value")
    return result


def _ssm_writes(template: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """SSM parameter name -> (logical ID, Value) for the parameters a stack creates."""
    result = {}
    for logical_id, resource in _resources(template).items():
        if resource["Type"] == "AWS::SSM::Parameter":
            properties = resource.get("Properties", {})
            if isinstance(properties.get("Name"), str):
                result[properties["Name"]] = (logical_id, properties.get("Value"))
    return result


def _imports(template: dict[str, Any]) -> set[str]:
    return {name for kind, name in _refs(template.get("Resources", {})) if kind == "import"} | {
        name for kind, name in _refs(template.get("Outputs", {})) if kind == "import"
    }


def _stack_dirty(stack: str, changes: dict[str, list[ResourceChange]], changed_exports: set[str]) -> _Dirty:
    replaced = {c.logical_id for c in changes.get(stack, []) if c.action == REPLACED}
    return _Dirty(resources=replaced, imports=set(changed_exports))


# --- ECS services ----------------------------------------------------------------------------


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def strategy_of(service: dict[str, Any]) -> str:
    properties = service.get("Properties", {})
    controller = properties.get("DeploymentController", {})
    kind = controller.get("Type") if isinstance(controller, dict) else None
    if kind in ("CODE_DEPLOY", "EXTERNAL"):
        return str(kind).lower()
    configuration = properties.get("DeploymentConfiguration", {})
    strategy = configuration.get("Strategy", "ROLLING") if isinstance(configuration, dict) else "ROLLING"
    return str(strategy).lower() if isinstance(strategy, str) else "rolling"


def is_traffic_shifting(service: dict[str, Any]) -> bool:
    """ECS-native blue/green, canary or linear: ECS rewrites the production listener rule."""
    balancers = service.get("Properties", {}).get("LoadBalancers", [])
    advanced = isinstance(balancers, list) and any(
        isinstance(b, dict) and "AdvancedConfiguration" in b for b in balancers
    )
    return advanced or strategy_of(service) in ("blue_green", "canary", "linear")


def deployment_minutes(service: dict[str, Any]) -> int | None:
    strategy = strategy_of(service)
    configuration = service.get("Properties", {}).get("DeploymentConfiguration", {})
    if strategy == "rolling":
        return ROLLING_MINUTES + DEPLOYMENT_MARGIN_MINUTES
    if strategy not in ("blue_green", "canary", "linear"):
        return None
    bake = _number(configuration.get("BakeTimeInMinutes", 0))
    if bake is None:
        return None
    if strategy == "blue_green":
        return bake + DEPLOYMENT_MARGIN_MINUTES
    if strategy == "canary":
        step = _number(configuration.get("CanaryConfiguration", {}).get("CanaryBakeTimeInMinutes", 0))
        return None if step is None else step + bake + DEPLOYMENT_MARGIN_MINUTES
    linear = configuration.get("LinearConfiguration", {})
    step, percent = _number(linear.get("StepBakeTimeInMinutes", 0)), _number(linear.get("StepPercent"))
    if step is None or not percent:
        return None
    return math.ceil(100 / percent) * step + bake + DEPLOYMENT_MARGIN_MINUTES


def _pinned_count(value: Any) -> int | None:
    """The running count a DesiredCount sets on every service update, None if it keeps the count.

    A number pins; so does an Fn::If with a non-zero number in a branch (0 is the count before
    the first release, when nothing runs); AWS::NoValue lets ECS keep the current count.
    """
    number = _number(value)
    if number is not None:
        return number
    if isinstance(value, dict) and isinstance(value.get("Fn::If"), list) and len(value["Fn::If"]) == 3:
        branches = [_pinned_count(branch) for branch in value["Fn::If"][1:]]
        nonzero = [b for b in branches if b]
        return max(nonzero) if nonzero else None
    return None


def _scaled_services(resources: dict[str, dict[str, Any]]) -> set[str]:
    """Logical IDs of the services an Application Auto Scaling target scales."""
    result = set()
    for resource in resources.values():
        if resource["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget":
            properties = resource.get("Properties", {})
            if properties.get("ScalableDimension") == "ecs:service:DesiredCount":
                result |= {name for kind, name in _refs(properties.get("ResourceId")) if kind == "ref"}
    return result


# --- the whole diff --------------------------------------------------------------------------


def _is_released_tag(text: str) -> bool:
    return "releasedtag" in re.sub(r"[^a-z]", "", text.lower())


def _is_stateful(logical_id: str, kind: str) -> bool:
    if kind in STATEFUL_TYPES:
        return True
    # ecsforge's other SSM parameters (listener, service name) are derived from other
    # resources and rewritten at every deploy; only a released tag holds state.
    return (kind.startswith("Custom::") or kind == "AWS::SSM::Parameter") and _is_released_tag(f"{logical_id}{kind}")


def diff_templates(old: Templates, new: Templates, *, old_manifest: str, new_manifest: str, region: str) -> DiffResult:
    hazards: list[Hazard] = []
    notes: list[Note] = []
    common = sorted(set(old) & set(new))
    added_stacks, removed_stacks = sorted(set(new) - set(old)), sorted(set(old) - set(new))

    old_exports = {name: (stack, value) for stack in old for name, value in _exports(old[stack]).items()}
    new_exports = {name: (stack, value) for stack in new for name, value in _exports(new[stack]).items()}
    # Export values and SSM-parameter values change when their expression does or when what
    # they refer to is replaced: iterate, since a replacement can travel through several stacks.
    changed_exports: set[str] = set()
    changed_ssm: set[str] = set()
    stack_changes: dict[str, list[ResourceChange]] = {}
    for _ in range(10):
        stack_changes = {
            stack: _compare_stack(old[stack], new[stack], region, changed_exports, changed_ssm) for stack in common
        }
        exports_now, ssm_now = set(), set()
        for name, (stack, value) in old_exports.items():
            if stack in removed_stacks:
                continue  # cdk deploy leaves a removed stack, and its exports, in place
            if name not in new_exports:
                exports_now.add(name)
                continue
            new_stack, new_value = new_exports[name]
            dirty = _stack_dirty(new_stack, stack_changes, changed_exports)
            if new_stack != stack or value != new_value or dirty.touches(new_value):
                exports_now.add(name)
        old_ssm = {name: item for stack in common for name, item in _ssm_writes(old[stack]).items()}
        for stack in common:
            dirty = _stack_dirty(stack, stack_changes, changed_exports)
            for name, (_logical_id, value) in _ssm_writes(new[stack]).items():
                before = old_ssm.get(name)
                if before is None or before[1] != value or dirty.touches(value):
                    ssm_now.add(name)
        if exports_now == changed_exports and ssm_now == changed_ssm:
            break
        changed_exports, changed_ssm = exports_now, ssm_now

    stacks: list[StackDiff] = []
    for stack in sorted(set(old) | set(new)):
        if stack in added_stacks:
            changes = [ResourceChange(k, v["Type"], ADDED) for k, v in sorted(_resources(new[stack]).items())]
            stacks.append(StackDiff(stack, ADDED, changes))
        elif stack in removed_stacks:
            stacks.append(StackDiff(stack, REMOVED))
        else:
            changes = stack_changes[stack]
            outputs = _changed_outputs(old[stack], new[stack], _stack_dirty(stack, stack_changes, changed_exports))
            stacks.append(StackDiff(stack, CHANGED if changes or outputs else UNCHANGED, changes, outputs))

    # Exports that change or go while an OLD stack imports them: CloudFormation refuses.
    importers = {stack: _imports(old[stack]) for stack in old}
    destroy_first: set[str] = set()
    for name in sorted(changed_exports):
        exporter = old_exports[name][0]
        users = sorted(stack for stack, names in importers.items() if name in names)
        if not users:
            continue
        gone = name not in new_exports
        still = [u for u in users if u not in removed_stacks]
        removed_users = [u for u in users if u in removed_stacks]
        destroy_first.update(removed_users)
        steps = []
        if removed_users:
            steps.append("destroy " + ", ".join(removed_users) + " first (see below)")
        if still:
            steps.append(
                "change it in two deploys: first deploy "
                + ", ".join(still)
                + " so that they no longer import it, then the rest"
            )
        hazards.append(
            Hazard(
                exporter,
                "export",
                f"export {name} is {'removed' if gone else 'changed'} while {', '.join(users)} import it: "
                "the deploy would fail",
                "; ".join(steps),
            )
        )

    for stack in removed_stacks:
        command = f"cdk destroy {stack} -c manifest={old_manifest}"
        if stack in destroy_first:
            hazards.append(
                Hazard(
                    stack,
                    "stack-removed",
                    "gone from the manifest, and it imports exports that this deploy changes or removes",
                    f"run `{command}` BEFORE deploying",
                )
            )
        else:
            hazards.append(
                Hazard(
                    stack,
                    "stack-removed",
                    "gone from the manifest, but `cdk deploy` never deletes stacks",
                    f"run `{command}`",
                )
            )
        for logical_id, resource in sorted(_resources(old[stack]).items()):
            if _is_stateful(logical_id, resource["Type"]):
                if resource.get("DeletionPolicy") == "Retain":
                    notes.append(
                        Note(stack, f"{logical_id} ({resource['Type']}) is kept (Retain) and orphaned on destroy")
                    )
                else:
                    hazards.append(
                        Hazard(
                            stack,
                            "stateful",
                            f"{logical_id} ({resource['Type']}) is deleted with the stack, and its data",
                            "back it up first or set DeletionPolicy Retain",
                        )
                    )

    deployments: list[Deployment] = []
    for stack in common:
        old_resources, new_resources = _resources(old[stack]), _resources(new[stack])
        changes = stack_changes[stack]
        hazards += _stateful_hazards(stack, changes, old_resources, new_resources)
        hazards += _released_tag_hazards(stack, changes, new_resources)
        deployments += _deployments(stack, changes, new_resources)
        hazards += _count_hazards(stack, changes, old_resources, new_resources, notes)
        hazards += _load_balancer_hazards(stack, changes, old_resources, new_resources)
    for diff in stacks:
        if diff.status == CHANGED:
            notes += _stateful_notes(diff, old)
        if diff.status == UNCHANGED:
            notes.append(Note(diff.name, "unchanged"))
        elif diff.tags_only:
            notes.append(Note(diff.name, "tags only"))
        elif diff.status == ADDED:
            notes.append(Note(diff.name, f"new stack, {len(diff.changes)} resources"))
    return DiffResult(old_manifest, new_manifest, stacks, deployments, hazards, notes)


def _changed_outputs(old: dict[str, Any], new: dict[str, Any], dirty: _Dirty) -> tuple[str, ...]:
    before, after = old.get("Outputs", {}), new.get("Outputs", {})
    return tuple(
        sorted(
            name
            for name in set(before) | set(after)
            if _differs(before.get(name, _MISSING), after.get(name, _MISSING), dirty)
        )
    )


def _stateful_hazards(
    stack: str,
    changes: list[ResourceChange],
    old_resources: dict[str, dict[str, Any]],
    new_resources: dict[str, dict[str, Any]],
) -> list[Hazard]:
    hazards = []
    added_types = {c.type: c.logical_id for c in changes if c.action == ADDED}
    for change in changes:
        if not _is_stateful(change.logical_id, change.type):
            continue
        if change.action == REPLACED:
            hazards.append(
                Hazard(
                    stack,
                    "stateful",
                    f"{change.logical_id} ({change.type}) is replaced ({', '.join(change.replaced_by)}): "
                    "the new one starts empty",
                    "keep the create-only properties as they are, or migrate the data by hand",
                )
            )
        elif change.action == REMOVED:
            resource = old_resources[change.logical_id]
            successor = added_types.get(change.type)
            renamed = f"; {successor} of the same type is created instead" if successor else ""
            if resource.get("DeletionPolicy") == "Retain":
                continue  # a note, below
            hazards.append(
                Hazard(
                    stack,
                    "stateful",
                    f"{change.logical_id} ({change.type}) is deleted, and its data{renamed}",
                    "keep its logical ID (construct ID) or back the data up first",
                )
            )
    return hazards


def _released_tag_hazards(
    stack: str, changes: list[ResourceChange], new_resources: dict[str, dict[str, Any]]
) -> list[Hazard]:
    """An SSM parameter the pipeline writes: any update of it puts the template's Value again."""
    hazards = []
    for change in changes:
        if change.type != "AWS::SSM::Parameter" or change.action != UPDATED:
            continue
        properties = new_resources[change.logical_id].get("Properties", {})
        name = properties.get("Name")
        if not _is_released_tag(f"{change.logical_id}{name}"):
            continue
        hazards.append(
            Hazard(
                stack,
                "released-tag",
                f"{change.logical_id} ({name}) is updated ({', '.join(change.properties)}): CloudFormation "
                f"writes its template value {_show(properties.get('Value'))} back over the tag the pipeline released",
                f"right after the deploy, put the released tag back (`aws ssm put-parameter --name {name} "
                "--value <tag> --overwrite`) or re-run the pipeline",
            )
        )
    return hazards


def _stateful_notes(stack: StackDiff, old: Templates) -> Iterator[Note]:
    added_types = {c.type: c.logical_id for c in stack.changes if c.action == ADDED}
    for change in stack.changes:
        if change.action == REMOVED and _is_stateful(change.logical_id, change.type):
            resource = _resources(old[stack.name])[change.logical_id]
            if resource.get("DeletionPolicy") == "Retain":
                successor = added_types.get(change.type)
                renamed = f"; {successor} of the same type is created instead" if successor else ""
                yield Note(stack.name, f"{change.logical_id} ({change.type}) is kept (Retain) and orphaned{renamed}")


def _deployments(
    stack: str, changes: list[ResourceChange], new_resources: dict[str, dict[str, Any]]
) -> list[Deployment]:
    result = []
    for change in changes:
        if change.type != "AWS::ECS::Service" or change.action not in (UPDATED, REPLACED):
            continue
        reasons = (
            ("replaced",)
            if change.action == REPLACED
            else tuple(p for p in change.properties if p in DEPLOYMENT_PROPERTIES)
        )
        if not reasons:
            continue
        service = new_resources[change.logical_id]
        result.append(Deployment(stack, change.logical_id, strategy_of(service), deployment_minutes(service), reasons))
    return result


def _count_hazards(
    stack: str,
    changes: list[ResourceChange],
    old_resources: dict[str, dict[str, Any]],
    new_resources: dict[str, dict[str, Any]],
    notes: list[Note],
) -> list[Hazard]:
    hazards = []
    scaled = _scaled_services(new_resources) | _scaled_services(old_resources)
    updated = {c.logical_id: c for c in changes if c.action == UPDATED}
    for logical_id, resource in new_resources.items():
        if resource["Type"] != "AWS::ECS::Service" or logical_id not in old_resources:
            continue
        count = resource.get("Properties", {}).get("DesiredCount")
        pinned = _pinned_count(count)
        change = updated.get(logical_id)
        if change is None:
            if pinned is not None and logical_id in scaled:
                notes.append(
                    Note(stack, f"{logical_id} pins DesiredCount {pinned} while scaled: any later update resets it")
                )
            continue
        old_count = old_resources[logical_id].get("Properties", {}).get("DesiredCount")
        if pinned is not None and logical_id in scaled:
            hazards.append(
                Hazard(
                    stack,
                    "desired-count",
                    f"{logical_id} is updated ({', '.join(change.properties)}) with DesiredCount {pinned} while "
                    "Application Auto Scaling scales it: the running count is reset to that",
                    "deploy when the service runs at about that count, or leave DesiredCount out of the template",
                )
            )
        elif "DesiredCount" in change.properties and pinned is not None:
            hazards.append(
                Hazard(
                    stack,
                    "desired-count",
                    f"{logical_id} DesiredCount changes ({_show(old_count)} -> {_show(count)}): "
                    "the running count is set to it",
                    "make sure that is the count you want running now",
                )
            )
    return hazards


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _load_balancer_hazards(
    stack: str,
    changes: list[ResourceChange],
    old_resources: dict[str, dict[str, Any]],
    new_resources: dict[str, dict[str, Any]],
) -> list[Hazard]:
    hazards = []
    # The deployed (OLD) strategy decides: only a service that has shifted traffic owns its rule.
    shifting = sorted(
        logical_id
        for logical_id, resource in old_resources.items()
        if resource["Type"] == "AWS::ECS::Service" and is_traffic_shifting(resource)
    )
    rule = "AWS::ElasticLoadBalancingV2::ListenerRule"
    # A rule under a new logical ID is a replacement too: removed and another one added.
    renamed = any(c.type == rule and c.action == ADDED for c in changes)
    for change in changes:
        # Any update rewrites the whole rule, a tags-only one included.
        rewritten = change.action in (REPLACED, UPDATED) or (change.action == REMOVED and renamed)
        if change.type == rule and shifting and rewritten:
            hazards.append(
                Hazard(
                    stack,
                    "listener-rule",
                    f"listener rule {change.logical_id} is {change.action} ({', '.join(change.properties)}) "
                    f"while {', '.join(shifting)} deploys blue/green, canary or linear: ECS owns this rule "
                    "after a swap; CloudFormation would point it back at the primary target group",
                    f"follow {README_RULE_PROCEDURE} before `cdk deploy`",
                )
            )
        if change.type == "AWS::ElasticLoadBalancingV2::LoadBalancer" and change.action in (REPLACED, REMOVED):
            why = f" ({', '.join(change.replaced_by)})" if change.replaced_by else ""
            hazards.append(
                Hazard(
                    stack,
                    "load-balancer",
                    f"load balancer {change.logical_id} is {change.action}{why}: it gets a new DNS name, its "
                    "listeners and every service's listener rule are replaced with it",
                    "point DNS records (CNAME/alias) at the new DNS name after the deploy; expect downtime "
                    "until the service stacks have been deployed too (`cdk deploy --all`)",
                )
            )
        if change.type == "AWS::ElasticLoadBalancingV2::Listener" and change.action in (REMOVED, REPLACED, UPDATED):
            before = old_resources.get(change.logical_id, {}).get("Properties", {})
            after = new_resources.get(change.logical_id, {}).get("Properties", {}) if change.action != REMOVED else {}
            if before.get("Protocol") == "HTTPS" and after.get("Protocol") != "HTTPS":
                hazards.append(
                    Hazard(
                        stack,
                        "https",
                        f"HTTPS listener {change.logical_id} is {change.action} and its certificate with it: "
                        "HTTPS clients lose service",
                        "keep load_balancer.certificate_arn, or tell the clients to use HTTP first",
                    )
                )
    return hazards


# --- output ----------------------------------------------------------------------------------

_SIGNS = {ADDED: "+", REMOVED: "-", UPDATED: "~", REPLACED: "!"}


def render(result: DiffResult, old: Templates | None = None) -> str:
    lines = [f"ecsforge diff {result.old} -> {result.new}"]
    for stack in result.stacks:
        lines.append(f"STACK {stack.name} {stack.status}")
        if stack.status == ADDED:
            continue
        for change in stack.changes:
            detail = ""
            if change.action == UPDATED:
                detail = f" ({', '.join(change.properties)})" + (" tags only" if change.tags_only else "")
            elif change.action == REPLACED:
                detail = f" (replaced by {', '.join(change.replaced_by)}; changed {', '.join(change.properties)})"
            lines.append(f"  {_SIGNS[change.action]} {change.action} {change.logical_id} {change.type}{detail}")
        if stack.outputs:
            lines.append(f"  ~ outputs {', '.join(stack.outputs)}")
    lines += [d.line() for d in result.deployments]
    lines += [n.line() for n in result.notes]
    lines += [h.line() for h in result.hazards]
    lines.append(result.summary())
    return "\n".join(lines)
