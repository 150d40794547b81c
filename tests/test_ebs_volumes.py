"""EBS task volumes (`volumes.<v>.ebs`, manifest v1.2): the environment's infrastructure role and
key, each service's volume configuration, and what `ecsforge diff` says of a change (tests/manifests/
lifecycle/ebs-*.yml). The rules' error texts are fixtures (tests/manifests/invalid/wiring-ebs-*.yml)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecsforge import names
from ecsforge.diff import DiffResult
from ecsforge.manifest import load_manifest

from .helpers import Synth, inprocess_synth, only

MANIFEST: dict[str, Any] = {
    "version": 1,
    "app": "scratch",
    "environment": "dev",
    "region": "eu-west-1",
    "volumes": {
        "shared": {},
        "scratch": {"ebs": {"size_gib": 200, "type": "gp3", "iops": 3000, "throughput_mibps": 250}},
    },
    "services": {
        "api": {
            "containers": {
                "app": {
                    "image": "nginx:1.27",
                    "port": 8080,
                    "mounts": [{"volume": "scratch", "path": "/scratch"}, {"volume": "shared", "path": "/shared"}],
                }
            },
            "http": {"path": "/*"},
        },
        "worker": {
            "containers": {"app": {"image": "busybox:1.36", "mounts": [{"volume": "scratch", "path": "/work"}]}}
        },
    },
}
RESOURCES = "scratch-dev-resources"
SERVICES = ("scratch-dev-service-api", "scratch-dev-service-worker")


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    directory = tmp_path_factory.mktemp("ebs")
    path = directory / "scratch.yml"
    path.write_text(yaml.safe_dump(MANIFEST))
    result = inprocess_synth(path, directory / "out")
    assert result.returncode == 0, result.stderr
    return result


def parameter_name(template: dict[str, Any], value: Any) -> str:
    """The SSM parameter a `{"Ref": ...}` of the template reads."""
    parameter = template["Parameters"][value["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    return str(parameter["Default"])


def test_each_service_that_mounts_it_gets_its_own_volume_per_task(synth: Synth) -> None:
    manifest = load_manifest(synth.manifest).manifest
    for stack in SERVICES:
        template = synth.templates()[stack]
        service = only(synth.resources(stack, "AWS::ECS::Service"))["Properties"]
        (configuration,) = service["VolumeConfigurations"]
        assert configuration["Name"] == "scratch"
        volume = configuration["ManagedEBSVolume"]
        expected = {"VolumeType": "gp3", "SizeInGiB": 200, "Iops": 3000, "Throughput": 250, "Encrypted": True}
        assert {k: volume[k] for k in expected} == expected
        assert parameter_name(template, volume["RoleArn"]) == names.ebs_role_parameter(manifest)
        assert parameter_name(template, volume["KmsKeyId"]) == names.ebs_key_parameter(manifest)
        assert volume["TagSpecifications"] == [{"ResourceType": "volume", "PropagateTags": "SERVICE"}]


def test_the_task_definition_leaves_the_volume_to_launch_and_efs_mounts_stay(synth: Synth) -> None:
    stack = SERVICES[0]
    definition = only(synth.resources(stack, "AWS::ECS::TaskDefinition"))["Properties"]
    volumes = {v["Name"]: v for v in definition["Volumes"]}
    assert volumes["scratch"] == {"Name": "scratch", "ConfiguredAtLaunch": True}
    assert "EFSVolumeConfiguration" in volumes["shared"]
    (container,) = definition["ContainerDefinitions"]
    assert {m["SourceVolume"]: m["ContainerPath"] for m in container["MountPoints"]} == {
        "scratch": "/scratch",
        "shared": "/shared",
    }
    # An access point for the EFS volume only; the EBS volume needs no grant of the task role.
    access_points = synth.resources(stack, "AWS::EFS::AccessPoint")
    assert len(access_points) == 1 and "shared" in next(iter(access_points))
    assert "VolumeConfigurations" not in json.dumps(synth.templates()[RESOURCES])


def test_one_infrastructure_role_and_key_per_environment_retained(synth: Synth) -> None:
    manifest = load_manifest(synth.manifest).manifest
    role_id, role = next(iter(synth.resources(RESOURCES, "AWS::IAM::Role").items()))
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ecs.amazonaws.com"
    }
    (policy,) = role["Properties"]["ManagedPolicyArns"]
    assert json.dumps(policy).endswith('policy/service-role/AmazonECSInfrastructureRolePolicyForVolumes"]]}')
    key = only(synth.resources(RESOURCES, "AWS::KMS::Key"))
    assert key["Properties"]["EnableKeyRotation"] is True
    for resource in (role, key):
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    to_role = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"AWS": {"Fn::GetAtt": [role_id, "Arn"]}}
    ]
    actions = {a for s in to_role for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"kms:CreateGrant", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"} <= actions
    grant = next(s for s in to_role if s["Action"] == "kms:CreateGrant")
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    parameters = {
        p["Properties"]["Name"]: p["Properties"]["Value"]
        for p in synth.resources(RESOURCES, "AWS::SSM::Parameter").values()
    }
    assert parameters[names.ebs_role_parameter(manifest)] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert parameters[names.ebs_key_parameter(manifest)]["Fn::GetAtt"][1] == "Arn"


def test_an_ebs_volume_alone_makes_a_resources_stack_without_a_file_system(tmp_path: Path) -> None:
    path = tmp_path / "only-ebs.yml"
    data = {**MANIFEST, "volumes": {"scratch": MANIFEST["volumes"]["scratch"]}}
    data["services"] = {"worker": MANIFEST["services"]["worker"]}
    path.write_text(yaml.safe_dump(data))
    manifest = load_manifest(path).manifest
    assert manifest.has_resources
    assert not manifest.volumes["scratch"].creates_file_system


def test_a_larger_volume_starts_a_deployment_of_each_service(diff: Callable[[str, str], DiffResult]) -> None:
    result = diff("ebs-base", "ebs-size")
    assert {(d.stack, d.reasons) for d in result.deployments} == {
        ("scratch-dev-service-api", ("VolumeConfigurations",)),
        ("scratch-dev-service-worker", ("VolumeConfigurations",)),
    }
    assert result.stack("scratch-dev-resources").status == "unchanged"
    assert result.hazards == []


def test_removing_the_volume_keeps_the_key_and_role(diff: Callable[[str, str], DiffResult]) -> None:
    result = diff("ebs-base", "ebs-removed")
    assert any("AWS::KMS::Key" in n.text and "kept (Retain)" in n.text for n in result.notes)
    assert {d.stack for d in result.deployments} == set(SERVICES)
    assert result.hazards == []
    dropped = [n.stack for n in result.notes if "stops attaching EBS volumes" in n.text]
    assert sorted(dropped) == sorted(SERVICES)
    assert not any("stops attaching" in n.text for n in diff("ebs-base", "ebs-size").notes)
