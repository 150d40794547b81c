"""Small corrections to what aws-cdk renders, each for a cfn-lint finding it would cause."""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from constructs import IConstruct


def keep_only_depends_on(resource: IConstruct, *keep: IConstruct) -> None:
    """Replace a resource's DependsOn with `keep`: aws-cdk also lists resources that the
    resource already Refs or GetAtts, which cfn-lint (W3005) reports as redundant."""
    target = resource.node.default_child if not isinstance(resource, CfnResource) else resource
    assert isinstance(target, CfnResource)
    stack = Stack.of(target)
    ids = []
    for construct in keep:
        child = construct if isinstance(construct, CfnResource) else construct.node.default_child
        assert isinstance(child, CfnResource)
        ids.append(stack.get_logical_id(child))
    if ids:
        target.add_override("DependsOn", ids)
    else:
        target.add_deletion_override("DependsOn")
