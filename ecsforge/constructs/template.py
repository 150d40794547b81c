"""Small corrections to what aws-cdk renders, each for a cfn-lint finding it would cause."""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from constructs import IConstruct


def cfn_resource(construct: IConstruct) -> CfnResource:
    """The CloudFormation resource behind `construct` (itself, or its default child)."""
    target = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(target, CfnResource):
        raise TypeError(f"{construct.node.path} renders no single CloudFormation resource")
    return target


def keep_only_depends_on(resource: IConstruct, *keep: IConstruct) -> None:
    """Replace a resource's DependsOn with `keep`: aws-cdk also lists resources that the
    resource already Refs or GetAtts, which cfn-lint (W3005) reports as redundant."""
    target = cfn_resource(resource)
    stack = Stack.of(target)
    ids = [stack.get_logical_id(cfn_resource(construct)) for construct in keep]
    if ids:
        target.add_override("DependsOn", ids)
    else:
        target.add_deletion_override("DependsOn")
