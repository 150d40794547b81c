"""Small corrections to what aws-cdk renders, each for a finding of cfn-lint or of aws-cdk's own
template validation that it would cause."""

from __future__ import annotations

from aws_cdk import CfnResource, Stack, Token
from constructs import IConstruct

_LITERAL_OPENING = "${"


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


def literal(value: str) -> str:
    """`value` as CloudFormation passes it on, also when it holds a literal `${` (a shell's
    `${PORT}`, written `$${PORT}` in the manifest): then as an Fn::Join of literal_pieces, which
    CloudFormation joins back into the same string. aws-cdk's template validation (E1029) takes
    any `${...}` in a plain string for a reference outside Fn::Sub; an Fn::Sub with `${!PORT}`
    would pass it, but cfn-lint warns on an Fn::Sub without variables (W1020), and acknowledging
    E1029 would silence it for every property of the resource. Other strings stay as they are,
    so templates without a literal `${` do not change."""
    if _LITERAL_OPENING not in value:
        return value
    return Token.as_string({"Fn::Join": ["", literal_pieces(value)]})


def literal_pieces(value: str) -> list[str]:
    """`value` cut between the `$` and the `{` of every `${`: no piece holds a `${`, and the
    pieces joined are `value` again."""
    head, *rest = value.split(_LITERAL_OPENING)
    return [head + "$", *("{" + piece + "$" for piece in rest[:-1]), "{" + rest[-1]] if rest else [head]
