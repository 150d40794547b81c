"""A service's or scheduled task's wiring to the environment's resources: least-privilege
task-role grants and environment variables (`access`), extra statements (`permissions`,
`managed_policies`) and mounts: EFS through an access point, EBS configured at launch (ebs.py).

Every reference to the resources stack is a deterministic name or an SSM parameter, and
every grant is a statement of this task's role, written here by hand: never a `grant*` on a
construct of the resources stack, which could add to its queue or key policy and so change
that stack whenever a service comes or goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import names
from ..manifest.models import Manifest
from ..manifest.tasks import TaskSpec
from ..manifest.wiring import BucketAccess, QueueAccess, TopicAccess, access_variables
from .ebs import add_ebs_volume
from .task_definition import TaskDefinition
from .template import literal

NFS_PORT = 2049
POSIX_ID = "1000"
QUEUE_ACTIONS = {
    "consume": [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    ],
    "send": ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
}
# What each grant needs of the messaging key: reading encrypted messages, or writing them.
KEY_ACTIONS = {"consume": ["kms:Decrypt"], "send": ["kms:GenerateDataKey", "kms:Decrypt"]}
BUCKET_ACTIONS = {
    "read": (["s3:ListBucket", "s3:GetBucketLocation"], ["s3:GetObject", "s3:GetObjectVersion"]),
    "write": ([], ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]),
}


@dataclass
class Wiring:
    """What compliance needs to know: the object ARNs granted (`<bucket>/*`) and the manifest
    paths of the user's own statements."""

    bucket_objects: list[str] = field(default_factory=list)
    managed_policies: list[str] = field(default_factory=list)


def wire_task(
    scope: Construct,
    *,
    manifest: Manifest,
    spec: TaskSpec,
    task: TaskDefinition,
    security_group: ec2.ISecurityGroup | None,
) -> Wiring:
    wiring = Wiring()
    _access(scope, manifest, spec, task, wiring)
    definition = task.task_definition
    for permission in spec.permissions:
        definition.add_to_task_role_policy(
            iam.PolicyStatement(
                effect=iam.Effect.ALLOW if permission.effect == "Allow" else iam.Effect.DENY,
                actions=permission.actions,
                resources=permission.resources,
                conditions=permission.conditions,
            )
        )
    for index, arn in enumerate(spec.managed_policies):
        definition.task_role.add_managed_policy(
            iam.ManagedPolicy.from_managed_policy_arn(scope, f"Managed{index}", arn)
        )
        wiring.managed_policies.append(arn)
    _mounts(scope, manifest, spec, task, security_group)
    return wiring


def _access(scope: Construct, manifest: Manifest, spec: TaskSpec, task: TaskDefinition, wiring: Wiring) -> None:
    access = spec.access
    if access is None:
        return
    definition = task.task_definition
    values: dict[str, dict[str, str]] = {
        "queues": _queues(scope, manifest, access.queues, definition),
        "topics": _topics(scope, manifest, access.topics, definition),
        "buckets": _buckets(scope, manifest, access.buckets, definition, wiring),
    }
    key_actions = sorted(
        {a for how in access.queues.values() for a in KEY_ACTIONS[how]}
        | (set(KEY_ACTIONS["send"]) if access.topics else set())
    )
    if key_actions:
        key_arn = ssm.StringParameter.value_for_string_parameter(scope, names.messaging_key_parameter(manifest))
        definition.add_to_task_role_policy(iam.PolicyStatement(actions=key_actions, resources=[key_arn]))
    for variable, (kind, name) in access_variables(access).items():
        for container in task.containers.values():
            container.add_environment(variable, values[kind][name])


def _queues(
    scope: Construct, manifest: Manifest, granted: dict[str, QueueAccess], definition: ecs.TaskDefinition
) -> dict[str, str]:
    """Each queue's URL; the grant names exactly that queue."""
    stack = Stack.of(scope)
    urls = {}
    for name, how in granted.items():
        queue_name = names.queue_name(manifest, name, fifo=manifest.queues[name].fifo)
        arn = stack.format_arn(service="sqs", resource=queue_name, arn_format=ArnFormat.NO_RESOURCE_NAME)
        definition.add_to_task_role_policy(iam.PolicyStatement(actions=QUEUE_ACTIONS[how], resources=[arn]))
        urls[name] = f"https://sqs.{stack.region}.{stack.url_suffix}/{stack.account}/{queue_name}"
    return urls


def _topics(
    scope: Construct, manifest: Manifest, granted: dict[str, TopicAccess], definition: ecs.TaskDefinition
) -> dict[str, str]:
    stack = Stack.of(scope)
    arns = {
        name: stack.format_arn(
            service="sns",
            resource=names.topic_name(manifest, name, fifo=manifest.topics[name].fifo),
            arn_format=ArnFormat.NO_RESOURCE_NAME,
        )
        for name in granted
    }
    if arns:
        definition.add_to_task_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[*arns.values()]))
    return arns


def _buckets(
    scope: Construct,
    manifest: Manifest,
    granted: dict[str, BucketAccess],
    definition: ecs.TaskDefinition,
    wiring: Wiring,
) -> dict[str, str]:
    stack = Stack.of(scope)
    bucket_names = {}
    for name, how in granted.items():
        bucket_name = ssm.StringParameter.value_for_string_parameter(scope, names.bucket_name_parameter(manifest, name))
        bucket_names[name] = bucket_name
        bucket_arn = f"arn:{stack.partition}:s3:::{bucket_name}"
        modes = ["read", "write"] if how == "read_write" else [how]
        bucket_actions = [a for mode in modes for a in BUCKET_ACTIONS[mode][0]]
        object_actions = [a for mode in modes for a in BUCKET_ACTIONS[mode][1]]
        if bucket_actions:
            definition.add_to_task_role_policy(iam.PolicyStatement(actions=bucket_actions, resources=[bucket_arn]))
        definition.add_to_task_role_policy(iam.PolicyStatement(actions=object_actions, resources=[f"{bucket_arn}/*"]))
        wiring.bucket_objects.append(f"{bucket_arn}/*")
    return bucket_names


def _mounts(
    scope: Construct,
    manifest: Manifest,
    spec: TaskSpec,
    task: TaskDefinition,
    security_group: ec2.ISecurityGroup | None,
) -> None:
    used = sorted({m.volume for c in spec.containers.values() for m in c.mounts})
    if not used:
        return
    stack = Stack.of(scope)
    definition = task.task_definition
    for volume_name in used:
        volume = manifest.volumes[volume_name]
        if volume.ebs is not None:
            add_ebs_volume(definition, volume_name)
            continue
        file_system_id = volume.file_system_id or ssm.StringParameter.value_for_string_parameter(
            scope, names.volume_id_parameter(manifest, volume_name)
        )
        access_point = _access_point(scope, volume_name, file_system_id, volume.directory)
        definition.add_volume(
            name=volume_name,
            efs_volume_configuration=ecs.EfsVolumeConfiguration(
                file_system_id=file_system_id,
                transit_encryption="ENABLED",
                authorization_config=ecs.AuthorizationConfig(
                    access_point_id=access_point.attr_access_point_id, iam="ENABLED"
                ),
            ),
        )
        writes = any(not m.read_only for c in spec.containers.values() for m in c.mounts if m.volume == volume_name)
        # Mount (and write) through this access point only; root access never.
        definition.add_to_task_role_policy(
            iam.PolicyStatement(
                actions=["elasticfilesystem:ClientMount", *(["elasticfilesystem:ClientWrite"] if writes else [])],
                resources=[
                    stack.format_arn(service="elasticfilesystem", resource="file-system", resource_name=file_system_id)
                ],
                conditions={"StringEquals": {"elasticfilesystem:AccessPointArn": access_point.attr_arn}},
            )
        )
        # bridge and host mode tasks reach NFS from the instances: the cluster stack's rule.
        if volume.file_system_id is None and security_group is not None:
            _nfs_ingress(scope, manifest, volume_name, security_group)
    for name, container in spec.containers.items():
        for mount in container.mounts:
            task.containers[name].add_mount_points(
                ecs.MountPoint(
                    container_path=literal(mount.path), source_volume=mount.volume, read_only=mount.read_only
                )
            )


def _access_point(scope: Construct, volume: str, file_system_id: str, directory: str) -> efs.CfnAccessPoint:
    """One access point per task and volume: every task sees the volume's directory as uid/gid
    1000, whatever user its image runs as."""
    return efs.CfnAccessPoint(
        scope,
        f"AccessPoint-{volume}",
        file_system_id=file_system_id,
        posix_user=efs.CfnAccessPoint.PosixUserProperty(uid=POSIX_ID, gid=POSIX_ID),
        root_directory=efs.CfnAccessPoint.RootDirectoryProperty(
            path=directory,
            creation_info=efs.CfnAccessPoint.CreationInfoProperty(
                owner_uid=POSIX_ID, owner_gid=POSIX_ID, permissions="755"
            ),
        ),
    )


def _nfs_ingress(scope: Construct, manifest: Manifest, volume: str, security_group: ec2.ISecurityGroup) -> None:
    """NFS into the volume's mount targets from this task's own group only: a rule of this stack,
    on the group the resources stack publishes, unique to this task, so no other stack changes when
    this one comes or goes."""
    group_id = ssm.StringParameter.value_for_string_parameter(
        scope, names.volume_security_group_parameter(manifest, volume)
    )
    ec2.CfnSecurityGroupIngress(
        scope,
        f"NfsTo-{volume}",
        group_id=group_id,
        source_security_group_id=security_group.security_group_id,
        ip_protocol="tcp",
        from_port=NFS_PORT,
        to_port=NFS_PORT,
        description=f"NFS from {Stack.of(scope).stack_name}",
    )
