"""`python -m ecsforge continue MANIFEST SERVICE [--rollback]` against recorded AWS answers:
the exact ContinueServiceDeployment call on the pause hook that waits."""

from __future__ import annotations

import pytest

from ecsforge import cli
from ecsforge.ops import commands

from .ops_stubs import (
    CLUSTER,
    DEPLOYMENT,
    ECS_NAMES,
    HOOK,
    MANIFEST,
    FakeSession,
    context,
    pause_hook,
    stub_service_name,
    web_deployment,
    web_service,
)


def stub_paused(session: FakeSession, hook_status: str = "AWAITING_ACTION") -> None:
    stub_service_name(session, "web")
    ecs = session.stubs["ecs"]
    ecs.add_response(
        "describe_services", {"services": [web_service()]}, {"cluster": CLUSTER, "services": [ECS_NAMES["web"]]}
    )
    paused = web_deployment(
        "IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", test=100.0, lifecycleHookDetails=[pause_hook(hook_status)]
    )
    ecs.add_response(
        "describe_service_deployments", {"serviceDeployments": [paused]}, {"serviceDeploymentArns": [DEPLOYMENT]}
    )


@pytest.mark.parametrize(
    ("rollback", "action", "said"), [(False, "CONTINUE", "continuing"), (True, "ROLLBACK", "rolling back")]
)
def test_continue_acts_on_the_waiting_pause_hook(rollback, action, said):
    session = FakeSession()
    stub_paused(session)
    session.stubs["ecs"].add_response(
        "continue_service_deployment",
        {"serviceDeploymentArn": DEPLOYMENT},
        {"serviceDeploymentArn": DEPLOYMENT, "hookId": HOOK, "action": action},
    )
    ctx = context(session)
    assert commands.continue_(MANIFEST, "web", rollback=rollback, context=ctx) == 0
    session.done()
    assert session.calls == [
        "GetParameter",
        "DescribeServices",
        "DescribeServiceDeployments",
        "ContinueServiceDeployment",
    ]
    assert ctx.out.getvalue().startswith(f"web: {said}") and HOOK in ctx.out.getvalue()


def test_continue_through_the_command_line(monkeypatch):
    session = FakeSession()
    stub_paused(session)
    session.stubs["ecs"].add_response(
        "continue_service_deployment",
        {"serviceDeploymentArn": DEPLOYMENT},
        {"serviceDeploymentArn": DEPLOYMENT, "hookId": HOOK, "action": "ROLLBACK"},
    )
    monkeypatch.setattr(commands.Context, "__init__", _context_with(session))
    assert cli.main(["continue", MANIFEST, "web", "--rollback"]) == 0
    session.done()


def _context_with(session):
    original = commands.Context.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.session_factory = session.factory

    return init


@pytest.mark.parametrize("hook_status", ["SUCCEEDED", "TIMED_OUT"])
def test_continue_without_a_waiting_hook_changes_nothing(hook_status):
    session = FakeSession()
    stub_paused(session, hook_status)
    ctx = context(session)
    assert commands.continue_(MANIFEST, "web", rollback=False, context=ctx) == 2
    session.done()  # and no ContinueServiceDeployment was stubbed: calling it would fail
    assert "no pause hook of service web waits for an action" in ctx.err.getvalue()
    assert "ContinueServiceDeployment" not in session.calls


def test_continue_without_a_current_deployment():
    session = FakeSession()
    stub_service_name(session, "web")
    session.stubs["ecs"].add_response(
        "describe_services",
        {"services": [web_service(deployment=None)]},
        {"cluster": CLUSTER, "services": [ECS_NAMES["web"]]},
    )
    ctx = context(session)
    assert commands.continue_(MANIFEST, "web", rollback=False, context=ctx) == 2
    session.done()
    assert "has no deployment in progress" in ctx.err.getvalue()


def test_continue_refused_by_ecs_is_explained_not_raised():
    session = FakeSession()
    stub_paused(session)
    session.stubs["ecs"].add_client_error(
        "continue_service_deployment",
        "AccessDeniedException",
        "not authorized to perform ecs:ContinueServiceDeployment",
    )
    ctx = context(session)
    assert commands.continue_(MANIFEST, "web", rollback=False, context=ctx) == 2
    assert "not authorized to perform ecs:ContinueServiceDeployment" in ctx.err.getvalue()


def test_continue_names_a_service():
    session = FakeSession()
    ctx = context(session)
    assert commands.continue_(MANIFEST, "nightly", rollback=False, context=ctx) == 1
    assert session.regions == []
