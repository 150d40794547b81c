"""What a promoted environment allows a promoting pipeline: one role, trusted by the pipeline's
promotion roles only (their IAM path in the pipeline's account), allowed to push to this
environment's registry, deploy the promoted services, and record the release here exactly as
the environment's own release step would. Plus a parameter saying what was granted, which the
pipeline checks before it changes anything."""

from __future__ import annotations

import json
from typing import cast

from aws_cdk import Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import names
from .promotion_plan import PromotionPlan
from .release import _allow_follower_registration, _allow_handoff, _parameter_arn


class _RoleGrants:
    """The release step's grants (release.py) are written for its CodeBuild project; here they
    go to the assumed role, which runs the same step."""

    def __init__(self, role: iam.Role) -> None:
        self.role = role

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        self.role.add_to_policy(statement)


class PromotionTrust(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, plan: PromotionPlan) -> None:
        super().__init__(scope, construct_id)
        self.plan = plan
        stack = Stack.of(self)
        target = plan.target
        source_account = plan.source.account or stack.account
        self.role = iam.Role(
            self,
            "Role",
            role_name=names.promotion_role_name(plan.source, plan.name),
            path=names.promotion_role_path(target),
            assumed_by=iam.AccountPrincipal(source_account).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": plan.source_role_arn(source_account)}}
            ),
            description=f"Assumed by pipeline {plan.source.stack_name(plan.name)} to promote to {target.environment}",
        )
        # By name, never Fn::ImportValue: the trust stack belongs to the manifest that declares the
        # pipeline, and its import would keep the promoted environment's cluster stack from being
        # replaced or destroyed through that environment's own manifest.
        self.cluster_name = names.cluster_name(target)
        self.repository = ecr.Repository.from_repository_name(
            self, "Registry", names.repository_name(target, plan.registry)
        )
        self._allow_copy()
        self._allow_deploy(stack)
        self._allow_release(stack)
        granted = {"fingerprint": plan.fingerprint, "cluster": self.cluster_name}
        self.parameter = ssm.StringParameter(
            self,
            "Trust",
            parameter_name=plan.trust_parameter,
            string_value=json.dumps(granted, separators=(",", ":")),
            description=f"What stack {plan.trust_stack} grants pipeline {plan.source.stack_name(plan.name)}",
        )
        self.parameter.grant_read(self.role)

    def _allow_copy(self) -> None:
        # The copy (image_copy.py) uses the layer upload actions, PutImage, BatchCheckLayerAvailability
        # and BatchGetImage. GetAuthorizationToken and GetDownloadUrlForLayer stay one version, so that a
        # pipeline stack of the previous version (crane, which logs in to push) still promotes while the
        # two stacks, deployed with different credentials, are updated one after the other.
        self.repository.grant_pull_push(self.role)
        self.repository.grant(self.role, "ecr:DescribeImages")

    def _allow_deploy(self, stack: Stack) -> None:
        plan, target = self.plan, self.plan.target
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter"],
                resources=[_parameter_arn(stack, names.service_name_parameter(target, s)) for s in plan.services],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecs:DescribeServices", "ecs:UpdateService"],
                resources=[stack.format_arn(service="ecs", resource="service", resource_name=f"{self.cluster_name}/*")],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], resources=["*"])
        )
        # The services' task and execution roles, which CloudFormation names after their stacks.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[f"arn:{stack.partition}:iam::{stack.account}:role/{target.app}-{target.environment}-*"],
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )

    def _allow_release(self, stack: Stack) -> None:
        """What the pipeline's own release project may do (release.release_project), for this environment."""
        plan, target = self.plan, self.plan.target
        released_tag = names.released_tag_parameter(target, plan.registry)
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter", "ssm:PutParameter"], resources=[_parameter_arn(stack, released_tag)]
            )
        )
        self.repository.grant(self.role, "ecr:BatchGetImage", "ecr:PutImage")
        grants = cast(codebuild.PipelineProject, _RoleGrants(self.role))
        _allow_handoff(grants, stack, target, plan.target_pipeline)
        _allow_follower_registration(grants, stack, target, plan.registry)
