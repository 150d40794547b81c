"""Acknowledgements for an EC2 capacity provider: its instance role, group and delete-time function."""

from __future__ import annotations

from ..constructs.capacity import Ec2CapacityProvider
from ..manifest.models import Manifest
from .common import account, ack, logical_id, resource

# The ECS agent's own calls, as aws-cdk's AsgCapacityProvider grants them: the
# registration calls are scoped to the cluster ARN; ecs:Poll and StartTelemetrySession
# to the cluster by condition; ecr:GetAuthorizationToken and ecs:DiscoverPollEndpoint
# support no resource-level permissions at all.
INSTANCE_POLICY_FINDINGS = {
    "AwsSolutions-IAM5[Action::ecs:Submit*]": (
        "ecs:Submit* (SubmitTaskStateChange, SubmitContainerStateChange, SubmitAttachmentStateChanges) is the "
        "ECS agent reporting task state, and is restricted to this cluster's ARN."
    ),
    "AwsSolutions-IAM5[Resource::*]": (
        "ecr:GetAuthorizationToken and ecs:DiscoverPollEndpoint support no resource-level permissions; "
        "ecs:Poll and ecs:StartTelemetrySession are limited to this cluster by an ecs:cluster condition; "
        "the agent's log calls write its own instance logs."
    ),
}


def acknowledge_capacity(capacity: Ec2CapacityProvider, manifest: Manifest, key: str) -> None:
    group = manifest.cluster.ec2[key]
    lift_role = resource(capacity.unprotect.role)
    group_id = logical_id(capacity.auto_scaling_group)
    ack(
        lift_role,
        f"AwsSolutions-IAM5[Resource::arn:{manifest.partition}:autoscaling:{manifest.region}:{account(manifest)}:"
        f"autoScalingGroup:*:autoScalingGroupName/<{group_id}>]",
        "The delete-time function lifts scale-in protection from this one Auto Scaling group, named in the ARN; "
        "the * is the group's id, which its ARN needs and CloudFormation does not return.",
    )
    ack(
        lift_role,
        "AwsSolutions-IAM5[Resource::*]",
        "autoscaling:DescribeAutoScalingGroups, which the delete-time function uses to list the group's "
        "instances, supports no resource-level permissions.",
    )
    policy = capacity.role.node.find_child("DefaultPolicy")
    for rule, reason in INSTANCE_POLICY_FINDINGS.items():
        ack(policy, rule, reason)
    asg = resource(capacity.auto_scaling_group)
    ack(
        asg,
        "AwsSolutions-AS3",
        "ECS managed scaling drives this group; its scaling activity is visible in the capacity provider "
        "and EventBridge, and an SNS topic here would have no subscriber.",
    )
    if group.spot:
        ack(
            asg,
            "AwsSolutions-EC26",
            "The rule cannot read a MixedInstancesPolicy's launch template reference; the launch template "
            "in this construct sets Encrypted: true on its only block device.",
        )
    if group.machine_image == "bottlerocket":
        role = resource(capacity.role)
        ack(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]",
            "aws-cdk's BottleRocketImage attaches the AWS-documented ECS container instance policy, which AWS "
            "keeps current as the ECS agent gains calls.",
        )
        ack(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]",
            "Bottlerocket has no SSH; its control container reaches the host through SSM only, which needs "
            "this AWS-maintained policy.",
        )
