"""ECS Managed Instances capacity providers and container GPUs (manifest v1.2, "Compute and ingress")."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from ecsforge.diff import REPLACED
from ecsforge.manifest import load_manifest
from ecsforge.manifest.catalog import instance_gpus

from .helpers import only

BASE = "version: 1\napp: vision\nenvironment: prod\nregion: us-east-1\n"
EXAMPLE = "examples/gpu-inference.yml"
CLUSTER = "vision-prod-cluster"
SERVICE = "vision-prod-service-infer"


def write(tmp_path: Path, text: str, name: str = "m.yml") -> Path:
    path = tmp_path / name
    path.write_text(BASE + textwrap.dedent(text))
    return path


# --- models ---------------------------------------------------------------------------------------


def test_defaults_no_managed_instances_no_gpus(tmp_path):
    manifest = load_manifest(
        write(tmp_path, "services:\n  web:\n    containers:\n      app: {image: nginx:1}\n"), environ={}
    ).manifest
    assert manifest.cluster.managed_instances == {}
    assert manifest.services["web"].containers["app"].gpu == 0


def test_managed_instances_spot_defaults_to_on_demand(tmp_path):
    text = """
    cluster:
      managed_instances:
        gpu: {instance_types: [g6.xlarge]}
        cheap:
          instance_requirements: {vcpu: {min: 2, max: 8}, memory_mib: {min: 4096}, gpus: {min: 1}}
          spot: true
    """
    cluster = load_manifest(write(tmp_path, text), environ={}).manifest.cluster
    assert cluster.managed_instances["gpu"].spot is False
    cheap = cluster.managed_instances["cheap"]
    assert cheap.spot is True and cheap.instance_requirements is not None
    assert cheap.instance_requirements.gpus is not None and cheap.instance_requirements.gpus.min == 1


@pytest.mark.parametrize(
    ("instance_type", "gpus"),
    [("g6.xlarge", 1), ("g6.12xlarge", 4), ("g5.48xlarge", 8), ("p5.48xlarge", 8), ("m7i.large", 0), ("g6.nano", 0)],
)
def test_catalog_knows_gpus_per_type(instance_type, gpus):
    assert instance_gpus(instance_type) == gpus


def test_gpus_up_to_the_type_count_are_valid(tmp_path):
    text = """
    cluster:
      ec2:
        big: {instance_type: g5.12xlarge}
    services:
      train:
        capacity: big
        memory: 8192
        containers:
          a: {image: nginx:1, gpu: 2}
          b: {image: nginx:1, gpu: 2}
    """
    manifest = load_manifest(write(tmp_path, text), environ={}).manifest
    assert sum(c.gpu for c in manifest.services["train"].containers.values()) == instance_gpus("g5.12xlarge")


# --- the example's templates ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example(synth):
    return synth(EXAMPLE)


def test_managed_instances_provider_in_the_cluster(example):
    provider = only(example.resources(CLUSTER, "AWS::ECS::CapacityProvider"))["Properties"]
    assert provider["Name"] == "gpu-vision-prod"
    assert provider["ClusterName"] == {"Ref": next(iter(example.resources(CLUSTER, "AWS::ECS::Cluster")))}
    launch = provider["ManagedInstancesProvider"]["InstanceLaunchTemplate"]
    assert launch["CapacityOptionType"] == "ON_DEMAND"
    assert launch["InstanceRequirements"]["AllowedInstanceTypes"] == ["g6.xlarge", "g6.2xlarge"]
    assert "private-subnet-ids" in json.dumps(launch["NetworkConfiguration"]["Subnets"])


def test_managed_instances_roles_are_named_and_scoped(example):
    roles = example.resources(CLUSTER, "AWS::IAM::Role")
    by_principal = {
        r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]: r for r in roles.values()
    }
    infrastructure = by_principal["ecs.amazonaws.com"]["Properties"]
    assert "AmazonECSInfrastructureRolePolicyForManagedInstances" in json.dumps(infrastructure["ManagedPolicyArns"])
    instance = by_principal["ec2.amazonaws.com"]["Properties"]
    # The managed infrastructure policy passes only roles named ecsInstanceRole*.
    assert instance["RoleName"].startswith("ecsInstanceRole")
    assert "ManagedPolicyArns" not in instance
    actions = [s["Action"] for p in instance["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert all(not str(a).endswith("*") for a in actions)
    profile = only(example.resources(CLUSTER, "AWS::IAM::InstanceProfile"))["Properties"]
    assert profile["InstanceProfileName"].startswith("ecsInstanceRole")


def test_gpu_task_and_service_on_managed_instances(example):
    definition = only(example.resources(SERVICE, "AWS::ECS::TaskDefinition"))["Properties"]
    assert definition["RequiresCompatibilities"] == ["MANAGED_INSTANCES"]
    assert definition["NetworkMode"] == "awsvpc"
    assert definition["ContainerDefinitions"][0]["ResourceRequirements"] == [{"Type": "GPU", "Value": "1"}]
    service = only(example.resources(SERVICE, "AWS::ECS::Service"))["Properties"]
    assert "LaunchType" not in service and "PlacementStrategies" not in service
    (share,) = service["CapacityProviderStrategy"]
    # Imported, so that the cluster stack cannot delete the provider under the service.
    assert share["CapacityProvider"] == {"Fn::ImportValue": "vision-prod-capacity-gpu-provider-name"}
    outputs = example.templates()[CLUSTER]["Outputs"]
    exported = {o["Export"]["Name"]: o["Value"] for o in outputs.values() if "Export" in o}
    assert exported["vision-prod-capacity-gpu-provider-name"] == {
        "Ref": next(iter(example.resources(CLUSTER, "AWS::ECS::CapacityProvider")))
    }


# --- ad-hoc manifests, synthesized in-process --------------------------------------------------------


@pytest.fixture(scope="module")
def variants(synth, tmp_path_factory):
    folder = tmp_path_factory.mktemp("compute")
    text = """
    cluster:
      fargate: false
      ec2:
        gpus: {instance_type: g5.xlarge, min: 1, max: 2}
        bottle: {instance_type: g4dn.xlarge, min: 1, max: 2, machine_image: bottlerocket}
        plain: {instance_type: m7i.large, min: 1, max: 2}
      managed_instances:
        cheap:
          instance_requirements: {vcpu: {min: 4, max: 16}, memory_mib: {min: 16384}, gpus: {min: 1, max: 4}}
          spot: true
    scheduled_tasks:
      batch:
        schedule: rate(1 day)
        capacity: cheap
        memory: 8192
        containers:
          app: {image: nginx:1, gpu: 1}
    services:
      train:
        capacity: gpus
        memory: 8192
        containers:
          app: {image: nginx:1, gpu: 1}
    """
    return synth(write(folder, text, "variants.yml"))


def test_gpu_types_get_the_gpu_images(variants):
    templates = json.dumps(variants.templates()["vision-prod-cluster"])
    assert "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id" in templates
    assert "/aws/service/bottlerocket/aws-ecs-2-nvidia/x86_64/latest/image_id" in templates
    # A group without GPUs keeps the standard image.
    assert "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id" in templates


def test_requirements_and_spot_on_managed_instances(variants):
    providers = variants.resources("vision-prod-cluster", "AWS::ECS::CapacityProvider")
    (provider,) = [p for p in providers.values() if "ManagedInstancesProvider" in p["Properties"]]
    launch = provider["Properties"]["ManagedInstancesProvider"]["InstanceLaunchTemplate"]
    assert launch["CapacityOptionType"] == "SPOT"
    wanted = launch["InstanceRequirements"]
    assert wanted["VCpuCount"] == {"Min": 4, "Max": 16} and wanted["MemoryMiB"] == {"Min": 16384}
    assert wanted["AcceleratorCount"] == {"Min": 1, "Max": 4}
    assert wanted["AcceleratorTypes"] == ["gpu"] and wanted["AcceleratorManufacturers"] == ["nvidia"]
    assert sorted(wanted["CpuManufacturers"]) == ["amd", "intel"]


def test_scheduled_task_on_managed_instances_has_no_placement(variants):
    schedule = only(variants.resources("vision-prod-task-batch", "AWS::Scheduler::Schedule"))["Properties"]
    parameters = schedule["Target"]["EcsParameters"]
    assert "PlacementStrategy" not in parameters and "PlacementConstraints" not in parameters
    assert parameters["CapacityProviderStrategy"][0]["CapacityProvider"] == {
        "Fn::ImportValue": "vision-prod-capacity-cheap-provider-name"
    }
    definition = only(variants.resources("vision-prod-task-batch", "AWS::ECS::TaskDefinition"))["Properties"]
    assert definition["RequiresCompatibilities"] == ["MANAGED_INSTANCES"]


def test_managed_instances_without_nat_get_the_ecs_agent_endpoints(synth, tmp_path):
    text = """
    network: {nat_gateways: 0, vpc_endpoints: true}
    cluster:
      fargate: false
      managed_instances:
        gpu: {instance_types: [g6.xlarge]}
    """
    result = synth(write(tmp_path, text, "isolated.yml"))
    endpoints = json.dumps(result.resources("vision-prod-network", "AWS::EC2::VPCEndpoint"))
    for service in ("ecs", "ecs-agent", "ecs-telemetry"):
        assert f'.{service}"' in endpoints


# --- day 2 -----------------------------------------------------------------------------------------


def test_more_instance_types_update_the_provider_in_place(diff):
    result = diff("managed-instances", "managed-instances-types")
    changes = [c for _, c in result.changes()]
    (change,) = changes
    assert change.type == "AWS::ECS::CapacityProvider"
    assert change.action == "updated" and change.action != REPLACED
    assert change.properties == ("ManagedInstancesProvider",)
    assert result.hazards == [] and result.deployments == []


def test_renaming_a_provider_in_use_is_a_hazard(diff):
    result = diff("managed-instances", "managed-instances-renamed")
    (hazard,) = result.hazards
    assert "life-mi-capacity-gpu-provider-name" in hazard.what
    assert "move the workloads" in hazard.action
