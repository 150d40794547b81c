"""Runtime wiring (manifest v1.1): platform, ephemeral storage, env files, FireLens, X-Ray."""

from __future__ import annotations

import pytest

from ecsforge.manifest import ManifestError, load_manifest
from ecsforge.manifest.catalog import ARM64, X86_64
from ecsforge.manifest.runtime import COLLECTOR_IMAGE, LOG_ROUTER_IMAGE, sidecars
from ecsforge.manifest.tasks import _estimated_task_definition_bytes

from .helpers import ROOT, only

WIRING = "tests/manifests/runtime-wiring.yml"


@pytest.fixture(scope="module")
def wiring(synth):
    result = synth(WIRING)
    assert result.returncode == 0, result.stderr
    return result


def task_definition(result, stack):
    return only(result.resources(f"wire-test-{stack}", "AWS::ECS::TaskDefinition"))["Properties"]


def container(properties, name):
    return next(c for c in properties["ContainerDefinitions"] if c["Name"] == name)


def policy_statements(result, stack, path_part):
    return [
        statement
        for logical_id, policy in result.resources(f"wire-test-{stack}", "AWS::IAM::Policy").items()
        if path_part in logical_id
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value):
    return value if isinstance(value, list) else [value]


# --- platform ---------------------------------------------------------------------------


def test_arm64_on_fargate_and_fargate_spot_writes_the_runtime_platform(wiring):
    properties = task_definition(wiring, "service-worker")
    assert properties["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    service = only(wiring.resources("wire-test-service-worker", "AWS::ECS::Service"))["Properties"]
    providers = {item["CapacityProvider"] for item in service["CapacityProviderStrategy"]}
    assert providers == {"FARGATE", "FARGATE_SPOT"}


def test_without_platform_an_ec2_task_takes_its_groups_architecture_and_writes_none(wiring):
    assert "RuntimePlatform" not in task_definition(wiring, "service-api")
    assert "RuntimePlatform" not in task_definition(wiring, "service-legacy")
    # On EC2 an explicit platform is checked against the groups, not written (ECS takes none there).
    assert "RuntimePlatform" not in task_definition(wiring, "service-pinned")
    assert task_definition(wiring, "task-report")["RuntimePlatform"]["CpuArchitecture"] == "ARM64"


def test_graviton_groups_get_the_arm64_ami(wiring):
    parameters = wiring.templates()["wire-test-cluster"]["Parameters"]
    images = {p["Default"] for p in parameters.values() if "optimized-ami" in str(p.get("Default"))}
    assert images == {
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id",
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
    }


def test_architectures_follow_platform_on_fargate_and_groups_on_ec2():
    manifest = load_manifest(ROOT / WIRING).manifest
    assert manifest.architectures(manifest.services["worker"]) == {ARM64}
    assert manifest.architectures(manifest.services["api"]) == {ARM64}
    assert manifest.architectures(manifest.services["legacy"]) == {X86_64}
    assert manifest.pipeline_architecture("app") == ARM64


def test_a_pipeline_builds_and_tests_on_arm_for_arm64_services(wiring):
    projects = wiring.resources("wire-test-pipeline-app", "AWS::CodeBuild::Project")
    types = {name.split("Pipeline")[1][:5]: p["Properties"]["Environment"]["Type"] for name, p in projects.items()}
    assert types == {"Build": "ARM_CONTAINER", "TestD": "ARM_CONTAINER", "Relea": "LINUX_CONTAINER"}


def test_build_platform_must_agree_with_the_services_it_deploys(tmp_path):
    amd64 = "build: {registry: app, platform: linux/amd64}"
    path = tmp_path / "amd.yml"
    path.write_text((ROOT / WIRING).read_text().replace("build: {registry: app}", amd64))
    with pytest.raises(ManifestError, match=r"pipelines\.app\.build\.platform: 'linux/amd64', but the services"):
        load_manifest(path)
    manifest = load_manifest(ROOT / "examples/graviton.yml").manifest
    assert manifest.pipelines["app"].build.platform == "linux/arm64"
    assert manifest.pipeline_architecture("app") == ARM64


# --- ephemeral storage --------------------------------------------------------------------


def test_ephemeral_storage_is_written_only_when_set(wiring):
    assert task_definition(wiring, "service-worker")["EphemeralStorage"] == {"SizeInGiB": 50}
    assert "EphemeralStorage" not in task_definition(wiring, "task-report")


# --- environment files --------------------------------------------------------------------


def test_env_files_are_read_by_the_execution_role_and_nothing_more(wiring):
    worker = task_definition(wiring, "service-worker")
    assert container(worker, "worker")["EnvironmentFiles"] == [
        {"Type": "s3", "Value": "arn:aws:s3:::wire-config/worker.env"},
        {"Type": "s3", "Value": "arn:aws:s3:::wire-config/common.env"},
    ]
    statements = policy_statements(wiring, "service-worker", "ExecutionRole")
    s3 = [s for s in statements if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert {(a, r) for s in s3 for a in as_list(s["Action"]) for r in as_list(s["Resource"])} == {
        ("s3:GetObject", "arn:aws:s3:::wire-config/worker.env"),
        ("s3:GetObject", "arn:aws:s3:::wire-config/common.env"),
        ("s3:GetObject", "arn:aws:s3:::other-config/helper.env"),
        ("s3:GetBucketLocation", "arn:aws:s3:::wire-config"),
        ("s3:GetBucketLocation", "arn:aws:s3:::other-config"),
    }
    task_role = policy_statements(wiring, "service-worker", "TaskRole")
    assert not [s for s in task_role if "s3" in str(s["Action"])]


# --- FireLens -----------------------------------------------------------------------------


def test_firelens_routes_the_container_through_an_essential_fluent_bit_router(wiring):
    worker = task_definition(wiring, "service-worker")
    router = container(worker, "log-router")
    assert router["Image"] == LOG_ROUTER_IMAGE and ":stable" not in router["Image"]
    assert router["Essential"] is True
    assert router["FirelensConfiguration"] == {"Type": "fluentbit"}
    # The router's own logs go to the task's (retained) log group.
    assert router["LogConfiguration"]["LogDriver"] == "awslogs"
    log_group = only(wiring.resources("wire-test-service-worker", "AWS::Logs::LogGroup"))
    assert log_group["DeletionPolicy"] == "Retain"
    app = container(worker, "worker")
    assert app["DependsOn"] == [{"Condition": "START", "ContainerName": "log-router"}]
    logging = app["LogConfiguration"]
    assert logging["LogDriver"] == "awsfirelens"
    assert logging["Options"] == {
        "Name": "datadog",
        "dd_service": "worker",
        "Host": "http-intake.logs.datadoghq.com",
    }
    assert sorted(o["Name"] for o in logging["SecretOptions"]) == ["apikey", "region"]
    # A container without logging keeps awslogs and does not wait for the router.
    helper = container(worker, "helper")
    assert helper["LogConfiguration"]["LogDriver"] == "awslogs" and "DependsOn" not in helper


def test_the_execution_role_reads_the_secret_options(wiring):
    statements = policy_statements(wiring, "service-worker", "ExecutionRole")
    resources = str([s["Resource"] for s in statements if "secretsmanager:GetSecretValue" in as_list(s["Action"])])
    assert ":secret:wire/datadog-??????" in resources
    ssm = [s for s in statements if "ssm:GetParameters" in as_list(s["Action"])]
    assert "parameter/wire/dd-region" in str(ssm)


# --- X-Ray --------------------------------------------------------------------------------


def test_tracing_adds_a_pinned_collector_and_an_inline_xray_policy(wiring):
    for stack in ("service-worker", "task-report"):
        collector = container(task_definition(wiring, stack), "otel-collector")
        assert collector["Image"] == COLLECTOR_IMAGE and collector["Image"].rsplit(":", 1)[1].startswith("v")
        assert collector["Command"] == ["--config=/etc/ecs/ecs-xray.yaml"]
        assert collector["MemoryReservation"] == 64
        xray = policy_statements(wiring, stack, "XRayWrite")
        assert len(xray) == 1 and xray[0]["Resource"] == "*"
        assert sorted(xray[0]["Action"]) == [
            "xray:GetSamplingRules",
            "xray:GetSamplingStatisticSummaries",
            "xray:GetSamplingTargets",
            "xray:PutTelemetryRecords",
            "xray:PutTraceSegments",
        ]
        roles = wiring.resources(f"wire-test-{stack}", "AWS::IAM::Role")
        assert not any("ManagedPolicyArns" in r["Properties"] for r in roles.values())


def test_the_iam5_acknowledgement_is_on_the_xray_policy_only(wiring):
    assert "xray" not in str(policy_statements(wiring, "service-worker", "TaskRoleDefaultPolicy"))
    assert not policy_statements(wiring, "service-api", "XRayWrite")
    assert "otel-collector" not in str(task_definition(wiring, "service-api"))


def test_left_out_the_fields_change_nothing():
    manifest = load_manifest(ROOT / "examples/fargate-web.yml").manifest
    assert len(list(manifest.workloads())) == 3
    for _, spec in manifest.workloads():
        assert (spec.platform, spec.ephemeral_storage_gib, spec.tracing) == (None, None, None)
        for c in spec.containers.values():
            assert (c.env_files, c.logging) == ([], None)
        assert sidecars(spec.containers, spec.tracing) == {}


def test_sidecars_count_in_the_task_size_estimate():
    worker = load_manifest(ROOT / WIRING).manifest.services["worker"]
    bare = worker.model_copy(update={"tracing": None})
    assert _estimated_task_definition_bytes(worker) > _estimated_task_definition_bytes(bare)
