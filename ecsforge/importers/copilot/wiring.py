"""A Worker Service's `subscribe`: SQS queues subscribed to other services' SNS topics."""

from __future__ import annotations

import math
from typing import Any

from . import convert
from .context import Env
from .node import Node


def subscribe(node: Node, env: Env, name: str, spec: dict[str, Any]) -> None:
    block = node.child("subscribe")
    if block is None:
        return
    shared_node = block.child("queue")
    shared = _queue(shared_node, name) if shared_node is not None else {}
    subscriptions: list[dict[str, Any]] = []
    topics = block.child("topics")
    for topic in topics.elements() if topics is not None else ():
        entry = _subscription(topic, env)
        if entry is None:
            continue
        own = topic.peek("queue")
        if own is True or own is False:
            topic.raw("queue")
        if own is True or isinstance(own, dict):
            key = convert.name(f"{name}-{entry['topic']}")
            queue_node = topic.child("queue")
            settings = _queue(queue_node, name) if isinstance(own, dict) and queue_node is not None else {}
            _add_queue(env, spec, key, {**settings, "subscribe": [entry]})
        else:
            subscriptions.append(entry)
    if subscriptions or shared_node is not None:
        _add_queue(env, spec, convert.name(name), {**shared, "subscribe": subscriptions} if subscriptions else shared)
        node.doc.note(
            block.path,
            "approximate",
            f"the queue's URL is in QUEUE_{convert.name(name).upper().replace('-', '_')}_URL "
            "(Copilot's COPILOT_QUEUE_URI is not set); update the code that reads it",
        )


def _add_queue(env: Env, spec: dict[str, Any], key: str, settings: dict[str, Any]) -> None:
    env.section("queues")[key] = settings
    spec.setdefault("access", {}).setdefault("queues", {})[key] = "consume"


def _subscription(topic: Node, env: Env) -> dict[str, Any] | None:
    name, service = topic.text("name"), topic.text("service")
    if name is None or service is None:
        topic.skip(None, "a subscription needs `name` and `service`")
        return None
    key = env.topic_keys.get((service, name))
    if key is None:
        topic.skip(
            None,
            f"no workload {service!r} of this workspace publishes {name!r}; add the topic under `topics` and "
            "subscribe to it by hand",
        )
        return None
    entry: dict[str, Any] = {"topic": key}
    policy = topic.raw("filter_policy")
    if isinstance(policy, dict):
        entry["filter"] = policy
    elif policy is not None:
        topic.skip("filter_policy", "expected a mapping (an SNS filter policy)")
    return entry


def _queue(node: Node, owner: str) -> dict[str, Any]:
    """Copilot's queue settings -> an ecsforge queue (without its subscriptions)."""
    out: dict[str, Any] = {}
    if not isinstance(node.value, dict):
        return out
    retention = node.seconds("retention")
    if retention is not None:
        days = max(1, min(14, math.ceil(retention / 86400)))
        out["retention_days"] = days
        if days * 86400 != retention:
            node.approx("retention", f"SQS retention in whole days for ecsforge: {days}")
    timeout = node.seconds("timeout")
    if timeout is not None:
        out["visibility_timeout_seconds"] = round(timeout)
    if node.has("delay"):
        node.skip("delay", "ecsforge's queues deliver at once; delay messages in the publisher if you rely on it")
    dead = node.child("dead_letter")
    tries = dead.number("tries") if dead is not None else None
    if tries is not None:
        out["dead_letter"] = {"max_receives": tries}
    else:
        node.doc.note(
            node.path,
            "approximate",
            "ecsforge gives every queue a dead-letter queue (after 5 receives); Copilot had none here",
        )
    fifo = node.raw("fifo")
    if fifo is True or isinstance(fifo, dict):
        out["fifo"] = True
        if isinstance(fifo, dict):
            node.approx("fifo", "a FIFO queue; deduplication and throughput settings are not imported")
    return out
