"""cdk-nag and the user's addons: an addon is the user's, so its findings are warnings.

Each addon's nested stack is checked here, at build time, with the same rules as the app: a
finding the template acknowledges (`Metadata: cdk_nag: rules_to_suppress` on the resource, as
Copilot's and cdk-nag v2's templates write it) stays quiet; any other is returned as a warning
naming the template's file, line and logical id, and acknowledged on that one resource, so that
the app's check (which fails synthesis) passes over it. ecsforge's own resources are not in
these nested stacks, and stay under the app's check.
"""

from __future__ import annotations

from cdk_nag import AwsSolutionsChecks

from ..constructs.addons import IncludedAddon
from ..constructs.task_definition import TaskDefinition
from ..manifest.addons import VARIABLE
from .common import ack, resource

ADDON_FINDING = (
    "A finding in the user's addon template, shown as a warning at synth: an addon is the user's own "
    "CloudFormation, acknowledged in its own Metadata (cdk_nag rules_to_suppress)."
)


def acknowledge_addons(addons: list[IncludedAddon]) -> list[str]:
    """The addons' unacknowledged findings, as warning lines (file:line:col: logical id: rule: what)."""
    findings: list[str] = []
    for included in addons:
        template = included.resolved
        for logical_id, written in template.resources.items():
            for rule, reason in written.suppressed.items():
                ack(included.template.get_resource(logical_id), rule, reason)
        parent = included.stack.nested_stack_parent
        where = f" (in {parent.stack_name})" if parent is not None else ""
        report = AwsSolutionsChecks().validate_scope(included.stack)
        for violation in report.violations:
            for found in violation.violating_resources:
                path = found.construct_path or ""
                logical_id = path.rsplit("/", 1)[-1]
                found_in = template.resources.get(logical_id)
                line, column = (found_in.line, found_in.column) if found_in is not None else (1, 1)
                findings.append(
                    f"{template.shown}:{line}:{column}: Resources.{logical_id}: {violation.rule_name}: "
                    f"{violation.description}{where}: fix the resource, or acknowledge the finding in its Metadata "
                    "(cdk_nag: rules_to_suppress, with a reason)"
                )
                if found_in is not None:
                    ack(included.template.get_resource(logical_id), violation.rule_name, ADDON_FINDING)
    return findings


def acknowledge_addon_variables(task: TaskDefinition, addons: list[IncludedAddon]) -> None:
    if any(kind == VARIABLE for included in addons for kind in included.resolved.outputs.values()):
        ack(
            resource(task.task_definition),
            "AwsSolutions-ECS2",
            "These environment variables carry the outputs of the workload's addons (names, endpoints); an output "
            "that is a Ref to a Secrets Manager secret goes in as a secret instead.",
        )
