"""`python -m ecsforge status` against recorded AWS answers (botocore's Stubber, no account)."""

from __future__ import annotations

import datetime
import socket
from pathlib import Path

import pytest

from ecsforge import cli
from ecsforge.ops import commands
from ecsforge.ops.commands import Context
from ecsforge.ops.render import Screen

from .helpers import ROOT
from .ops_stubs import (
    ALARM,
    CLUSTER,
    DEPLOYMENT,
    ECS_NAMES,
    MANIFEST,
    NOW,
    FakeSession,
    TTYBuffer,
    context,
    pause_hook,
    stub_service_name,
    stub_target_health,
    stub_web_status,
    web_deployment,
    web_service,
    worker_service,
)


def run(session: FakeSession, *workloads: str, watch: bool = False, ctx: Context | None = None) -> tuple[int, Context]:
    ctx = ctx or context(session)
    code = commands.status(MANIFEST, list(workloads), watch=watch, interval=5, context=ctx)
    return code, ctx


def test_steady_services_exit_0_with_tasks_targets_and_alarms():
    session = FakeSession()
    stub_service_name(session, "web")
    stub_service_name(session, "worker")
    session.stubs["ecs"].add_response(
        "describe_services",
        {"services": [web_service(), worker_service()]},
        {"cluster": CLUSTER, "services": [ECS_NAMES["web"], ECS_NAMES["worker"]]},
    )
    session.stubs["ecs"].add_response(
        "describe_service_deployments",
        {"serviceDeployments": [web_deployment("SUCCESSFUL", "CLEAN_UP", production=100.0, test=100.0)]},
        {"serviceDeploymentArns": [DEPLOYMENT]},
    )
    stub_target_health(session)
    session.stubs["cloudwatch"].add_response(
        "describe_alarms", {"MetricAlarms": [{"AlarmName": ALARM, "StateValue": "OK"}]}, {"AlarmNames": [ALARM]}
    )
    code, ctx = run(session)
    session.done()
    out = ctx.out.getvalue()
    assert code == 0 and session.regions == ["eu-west-1"]
    assert f"web ({ECS_NAMES['web']})\n  tasks      2 running, 2 desired, 0 pending\n" in out
    assert "  deployment blue_green SUCCESSFUL at CLEAN_UP\n" in out
    assert "  targets    shop-p-Servi-BLUE1: 2 healthy\n  targets    shop-p-Servi-GREEN2: 2 healthy\n" in out
    assert f"  alarm      {ALARM}: OK\n" in out
    # The rolling worker has no service deployment: its rolloutState stands in.
    assert "  deployment rolling SUCCESSFUL\n  new tasks  1 running of 1\n" in out


def test_a_blue_green_deployment_shifting_shows_its_percentage_and_is_not_steady():
    session = FakeSession()
    stub_web_status(session, web_deployment("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", production=50.0, test=100.0))
    code, ctx = run(session, "web")
    session.done()
    out = ctx.out.getvalue()
    assert "  deployment blue_green IN_PROGRESS at PRODUCTION_TRAFFIC_SHIFT\n" in out
    assert "  production [##########..........] 50%\n  test       [####################] 100%\n" in out
    assert code == 5  # in progress, without --watch


def test_a_pause_hook_waiting_exits_4_and_says_how_to_go_on():
    session = FakeSession()
    stub_web_status(
        session,
        web_deployment("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", test=100.0, lifecycleHookDetails=[pause_hook()]),
    )
    code, ctx = run(session, "web")
    session.done()
    out = ctx.out.getvalue()
    assert code == 4
    assert "  hook       PAUSE AWAITING_ACTION, expires 2026-12-05 21:37 UTC (in 1h 37m), then ROLLBACK\n" in out
    assert f"to go on: python -m ecsforge continue {MANIFEST} web  (or add --rollback)" in out


def test_a_rolled_back_deployment_exits_3_with_its_reason_and_alarm():
    session = FakeSession()
    rolled_back = web_deployment(
        "ROLLBACK_SUCCESSFUL",
        "CLEAN_UP",
        rollback={
            "reason": "Alarm triggered",
            "startedAt": datetime.datetime(2026, 12, 5, 19, 50, tzinfo=datetime.UTC),
        },
        alarms={"status": "TRIGGERED", "alarmNames": [ALARM], "triggeredAlarmNames": [ALARM]},
    )
    stub_web_status(session, rolled_back, alarm_state="ALARM")
    code, ctx = run(session, "web")
    session.done()
    out = ctx.out.getvalue()
    assert code == 3
    assert "  deployment blue_green ROLLBACK_SUCCESSFUL at CLEAN_UP\n" in out
    assert f"  rollback   Alarm triggered\n  triggered  {ALARM}\n" in out and f"{ALARM}: ALARM" in out


def test_a_failed_deployment_exits_3():
    session = FakeSession()
    failed = web_deployment(
        "ROLLBACK_FAILED",
        "SCALE_UP",
        statusReason="tasks failed to start",
        deploymentCircuitBreaker={"status": "TRIGGERED", "failureCount": 4, "threshold": 3},
    )
    stub_web_status(session, failed)
    code, ctx = run(session, "web")
    session.done()
    assert code == 3
    assert "  reason     tasks failed to start\n  breaker    TRIGGERED\n" in ctx.out.getvalue()


def test_a_failed_rolling_deployment_exits_3():
    session = FakeSession()
    stub_service_name(session, "worker")
    session.stubs["ecs"].add_response(
        "describe_services",
        {"services": [worker_service("FAILED", "ECS deployment circuit breaker: tasks failed to start.")]},
        {"cluster": CLUSTER, "services": [ECS_NAMES["worker"]]},
    )
    code, ctx = run(session, "worker")
    session.done()
    assert code == 3
    assert "  deployment rolling FAILED\n" in ctx.out.getvalue()


def test_watch_redraws_until_the_deployment_ends():
    session = FakeSession()
    stub_web_status(session, web_deployment("IN_PROGRESS", "SCALE_UP"))
    stub_web_status(session, web_deployment("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", production=50.0, test=100.0))
    stub_web_status(session, web_deployment("SUCCESSFUL", "CLEAN_UP", production=100.0, test=100.0))
    slept = []
    ctx = context(session, sleep=slept.append)
    code, _ = run(session, "web", watch=True, ctx=ctx)
    session.done()
    out = ctx.out.getvalue()
    assert code == 0 and slept == [5, 5]
    # Not a terminal: one block after the other, each under a time stamp, no escape codes.
    assert out.count("-- 2026-12-05 20:00:00 UTC --\n") == 3 and "\x1b[" not in out
    assert out.index("at SCALE_UP") < out.index("[##########..........] 50%") < out.index("SUCCESSFUL at CLEAN_UP")


def test_watch_on_a_terminal_redraws_in_place_and_stops_at_a_pause_hook():
    session = FakeSession()
    stub_web_status(session, web_deployment("IN_PROGRESS", "TEST_TRAFFIC_SHIFT", test=40.0))
    stub_web_status(
        session,
        web_deployment("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", test=100.0, lifecycleHookDetails=[pause_hook()]),
    )
    ctx = context(session, tty=True)
    code, _ = run(session, "web", watch=True, ctx=ctx)
    session.done()
    out = ctx.out.getvalue()
    first = out[: out.index("\x1b[")]
    # The second drawing moves the cursor up over every line of the first and clears below.
    assert code == 4 and out.count("\x1b[J") == 1
    assert f"\x1b[{first.count(chr(10))}F\x1b[J" in out


def test_ctrl_c_while_watching_ends_cleanly():
    session = FakeSession()
    stub_web_status(session, web_deployment("IN_PROGRESS", "SCALE_UP"))

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    ctx = context(session, sleep=interrupted)
    code, _ = run(session, "web", watch=True, ctx=ctx)
    assert code == 130 and "stopped watching; the deployments go on" in ctx.err.getvalue()


def test_an_invalid_manifest_exits_1_before_any_aws_call(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\napp: shop\nenvironment: prod\nregion: mars-1\n")
    session = FakeSession()
    ctx = context(session)
    assert commands.status(str(bad), [], watch=False, interval=5, context=ctx) == 1
    assert "bad.yml:4:" in ctx.err.getvalue() and session.regions == []


@pytest.mark.parametrize(
    ("name", "message"),
    [("nightly", "nightly: a scheduled task, which has no deployments"), ("shop", "shop: not in the manifest")],
)
def test_status_names_only_services_of_the_manifest(name, message):
    session = FakeSession()
    code, ctx = run(session, name)
    assert code == 1 and message in ctx.err.getvalue() and session.regions == []


def test_a_service_not_deployed_says_which_stack_to_deploy():
    session = FakeSession()
    session.stubs["ssm"].add_client_error("get_parameter", "ParameterNotFound", http_status_code=400)
    code, ctx = run(session, "web")
    assert code == 2
    assert "service web is not deployed in eu-west-1" in ctx.err.getvalue()
    assert "shop-prod-service-web" in ctx.err.getvalue()


def _no_credentials(monkeypatch, tmp_path):
    for variable in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    def no_network(*_args, **_kwargs):
        raise AssertionError("no test reaches the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)


@pytest.mark.parametrize(
    "argv",
    [["status", MANIFEST], ["continue", MANIFEST, "web"], ["logs", MANIFEST, "web"]],
)
def test_missing_credentials_exit_2_with_what_is_missing(monkeypatch, tmp_path, capsys, argv):
    _no_credentials(monkeypatch, tmp_path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"{argv[0]}: no AWS credentials: the standard chain found none" in err
    assert "AWS_PROFILE" in err and "Traceback" not in err


def readme_example(monkeypatch) -> str:
    """`status` of a blue/green deployment waiting on its pause hook, as README shows it."""
    monkeypatch.chdir(ROOT / "tests" / "manifests" / "ops")
    session = FakeSession()
    stub_web_status(
        session,
        web_deployment("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", test=100.0, lifecycleHookDetails=[pause_hook()]),
    )
    ctx = context(session)
    code = commands.status("shop.yml", ["web"], watch=False, interval=5, context=ctx)
    session.done()
    return f"$ python -m ecsforge status shop.yml web\n{ctx.out.getvalue()}$ echo $?\n{code}\n"


def test_readme_shows_what_status_prints(monkeypatch):
    example = readme_example(monkeypatch)
    assert example.endswith("$ echo $?\n4\n")
    assert f"```\n{example}```\n" in (ROOT / "README.md").read_text(), "paste readme_example() into README"


def test_a_terminal_line_is_clipped_so_that_redrawing_counts_right():
    out = TTYBuffer()
    screen = Screen(out, columns=12)
    screen.draw("a line much longer than twelve\nshort\n", NOW)
    screen.draw("next\n", NOW)
    assert out.getvalue().splitlines()[1:3] == ["a line much", "short"]
    assert "\x1b[3F\x1b[J" in out.getvalue()


@pytest.mark.parametrize("interval", ["0.5", "61"])
def test_the_poll_interval_is_bounded(interval, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["status", MANIFEST, "--watch", "--interval", interval])
    assert exit_.value.code == 2 and "give 2 to 60 seconds" in capsys.readouterr().err


ACCOUNT_SET = 'region: eu-west-1\naccount: "222222222222"\nnetwork: {availability_zones: [eu-west-1a, eu-west-1b]}\n'


@pytest.mark.parametrize(("caller", "code"), [("222222222222", 0), ("333333333333", 2)])
def test_a_manifest_with_an_account_checks_the_credentials_account_first(tmp_path, caller, code):
    manifest = tmp_path / "shop.yml"
    manifest.write_text(Path(MANIFEST).read_text().replace("region: eu-west-1\n", ACCOUNT_SET))
    session = FakeSession()
    session.stubs["sts"].add_response(
        "get_caller_identity", {"Account": caller, "Arn": f"arn:aws:iam::{caller}:user/ops", "UserId": "AIDA"}, {}
    )
    if code == 0:
        stub_web_status(session, web_deployment("SUCCESSFUL", "CLEAN_UP", production=100.0, test=100.0))
    ctx = context(session)
    assert commands.status(str(manifest), ["web"], watch=False, interval=5, context=ctx) == code
    session.done()
    if code:
        assert "the credentials are for account 333333333333, the manifest's environment is in 222222222222" in (
            ctx.err.getvalue()
        )
        assert session.calls == ["GetCallerIdentity"]
