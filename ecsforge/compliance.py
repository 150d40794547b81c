"""Every cdk-nag acknowledgement of ecsforge, in one place.

Each is scoped to the one construct it is about (and, for IAM5, to the one finding),
with a reason a reviewer can check against the template. A finding not listed here
fails synthesis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

from .manifest.models import Manifest

if TYPE_CHECKING:
    from .constructs.capacity import Ec2CapacityProvider
    from .platform import Platform

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


def _ack(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def _capacity(capacity: Ec2CapacityProvider, manifest: Manifest, key: str) -> None:
    group = manifest.cluster.ec2[key]
    policy = capacity.role.node.find_child("DefaultPolicy")
    for rule, reason in INSTANCE_POLICY_FINDINGS.items():
        _ack(policy, rule, reason)
    asg = capacity.auto_scaling_group.node.default_child
    assert asg is not None
    _ack(
        asg,
        "AwsSolutions-AS3",
        "ECS managed scaling drives this group; its scaling activity is visible in the capacity provider "
        "and EventBridge, and an SNS topic here would have no subscriber.",
    )
    if group.spot:
        _ack(
            asg,
            "AwsSolutions-EC26",
            "The rule cannot read a MixedInstancesPolicy's launch template reference; the launch template "
            "in this construct sets Encrypted: true on its only block device.",
        )
    if group.machine_image == "bottlerocket":
        role = capacity.role.node.default_child
        assert role is not None
        _ack(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]",
            "aws-cdk's BottleRocketImage attaches the AWS-documented ECS container instance policy, which AWS "
            "keeps current as the ECS agent gains calls.",
        )
        _ack(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]",
            "Bottlerocket has no SSH; its control container reaches the host through SSM only, which needs "
            "this AWS-maintained policy.",
        )


def _opt_outs(platform: Platform, manifest: Manifest) -> None:
    """Findings that exist only because the manifest explicitly turned a default off."""
    if platform.network is not None and not manifest.network.flow_logs:
        vpc = platform.network.platform_vpc.vpc.node.default_child
        assert vpc is not None
        _ack(
            vpc,
            "AwsSolutions-VPC7",
            "The manifest sets network.flow_logs: false; flow logs are on by default and this VPC's owner "
            "turned them off explicitly.",
        )
    if manifest.cluster.container_insights == "disabled":
        cluster = platform.cluster.cluster.node.default_child
        assert cluster is not None
        _ack(
            cluster,
            "AwsSolutions-ECS4",
            "The manifest sets cluster.container_insights: disabled; Container Insights is on (enhanced) by "
            "default and this cluster's owner turned it off explicitly.",
        )


def acknowledge(platform: Platform, manifest: Manifest) -> None:
    _opt_outs(platform, manifest)
    for key, capacity in platform.cluster.capacity.items():
        _capacity(capacity, manifest, key)
    for subnet in platform.cluster.vpc.private_subnets + platform.cluster.vpc.public_subnets:
        _ack(
            subnet,
            "Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId",
            "The cluster stack uses these subnets by id only (for instances and tasks); it never reads their "
            "route tables, which belong to the network stack or the imported VPC.",
        )
