"""Copilot workload types -> ecsforge services and scheduled tasks."""

from __future__ import annotations

import math
from typing import Any

from ...manifest.services import MAX_RETRIES, MAX_RUN_MINUTES
from . import convert
from .context import Env
from .node import Node
from .tasks import task
from .traffic import http, nlb
from .wiring import subscribe

SERVICE_TYPES = ("Load Balanced Web Service", "Backend Service", "Worker Service")
JOB_TYPES = ("Scheduled Job",)
UNSUPPORTED = {
    "Request-Driven Web Service": (
        "App Runner services have no ECS equivalent; re-create it as a Load Balanced Web Service "
        "(a service with `http`) and import again, or keep it on App Runner"
    ),
    "Static Site": (
        "S3 + CloudFront sites are outside ecsforge; keep the site where it is, or serve it from a container"
    ),
}


def workload(node: Node, env: Env, name: str) -> None:
    kind = node.text("type")
    node.raw("name")
    if kind in UNSUPPORTED:
        node.skip("type", f"{kind}: {UNSUPPORTED[kind]}")
        node.use()
        return
    if kind in JOB_TYPES:
        _job(node, env, name)
    elif kind in SERVICE_TYPES:
        _service(node, env, name, kind)
    else:
        node.skip("type", f"{kind!r} is not a Copilot workload type the importer knows; port it by hand")
        node.use()


def _service(node: Node, env: Env, name: str, kind: str) -> None:
    spec = task(node, env, name)
    service: dict[str, Any] = {}
    for key in ("cpu", "memory", "platform", "ephemeral_storage_gib"):
        if key in spec:
            service[key] = spec.pop(key)
    exec_ = _exec(node)
    if exec_:
        service["exec"] = True
    if kind == "Load Balanced Web Service":
        http(node, env, name, service, spec, public=True)
        nlb(node, env, name, service, spec)
    elif kind == "Backend Service":
        service["discovery"] = True
        http(node, env, name, service, spec, public=False)
    else:
        subscribe(node, env, name, spec)
    consumed = [q for q, how in spec.get("access", {}).get("queues", {}).items() if how == "consume"]
    _count(node, service, consumed)
    if "queue_backlog_per_task" in service.get("scaling", {}):
        _finish_in_flight_messages(node, env, spec, consumed[0])
    _deployment(node, service)
    if spec.get("connect") and service.pop("discovery", None):
        node.doc.note(
            (*node.path, "network", "connect"),
            "approximate",
            f"reachable through Service Connect as http://{name}:<port>; ecsforge registers a service in one of "
            f"Service Connect or Cloud Map DNS, so {name}.<namespace> no longer resolves",
        )
    service.update(spec)
    if "containers" in service:
        service["containers"] = service.pop("containers")
    env.section("services")[name] = service


def _exec(node: Node) -> bool:
    raw = node.peek("exec")
    if isinstance(raw, dict):
        exec_node = node.child("exec")
        assert exec_node is not None
        enable = exec_node.flag("enable")
        return enable is not False
    if raw is not None and not isinstance(raw, bool):
        node.skip("exec", "expected true, false or {enable: ...}")
        return False
    node.raw("exec")
    return bool(raw)


def _finish_in_flight_messages(node: Node, env: Env, spec: dict[str, Any], queue: str) -> None:
    """Scale-in stops a task after its stop timeout; a message received just before needs up to
    the queue's visibility timeout (Fargate waits at most 120 s)."""
    needed = min(env.doc["queues"][queue].get("visibility_timeout_seconds", 30), 120)
    if needed <= 30:
        return
    for container in spec["containers"].values():
        if container.get("essential", True):
            container["stop_timeout_seconds"] = needed
    node.doc.note(
        (*node.path, "count", "queue_delay"),
        "approximate",
        f"essential containers get stop_timeout_seconds: {needed}, so a scale-in lets a message in flight finish",
    )


def _count(node: Node, service: dict[str, Any], consumed: list[str]) -> None:
    raw = node.peek("count")
    if raw is None:
        return
    if isinstance(raw, int) and not isinstance(raw, bool):
        node.raw("count")
        service["count"] = raw
        return
    count = node.child("count")
    if count is None or not isinstance(raw, dict):
        node.skip("count", "expected a number or a mapping")
        return
    spot = count.number("spot")
    if spot is not None:
        service["capacity"] = "fargate_spot"
        service["count"] = spot
    scaling = _range(count, service)
    if scaling is None:
        for key in ("cpu_percentage", "memory_percentage", "requests", "response_time", "queue_delay", "cooldown"):
            if count.has(key):
                count.skip(key, "Copilot scales only within `range`; add a range and import again")
        return
    cooldowns: list[tuple[float | None, float | None]] = []
    targets = _targets(count, service, cooldowns)
    queue = count.child("queue_delay")
    if queue is not None:
        latency = queue.seconds("acceptable_latency")
        processing = queue.seconds("msg_processing_time")
        if len(consumed) != 1:
            queue.skip(
                None,
                f"ecsforge scales on the backlog of the one queue a service consumes; this one consumes "
                f"{len(consumed)}; scale on cpu_percentage instead",
            )
        elif latency and processing:
            # Copilot's own formula: acceptable backlog per task = latency / processing time.
            scaling["queue_backlog_per_task"] = max(1, math.floor(latency / processing))
        else:
            queue.skip(None, "needs acceptable_latency and msg_processing_time as durations")
        _cooldown(queue, cooldowns)
    if targets:
        scaling["target_tracking"] = targets
    _cooldown(count, cooldowns)
    cooldown = _one_cooldown(count, cooldowns)
    if cooldown:
        scaling["cooldown_seconds"] = cooldown
    service["scaling"] = scaling


Cooldowns = list[tuple[float | None, float | None]]  # (scale in, scale out) seconds, as written per metric


def _targets(count: Node, service: dict[str, Any], cooldowns: Cooldowns) -> dict[str, int]:
    targets: dict[str, int] = {}
    for key, target in (("cpu_percentage", "cpu_percent"), ("memory_percentage", "memory_percent"),
                        ("requests", "requests_per_target")):  # fmt: skip
        value = _scaling_value(count, key, cooldowns)
        if value is not None:
            if target == "requests_per_target" and "http" not in service:
                count.skip(key, "request-count scaling needs the service's http; it has none")
                continue
            targets[target] = max(1, round(value))
    if count.has("response_time"):
        count.skip(
            "response_time",
            "ecsforge has no response-time target; scale on requests_per_target or cpu_percent instead",
        )
    return targets


def _one_cooldown(count: Node, cooldowns: Cooldowns) -> dict[str, int]:
    """ecsforge has one cooldown per service; Copilot one per metric."""
    scale_in = [c[0] for c in cooldowns if c[0] is not None]
    scale_out = [c[1] for c in cooldowns if c[1] is not None]
    result = {}
    if scale_in:
        result["scale_in"] = round(max(scale_in))
    if scale_out:
        result["scale_out"] = round(min(scale_out))
    if len(cooldowns) > 1:
        count.approx(None, "ecsforge has one cooldown per service; used the longest scale-in, shortest scale-out")
    return result


def _range(count: Node, service: dict[str, Any]) -> dict[str, Any] | None:
    raw = count.peek("range")
    if raw is None:
        return None
    low = high = spot_from = None
    if isinstance(raw, str) and "-" in raw:
        count.raw("range")
        first, _, second = raw.partition("-")
        if first.strip().isdigit() and second.strip().isdigit():
            low, high = int(first), int(second)
    elif isinstance(raw, dict):
        block = count.child("range")
        assert block is not None
        low, high, spot_from = block.number("min"), block.number("max"), block.number("spot_from")
    if low is None or high is None:
        count.skip("range", "expected `n-m` or {min, max}")
        return None
    if spot_from is not None:
        if spot_from <= 1:
            service["capacity"] = "fargate_spot"
        else:
            service["capacity"] = [
                {"provider": "fargate", "base": spot_from - 1, "weight": 0},
                {"provider": "fargate_spot", "weight": 1},
            ]
            count.approx(
                "range",
                f"spot_from: {spot_from} -> the first {spot_from - 1} tasks on Fargate, every further task on Spot "
                "(a capacity provider strategy, applied by ECS when it places tasks)",
            )
    return {"min": low, "max": high}


def _scaling_value(count: Node, key: str, cooldowns: list[tuple[float | None, float | None]]) -> float | None:
    raw = count.peek(key)
    if raw is None:
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        count.raw(key)
        return float(raw)
    block = count.child(key)
    if block is None or not isinstance(raw, dict) or block.raw("value") is None:
        count.skip(key, "expected a number or {value, cooldown}")
        return None
    value = block.raw("value")
    _cooldown(block, cooldowns)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    block.skip("value", "expected a number")
    return None


def _cooldown(node: Node, cooldowns: list[tuple[float | None, float | None]]) -> None:
    block = node.child("cooldown")
    if block is None:
        return
    scale_in = block.seconds("in")
    scale_out = block.seconds("out")
    cooldowns.append((scale_in, scale_out))


def _deployment(node: Node, service: dict[str, Any]) -> None:
    block = node.child("deployment")
    if block is None:
        return
    rolling = block.text("rolling")
    if rolling == "recreate":
        service["deployment"] = {"minimum_healthy_percent": 0, "maximum_percent": 100}
    elif rolling not in (None, "default"):
        block.skip("rolling", "expected default or recreate")
    alarms = block.peek("rollback_alarms")
    if isinstance(alarms, list):
        block.skip(
            "rollback_alarms",
            "ecsforge creates its own rollback alarms (cpu_percent, memory_percent, http_5xx_percent)",
        )
    elif isinstance(alarms, dict):
        alarm_node = block.child("rollback_alarms")
        assert alarm_node is not None
        result = {}
        for key, target in (("cpu_utilization", "cpu_percent"), ("memory_utilization", "memory_percent")):
            value = alarm_node.peek(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                alarm_node.raw(key)
                result[target] = max(1, min(100, round(value)))
            elif value is not None:
                alarm_node.skip(key, "expected a percentage")
        if alarm_node.has("messages_delayed"):
            alarm_node.skip("messages_delayed", "ecsforge has no queue-delay rollback alarm; watch the queue instead")
        if result:
            service.setdefault("deployment", {})["rollback_alarms"] = result


def _job(node: Node, env: Env, name: str) -> None:
    spec = task(node, env, name)
    trigger = node.child("on")
    expression = None
    if trigger is not None:
        text = trigger.text("schedule")
        if text is not None:
            expression, why = convert.schedule(text)
            if expression is None:
                trigger.skip("schedule", why or "no schedule")
            elif why:
                trigger.approx("schedule", why)
    if expression is None:
        if trigger is None:
            node.skip(None, "a Scheduled Job needs `on.schedule`; add one and import again")
        return
    _job_limits(node, spec)
    for key in ("count", "exec"):
        if node.has(key):
            node.skip(key, "not used by Scheduled Jobs")
    env.section("scheduled_tasks")[name] = {"schedule": expression, **spec}


def _job_limits(node: Node, spec: dict[str, Any]) -> None:
    """`timeout` and `retries`: both run the job through a state machine, as in Copilot."""
    seconds = node.seconds("timeout")
    if seconds is not None:
        minutes = max(1, min(MAX_RUN_MINUTES, math.ceil(seconds / 60)))
        spec["timeout_minutes"] = minutes
        node.approx(
            "timeout",
            f"timeout_minutes: {minutes}; Copilot's limit covers all attempts together, ecsforge's each run "
            "(and whole minutes, at most a week)",
        )
    retries = node.number("retries")
    if retries is not None:
        spec["retries"] = max(0, min(MAX_RETRIES, retries))
        if spec["retries"] != retries:
            node.approx("retries", f"{retries} became {spec['retries']}: ecsforge retries 0 to {MAX_RETRIES} times")
