"""Acknowledgements for the registries stack."""

from __future__ import annotations

from ..stacks.registries import AWS_CUSTOM_RESOURCE_FUNCTION, RegistriesStack
from .common import ack, resource


def acknowledge_registries(stack: RegistriesStack) -> None:
    function = stack.node.try_find_child(AWS_CUSTOM_RESOURCE_FUNCTION)
    role = function.node.try_find_child("ServiceRole") if function is not None else None
    if role is None:
        return
    ack(
        resource(role),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "aws-cdk's AwsCustomResource function, which creates each released-tag parameter once: the AWS-managed "
        "basic execution policy lets it write only its own CloudWatch logs; its SSM calls are limited to those "
        "parameters' ARNs.",
    )
