"""What every acknowledgement module uses: scoping an acknowledgement to a resource."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ..constructs.template import cfn_resource
from ..manifest.models import Manifest


def ack(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def default_policy(role: iam.IRole | None) -> IConstruct | None:
    """The inline policy aws-cdk grants into, where IAM findings are reported."""
    return role.node.try_find_child("DefaultPolicy") if role is not None else None


def required_default_policy(role: iam.IRole | None, owner: IConstruct, what: str) -> IConstruct:
    """default_policy of a role ecsforge always grants into: without one, ecsforge is wrong."""
    policy = default_policy(role)
    if policy is None:
        raise ValueError(f"{owner.node.path}: {what} has no policy to acknowledge findings on")
    return policy


def logical_id(construct: IConstruct) -> str:
    stack = Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(cfn_resource(construct))))


def account(manifest: Manifest) -> str:
    return manifest.account or "<AWS::AccountId>"  # as cdk-nag prints ARNs in findings


def resource(construct: IConstruct) -> IConstruct:
    """The CloudFormation resource of an L2 construct, where its findings are reported."""
    return construct.node.default_child or construct


def ack_alternate_role(service: IConstruct, child: str, moves: str) -> None:
    """The role ECS-native blue/green, canary and linear deployments shift traffic with."""
    role = service.node.try_find_child(child)
    if role is not None:
        ack(
            resource(role),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]",
            f"ECS-native blue/green, canary and linear deployments {moves} between its two target groups; AWS "
            "maintains this policy for exactly that.",
        )
