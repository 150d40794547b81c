"""Acknowledgements for promotion: the pipeline's promotion projects and the promoted
environment's trust role."""

from __future__ import annotations

from ..constructs.promotion import PromotionStage
from ..constructs.promotion_trust import PromotionTrust
from ..constructs.release import CFN_EXEC_ROLE, handoff_stacks
from ..names import cluster_name, task_role_path
from .common import account, ack, logical_id, required_default_policy


def acknowledge_promotion_stage(stage: PromotionStage) -> None:
    plan = stage.plan
    source = plan.source
    policy = required_default_policy(stage.role, stage.role, "the promotion role")
    arn = f"arn:{source.partition}"
    project_id = logical_id(stage.project)
    ack(
        policy,
        f"AwsSolutions-IAM5[Resource::{arn}:codebuild:{source.region}:{account(source)}:report-group/<{project_id}>-*]",
        "CodeBuild's test report groups of this one project, which CodeBuild names after the project.",
    )
    ack(
        policy,
        f"AwsSolutions-IAM5[Resource::{arn}:logs:{source.region}:{account(source)}:"
        f"log-group:/aws/codebuild/<{project_id}>:*]",
        "The log streams of this one project's CodeBuild log group.",
    )


def acknowledge_promotion_trust(trust: PromotionTrust) -> None:
    plan = trust.plan
    target = plan.target
    policy = required_default_policy(trust.role, trust.role, "the trust role")
    arn = f"arn:{target.partition}"
    account_id = account(target)
    cluster = cluster_name(target)
    ack(
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "ecr:GetAuthorizationToken, ecs:DescribeTaskDefinition and ecs:RegisterTaskDefinition support no "
        "resource-level permissions; pushing is limited to this environment's one repository of the registry.",
    )
    ack(
        policy,
        f"AwsSolutions-IAM5[Resource::{arn}:ecs:{target.region}:{account_id}:service/{cluster}/*]",
        "The services of this environment's cluster, whatever the names CloudFormation gave them: the promotion "
        "deploys a new task definition revision to the promoted services.",
    )
    ack(
        policy,
        f"AwsSolutions-IAM5[Resource::{arn}:iam::{account_id}:role/{target.app}-{target.environment}-*]",
        "The task and execution roles of this environment's services, which CloudFormation names after their "
        "stacks; passed only to ECS tasks (iam:PassedToService), in the revision the promotion registers.",
    )
    for stack_name in handoff_stacks(target, plan.target_pipeline):
        ack(
            policy,
            f"AwsSolutions-IAM5[Resource::{arn}:cloudformation:{target.region}:{account_id}:stack/{stack_name}/*]",
            f"Stack {stack_name}, whatever the id CloudFormation appended to its ARN: the release step reads which "
            "released tag it recorded and, at its first release, updates it with its previous template.",
        )
    ack(
        policy,
        f"AwsSolutions-IAM5[Resource::{arn}:iam::{account_id}:role/{CFN_EXEC_ROLE}]",
        "The CloudFormation execution role of the CDK bootstrap, passed only to CloudFormation "
        "(iam:PassedToService): the release step's update-stack deploys with the stack's own role.",
    )
    for name in target.release_followers(plan.registry):
        ack(
            policy,
            f"AwsSolutions-IAM5[Resource::{arn}:iam::{account_id}:role{task_role_path(target, name)}*]",
            f"The task and execution roles of scheduled task {name}, passed only to ECS tasks by the release step.",
        )
