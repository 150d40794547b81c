"""Acknowledgements for application wiring: the resources stack, and what `access`,
`permissions` and `managed_policies` put into a task role.

Findings caused by the user's own `permissions` (wildcards, IAM5) and `managed_policies`
(AWS managed policies, IAM4) are acknowledged only because the manifest asked for them,
and `ecsforge validate`/`cdk synth` print a warning at the same line (manifest
wiring_checks.wiring_warnings); the reason cites that line.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import IConstruct

from ..constructs.ebs import VOLUMES_POLICY
from ..constructs.resources import Resources
from ..constructs.task_definition import TaskDefinition
from ..constructs.wiring import Wiring
from ..manifest.models import Manifest
from ..manifest.tasks import TaskSpec
from .common import ack, default_policy, resource


def nag_text(stack: Stack, value: str) -> str:
    """A value as cdk-nag prints it in a finding: references as <LogicalId>, <Res.Attr>."""
    resolved: Any = stack.resolve(value)

    def render(part: Any) -> str:
        if isinstance(part, str):
            return part
        if isinstance(part, dict) and "Ref" in part:
            return f"<{part['Ref']}>"
        if isinstance(part, dict) and "Fn::GetAtt" in part:
            return f"<{'.'.join(part['Fn::GetAtt'])}>"
        if isinstance(part, dict) and "Fn::Join" in part:
            separator, items = part["Fn::Join"]
            return str(separator).join(render(item) for item in items)
        return str(part)

    return render(resolved)


def nag_literal(value: str) -> str:
    """A plain string as cdk-nag prints it in a finding: it writes `${` as `<` and `}` as `>`
    (for Fn::Sub's references), also in an IAM policy variable such as `${aws:username}`."""
    return value.replace("${", "<").replace("}", ">")


def acknowledge_resources(resources: Resources) -> None:
    if resources.ebs is not None:
        ack(
            resource(resources.ebs.role),
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{VOLUMES_POLICY}]",
            "The ECS infrastructure role of the tasks' EBS volumes: AWS documents this managed policy for it "
            '("Amazon ECS infrastructure IAM role"); it creates, attaches and deletes only volumes tagged as '
            "ECS-managed, and AWS keeps it current as ECS's needs change.",
        )
    if resources.access_logs is not None:
        ack(
            resource(resources.access_logs),
            "AwsSolutions-S1",
            "This bucket receives the server access logs of the environment's buckets; logging its own access "
            "would log into itself.",
        )


def acknowledge_wiring(
    task: TaskDefinition, wiring: Wiring, spec: TaskSpec, manifest: Manifest, path: tuple[str, str]
) -> None:
    if spec.access is None and not spec.permissions and not wiring.managed_policies:
        return  # nothing to acknowledge; and every lookup below is a jsii round trip
    definition = task.task_definition
    stack = Stack.of(definition)
    if spec.access is not None:
        ack(
            resource(definition),
            "AwsSolutions-ECS2",
            "The environment variables QUEUE_*_URL, TOPIC_*_ARN and BUCKET_*_NAME that `access` adds are names "
            "and addresses of this environment's resources, not secrets.",
        )
    for index, arn in enumerate(wiring.managed_policies):
        where = manifest.location((*path, "managed_policies", index))
        ack(
            resource(definition.task_role),
            f"AwsSolutions-IAM4[Policy::{arn}]",
            f"Attached by the user at {where} (managed_policies[{index}]); the manifest's warning there says so.",
        )
    # A task role with managed policies only has no inline policy: nothing more to acknowledge.
    policy: IConstruct | None = default_policy(definition.task_role)
    if policy is None:
        return
    for objects in wiring.bucket_objects:
        ack(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_text(stack, objects)}]",
            "The objects of exactly one bucket of this environment, granted by `access.buckets`: object-level "
            "actions name objects, and the task reads or writes any object of its bucket.",
        )
    for index, permission in enumerate(spec.permissions):
        if permission.effect != "Allow":
            continue
        where = manifest.location((*path, "permissions", index))
        reason = f"Written by the user at {where} (permissions[{index}]); the manifest's warning there says so."
        for action in permission.actions:
            if "*" in action:
                ack(policy, f"AwsSolutions-IAM5[Action::{action}]", reason)
        for arn in permission.resources:
            if "*" in arn:
                ack(policy, f"AwsSolutions-IAM5[Resource::{nag_literal(arn)}]", reason)
