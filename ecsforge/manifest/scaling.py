"""`services.*.scaling`: target tracking, steps and schedules, and the cron/rate rules
they share with scheduled tasks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from .base import Model, Rule, reject

MAX_TASKS_PER_SERVICE = 1000


class TargetTracking(Model):
    cpu_percent: int | None = Field(None, ge=1, le=100, description="Default: none.")
    memory_percent: int | None = Field(None, ge=1, le=100, description="Default: none.")
    requests_per_target: int | None = Field(None, ge=1, le=1000000, description="Default: none. http only.")


class ScaleOutStep(Model):
    at: int = Field(ge=1, le=100, description="Required. Percent at which this step starts.")
    add: int = Field(ge=1, le=1000, description="Required. Tasks to add.")


class ScaleInStep(Model):
    below: int = Field(ge=1, le=100, description="Required. Percent below which this step applies.")
    remove: int = Field(ge=1, le=1000, description="Required. Tasks to remove.")


class StepScaling(Model):
    metric: Literal["cpu", "memory"] = Field(description="Required. cpu or memory utilization.")
    scale_out: list[ScaleOutStep] = Field(min_length=1, description="Required. Ascending thresholds.")
    scale_in: list[ScaleInStep] = Field(default_factory=list, description="Default: no scale-in steps.")

    def check(self) -> Iterator[Rule]:
        for index in range(1, len(self.scale_out)):
            if self.scale_out[index].at <= self.scale_out[index - 1].at:
                yield (
                    ("scale_out", index, "at"),
                    (
                        f"{self.scale_out[index].at} is not above the previous step "
                        f"({self.scale_out[index - 1].at}); list scale_out thresholds in ascending order"
                    ),
                )
        for index in range(1, len(self.scale_in)):
            if self.scale_in[index].below >= self.scale_in[index - 1].below:
                yield (
                    ("scale_in", index, "below"),
                    (
                        f"{self.scale_in[index].below} is not below the previous step "
                        f"({self.scale_in[index - 1].below}); list scale_in thresholds in descending order"
                    ),
                )
        lowest = min(step.at for step in self.scale_out)
        for index, step in enumerate(self.scale_in):
            if step.below >= lowest:
                yield (
                    ("scale_in", index, "below"),
                    (f"{step.below} is not below the lowest scale_out threshold ({lowest}); lower it"),
                )


@cache
def _zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def _timezone(value: str) -> str:
    if value not in _zones():
        raise reject(f"{value!r} is not an IANA time zone; write it like Europe/Berlin or UTC")
    return value


TimeZoneName = Annotated[str, AfterValidator(_timezone)]


CRON_FIELDS = 6
RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


def cron_problem(fields: str) -> str | None:
    """What AWS rejects in six cron fields that the field count does not show."""
    parts = fields.split()
    if len(parts) != CRON_FIELDS:
        return None
    day_of_month, day_of_week = parts[2], parts[4]
    if day_of_month != "?" and day_of_week != "?":
        return (
            f"{fields!r} sets both day-of-month ({day_of_month}) and day-of-week ({day_of_week}); AWS needs one "
            'of them to be ?, e.g. "0 8 ? * MON-FRI *"'
        )
    return None


def rate_problem(expression: str) -> str | None:
    match = RATE.match(expression)
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        return f"{expression!r}: a rate runs at least every 1 {unit.rstrip('s')}; use 1 or more"
    if (value == 1) == unit.endswith("s"):
        right = unit.rstrip("s") if value == 1 else unit + "s"
        return f"{expression!r}: AWS wants the singular for 1 and the plural otherwise; write rate({value} {right})"
    return None


class ScheduledScaling(Model):
    cron: str = Field(description='Required. Six fields, e.g. "0 8 ? * MON-FRI *".')
    timezone: TimeZoneName = Field("UTC", description="Default: UTC. An IANA time zone.")
    min: int | None = Field(None, ge=0, le=MAX_TASKS_PER_SERVICE, description="Default: unchanged.")
    max: int | None = Field(None, ge=0, le=MAX_TASKS_PER_SERVICE, description="Default: unchanged.")

    def check(self) -> Iterator[Rule]:
        if re.match(r"^\s*(cron|rate|at)\(", self.cron):
            yield ("cron",), f'{self.cron!r}: write only the six fields, without cron(...), e.g. "0 8 ? * MON-FRI *"'
            return
        problem = cron_problem(self.cron)
        if problem:
            yield ("cron",), problem
        if len(self.cron.split()) != CRON_FIELDS:
            yield (
                ("cron",),
                (
                    f"{self.cron!r} has {len(self.cron.split())} fields; write six: minutes hours day-of-month "
                    'month day-of-week year, e.g. "0 8 ? * MON-FRI *"'
                ),
            )
        if self.min is None and self.max is None:
            yield (), "a schedule changes min, max or both; give at least one"
        if self.min is not None and self.max is not None and self.min > self.max:
            yield ("min",), f"{self.min} is above max ({self.max}); lower min or raise max"


class Cooldowns(Model):
    scale_in: int = Field(60, ge=0, le=86400, description="Default: 60 seconds.")
    scale_out: int = Field(60, ge=0, le=86400, description="Default: 60 seconds.")


class Scaling(Model):
    min: int = Field(ge=0, le=MAX_TASKS_PER_SERVICE, description="Required. Fewest tasks.")
    max: int = Field(ge=1, le=MAX_TASKS_PER_SERVICE, description="Required. Most tasks (at most 1000).")
    target_tracking: TargetTracking | None = Field(None, description="Default: none.")
    step_scaling: list[StepScaling] = Field(
        default_factory=list, max_length=10, description="Default: none. At most 10 (two policies each)."
    )
    schedules: list[ScheduledScaling] = Field(
        default_factory=list, max_length=200, description="Default: none. At most 200 per service."
    )
    cooldown_seconds: Cooldowns = Field(default_factory=Cooldowns, description="Default: 60 s each way.")
    queue_backlog_per_task: int | None = Field(
        None,
        ge=1,
        le=1000000,
        description="Default: none. Target tracking on visible messages per running task of the one queue "
        "this service consumes; allows min: 0.",
    )

    def check(self) -> Iterator[Rule]:
        if self.min > self.max:
            yield ("min",), f"{self.min} is above max ({self.max}); lower min or raise max"
