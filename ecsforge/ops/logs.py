"""`logs`: a workload's log lines, from the log groups its task definition writes to: the awslogs
group ecsforge creates for each task family, and the CloudWatch output of FireLens
(`logging.firelens` with the cloudwatch or cloudwatch_logs plugin). --follow polls
FilterLogEvents; the pinned botocore has StartLiveTail, but its event stream needs an HTTP/2
connection that botocore's Stubber cannot answer, and polling shows the same lines a little later."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..manifest.models import Manifest
from .aws import OpsError, describe_services, error_code, service_name

FIRELENS_CLOUDWATCH = ("cloudwatch", "cloudwatch_logs")
_SINCE = re.compile(r"^([0-9]+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class LogLine:
    timestamp: int  # milliseconds since the epoch
    group: str
    stream: str
    message: str
    event_id: str

    def format(self) -> str:
        when = datetime.datetime.fromtimestamp(self.timestamp / 1000, datetime.UTC)
        return f"{when:%Y-%m-%dT%H:%M:%S.%f}"[:-3] + f"Z {self.stream} {self.message.rstrip()}"


def parse_since(text: str) -> datetime.timedelta:
    """`10m`, `2h`, `30s`, `1d`."""
    match = _SINCE.match(text.strip())
    if match is None:
        raise ValueError(f"--since {text!r}: give a number and a unit, s, m, h or d (e.g. 10m)")
    return datetime.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def log_groups(definition: Mapping[str, Any]) -> list[str]:
    """The CloudWatch log groups a task definition's containers write to, each once."""
    groups: list[str] = []
    for container in definition.get("containerDefinitions", []):
        configuration = container.get("logConfiguration") or {}
        options = configuration.get("options") or {}
        driver = configuration.get("logDriver")
        group = None
        if driver == "awslogs":
            group = options.get("awslogs-group")
        elif driver == "awsfirelens" and options.get("Name") in FIRELENS_CLOUDWATCH:
            group = options.get("log_group_name")
        if group and group not in groups:
            groups.append(str(group))
    return groups


def task_definition(session: Any, manifest: Manifest, workload: str) -> dict[str, Any]:
    """The task definition a service runs, or the latest revision of a scheduled task's family
    (the one its schedule starts)."""
    ecs = session.client("ecs")
    if workload in manifest.services:
        service = describe_services(session, manifest, {workload: service_name(session, manifest, workload)})[workload]
        reference = str(service["taskDefinition"])
    else:
        reference = manifest.stack_name(workload)  # the family, see constructs/scheduled_task.py
    try:
        answer = ecs.describe_task_definition(taskDefinition=reference)
    except Exception as error:
        if error_code(error) == "ClientException":
            raise OpsError(
                f"task definition {reference} of {workload} is not registered; deploy it (cdk deploy)"
            ) from None
        raise
    definition: dict[str, Any] = answer["taskDefinition"]
    return definition


def _events(logs: Any, group: str, start: int) -> Iterator[LogLine]:
    request: dict[str, Any] = {"logGroupName": group, "startTime": start}
    while True:
        answer = logs.filter_log_events(**request)
        for event in answer.get("events", []):
            yield LogLine(
                int(event["timestamp"]),
                group,
                str(event.get("logStreamName", "")),
                str(event.get("message", "")),
                str(event.get("eventId", "")),
            )
        token = answer.get("nextToken")
        if not token:
            return
        request["nextToken"] = token


def read(logs: Any, groups: Sequence[str], start: int) -> list[LogLine]:
    """Every line of the groups from `start` (ms), oldest first."""
    lines = [line for group in groups for line in _events(logs, group, start)]
    return sorted(lines, key=lambda line: (line.timestamp, line.group, line.event_id))


def follow(
    logs: Any,
    groups: Sequence[str],
    start: int,
    emit: Callable[[LogLine], None],
    sleep: Callable[[], None],
    polls: int | None = None,
) -> None:
    """Print the lines from `start`, then poll for new ones until interrupted (or `polls` polls).
    Each poll starts at the newest time stamp seen, so lines written in that same millisecond
    are read again and skipped by their event id."""
    seen: set[str] = set()
    done = 0
    while True:
        fresh = [line for line in read(logs, groups, start) if line.event_id not in seen]
        for line in fresh:
            emit(line)
        if fresh:
            newest = fresh[-1].timestamp
            at_newest = {line.event_id for line in fresh if line.timestamp == newest}
            seen = seen | at_newest if newest == start else at_newest
            start = newest
        done += 1
        if polls is not None and done >= polls:
            return
        sleep()
