"""`services` and `scheduled_tasks` of the manifest (contract v1).

Rules that need only the service live here; rules that need the rest of the manifest
(registries, cluster providers, other services) are in checks.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag

from .base import DeployedMayBreak, Rule
from .connect import Connect, connect_shape
from .deployment import CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES, Deployment, gate_rules, traffic_shift_minutes
from .http import Http
from .nlb import Nlb, service_traffic_rules
from .scaling import CRON_FIELDS, MAX_TASKS_PER_SERVICE, RATE, Scaling, TimeZoneName, cron_problem, rate_problem
from .tasks import TaskSpec


class Service(TaskSpec):
    count: int | None = Field(
        None, ge=0, le=MAX_TASKS_PER_SERVICE, description="Default: scaling.min when scaling is set, else 1."
    )
    scheduling: Literal["replica", "daemon"] = Field(
        "replica", description="Default: replica. daemon: one task per EC2 instance (EC2 only, no count, no scaling)."
    )
    exec: bool = Field(False, description="Default: false, ECS Exec off.")
    http: Http | None = Field(None, description="Default: not load balanced.")
    discovery: bool = Field(
        False, description="Default: false. true: <service>.<namespace> in Cloud Map (rolling services only)."
    )
    deployment: Deployment = Field(default_factory=Deployment, description="Default: rolling, as below.")
    scaling: Scaling | None = Field(None, description="Default: a fixed count.")
    nlb: Nlb | None = Field(None, description="Default: none. A Network Load Balancer of this service's own.")
    connect: Annotated[
        Annotated[bool, Tag("(value)")] | Annotated[Connect, Tag("(mapping)")], Discriminator(connect_shape)
    ] = Field(
        False,
        description="Default: false. true: Service Connect, reachable as http://<service>:<port> from every "
        "service with connect; needs cluster.service_connect. A mapping: Service Connect with `tls` and "
        "`access_logs` (below).",
    )

    @property
    def desired_count(self) -> int:
        assert self.count is not None or self.scheduling == "daemon"
        return self.count or 0

    @property
    def http_container(self) -> str | None:
        if self.http is None:
            return None
        return self.http.container or next((n for n, c in self.containers.items() if c.port), None)

    def resolve(self) -> None:
        super().resolve()
        daemon_defaults = self.scheduling == "daemon" and self.placement is not None
        if daemon_defaults and "strategies" not in self.placement.model_fields_set:  # type: ignore[union-attr]
            self.placement.strategies = []  # type: ignore[union-attr]  # ECS takes no strategies for daemons
        if self.scheduling == "replica" and self.count is None:
            self.count = self.scaling.min if self.scaling else 1
        deployment = self.deployment
        daemon = self.scheduling == "daemon"
        if deployment.minimum_healthy_percent is None:
            deployment.minimum_healthy_percent = 0 if daemon else 100
        if deployment.maximum_percent is None:
            deployment.maximum_percent = 100 if daemon else 200

    def check(self) -> Iterator[Rule]:
        yield from super().check()
        yield from self._check_http()
        yield from self._check_discovery()
        yield from self._check_scheduling()
        yield from self._check_deployment()
        yield from self._check_traffic_shift()
        yield from self._check_request_scaling()
        yield from service_traffic_rules(self)
        yield from gate_rules(self)

    def warnings(self) -> Iterator[Rule]:
        yield from super().warnings()
        if self.exec:
            for name, container in self.containers.items():
                if container.readonly_root_filesystem:
                    yield (
                        ("containers", name, "readonly_root_filesystem"),
                        (
                            "true, with exec: true: ECS Exec runs an SSM agent inside the container, which needs a "
                            "writable root file system, so `aws ecs execute-command` cannot open a session in "
                            f"{name!r}; set readonly_root_filesystem: false on the container you need a shell in, "
                            "or turn exec off"
                        ),
                    )
        if self.scaling is not None and "count" in self.model_fields_set and self.count != self.scaling.min:
            yield (
                ("count",),
                (
                    f"{self.count}: with scaling, Application Auto Scaling owns the running count: it keeps it "
                    f"between scaling.min ({self.scaling.min}) and max, and deployments leave it as it is, so count "
                    "is never applied; raise scaling.min instead, or remove count"
                ),
            )

    def _check_request_scaling(self) -> Iterator[Rule]:
        tracking = self.scaling.target_tracking if self.scaling else None
        strategy = self.deployment.strategy
        if self.http is None or tracking is None or not tracking.requests_per_target or strategy == "rolling":
            return
        yield (
            ("scaling", "target_tracking", "requests_per_target"),
            (
                f"{tracking.requests_per_target}: requests per target are counted on one target group, but a "
                f"{strategy} deployment moves production to the other group, and ECS does not support "
                "ALBRequestCountPerTarget scaling with these deployments; scale on cpu_percent or memory_percent "
                "instead, or use strategy: rolling"
            ),
        )

    def _check_http(self) -> Iterator[Rule]:
        needs_http: list[tuple[tuple[str, ...], str]] = []
        if self.deployment.strategy != "rolling" and self.nlb is None:
            needs_http.append((("deployment", "strategy"), f"{self.deployment.strategy!r}"))
        if self.scaling and self.scaling.target_tracking and self.scaling.target_tracking.requests_per_target:
            needs_http.append((("scaling", "target_tracking", "requests_per_target"), "requests_per_target"))
        alarms = self.deployment.rollback_alarms
        if alarms and alarms.http_5xx_percent:
            needs_http.append((("deployment", "rollback_alarms", "http_5xx_percent"), "http_5xx_percent"))
        if self.http is None:
            for path, what in needs_http:
                # Traffic shifting also works on the service's own NLB; the rest needs the ALB.
                add = "`http` or `nlb`," if path == ("deployment", "strategy") else "`http`"
                yield path, f"{what} needs the service to be load balanced; add {add} or remove it"
            return
        name = self.http_container
        if name is None:
            yield ("http",), "no container has a port for the load balancer; give a container a `port`"
        elif name not in self.containers:
            yield (
                ("http", "container"),
                f"{name!r} is not a container of this service; use one of {', '.join(self.containers)}",
            )
        elif self.containers[name].port is None:
            yield ("http", "container"), f"{name!r} has no port; give it a `port` for the load balancer"
        check_port = self.http.health_check.port
        if check_port is not None and self.network_mode != "awsvpc":
            yield (
                ("http", "health_check", "port"),
                f"{check_port}: only awsvpc tasks have a port of their own for a health check (this task uses "
                f"{self.network_mode}, where instances share ports); remove it, or use network_mode: awsvpc",
            )
        if self.network_mode == "host" and name in self.containers:
            container = self.containers[name]
            if container.host_port not in (None, container.port):
                yield ("containers", name, "host_port"), "in host mode the host port is the container port; remove it"

    def _check_discovery(self) -> Iterator[Rule]:
        if self.discovery and self.network_mode != "awsvpc" and not any(c.port for c in self.containers.values()):
            yield (
                ("discovery",),
                (
                    f"true, but in {self.network_mode} mode Cloud Map publishes SRV records, which need a port; "
                    "give a container a `port`"
                ),
            )

    def _check_traffic_shift(self) -> Iterator[Rule]:
        """What a blue_green, canary or linear deployment cannot shift: ECS moves the load balancer's
        traffic from the old target group to the new one, nothing else."""
        strategy = self.deployment.strategy
        if strategy == "rolling":
            return
        if self.http is not None and self.http.stickiness_seconds:
            yield (
                ("http", "stickiness_seconds"),
                DeployedMayBreak(
                    f"{self.http.stickiness_seconds}, with strategy {strategy!r}: the load balancer cookie binds a "
                    "client to a target of one target group, while the deployment moves traffic to the other group "
                    "by weight, so a sticky session either stays on the old tasks or changes version mid-session, "
                    "and fails when ECS stops the old tasks; keep session state outside the tasks and set "
                    "stickiness_seconds: 0, or use strategy: rolling"
                ),
            )
        if self.discovery:
            yield (
                ("discovery",),
                DeployedMayBreak(
                    f"true, with strategy {strategy!r}: Cloud Map answers with every running task, so clients of "
                    f"<service>.<namespace> reach the new tasks as soon as they start, before any traffic shift, "
                    "and ECS never shifts them; remove discovery (callers use the load balancer or Service Connect: "
                    "connect: true), or use strategy: rolling"
                ),
            )

    def _check_scheduling(self) -> Iterator[Rule]:
        if self.scheduling != "daemon":
            if self.scaling and self.count is not None and not self.scaling.min <= self.count <= self.scaling.max:
                yield (
                    ("count",),
                    (
                        f"{self.count} is outside scaling min..max ({self.scaling.min}..{self.scaling.max}); "
                        "change count or the bounds"
                    ),
                )
            return
        if self.on_fargate:
            yield ("scheduling",), "'daemon' places one task per EC2 instance; use EC2 capacity or replica"
        for name, container in self.containers.items():
            if container.image.released:
                # A replica service waits at 0 tasks for the first release; a daemon cannot.
                yield (
                    ("containers", name, "image"),
                    (
                        f"{{registry: {container.image.registry}}} follows the pipeline's releases, but a daemon "
                        "starts on every instance at once, before any release exists; pin a tag "
                        f"({{registry: {container.image.registry}, tag: ...}}) or use a plain image reference"
                    ),
                )
        if "count" in self.model_fields_set:
            yield ("count",), "a daemon service runs one task per instance; remove count"
        if self.scaling is not None:
            yield ("scaling",), "a daemon service runs one task per instance; remove scaling"
        for index, constraint in enumerate(self.placement.constraints if self.placement else []):
            if constraint.distinct_instance:
                yield (
                    ("placement", "constraints", index, "distinct_instance"),
                    DeployedMayBreak(
                        "true on a daemon service: ECS already runs exactly one task of a daemon on each instance "
                        "that meets the constraints, so this one constrains nothing; remove it (member_of chooses "
                        "the instances)"
                    ),
                )
        if self.placement is not None and "strategies" in self.placement.model_fields_set and self.placement.strategies:
            yield ("placement", "strategies"), "daemon services take no placement strategies; use constraints only"

    def _check_deployment(self) -> Iterator[Rule]:
        baking = traffic_shift_minutes(self.deployment)
        if baking > CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES:
            strategy = self.deployment.strategy
            also = ", or raise linear_step_percent" if strategy == "linear" else ""
            pauses = " and pause hooks" if any(hook.pause for hook in self.deployment.hooks) else ""
            lower = ", or the pause hooks' timeout_minutes" if pauses else ""
            yield (
                ("deployment", "strategy"),
                (
                    f"{strategy!r} with these bake_minutes and step_minutes{pauses} bakes {baking} minutes per "
                    f"deployment; CloudFormation rejects an ECS service that bakes longer than "
                    f"{CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES} minutes (33 hours): lower bake_minutes or "
                    f"step_minutes{also}{lower}"
                ),
            )
        low = self.deployment.minimum_healthy_percent
        high = self.deployment.maximum_percent
        assert low is not None and high is not None
        if low > high:
            yield ("deployment", "minimum_healthy_percent"), (f"{low} is above maximum_percent ({high}); lower it")
            return
        if self.scheduling == "daemon":
            if high != 100:
                yield ("deployment", "maximum_percent"), f"{high}: daemon services deploy with 100; remove it"
            return
        count = self.desired_count
        # ECS keeps ceil(count*min%) tasks running and at most floor(count*max%): with no
        # room between the two it can neither start a new task nor stop an old one.
        if count and (count * high) // 100 - -((-count * low) // 100) < 1:
            yield (
                ("deployment", "maximum_percent"),
                (
                    f"{high} with minimum_healthy_percent {low} and {count} task(s) leaves no room to replace a "
                    "task, so a deployment could never proceed; raise maximum_percent or lower the minimum"
                ),
            )


# A week: a scheduled job that runs longer is a service; a larger value is most likely
# seconds written as minutes (Step Functions itself would wait up to a year).
MAX_RUN_MINUTES = 7 * 24 * 60
MAX_RETRIES = 10


class ScheduledTask(TaskSpec):
    schedule: str = Field(description='Required. "cron(...)" or "rate(...)" (EventBridge Scheduler).')
    timezone: TimeZoneName = Field("UTC", description="Default: UTC. An IANA time zone.")
    count: int = Field(1, ge=1, le=10, description="Default: 1 task per run (at most 10).")
    timeout_minutes: int | None = Field(
        None,
        ge=1,
        le=MAX_RUN_MINUTES,
        description=(
            "Default: none, a run may last as long as it likes. A run still going after this long is stopped "
            "(at most 10080, a week). With it or retries, a Step Functions state machine runs the task."
        ),
    )
    retries: int = Field(
        0,
        ge=0,
        le=MAX_RETRIES,
        description=(
            "Default: 0. A failed run (a task that stopped with an error) is started again, up to this many times."
        ),
    )

    @property
    def supervised(self) -> bool:
        """A state machine runs the task: EventBridge Scheduler can neither stop a run nor retry a failed one."""
        return self.timeout_minutes is not None or self.retries > 0

    def check(self) -> Iterator[Rule]:
        yield from super().check()
        cron = re.fullmatch(r"cron\((.+)\)", self.schedule)
        rate = RATE.fullmatch(self.schedule)
        problem = rate_problem(self.schedule) if rate else cron_problem(cron.group(1)) if cron else None
        if problem:
            yield ("schedule",), problem
        if cron and len(cron.group(1).split()) != CRON_FIELDS:
            yield (
                ("schedule",),
                (f"{self.schedule!r}: cron(...) takes six fields: minutes hours day-of-month month day-of-week year"),
            )
        elif not cron and not rate:
            yield (
                ("schedule",),
                (
                    f"{self.schedule!r} is neither cron(...) nor rate(...); write e.g. cron(0 3 ? * TUE,THU *) "
                    "or rate(15 minutes)"
                ),
            )
