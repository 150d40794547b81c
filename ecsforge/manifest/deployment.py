"""`services.*.deployment`: how ECS replaces a service's tasks, and how long that takes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import Model

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


def modelled_minutes(
    strategy: str, *, bake_minutes: float, step_minutes: float, linear_step_percent: float, nlb: bool
) -> int:
    """The one model of how long a deployment takes, which `validate` (deploy timeouts), `diff`
    and README's "Deployment time" print: bake and step times, plus a margin for starting tasks
    and passing health checks, plus ECS's own waits when it shifts an NLB's traffic."""
    nlb_delay = NLB_SHIFT_DELAY_MINUTES if nlb and strategy != "rolling" else 0
    shifting = shift_minutes(
        strategy, bake_minutes=bake_minutes, step_minutes=step_minutes, linear_step_percent=linear_step_percent
    )
    return shifting + DEPLOYMENT_MARGIN_MINUTES + nlb_delay


def traffic_shift_minutes(deployment: Deployment) -> int:
    return shift_minutes(
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
    )


def deployment_minutes_explained(service: Service) -> str:
    """What deployment_minutes adds up, in words, for a message."""
    parts = ["its bake and step times", f"plus {DEPLOYMENT_MARGIN_MINUTES} to start tasks and pass health checks"]
    if service.nlb is not None and service.deployment.strategy != "rolling":
        parts.append(f"plus {NLB_SHIFT_DELAY_MINUTES} that ECS waits while it shifts the NLB's traffic")
    return ", ".join(parts)
