"""A network without NAT gateways runs everything it accepts: the network stack adds the
endpoints that the workloads use, ecsforge's log router comes from Amazon ECR of the region,
and validation rejects what no endpoint serves (tests/manifests/invalid/isolated-*.yml)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecsforge.manifest import load_manifest
from ecsforge.manifest.isolation import ENDPOINTS, isolated_endpoints
from ecsforge.manifest.runtime import LOG_ROUTER_IMAGE, LOG_ROUTER_REGIONAL_PARAMETER

from .helpers import only, variant

EXAMPLE = "examples/no-nat.yml"
NETWORK = "vault-prod-network"
WORKER = "vault-prod-service-worker"
REGION = "eu-central-1"
REGIONAL_ROUTER = f"arn:aws:ecr:{REGION}:*:repository/aws-for-fluent-bit"
# Every service the manifest's workloads can make the network stack add an endpoint for.
ADDED = {"sqs", "sns", "kms", "sts", "kinesis-firehose", "kinesis-streams", "xray", "states", "lambda", "events"}
ADDED |= {"monitoring", "dynamodb"}

# On top of the example: a publisher with every kind of use that adds an endpoint.
PUBLISHER = {
    "topics": {"events": {}},
    "services.publisher": {
        "containers": {
            "app": {
                "image": {"registry": "app", "tag": "v1.0.0"},
                "logging": {
                    "firelens": {
                        "name": "kinesis_streams",
                        "options": {"region": REGION, "stream": "s", "role_arn": "arn:aws:iam::111111111111:role/w"},
                    }
                },
            }
        },
        "access": {"topics": {"events": "publish"}},
        "permissions": [
            {"actions": ["dynamodb:GetItem", "kms:Decrypt"], "resources": ["*"]},
            {"actions": ["lambda:InvokeFunction"], "resources": ["*"], "effect": "Deny"},
        ],
    },
}


def manifest_with(tmp_path: Path, name: str, change: dict[str, Any]) -> Path:
    return variant(tmp_path, EXAMPLE, name, change)


def endpoint_services(result, stack: str) -> set[str]:
    found = set()
    for endpoint in result.resources(stack, "AWS::EC2::VPCEndpoint").values():
        name = json.dumps(endpoint["Properties"]["ServiceName"])
        found.add(name.rsplit(".", 1)[-1].strip('"]}'))
    return found


def log_router(result) -> dict[str, Any]:
    definition = only(result.resources(WORKER, "AWS::ECS::TaskDefinition"))["Properties"]
    return next(c for c in definition["ContainerDefinitions"] if c["Name"] == "log-router")


def execution_statements(result) -> list[dict[str, Any]]:
    policies = result.resources(WORKER, "AWS::IAM::Policy")
    policy = only({k: v for k, v in policies.items() if "ExecutionRole" in k})
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


@pytest.fixture(scope="module")
def example(synth):
    result = synth(EXAMPLE)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def variants(synth, tmp_path_factory):
    """The example with a publisher, without NAT and with one NAT gateway."""
    folder = tmp_path_factory.mktemp("isolated")
    return {
        nat: synth(manifest_with(folder, f"nat-{nat}", {**PUBLISHER, "network.nat_gateways": nat})) for nat in (0, 1)
    }


# --- endpoints ------------------------------------------------------------------------------


def test_the_example_gets_the_endpoints_of_its_queue_and_its_log_destination(example):
    assert endpoint_services(example, NETWORK) & ADDED == {"sqs", "kinesis-firehose"}


def test_each_use_adds_its_endpoint_only_without_nat(variants):
    # The example's queue and Firehose, the publisher's topic, Kinesis output with a role, and permissions
    # (a Deny adds nothing: lambda stays out).
    expected = {"sqs", "kinesis-firehose", "sns", "kinesis-streams", "sts", "dynamodb", "kms"}
    assert endpoint_services(variants[0], NETWORK) & ADDED == expected
    assert endpoint_services(variants[1], NETWORK) & ADDED == set()


def test_dynamodb_gets_a_gateway_endpoint_on_the_private_route_tables(variants):
    endpoints = variants[0].resources(NETWORK, "AWS::EC2::VPCEndpoint").values()
    dynamodb = only({json.dumps(e["Properties"]["ServiceName"]): e for e in endpoints if "dynamodb" in str(e)})
    assert dynamodb["Properties"]["VpcEndpointType"] == "Gateway"
    assert dynamodb["Properties"]["RouteTableIds"]


def test_the_endpoint_list_follows_the_workloads(tmp_path):
    def endpoints(change: dict[str, Any]) -> list[str]:
        return isolated_endpoints(load_manifest(manifest_with(tmp_path, "m", change)).manifest)

    assert endpoints({}) == ["Sqs", "KinesisFirehose"]
    assert endpoints({"services.worker.access": None, "services.worker.permissions": []}) == ["KinesisFirehose"]
    assert endpoints({"network.nat_gateways": 1}) == []
    assert set(endpoints(PUBLISHER)) == {"Sqs", "Sns", "Kms", "Sts", "KinesisFirehose", "KinesisStreams", "DynamoDb"}
    assert endpoints(PUBLISHER) == [e for e in ENDPOINTS if e in endpoints(PUBLISHER)]


# --- the log router's image -----------------------------------------------------------------


def test_without_nat_the_log_router_comes_from_ecr_of_the_region(example):
    image = log_router(example)["Image"]
    parameters = example.templates()[WORKER]["Parameters"]
    assert parameters[image["Ref"]] == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": LOG_ROUTER_REGIONAL_PARAMETER,
    }
    assert LOG_ROUTER_REGIONAL_PARAMETER.rsplit("/", 1)[1] == LOG_ROUTER_IMAGE.rsplit(":", 1)[1]
    pulls = [s for s in execution_statements(example) if REGIONAL_ROUTER in json.dumps(s["Resource"])]
    assert pulls and set(only(dict(enumerate(pulls)))["Action"]) >= {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
    assert any(s["Action"] == "ecr:GetAuthorizationToken" for s in execution_statements(example))


def test_with_nat_the_log_router_stays_on_ecr_public(variants):
    assert log_router(variants[1])["Image"] == LOG_ROUTER_IMAGE
    assert REGIONAL_ROUTER not in json.dumps(execution_statements(variants[1]))


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [{"registry": "app", "tag": "v1.0.0"}, "111111111111.dkr.ecr.eu-central-1.amazonaws.com/tools/migrate:v3"],
    ids=["registry", "ecr-of-the-region"],
)
def test_images_from_ecr_of_the_region_are_accepted(tmp_path, image):
    path = manifest_with(tmp_path, "ecr", {"services.worker.containers.worker.image": image})
    assert load_manifest(path).manifest.services["worker"]


def test_an_imported_vpc_is_taken_as_it_is(tmp_path):
    imported = {
        "vpc_id": "vpc-0a1b2c3d4e5f67890",
        "private_subnet_ids": ["subnet-0a1b2c3d4e5f67890", "subnet-0a1b2c3d4e5f67891"],
        "public_subnet_ids": [],
    }
    path = manifest_with(
        tmp_path,
        "imported",
        {"network": {"import": imported}, "services.worker.containers.worker.image": "nginx:1.27"},
    )
    assert isolated_endpoints(load_manifest(path).manifest) == []


def test_grants_no_endpoint_serves_are_warned_about(tmp_path):
    permissions = [
        {"actions": ["ses:SendEmail", "ses:SendRawEmail", "iam:PassRole", "sqs:SendMessage"], "resources": ["*"]},
        {"actions": ["bedrock:InvokeModel"], "resources": ["*"], "effect": "Deny"},
    ]
    change = {
        "services.worker.permissions": permissions,
        "services.worker.managed_policies": ["arn:aws:iam::aws:policy/AmazonSESFullAccess"],
    }
    warnings = load_manifest(manifest_with(tmp_path, "grants", change)).warnings
    isolated = {w.path: w.message for w in warnings if "NAT" in w.message}
    assert set(isolated) == {
        ("services", "worker", "permissions", 0, "actions", 0),
        ("services", "worker", "managed_policies", 0),
    }
    with_nat = load_manifest(manifest_with(tmp_path, "nat", {**change, "network.nat_gateways": 1})).warnings
    assert not [w for w in with_nat if "NAT" in w.message]


# --- day 2 (tests/manifests/lifecycle/isolated*.yml) ----------------------------------------

ENDPOINT = "AWS::EC2::VPCEndpoint"


def endpoint_changes(result, action: str) -> list[str]:
    return [c.logical_id for stack, c in result.changes() if c.type == ENDPOINT and c.action == action]


def test_the_first_queue_consumer_adds_the_endpoint_without_a_hazard(diff, templates):
    result = diff("isolated-access-removed", "isolated")
    added = endpoint_changes(result, "added")
    network = templates("isolated")["vault-dev-network"]["Resources"]
    assert [network[logical_id]["Properties"]["ServiceName"] for logical_id in added] == ["com.amazonaws.eu-west-1.sqs"]
    assert result.hazards == []


def test_removing_the_last_consumer_removes_the_endpoint_first_a_hazard(diff):
    result = diff("isolated", "isolated-access-removed")
    assert len(endpoint_changes(result, "removed")) == 1
    hazard = only({h.kind: h for h in result.hazards})
    assert (hazard.kind, hazard.stack) == ("endpoint", "vault-dev-network") and "(sqs)" in hazard.what
    assert "--exclusively" in hazard.action


def test_with_a_nat_gateway_the_endpoint_goes_without_a_hazard(diff):
    result = diff("isolated", "isolated-nat-added")
    assert len(endpoint_changes(result, "removed")) == 1
    assert [h.kind for h in result.hazards] == []
