"""`services.*.connect` as a mapping (issue 24 item 5): `tls` from an AWS Private CA and the proxy's
`access_logs`; `connect: true` keeps its meaning and its templates."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from ecsforge.manifest import load_manifest
from ecsforge.manifest.connect import Connect, connect_settings

from .helpers import inprocess_synth

BASE = "version: 1\napp: shop\nenvironment: prod\nregion: eu-west-1\ncluster: {service_connect: true}\n"
GATED = "examples/gated.yml"
CA = "arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
TLS_POLICY = "AmazonECSInfrastructureRolePolicyForServiceConnectTransportLayerSecurity"


def write(tmp_path, name: str, services: str):
    path = tmp_path / f"{name}.yml"
    path.write_text(BASE + "services:\n" + textwrap.indent(textwrap.dedent(services), "  "))
    return path


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


# --- the model --------------------------------------------------------------------------------


def test_both_forms_and_their_defaults(tmp_path):
    path = write(
        tmp_path,
        "m",
        f"""
        plain:
          containers: {{app: {{image: httpd:2.4, port: 8080}}}}
          connect: true
        mapped:
          containers: {{app: {{image: httpd:2.4, port: 8081}}}}
          connect: {{tls: {{private_ca_arn: "{CA}"}}}}
        off:
          containers: {{app: {{image: httpd:2.4, port: 8082}}}}
        """,
    )
    services = load_manifest(path, environ={}).manifest.services
    assert services["plain"].connect is True
    assert connect_settings(services["plain"].connect) == Connect()
    mapped = connect_settings(services["mapped"].connect)
    assert mapped is not None and mapped.tls is not None and mapped.tls.private_ca_arn == CA
    assert mapped.access_logs is False
    assert services["off"].connect is False and connect_settings(services["off"].connect) is None


# --- examples/gated.yml: api -> orders with TLS and access logs -------------------------------


@pytest.fixture(scope="module")
def gated(synth) -> dict[str, dict[str, Any]]:
    result = synth(GATED)
    assert result.returncode == 0, result.stderr
    templates = result.templates()
    return {name: templates[f"shop-prod-service-{name}"]["Resources"] for name in ("api", "orders", "web")}


@pytest.mark.parametrize("name", ["api", "orders"])
def test_every_endpoint_gets_tls_from_the_ca_through_the_stack_role(gated, name):
    resources = gated[name]
    ((service,),) = [list(of_type(resources, "AWS::ECS::Service").values())]
    entries = service["Properties"]["ServiceConnectConfiguration"]["Services"]
    ((role_id, role),) = trusting(resources, "ecs.amazonaws.com").items()
    assert entries and all(
        entry["Tls"]
        == {"IssuerCertificateAuthority": {"AwsPcaAuthorityArn": CA}, "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]}}
        for entry in entries
    )
    properties = role["Properties"]
    assert properties["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}}
    ]
    ((arn,),) = [properties["ManagedPolicyArns"]]
    assert arn["Fn::Join"][1][-1] == f":iam::aws:policy/service-role/{TLS_POLICY}"
    # Nothing else: the managed policy is all ECS needs, and no inline policy widens it.
    assert not [
        p for p in of_type(resources, "AWS::IAM::Policy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
    ]


def trusting(resources: dict[str, Any], service: str) -> dict[str, dict[str, Any]]:
    return {
        k: r
        for k, r in of_type(resources, "AWS::IAM::Role").items()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": service}
    }


@pytest.mark.parametrize("name", ["api", "orders"])
def test_access_logs_go_to_the_retained_proxy_log_group_without_query_strings(gated, name):
    resources = gated[name]
    ((service,),) = [list(of_type(resources, "AWS::ECS::Service").values())]
    config = service["Properties"]["ServiceConnectConfiguration"]
    assert config["AccessLogConfiguration"] == {"Format": "JSON", "IncludeQueryParameters": "DISABLED"}
    # ECS writes access logs through the Service Connect log configuration: it must be there.
    group = config["LogConfiguration"]["Options"]["awslogs-group"]["Ref"]
    assert resources[group]["Type"] == "AWS::Logs::LogGroup" and resources[group]["DeletionPolicy"] == "Retain"


def test_the_gated_web_service_has_no_service_connect(gated):
    ((service,),) = [list(of_type(gated["web"], "AWS::ECS::Service").values())]
    assert "ServiceConnectConfiguration" not in service["Properties"]


# --- `connect: true` keeps its templates ----------------------------------------------------


def test_connect_true_and_an_empty_mapping_synthesize_the_same_templates(tmp_path):
    service = "orders:\n  containers: {{api: {{image: httpd:2.4, port: 8080}}}}\n  connect: {}\n"
    plain = inprocess_synth(write(tmp_path, "plain", service.format("true")), tmp_path / "plain.out").templates()
    mapped = inprocess_synth(write(tmp_path, "mapped", service.format("{}")), tmp_path / "mapped.out").templates()
    assert plain == mapped
    resources = plain["shop-prod-service-orders"]["Resources"]
    ((config,),) = [
        [r["Properties"]["ServiceConnectConfiguration"] for r in of_type(resources, "AWS::ECS::Service").values()]
    ]
    assert "AccessLogConfiguration" not in config and all("Tls" not in entry for entry in config["Services"])
    assert trusting(resources, "ecs.amazonaws.com") == {}  # no TLS role


# --- day 2 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "role"), [("connect", "connect-tls", "added"), ("connect-tls", "connect", "removed")]
)
def test_turning_tls_on_or_off_deploys_the_service_and_replaces_nothing(diff, old, new, role):
    result = diff(old, new)
    stack = "life-dev-service-orders"
    assert [s.name for s in result.stacks if s.status != "unchanged"] == [stack]
    changes = {(c.type, c.action) for _, c in result.changes()}
    assert changes == {("AWS::ECS::Service", "updated"), ("AWS::IAM::Role", role)}
    assert [(d.stack, d.reasons) for d in result.deployments] == [(stack, ("ServiceConnectConfiguration",))]
    assert result.hazards == []
