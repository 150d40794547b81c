"""Where a task runs: its capacity provider strategy and, on EC2, its placement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Field

from .base import Model, Rule, matching

FARGATE_PROVIDERS = ("fargate", "fargate_spot")


def fargate_memory_choices(cpu: int) -> list[int]:
    """Valid Fargate task memory (MiB) for a task CPU value, from the Fargate table."""
    ranges = {
        256: [512, 1024, 2048],
        512: list(range(1024, 4097, 1024)),
        1024: list(range(2048, 8193, 1024)),
        2048: list(range(4096, 16385, 1024)),
        4096: list(range(8192, 30721, 1024)),
        8192: list(range(16384, 61441, 4096)),
        16384: list(range(32768, 122881, 8192)),
    }
    return ranges.get(cpu, [])


FARGATE_CPU = (256, 512, 1024, 2048, 4096, 8192, 16384)


def one_provider_to_list(value: Any) -> Any:
    # `capacity: fargate` is shorthand for `[{provider: fargate}]`.
    return [{"provider": value}] if isinstance(value, str) else value


class CapacityItem(Model):
    provider: str = Field(
        description="Required. fargate, fargate_spot, or a key of cluster.ec2 or cluster.managed_instances."
    )
    base: int | None = Field(None, ge=0, le=100000, description="Default: no base; tasks placed here first.")
    weight: int = Field(1, ge=0, le=1000, description="Default: 1. Relative share of tasks beyond the bases.")


class PlacementStrategyItem(Model):
    spread: (
        Annotated[
            str,
            matching(
                r"^(instanceId|host|attribute:[A-Za-z0-9_.\-]+)$",
                "spread field",
                "attribute:ecs.availability-zone or instanceId",
            ),
        ]
        | None
    ) = Field(
        None,
        description="Default: not this kind.",
    )
    binpack: Literal["cpu", "memory"] | None = Field(None, description="Default: not this kind.")
    random: Literal[True] | None = Field(None, description="Default: not this kind.")

    def check(self) -> Iterator[Rule]:
        if len(self.model_fields_set) != 1:
            yield (), "each strategy has exactly one key: spread, binpack or random"


class PlacementConstraintItem(Model):
    member_of: str | None = Field(None, min_length=1, max_length=2000, description="Default: not this kind.")
    distinct_instance: Literal[True] | None = Field(
        None, description="Default: not this kind. Not on daemon services, which run one task per instance."
    )

    def check(self) -> Iterator[Rule]:
        if len(self.model_fields_set) != 1:
            yield (), "each constraint has exactly one key: member_of or distinct_instance"


DEFAULT_PLACEMENT = [{"spread": "attribute:ecs.availability-zone"}, {"binpack": "memory"}]


class Placement(Model):
    strategies: list[PlacementStrategyItem] = Field(
        default_factory=lambda: [PlacementStrategyItem.model_validate(s) for s in DEFAULT_PLACEMENT],
        max_length=5,
        description="Default: spread across attribute:ecs.availability-zone, then binpack memory. At most 5.",
    )
    constraints: list[PlacementConstraintItem] = Field(
        default_factory=list, max_length=10, description="Default: none. At most 10."
    )
