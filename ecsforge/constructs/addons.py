"""Addons (manifest v1.2): the user's CloudFormation templates as nested stacks.

aws-cdk's CfnInclude turns a template into real constructs inside a NestedStack: the resources
keep the logical ids, DeletionPolicy and Metadata the user wrote, cdk-nag sees them, and the
nested template is a file asset that `cdk deploy` uploads. Each nested stack is keyed by the
template's file name, never by its place in the list, so reordering `addons` replaces nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import NestedStack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import cloudformation_include as cfn_inc
from constructs import Construct

from ..manifest.addons import POLICY, SECRET, SECURITY_GROUP, Addon, AddonTemplate, parameter_text, upper_snake
from .task_definition import TaskDefinition


@dataclass
class IncludedAddon:
    addon: Addon
    stack: NestedStack
    template: cfn_inc.CfnInclude

    @property
    def resolved(self) -> AddonTemplate:
        return self.addon.resolved

    def output(self, name: str) -> str:
        """The output's value in the parent stack: Fn::GetAtt of the nested stack's output."""
        resource = self.stack.nested_stack_resource
        if resource is None:
            raise ValueError(f"addon {self.addon.template} has no nested stack resource")
        return Token.as_string(resource.get_att(f"Outputs.{name}"))


def include_addons(scope: Construct, addons: list[Addon], passed: dict[str, str]) -> list[IncludedAddon]:
    """One nested stack per addon; of `passed` (App, Env, Name, ...) only what the template declares,
    since CloudFormation rejects a parameter the template does not declare."""
    included = []
    for addon in addons:
        template = addon.resolved
        values = {name: value for name, value in passed.items() if name in template.parameters}
        values.update({name: parameter_text(value) for name, value in addon.parameters.items()})
        stack = NestedStack(scope, template.key, parameters=values or None)
        included.append(IncludedAddon(addon, stack, cfn_inc.CfnInclude(stack, "Template", template_file=template.path)))
    return included


def wire_addon_outputs(scope: Construct, addons: list[IncludedAddon], task: TaskDefinition) -> list[ec2.ISecurityGroup]:
    """Copilot's conventions: a managed policy to the task role, a secret and every other output
    to each container (upper snake case). Returns the security groups, for the caller's tasks."""
    groups: list[ec2.ISecurityGroup] = []
    for included in addons:
        key = included.resolved.key
        for output, kind in included.resolved.outputs.items():
            value, construct_id = included.output(output), f"{key}-{output}"
            if kind == POLICY:
                policy = iam.ManagedPolicy.from_managed_policy_arn(scope, construct_id, value)
                task.task_definition.task_role.add_managed_policy(policy)
            elif kind == SECURITY_GROUP:
                groups.append(ec2.SecurityGroup.from_security_group_id(scope, construct_id, value, mutable=False))
            elif kind == SECRET:
                secret = secretsmanager.Secret.from_secret_complete_arn(scope, construct_id, value)
                for container in task.containers.values():
                    container.add_secret(upper_snake(output), ecs.Secret.from_secrets_manager(secret))
            else:
                for container in task.containers.values():
                    container.add_environment(upper_snake(output), value)
    return groups
