"""Acknowledgements for the runtime wiring of a task: X-Ray tracing, the regional log router image."""

from __future__ import annotations

from ..constructs.task_runtime import TaskRuntime
from ..manifest.runtime import LOG_ROUTER_REGIONAL_REPOSITORY
from .common import ack, required_default_policy, resource


def acknowledge_task_runtime(runtime: TaskRuntime) -> None:
    if runtime.xray_policy is not None:
        ack(
            resource(runtime.xray_policy),
            "AwsSolutions-IAM5[Resource::*]",
            "tracing: xray. This policy holds one statement: xray:PutTraceSegments, PutTelemetryRecords, "
            "GetSamplingRules, GetSamplingTargets and GetSamplingStatisticSummaries, which X-Ray authorizes on "
            "no resource narrower than *; it replaces the managed AWSXrayWriteOnlyAccess (IAM4).",
        )
    if runtime.regional_log_router:
        manifest = runtime.manifest
        policy = required_default_policy(runtime.definition.execution_role, runtime.definition, "the execution role")
        ack(
            policy,
            f"AwsSolutions-IAM5[Resource::arn:{manifest.partition}:ecr:{manifest.region}:*:repository/"
            f"{LOG_ROUTER_REGIONAL_REPOSITORY}]",
            "The FireLens log router without NAT gateways: AWS for Fluent Bit from AWS's own repository in "
            "Amazon ECR of this region, whose account AWS publishes per region only at deploy time (SSM "
            f"/aws/service/{LOG_ROUTER_REGIONAL_REPOSITORY}/<version>); pull actions on that one repository name.",
        )
        ack(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, needed to pull the log router's image from Amazon ECR, supports no "
            "resource-level permissions; the pull itself is limited to the aws-for-fluent-bit repository.",
        )
