"""`python -m ecsforge logs MANIFEST WORKLOAD [--since 10m] [--follow]` against recorded
CloudWatch Logs answers: the groups come from the task definition the workload runs."""

from __future__ import annotations

import datetime

import pytest

from ecsforge.ops import commands
from ecsforge.ops.logs import log_groups, parse_since

from .ops_stubs import (
    ACCOUNT,
    CLUSTER,
    ECS_NAMES,
    MANIFEST,
    NOW,
    FakeSession,
    context,
    stub_service_name,
    worker_service,
)

FAMILY_GROUP = "shop-prod-service-worker-TaskLogs0A1B2C3D-xYz"
FIRELENS_GROUP = "/shop/prod/worker"
TEN_MINUTES_AGO = int((NOW - datetime.timedelta(minutes=10)).timestamp() * 1000)
WORKER_DEFINITION = {
    "taskDefinitionArn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/shop-prod-worker:3",
    "family": "shop-prod-worker",
    "containerDefinitions": [
        {
            "name": "worker",
            "logConfiguration": {
                "logDriver": "awsfirelens",
                "options": {
                    "Name": "cloudwatch_logs",
                    "region": "eu-west-1",
                    "log_group_name": FIRELENS_GROUP,
                    "log_stream_prefix": "worker-",
                },
            },
        },
        {
            "name": "log_router",
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": FAMILY_GROUP, "awslogs-stream-prefix": "log-router"},
            },
        },
    ],
}


def event(seconds: int, message: str, event_id: str, stream: str = "worker-abc") -> dict:
    return {
        "timestamp": int(NOW.timestamp() * 1000) + seconds * 1000,
        "message": message,
        "eventId": event_id,
        "logStreamName": stream,
    }


def stub_worker_definition(session: FakeSession) -> None:
    stub_service_name(session, "worker")
    ecs = session.stubs["ecs"]
    ecs.add_response(
        "describe_services", {"services": [worker_service()]}, {"cluster": CLUSTER, "services": [ECS_NAMES["worker"]]}
    )
    ecs.add_response(
        "describe_task_definition",
        {"taskDefinition": WORKER_DEFINITION},
        {"taskDefinition": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/shop-prod-worker:3"},
    )


def test_the_groups_are_the_awslogs_group_and_firelens_cloudwatch_output():
    assert log_groups(WORKER_DEFINITION) == [FIRELENS_GROUP, FAMILY_GROUP]
    other = {
        "containerDefinitions": [{"logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "datadog"}}}]
    }
    assert log_groups(other) == []


def test_logs_since_reads_every_page_of_every_group_oldest_first():
    session = FakeSession()
    stub_worker_definition(session)
    logs = session.stubs["logs"]
    logs.add_response(
        "filter_log_events",
        {"events": [event(-300, "tick 1", "1")], "nextToken": "page-2"},
        {"logGroupName": FIRELENS_GROUP, "startTime": TEN_MINUTES_AGO},
    )
    logs.add_response(
        "filter_log_events",
        {"events": [event(-60, "tick 3", "3")]},
        {"logGroupName": FIRELENS_GROUP, "startTime": TEN_MINUTES_AGO, "nextToken": "page-2"},
    )
    logs.add_response(
        "filter_log_events",
        {"events": [event(-120, "[INFO] fluent bit started", "2", "log-router/log_router/abc")]},
        {"logGroupName": FAMILY_GROUP, "startTime": TEN_MINUTES_AGO},
    )
    ctx = context(session)
    assert commands.logs(MANIFEST, "worker", since="10m", follow=False, interval=5, context=ctx) == 0
    session.done()
    assert ctx.out.getvalue() == (
        "2026-12-05T19:55:00.000Z worker-abc tick 1\n"
        "2026-12-05T19:58:00.000Z log-router/log_router/abc [INFO] fluent bit started\n"
        "2026-12-05T19:59:00.000Z worker-abc tick 3\n"
    )


def test_a_scheduled_task_reads_the_latest_revision_of_its_family():
    session = FakeSession()
    definition = {
        "family": "shop-prod-nightly",
        "containerDefinitions": [
            {"name": "job", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "nightly-group"}}}
        ],
    }
    session.stubs["ecs"].add_response(
        "describe_task_definition", {"taskDefinition": definition}, {"taskDefinition": "shop-prod-nightly"}
    )
    two_hours_ago = int((NOW - datetime.timedelta(hours=2)).timestamp() * 1000)
    session.stubs["logs"].add_response(
        "filter_log_events",
        {"events": [event(-3600, "done", "9", "job/job/t1")]},
        {"logGroupName": "nightly-group", "startTime": two_hours_ago},
    )
    ctx = context(session)
    assert commands.logs(MANIFEST, "nightly", since="2h", follow=False, interval=5, context=ctx) == 0
    session.done()
    assert ctx.out.getvalue() == "2026-12-05T19:00:00.000Z job/job/t1 done\n"
    assert "GetParameter" not in session.calls


def test_follow_polls_from_the_newest_line_and_prints_each_line_once():
    session = FakeSession()
    stub_worker_definition(session)
    logs = session.stubs["logs"]
    first, second = event(-10, "tick 1", "1"), event(-10, "tick 2", "2")
    newest = first["timestamp"]
    for group, answer in ((FIRELENS_GROUP, [first, second]), (FAMILY_GROUP, [])):
        logs.add_response(
            "filter_log_events", {"events": answer}, {"logGroupName": group, "startTime": TEN_MINUTES_AGO}
        )
    # The next poll starts at the newest time stamp: lines of that millisecond come again.
    later = event(5, "tick 3", "3")
    for group, answer in ((FIRELENS_GROUP, [first, second, later]), (FAMILY_GROUP, [])):
        logs.add_response("filter_log_events", {"events": answer}, {"logGroupName": group, "startTime": newest})
    for group, answer in ((FIRELENS_GROUP, [later]), (FAMILY_GROUP, [])):
        logs.add_response(
            "filter_log_events", {"events": answer}, {"logGroupName": group, "startTime": later["timestamp"]}
        )
    slept = []
    ctx = context(session, sleep=slept.append)
    assert commands.logs(MANIFEST, "worker", since="10m", follow=True, interval=3, context=ctx, polls=3) == 0
    session.done()
    assert [line.split(" ", 2)[2] for line in ctx.out.getvalue().splitlines()] == ["tick 1", "tick 2", "tick 3"]
    assert slept == [3, 3]


def test_ctrl_c_ends_follow_cleanly():
    session = FakeSession()
    stub_worker_definition(session)
    for group in (FIRELENS_GROUP, FAMILY_GROUP):
        session.stubs["logs"].add_response(
            "filter_log_events", {"events": []}, {"logGroupName": group, "startTime": TEN_MINUTES_AGO}
        )

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    ctx = context(session, sleep=interrupted)
    assert commands.logs(MANIFEST, "worker", since="10m", follow=True, interval=3, context=ctx) == 0
    session.done()


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30s", datetime.timedelta(seconds=30)),
        ("10m", datetime.timedelta(minutes=10)),
        ("1d", datetime.timedelta(days=1)),
    ],
)
def test_since(text, delta):
    assert parse_since(text) == delta


@pytest.mark.parametrize("text", ["10", "ten minutes", "-5m", "5w"])
def test_a_bad_since_exits_1_before_any_aws_call(text):
    session = FakeSession()
    ctx = context(session)
    assert commands.logs(MANIFEST, "worker", since=text, follow=False, interval=5, context=ctx) == 1
    assert "give a number and a unit" in ctx.err.getvalue() and session.regions == []


def test_an_unregistered_scheduled_task_says_to_deploy():
    session = FakeSession()
    session.stubs["ecs"].add_client_error(
        "describe_task_definition", "ClientException", "Unable to describe task definition."
    )
    ctx = context(session)
    assert commands.logs(MANIFEST, "nightly", since="10m", follow=False, interval=5, context=ctx) == 2
    assert "task definition shop-prod-nightly of nightly is not registered" in ctx.err.getvalue()
