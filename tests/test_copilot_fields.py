"""What real Copilot applications use (manifest v1.2, issue 23): extra security groups for the
tasks (tests/manifests/copilot-fields.yml), synthesized once, cdk-nag and cfn-lint clean."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecsforge.manifest import load_manifest
from ecsforge.manifest.security_groups import MAX_TASK_SECURITY_GROUPS

from .helpers import ROOT, Synth, cfn_lint, inprocess_synth, only

MANIFEST = ROOT / "tests" / "manifests" / "copilot-fields.yml"


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return inprocess_synth(MANIFEST, tmp_path_factory.mktemp("copilot-fields"))


@pytest.fixture(scope="module")
def manifest() -> Any:
    return load_manifest(MANIFEST, environ={}).manifest


def test_synthesis_passes_cdk_nag_and_cfn_lint(synth: Synth) -> None:
    assert synth.returncode == 0, synth.stderr
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []
    lint = cfn_lint(synth)
    assert lint.returncode == 0 and lint.stdout.strip() == "", lint.stdout + lint.stderr


def test_service_tasks_join_the_listed_groups_after_their_own_and_connects(synth: Synth, manifest: Any) -> None:
    service = only(synth.resources("moved-dev-service-web", "AWS::ECS::Service"))
    groups = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    [own] = synth.resources("moved-dev-service-web", "AWS::EC2::SecurityGroup")
    assert groups[0] == {"Fn::GetAtt": [own, "GroupId"]}
    assert "Fn::ImportValue" in groups[1]  # the cluster's Service Connect group
    assert groups[2:] == manifest.services["web"].security_groups
    assert len(groups) <= MAX_TASK_SECURITY_GROUPS


def test_scheduled_task_runs_in_its_own_group_and_the_listed_ones(synth: Synth, manifest: Any) -> None:
    schedule = only(synth.resources("moved-dev-task-report", "AWS::Scheduler::Schedule"))
    network = schedule["Properties"]["Target"]["EcsParameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    [own] = synth.resources("moved-dev-task-report", "AWS::EC2::SecurityGroup")
    assert network["SecurityGroups"] == [
        {"Fn::GetAtt": [own, "GroupId"]},
        *manifest.scheduled_tasks["report"].security_groups,
    ]


def test_no_rule_lands_on_a_listed_group(synth: Synth, manifest: Any) -> None:
    listed = manifest.services["web"].security_groups
    for template in synth.templates().values():
        for resource in template["Resources"].values():
            if resource["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
                assert resource["Properties"]["GroupId"] not in listed


def test_security_groups_default_to_none_and_are_kept_in_order(manifest: Any) -> None:
    from ecsforge.manifest.services import Service

    default = Service.model_validate({"containers": {"app": {"image": "nginx:1.27"}}})
    assert default.security_groups == []
    assert manifest.services["web"].security_groups == ["sg-0123456789abcdef0", "sg-0fedcba9"]


def test_cfn_export_values_become_imports(synth: Synth, manifest: Any) -> None:
    container = manifest.services["web"].containers["app"]
    definition = only(synth.resources("moved-dev-service-web", "AWS::ECS::TaskDefinition"))
    [rendered] = definition["Properties"]["ContainerDefinitions"]
    assert rendered["Environment"] == [
        {"Name": "DB_ENDPOINT", "Value": {"Fn::ImportValue": container.environment["DB_ENDPOINT"].cfn_export}}
    ]
    secret_import = {"Fn::ImportValue": container.secrets["DB_SECRET"].cfn_export}
    assert rendered["Secrets"] == [{"Name": "DB_SECRET", "ValueFrom": secret_import}]


def test_the_execution_role_reads_exactly_the_exported_secret(synth: Synth) -> None:
    policies = synth.resources("moved-dev-service-web", "AWS::IAM::Policy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    reads = [s for s in statements if "secretsmanager:GetSecretValue" in s["Action"]]
    assert [s["Resource"] for s in reads] == [{"Fn::ImportValue": "shop-db:SecretArn"}]


@pytest.mark.parametrize(
    ("written", "form"),
    [("plain", "(value)"), ({"addon": "DbPort"}, "(mapping)"), ({"cfn_export": "db-Port"}, "(export)")],
)
def test_each_value_form_is_told_apart_before_validation(written: Any, form: str) -> None:
    from ecsforge.manifest.addons import shape

    assert shape(written) == form


def test_the_https_listener_takes_the_manifests_ssl_policy(synth: Synth, manifest: Any) -> None:
    listeners = synth.resources("moved-dev-cluster", "AWS::ElasticLoadBalancingV2::Listener")
    https = [v for v in listeners.values() if v["Properties"]["Protocol"] == "HTTPS"]
    assert [v["Properties"]["SslPolicy"] for v in https] == [manifest.load_balancer.ssl_policy]


def test_the_default_ssl_policy_is_the_one_aws_cdk_writes_for_recommended_tls() -> None:
    """The listener keeps aws-cdk's RECOMMENDED_TLS for the default, so templates without ssl_policy
    do not change: the two must name one policy."""
    from ecsforge.manifest.http import DEFAULT_SSL_POLICY, LoadBalancer

    snapshot = (
        ROOT / "tests" / "__snapshots__" / "test_gates" / "test_templates_match_snapshot[examples-custom-domain].json"
    )
    assert f'"SslPolicy": "{DEFAULT_SSL_POLICY}"' in snapshot.read_text()
    assert LoadBalancer().ssl_policy == DEFAULT_SSL_POLICY


def test_the_target_group_checks_the_health_check_port_and_the_tasks_admit_it(synth: Synth, manifest: Any) -> None:
    port = manifest.services["web"].http.health_check.port
    group = only(synth.resources("moved-dev-service-web", "AWS::ElasticLoadBalancingV2::TargetGroup"))
    assert group["Properties"]["HealthCheckPort"] == str(port)
    own = only(synth.resources("moved-dev-service-web", "AWS::EC2::SecurityGroup"))
    rules = own["Properties"]["SecurityGroupIngress"]
    assert [(r["FromPort"], r["ToPort"], r["SourceSecurityGroupId"]) for r in rules] == [
        (port, port, {"Fn::ImportValue": "moved-dev-alb-security-group-id"})
    ]


def test_one_listener_rule_matches_every_host(synth: Synth, manifest: Any) -> None:
    rule = only(synth.resources("moved-dev-service-web", "AWS::ElasticLoadBalancingV2::ListenerRule"))
    headers = [c for c in rule["Properties"]["Conditions"] if c["Field"] == "host-header"]
    assert [c["HostHeaderConfig"]["Values"] for c in headers] == [manifest.services["web"].http.hosts]
    assert rule["Properties"]["Priority"] == manifest.services["web"].http.rule_priority


def test_with_a_domain_every_host_is_a_certificate_name_and_gets_records() -> None:
    from ecsforge.manifest.models import Manifest
    from ecsforge.manifest.traffic import domain_hosts

    spec = {
        "version": 1,
        "app": "shop",
        "environment": "dev",
        "region": "eu-west-1",
        "load_balancer": {"domain": {"zone_name": "example.com", "zone_id": "Z0123456789ABCDEFGHIJ"}},
        "services": {
            "web": {
                "http": {"hosts": ["www.example.com", "Shop.example.com"]},
                "containers": {"app": {"image": "nginx:1.27", "port": 8080}},
            },
            "api": {
                "http": {"host": "api.example.com", "path": "/api/*"},
                "containers": {"app": {"image": "nginx:1.27", "port": 8080}},
            },
        },
    }
    assert domain_hosts(Manifest.model_validate(spec)) == ["api.example.com", "shop.example.com", "www.example.com"]
