"""Acknowledgements for an ECS Managed Instances capacity provider's two roles (aws-cdk's)."""

from __future__ import annotations

from ..constructs.managed_instances import ManagedInstancesProvider
from ..manifest.models import Manifest
from .common import account, ack, resource


def acknowledge_managed_instances(provider: ManagedInstancesProvider, manifest: Manifest) -> None:
    infrastructure_role = resource(provider.provider.node.find_child("CapacityProviderRole"))
    ack(
        infrastructure_role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForManagedInstances]",
        "The ECS developer guide's infrastructure role policy for Managed Instances: ECS assumes this role to "
        "launch, replace and terminate the instances, and AWS keeps the policy current as ECS needs new calls; "
        "its iam:PassRole is limited to roles named ecsInstanceRole*, which the instance role is.",
    )
    instance_role = resource(provider.provider.node.find_child("InstanceRole"))
    ack(
        instance_role,
        "AwsSolutions-IAM5[Resource::*]",
        "ecs:DiscoverPollEndpoint, the ECS agent's first call on the instance, supports no resource-level "
        "permissions; registration and task state calls are limited to this cluster's ARN.",
    )
    ack(
        instance_role,
        f"AwsSolutions-IAM5[Resource::arn:{manifest.partition}:ecs:{manifest.region}:{account(manifest)}:"
        "container-instance/*]",
        "ecs:Poll, StartTelemetrySession and PutSystemLogEvents act on the instance's own container instance, "
        "whose id ECS assigns at registration, so its ARN cannot be named in advance.",
    )
