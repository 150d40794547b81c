"""Where tasks run: capacity provider strategy, placement strategies and constraints, read
once from the manifest for services (ECS's types) and scheduled tasks (EventBridge
Scheduler's property types)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_scheduler as scheduler

from .. import names
from ..manifest.models import Manifest
from ..manifest.placement import Placement
from ..manifest.tasks import TaskSpec
from .refs import import_value


@dataclass(frozen=True)
class CapacityShare:
    provider: str  # the capacity provider's name in ECS
    base: int | None
    weight: int


@dataclass(frozen=True)
class Strategy:
    type: str  # spread, binpack or random
    field: str | None


@dataclass(frozen=True)
class Constraint:
    type: str  # memberOf or distinctInstance
    expression: str | None


def capacity_shares(manifest: Manifest, spec: TaskSpec) -> list[CapacityShare]:
    return [CapacityShare(_provider_name(manifest, item.provider), item.base, item.weight) for item in spec.capacity]


def _provider_name(manifest: Manifest, provider: str) -> str:
    if provider in manifest.cluster.managed_instances:
        # Imported: the cluster stack then cannot delete the provider while this workload uses it.
        return import_value(names.name(manifest, names.managed_instances_provider(provider)))
    return names.capacity_provider(manifest, provider)


def strategies(placement: Placement | None) -> list[Strategy]:
    result = []
    for item in placement.strategies if placement else []:
        if item.spread is not None:
            result.append(Strategy("spread", item.spread))
        elif item.binpack is not None:
            result.append(Strategy("binpack", item.binpack))
        else:
            result.append(Strategy("random", None))
    return result


def constraints(placement: Placement | None) -> list[Constraint]:
    return [
        Constraint("memberOf", item.member_of) if item.member_of is not None else Constraint("distinctInstance", None)
        for item in (placement.constraints if placement else [])
    ]


# ECS services


def capacity_strategies(manifest: Manifest, spec: TaskSpec) -> list[ecs.CapacityProviderStrategy]:
    return [
        ecs.CapacityProviderStrategy(capacity_provider=share.provider, base=share.base, weight=share.weight)
        for share in capacity_shares(manifest, spec)
    ]


def placement_strategies(placement: Placement | None) -> list[dict[str, str]]:
    """ECS placement strategies as CloudFormation writes them, in manifest order.

    Written directly: aws-cdk's Python PlacementStrategy.packed_by_memory() renders the
    binpack field as "MEMORY", where ECS documents "memory" and "cpu".
    """
    return [
        {"Type": item.type, "Field": item.field} if item.field is not None else {"Type": item.type}
        for item in strategies(placement)
    ]


def placement_constraints(placement: Placement | None) -> list[ecs.PlacementConstraint]:
    return [
        ecs.PlacementConstraint.member_of(item.expression)
        if item.expression is not None
        else ecs.PlacementConstraint.distinct_instances()
        for item in constraints(placement)
    ]


# EventBridge Scheduler's RunTask parameters


def schedule_capacity(
    manifest: Manifest, spec: TaskSpec
) -> list[scheduler.CfnSchedule.CapacityProviderStrategyItemProperty]:
    return [
        scheduler.CfnSchedule.CapacityProviderStrategyItemProperty(
            capacity_provider=share.provider, base=share.base, weight=share.weight
        )
        for share in capacity_shares(manifest, spec)
    ]


def schedule_strategies(placement: Placement) -> list[scheduler.CfnSchedule.PlacementStrategyProperty]:
    return [
        scheduler.CfnSchedule.PlacementStrategyProperty(type=item.type, field=item.field)
        for item in strategies(placement)
    ]


def schedule_constraints(placement: Placement) -> list[scheduler.CfnSchedule.PlacementConstraintProperty]:
    return [
        scheduler.CfnSchedule.PlacementConstraintProperty(type=item.type, expression=item.expression)
        for item in constraints(placement)
    ]
