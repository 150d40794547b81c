"""Recorded AWS answers for tests/test_ops_*.py, served by botocore's Stubber: every call is
checked with its parameters, in order per client, and nothing reaches the network."""

from __future__ import annotations

import datetime
import io
from typing import Any

import boto3
from botocore.stub import Stubber

from ecsforge.ops.commands import Context

from .helpers import ROOT

MANIFEST = str(ROOT / "tests" / "manifests" / "ops" / "shop.yml")
CLUSTER = "shop-prod-cluster"  # names.cluster_name: the cluster stack's name
NOW = datetime.datetime(2026, 12, 5, 20, 0, tzinfo=datetime.UTC)
ACCOUNT = "111111111111"
ECS_NAMES = {
    "web": "shop-prod-service-web-Service9571FDD8-AbC123",
    "worker": "shop-prod-service-worker-ServiceX-DeF456",
}
BLUE = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/shop-p-Servi-BLUE1/0123456789abcdef"
GREEN = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/shop-p-Servi-GREEN2/fedcba9876543210"
ALARM = "shop-prod-service-web-Http5xx-Q1W2E3"
DEPLOYMENT = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service-deployment/{CLUSTER}/{ECS_NAMES['web']}/EZe5RNVLH6PPzHXINuP28"
HOOK = "ecs-pause-e7tK9G_WRJqNF_EOMjztDXfKenlJuEUVjsNStf4WLKw"
REVISION = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service-revision/{CLUSTER}/{ECS_NAMES['web']}/4980306466373577095"
OLD_REVISION = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service-revision/{CLUSTER}/{ECS_NAMES['web']}/1111111111111111111"
LISTENER_RULE = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:listener-rule/app/shop/1/2/3"
CLIENTS = ("ssm", "ecs", "elbv2", "cloudwatch", "logs", "sts")


class FakeSession:
    """A boto3 Session (test credentials, the manifest's region) whose clients answer from Stubbers."""

    def __init__(self) -> None:
        session = boto3.Session(region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test")
        self.session = session
        self.calls: list[str] = []
        self.clients = {name: session.client(name) for name in CLIENTS}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        for name, client in self.clients.items():
            client.meta.events.register("before-call.*.*", self._record)
            self.stubs[name].activate()
        self.regions: list[str] = []

    def _record(self, model: Any, **_kwargs: Any) -> None:
        self.calls.append(model.name)

    def factory(self, region: str) -> FakeSession:
        self.regions.append(region)
        return self

    def get_credentials(self) -> Any:
        return self.session.get_credentials()

    def client(self, name: str) -> Any:
        return self.clients[name]

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def context(session: FakeSession, *, tty: bool = False, sleep: Any = None) -> Context:
    out = TTYBuffer() if tty else io.StringIO()
    return Context(
        session_factory=session.factory,
        out=out,
        err=io.StringIO(),
        clock=lambda: NOW,
        sleep=sleep or (lambda _seconds: None),
    )


class TTYBuffer(io.StringIO):
    def isatty(self) -> bool:
        return True


def stub_service_name(session: FakeSession, workload: str) -> None:
    session.stubs["ssm"].add_response(
        "get_parameter",
        {"Parameter": {"Name": f"/ecsforge/shop/prod/services/{workload}/service-name", "Value": ECS_NAMES[workload]}},
        {"Name": f"/ecsforge/shop/prod/services/{workload}/service-name"},
    )


def web_service(*, running: int = 2, desired: int = 2, pending: int = 0, deployment: str | None = DEPLOYMENT) -> dict:
    service: dict[str, Any] = {
        "serviceName": ECS_NAMES["web"],
        "status": "ACTIVE",
        "runningCount": running,
        "desiredCount": desired,
        "pendingCount": pending,
        "taskDefinition": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/shop-prod-web:7",
        "loadBalancers": [
            {
                "targetGroupArn": BLUE,
                "containerName": "web",
                "containerPort": 80,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": GREEN,
                    "productionListenerRule": f"{LISTENER_RULE}",
                    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/shop-prod-web-infrastructure",
                },
            }
        ],
        "deploymentConfiguration": {
            "strategy": "BLUE_GREEN",
            "bakeTimeInMinutes": 10,
            "alarms": {"alarmNames": [ALARM], "rollback": True, "enable": True},
        },
        "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY", "rolloutState": "IN_PROGRESS"}],
    }
    if deployment:
        service["currentServiceDeployment"] = deployment
    return service


def worker_service(rollout: str = "COMPLETED", reason: str = "ECS deployment ecs-svc/9 completed.") -> dict:
    return {
        "serviceName": ECS_NAMES["worker"],
        "status": "ACTIVE",
        "runningCount": 1,
        "desiredCount": 1,
        "pendingCount": 0,
        "taskDefinition": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/shop-prod-worker:3",
        "deploymentConfiguration": {"strategy": "ROLLING", "maximumPercent": 200, "minimumHealthyPercent": 100},
        "deployments": [
            {
                "id": "ecs-svc/9",
                "status": "PRIMARY",
                "runningCount": 1,
                "desiredCount": 1,
                "rolloutState": rollout,
                "rolloutStateReason": reason,
            }
        ],
    }


def web_deployment(status: str, stage: str | None, *, production: float = 0.0, test: float = 0.0, **extra: Any) -> dict:
    deployment: dict[str, Any] = {
        "serviceDeploymentArn": DEPLOYMENT,
        "serviceArn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/{CLUSTER}/{ECS_NAMES['web']}",
        "status": status,
        "targetServiceRevision": {
            "arn": REVISION,
            "requestedTaskCount": 2,
            "runningTaskCount": 2,
            "pendingTaskCount": 0,
            "requestedProductionTrafficWeight": production,
            "requestedTestTrafficWeight": test,
        },
        "sourceServiceRevisions": [{"arn": OLD_REVISION, "requestedTaskCount": 2, "runningTaskCount": 2}],
        "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10},
        "alarms": {"status": "MONITORING", "alarmNames": [ALARM], "triggeredAlarmNames": []},
        **extra,
    }
    if stage:
        deployment["lifecycleStage"] = stage
    return deployment


def pause_hook(status: str = "AWAITING_ACTION") -> dict:
    return {
        "hookId": HOOK,
        "targetType": "PAUSE",
        "status": status,
        "expiresAt": NOW + datetime.timedelta(minutes=97),
        "timeoutAction": "ROLLBACK",
    }


def stub_web_status(
    session: FakeSession, deployment: dict, *, alarm_state: str = "OK", service: dict | None = None
) -> None:
    """Every call `status MANIFEST web` makes, with its answer."""
    stub_service_name(session, "web")
    ecs = session.stubs["ecs"]
    ecs.add_response(
        "describe_services",
        {"services": [service or web_service()]},
        {"cluster": CLUSTER, "services": [ECS_NAMES["web"]]},
    )
    ecs.add_response(
        "describe_service_deployments", {"serviceDeployments": [deployment]}, {"serviceDeploymentArns": [DEPLOYMENT]}
    )
    stub_target_health(session)
    session.stubs["cloudwatch"].add_response(
        "describe_alarms", {"MetricAlarms": [{"AlarmName": ALARM, "StateValue": alarm_state}]}, {"AlarmNames": [ALARM]}
    )


def stub_target_health(session: FakeSession) -> None:
    healthy = {"Target": {"Id": "10.0.1.10", "Port": 80}, "TargetHealth": {"State": "healthy"}}
    elbv2 = session.stubs["elbv2"]
    elbv2.add_response(
        "describe_target_health", {"TargetHealthDescriptions": [healthy, healthy]}, {"TargetGroupArn": BLUE}
    )
    elbv2.add_response(
        "describe_target_health", {"TargetHealthDescriptions": [healthy, healthy]}, {"TargetGroupArn": GREEN}
    )
