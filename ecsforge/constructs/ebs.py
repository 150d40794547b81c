"""EBS task volumes (`volumes.<v>.ebs`): the environment's ECS infrastructure role and key (in the
resources stack), and the volume configuration of each service that mounts one.

ECS creates one volume per task when the task starts and deletes it when the task stops
(ECS managed volumes, "Use Amazon EBS volumes with Amazon ECS"), so no data outlives a task
and nothing here holds data. The key and the role are retained all the same: a volume of a
task still draining needs both, to be detached and deleted.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import names
from ..manifest.models import Manifest
from ..manifest.tasks import TaskSpec
from .template import cfn_resource

VOLUMES_POLICY = "service-role/AmazonECSInfrastructureRolePolicyForVolumes"


class EbsInfrastructure(Construct):
    """The role ECS creates, attaches and deletes the tasks' volumes with, and the key that
    encrypts them; one of each per environment, published as SSM parameters."""

    def __init__(self, scope: Construct, construct_id: str, *, manifest: Manifest) -> None:
        super().__init__(scope, construct_id)
        where = f"{manifest.app}/{manifest.environment}"
        self.role = iam.Role(
            self,
            "InfrastructureRole",
            assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
            description=f"ECS creates, attaches and deletes the EBS volumes of the tasks of {where}",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(VOLUMES_POLICY)],
        )
        # Kept when the last EBS volume leaves the manifest: this stack deploys before the services,
        # and ECS deletes the volumes of their old tasks with this role after that.
        self.role.apply_removal_policy(RemovalPolicy.RETAIN)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the EBS volumes of the tasks of {where}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self._allow_role(Stack.of(self))
        for construct_id, name, value, text in (
            ("RoleArn", names.ebs_role_parameter(manifest), self.role.role_arn, "ECS infrastructure role"),
            ("KeyArn", names.ebs_key_parameter(manifest), self.key.key_arn, "Key"),
        ):
            ssm.StringParameter(
                self,
                construct_id,
                parameter_name=name,
                string_value=value,
                description=f"{text} of the tasks' EBS volumes of {where}",
            )

    def _allow_role(self, stack: Stack) -> None:
        """EBS uses the key on the role's behalf when ECS creates a volume, and the volume's
        attachment holds a grant; only through EC2 in this region."""
        via_ec2 = {"kms:ViaService": f"ec2.{stack.region}.{stack.url_suffix}"}
        principals: list[iam.IPrincipal] = [iam.ArnPrincipal(self.role.role_arn)]
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EcsInfrastructureRoleEncryptsVolumes",
                principals=principals,
                actions=["kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*", "kms:Decrypt", "kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": via_ec2},
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EcsInfrastructureRoleGrantsToVolumes",
                principals=principals,
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={"StringEquals": via_ec2, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )


def add_ebs_volume(task_definition: ecs.TaskDefinition, volume: str) -> None:
    """The task definition's side: a volume ECS configures when it launches each task."""
    task_definition.add_volume(name=volume, configured_at_launch=True)


def configure_ebs_volumes(scope: Construct, *, manifest: Manifest, spec: TaskSpec, service: ecs.BaseService) -> None:
    """The service's side: what ECS creates for each of its tasks (at most one volume, a manifest rule)."""
    mounted = sorted({m.volume for c in spec.containers.values() for m in c.mounts})
    configurations: list[dict[str, Any]] = []
    for name in mounted:
        ebs = manifest.volumes[name].ebs
        if ebs is None:
            continue
        volume: dict[str, Any] = {
            "RoleArn": ssm.StringParameter.value_for_string_parameter(scope, names.ebs_role_parameter(manifest)),
            "Encrypted": True,
            "KmsKeyId": ssm.StringParameter.value_for_string_parameter(scope, names.ebs_key_parameter(manifest)),
            "VolumeType": ebs.type,
            "SizeInGiB": ebs.size_gib,
            # The volume carries the service's tags (app, environment) besides the ones ECS adds.
            "TagSpecifications": [{"ResourceType": "volume", "PropagateTags": "SERVICE"}],
        }
        if ebs.iops is not None:
            volume["Iops"] = ebs.iops
        if ebs.throughput_mibps is not None:
            volume["Throughput"] = ebs.throughput_mibps
        configurations.append({"Name": name, "ManagedEBSVolume": volume})
    if configurations:
        cfn_resource(service).add_property_override("VolumeConfigurations", configurations)
