"""ecsforge as a library (manifest v1.2, README "ecsforge as a library"): `platform.handles` over
the constructs build() made, and examples/library/app.py, a team's own app that extends them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ecsforge.manifest import load_manifest

from .helpers import CDK, ROOT, Synth, cfn_lint, normalized, offline_env, only

LIBRARY = ROOT / "examples" / "library"
SERVICE_STACK = "shop-dev-service-orders"


@pytest.fixture(scope="module")
def library_app(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The example app as its README section runs it: `cdk synth --app "python examples/library/app.py"`."""
    outdir = tmp_path_factory.mktemp("library")
    # This checkout's ecsforge, not the one the virtualenv installs.
    env = {**offline_env(), "PYTHONPATH": str(ROOT)}
    process = subprocess.run(
        [str(CDK), "synth", "--app", f"python {LIBRARY / 'app.py'}", "-o", str(outdir), "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Synth(str(LIBRARY / "shop.yml"), outdir, process.returncode, process.stdout, process.stderr)


def test_example_app_adds_a_retained_table_to_the_service_stack(library_app: Synth):
    assert library_app.returncode == 0, library_app.stderr
    table_id, table = next(iter(library_app.resources(SERVICE_STACK, "AWS::DynamoDB::Table").items()))
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    definition = only(library_app.resources(SERVICE_STACK, "AWS::ECS::TaskDefinition"))
    environment = {e["Name"]: e["Value"] for e in definition["Properties"]["ContainerDefinitions"][0]["Environment"]}
    assert environment["ORDERS_TABLE_NAME"] == {"Ref": table_id}
    # Nothing else of the platform moved into the service stack, nor out of it.
    assert set(library_app.templates()) == {"shop-dev-network", "shop-dev-cluster", SERVICE_STACK}


def test_example_app_grants_the_task_role_read_and_write(library_app: Synth):
    table_id = next(iter(library_app.resources(SERVICE_STACK, "AWS::DynamoDB::Table")))
    definition = only(library_app.resources(SERVICE_STACK, "AWS::ECS::TaskDefinition"))
    task_role = definition["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    policies = [
        p["Properties"]
        for p in library_app.resources(SERVICE_STACK, "AWS::IAM::Policy").values()
        if {"Ref": task_role} in p["Properties"]["Roles"]
    ]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
    on_table = [s for s in statements if s["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}]
    actions = {a for s in on_table for a in s["Action"]}
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:DeleteItem"} <= actions


def test_example_app_is_cfn_lint_clean(library_app: Synth):
    assert library_app.returncode == 0, library_app.stderr
    lint = cfn_lint(library_app)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def synthesized(manifest: Path, outdir: Path, extend: Any = None) -> dict[str, Any]:
    from aws_cdk import App

    from ecsforge.diff.synthesis import cdk_context
    from ecsforge.platform import build, synthesize

    app = App(outdir=str(outdir), context=cdk_context())
    platform = build(app, load_manifest(manifest).manifest)
    if extend is not None:
        extend(platform)
    synthesize(app, platform)
    return {p.name: json.loads(p.read_text()) for p in sorted(outdir.glob("*.template.json"))}


def test_handles_are_the_platforms_own_constructs_and_change_no_template(tmp_path: Path):
    """Reading every handle creates nothing: the templates equal those of an app that reads none."""
    from aws_cdk import Stack

    manifest = ROOT / "examples" / "worker.yml"  # a service, a scheduled task, no load balancer
    seen: dict[str, Any] = {}

    def read_every_handle(platform: Any) -> None:
        handles = platform.handles
        for name, workload in [*handles.services.items(), *handles.scheduled_tasks.items()]:
            stack = Stack.of(workload.task_definition)
            seen[name] = (stack.resolve(workload.task_role.role_arn), workload.stack.stack_name, stack.stack_name)
            assert workload.containers and workload.log_group is not None and workload.execution_role is not None
        seen["cluster"] = (handles.cluster.stack.stack_name, handles.cluster.load_balancer is not None)
        task = platform.tasks["nightly-report"].task
        assert handles.scheduled_tasks["nightly-report"].scheduler_role is task.role

    plain = synthesized(manifest, tmp_path / "plain")
    read = synthesized(manifest, tmp_path / "read", read_every_handle)
    assert normalized(read) == normalized(plain)
    cluster = seen.pop("cluster")
    assert cluster == ("orders-prod-cluster", has_load_balancer(plain))
    assert sorted(seen) == ["api", "nightly-report", "worker"]
    for name, (role_arn, handle_stack, definition_stack) in seen.items():
        assert handle_stack == definition_stack and handle_stack.endswith(f"-{name}")
        assert role_arn["Fn::GetAtt"][1] == "Arn"


def has_load_balancer(templates: dict[str, Any]) -> bool:
    """The load balancer's handle is None exactly when the cluster stack holds none."""
    cluster = templates["orders-prod-cluster.template.json"]["Resources"].values()
    return any(r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer" for r in cluster)


def test_a_finding_of_the_teams_own_construct_fails_synthesis(tmp_path: Path):
    """cdk-nag checks what the app adds as it checks ecsforge's own: unacknowledged, synthesis fails."""
    from aws_cdk import RemovalPolicy
    from aws_cdk import aws_dynamodb as dynamodb

    def add_table_without_recovery(platform: Any) -> None:
        orders = platform.handles.services["orders"]
        dynamodb.Table(
            orders.stack,
            "Plain",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            removal_policy=RemovalPolicy.RETAIN,
        )

    with pytest.raises(Exception, match="AwsSolutions-DDB3"):
        synthesized(LIBRARY / "shop.yml", tmp_path, add_table_without_recovery)
