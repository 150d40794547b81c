"""`services.*.deployment`: how ECS replaces a service's tasks, and how long that takes."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from .base import Model, Rule, matching
from .promotion import EMAIL

if TYPE_CHECKING:
    from .services import Service

# Modelled on top of bake and step times: starting the new tasks and passing health checks.
DEPLOYMENT_MARGIN_MINUTES = 5
# CloudFormation rejects a canary or linear ECS service whose bake plus step bake times
# exceed 33 hours (its operations time out at 36); see AWS::ECS::Service CanaryConfiguration.
CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES = 33 * 60
# With a Network Load Balancer ECS waits 10 minutes at TEST_TRAFFIC_SHIFT and again at
# PRODUCTION_TRAFFIC_SHIFT (NLB weights take effect late); see "Network Load Balancer
# resources for Amazon ECS blue/green, linear and canary deployments".
NLB_SHIFT_DELAY_MINUTES = 20


class RollbackAlarms(Model):
    http_5xx_percent: int | None = Field(None, ge=1, le=100, description="Default: none. http only.")
    cpu_percent: int | None = Field(None, ge=1, le=100, description="Default: none.")
    memory_percent: int | None = Field(None, ge=1, le=100, description="Default: none.")


# The stages of "Lifecycle hooks for Amazon ECS service deployments" (PRE_PRODUCTION_TRAFFIC_SHIFT
# as CloudFormation's schema has it). ecsforge runs hooks in blue_green, canary and linear
# deployments: a rolling deployment has no test traffic and no production shift.
HookStage = Literal[
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
]
# A pause cannot hold a traffic shift half done ("Pause hooks for Amazon ECS service deployments").
NO_PAUSE_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
# Stages ECS runs again at each production traffic step of a canary (2) or linear deployment.
REPEATED_STAGES = ("PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT")
LAMBDA_ARN = Annotated[
    str,
    matching(
        r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$",
        "Lambda function ARN",
        "arn:aws:lambda:eu-west-1:111111111111:function:smoke-test",
    ),
]
HEADER_NAME = Annotated[
    str, Field(max_length=40), matching(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", "HTTP header name", "x-ecsforge-test")
]


class TestTrafficHeader(Model):
    name: HEADER_NAME = Field(description="Required. The request header that marks test traffic (an ALB condition).")
    # An ALB condition value: up to 128 characters, * and ? are wildcards.
    value: str = Field(min_length=1, max_length=128, description="Required. Its value; * and ? match any characters.")


class TestTraffic(Model):
    header: TestTrafficHeader = Field(description="Required. Requests with this header reach the new revision first.")


class Pause(Model):
    timeout_minutes: int = Field(60, ge=1, le=20160, description="Default: 60. 1..20160 (14 days).")
    on_timeout: Literal["rollback", "continue"] = Field("rollback", description="Default: rollback.")
    notify: list[EMAIL] = Field(
        default_factory=list, description="Default: none. Email addresses told when the deployment waits here."
    )


class Hook(Model):
    stages: list[HookStage] = Field(
        min_length=1, description="Required. ECS lifecycle stages at which the hook runs, valid for the strategy."
    )
    pause: Pause | None = Field(
        None,
        description="Default: none. A PAUSE hook: the deployment waits for `ecsforge continue`. Give this or lambda.",
    )
    lambda_: LAMBDA_ARN | None = Field(
        None,
        alias="lambda",
        description="Default: none. An AWS_LAMBDA hook: ECS invokes this function at each stage. Give this or pause.",
    )
    details: dict[str, Any] | None = Field(
        None, description="Default: none. HookDetails, passed to the Lambda function (lambda hooks only)."
    )

    def check(self) -> Iterator[Rule]:
        if (self.pause is None) == (self.lambda_ is None):
            yield ("stages",), "a hook is either a pause or a lambda; give exactly one of `pause:` and `lambda:`"
        if self.details is not None and self.lambda_ is None:
            yield ("details",), "details are passed to a Lambda function; remove them or add `lambda:`"
        if self.details is not None:
            try:
                json.dumps(self.details, allow_nan=False)
            except (TypeError, ValueError):
                yield (
                    ("details",),
                    "HookDetails is JSON: a date, time or non-finite number is not; write such values in quotes",
                )
        if len(set(self.stages)) != len(self.stages):
            yield ("stages",), "lists a stage twice; list each stage once"
        for index, stage in enumerate(self.stages):
            if self.pause is not None and stage in NO_PAUSE_STAGES:
                after = "POST_TEST_TRAFFIC_SHIFT" if stage == "TEST_TRAFFIC_SHIFT" else "PRE_PRODUCTION_TRAFFIC_SHIFT"
                yield (
                    ("stages", index),
                    f"{stage}: ECS cannot pause a deployment while it shifts traffic; pause at {after} instead",
                )


class Deployment(Model):
    strategy: Literal["rolling", "blue_green", "canary", "linear"] = Field(
        "rolling",
        description="Default: rolling. blue_green, canary and linear are ECS-native and need http or nlb "
        "(tcp or tls), and no discovery or http.stickiness_seconds.",
    )
    minimum_healthy_percent: int | None = Field(None, ge=0, le=100, description="Default: 100 (0 for daemon services).")
    maximum_percent: int | None = Field(None, ge=1, le=200, description="Default: 200 (100 for daemon services).")
    circuit_breaker: bool = Field(True, description="Default: true, with rollback.")
    bake_minutes: int = Field(10, ge=0, le=1440, description="Default: 10. blue_green/canary/linear.")
    canary_percent: int = Field(10, ge=1, le=99, description="Default: 10. canary.")
    # ECS LinearConfiguration takes stepPercent 3.0..100.0.
    linear_step_percent: int = Field(20, ge=3, le=99, description="Default: 20. linear, 3..99.")
    step_minutes: int = Field(5, ge=0, le=1440, description="Default: 5. canary/linear.")
    rollback_alarms: RollbackAlarms | None = Field(None, description="Default: none.")
    test_traffic: TestTraffic | None = Field(
        None,
        description="Default: none. blue_green, canary, linear with http: a test listener rule sends matching "
        "requests to the new revision before production moves (ECS TestListenerRule).",
    )
    hooks: list[Hook] = Field(
        default_factory=list,
        description="Default: none. ECS deployment lifecycle hooks (blue_green, canary, linear), in order.",
    )

    def check(self) -> Iterator[Rule]:
        for index in range(len(self.hooks) if self.strategy == "rolling" else 0):
            yield (
                ("hooks", index, "stages"),
                "ecsforge runs lifecycle hooks in blue_green, canary and linear deployments (a rolling one has "
                "no test traffic or production shift to gate); set strategy to one of them or remove the hook",
            )
        if self.test_traffic is not None and self.strategy == "rolling":
            yield (
                ("test_traffic",),
                "a rolling deployment has no new revision to send test traffic to; set strategy to blue_green, "
                "canary or linear, or remove test_traffic",
            )


def shift_minutes(strategy: str, *, bake_minutes: float, step_minutes: float, linear_step_percent: float) -> int:
    """Bake and step bake minutes of one deployment, added up as CloudFormation does for
    its 33-hour limit: blue_green bakes once after the shift; canary after the canary step
    and again after the rest; linear between each two of its ceil(100 / step) shifts
    (never after the last, which reaches 100 %) and once more at the end. Plain numbers,
    so that `diff` computes the same figure from a template (CloudFormation's StepPercent
    is a double)."""
    if strategy == "rolling":
        return 0
    if strategy == "blue_green":
        return int(bake_minutes)
    if strategy == "canary":
        return int(step_minutes + bake_minutes)
    steps = math.ceil(100 / linear_step_percent) - 1
    return int(steps * step_minutes + bake_minutes)


def production_shifts(strategy: str, linear_step_percent: float) -> int:
    """How many times ECS shifts production traffic: once, twice for canary, once a step for linear."""
    if strategy == "canary":
        return 2
    if strategy == "linear":
        return math.ceil(100 / linear_step_percent)
    return 1


def pause_minutes(strategy: str, pauses: list[tuple[list[str], int]], linear_step_percent: float) -> int:
    """The longest a deployment may wait on its pause hooks, each (stages, timeout): a pause at a
    production traffic stage waits again at each of the strategy's production shifts."""
    shifts = production_shifts(strategy, linear_step_percent)
    return sum(timeout * (shifts if stage in REPEATED_STAGES else 1) for stages, timeout in pauses for stage in stages)


def modelled_minutes(
    strategy: str,
    *,
    bake_minutes: float,
    step_minutes: float,
    linear_step_percent: float,
    nlb: bool,
    paused_minutes: int = 0,
) -> int:
    """The one model of how long a deployment takes, which `validate` (deploy timeouts), `diff`
    and README's "Deployment time" print: bake and step times, plus a margin for starting tasks
    and passing health checks, plus ECS's own waits when it shifts an NLB's traffic, plus the
    longest its pause hooks may wait (pause_minutes)."""
    nlb_delay = NLB_SHIFT_DELAY_MINUTES if nlb and strategy != "rolling" else 0
    shifting = shift_minutes(
        strategy, bake_minutes=bake_minutes, step_minutes=step_minutes, linear_step_percent=linear_step_percent
    )
    return shifting + DEPLOYMENT_MARGIN_MINUTES + nlb_delay + paused_minutes


def service_pause_minutes(deployment: Deployment) -> int:
    pauses = [
        ([str(stage) for stage in hook.stages], hook.pause.timeout_minutes)
        for hook in deployment.hooks
        if hook.pause is not None
    ]
    return pause_minutes(deployment.strategy, pauses, deployment.linear_step_percent)


def traffic_shift_minutes(deployment: Deployment) -> int:
    """Bake and step minutes plus each pause hook's timeout, once: what CloudFormation adds up for its
    33-hour limit ("Total bake time ... exceeds the Cloudformation limit of 33 hours")."""
    pauses = sum(hook.pause.timeout_minutes for hook in deployment.hooks if hook.pause is not None)
    return pauses + shift_minutes(
        deployment.strategy,
        bake_minutes=deployment.bake_minutes,
        step_minutes=deployment.step_minutes,
        linear_step_percent=deployment.linear_step_percent,
    )


def deployment_minutes(service: Service) -> int:
    """How long one deployment of the service is modelled to take (modelled_minutes)."""
    deployment = service.deployment
    return modelled_minutes(
        deployment.strategy,
        bake_minutes=deployment.bake_minutes,
        step_minutes=deployment.step_minutes,
        linear_step_percent=deployment.linear_step_percent,
        nlb=service.nlb is not None,
        paused_minutes=service_pause_minutes(deployment),
    )


def deployment_minutes_explained(service: Service) -> str:
    """What deployment_minutes adds up, in words, for a message."""
    parts = ["its bake and step times", f"plus {DEPLOYMENT_MARGIN_MINUTES} to start tasks and pass health checks"]
    if service.nlb is not None and service.deployment.strategy != "rolling":
        parts.append(f"plus {NLB_SHIFT_DELAY_MINUTES} that ECS waits while it shifts the NLB's traffic")
    paused = service_pause_minutes(service.deployment)
    if paused:
        parts.append(f"plus up to {paused} waiting on its pause hooks (their timeout_minutes)")
    return ", ".join(parts)


def test_rule_priority(production_priority: int) -> int:
    """The test listener rule comes just before its production rule: ALB evaluates the lowest
    priority first, and the test rule (the production conditions plus the header) must match
    before the production rule does. `validate` rejects a collision with any other rule."""
    return production_priority - 1


def gate_rules(service: Service) -> Iterator[Rule]:
    """test_traffic needs the ALB: ECS's test listener rule is an ALB rule (an NLB's is a listener)."""
    if service.deployment.test_traffic is not None and service.http is None:
        yield (
            ("deployment", "test_traffic"),
            "test traffic is routed by a rule of the load balancer's listener; it needs `http` "
            "(an NLB service has none), or remove test_traffic",
        )
