"""Acknowledgements for the runtime wiring of a task: X-Ray tracing."""

from __future__ import annotations

from ..constructs.task_runtime import TaskRuntime
from .common import ack, resource


def acknowledge_task_runtime(runtime: TaskRuntime) -> None:
    if runtime.xray_policy is not None:
        ack(
            resource(runtime.xray_policy),
            "AwsSolutions-IAM5[Resource::*]",
            "tracing: xray. This policy holds one statement: xray:PutTraceSegments, PutTelemetryRecords, "
            "GetSamplingRules, GetSamplingTargets and GetSamplingStatisticSummaries, which X-Ray authorizes on "
            "no resource narrower than *; it replaces the managed AWSXrayWriteOnlyAccess (IAM4).",
        )
