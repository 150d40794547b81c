"""load_balancer.domain and load_balancer.waf: the models' rules and defaults, and what the cluster
stack's template holds (examples/custom-domain.yml and small manifests of the tests' own)."""

from __future__ import annotations

import textwrap

import pytest

from ecsforge.manifest import ManifestError, load_manifest

from .helpers import ROOT, only

CLUSTER = "shop-prod-cluster"
CERTIFICATE = "AWS::CertificateManager::Certificate"
RECORD = "AWS::Route53::RecordSet"
WEB_ACL = "AWS::WAFv2::WebACL"
ASSOCIATION = "AWS::WAFv2::WebACLAssociation"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"


def manifest_file(tmp_path, load_balancer: str, hosts: dict[str, str | None], name: str = "m.yml"):
    services = ""
    for service, host in hosts.items():
        http = f"{{host: {host!r}}}" if host else "{}"
        services += f"  {service}:\n    http: {http}\n    containers:\n      app: {{image: nginx, port: 80}}\n"
    text = "version: 1\napp: shop\nenvironment: prod\nregion: eu-west-1\n"
    text += "load_balancer:\n" + textwrap.indent(textwrap.dedent(load_balancer), "  ") + "services:\n" + services
    path = tmp_path / name
    path.write_text(text)
    return path


DOMAIN = "domain: {zone_id: Z0123456789ABCDEFGHIJ, zone_name: example.com}\n"


def errors(path) -> str:
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, environ={})
    return str(caught.value)


# --- the models --------------------------------------------------------------------------------


def test_waf_defaults_are_the_three_managed_rule_groups(tmp_path):
    loaded = load_manifest(manifest_file(tmp_path, "waf: {}\n", {"web": None}), environ={})
    waf = loaded.manifest.load_balancer.waf
    assert waf is not None
    assert waf.managed_rules == ["common", "known_bad_inputs", "ip_reputation"]
    assert waf.rate_limit_per_5min is None and waf.web_acl_arn is None


def test_rate_limit_minimum_is_ten(tmp_path):
    load_manifest(manifest_file(tmp_path, "waf: {rate_limit_per_5min: 10}\n", {"web": None}), environ={})
    assert "rate_limit_per_5min: 9 is outside 10.." in errors(
        manifest_file(tmp_path, "waf: {rate_limit_per_5min: 9}\n", {"web": None})
    )


def test_a_leading_wildcard_label_is_a_host_under_the_zone(tmp_path):
    load_manifest(manifest_file(tmp_path, DOMAIN, {"web": "*.example.com", "api": "API.Example.com"}), environ={})
    assert "wildcard" in errors(manifest_file(tmp_path, DOMAIN, {"web": "*.*.example.com"}))
    # A suffix match on the text alone would accept this one.
    outside = manifest_file(tmp_path, DOMAIN, {"web": "badexample.com"})
    assert "is not in load_balancer.domain.zone_name" in errors(outside)


def test_the_certificate_quota_counts_distinct_names_including_the_zone(tmp_path):
    limited = DOMAIN.replace("}", ", max_certificate_names: 3}")
    # zone + two hosts (one written twice, in two cases) fits in 3...
    fits = {"a": "a.example.com", "b": "b.example.com", "c": "B.example.com", "apex": "example.com"}
    load_manifest(manifest_file(tmp_path, limited, fits), environ={})
    # ...a third host does not, and the error is at that host.
    text = errors(manifest_file(tmp_path, limited, {**fits, "d": "d.example.com"}))
    assert "services.d.http.host: 'd.example.com' is name 4" in text
    # With certificate_arn no certificate is made, so the quota does not apply.
    given = limited + "certificate_arn: arn:aws:acm:eu-west-1:111111111111:certificate/abc-123\n"
    load_manifest(manifest_file(tmp_path, given, {**fits, "d": "d.example.com"}), environ={})


# --- the templates -----------------------------------------------------------------------------


def test_example_certificate_names_the_zone_and_both_hosts_sorted(synth):
    result = synth("examples/custom-domain.yml")
    certificate = only(result.resources(CLUSTER, CERTIFICATE))["Properties"]
    assert certificate["DomainName"] == "example.com"
    assert certificate["SubjectAlternativeNames"] == ["api.example.com", "www.example.com"]
    assert certificate["ValidationMethod"] == "DNS"
    assert {o["HostedZoneId"] for o in certificate["DomainValidationOptions"]} == {"Z0123456789ABCDEFGHIJ"}
    (certificate_id,) = result.resources(CLUSTER, CERTIFICATE)
    https = [p["Properties"] for p in result.resources(CLUSTER, LISTENER).values() if p["Properties"]["Port"] == 443]
    assert only(dict(enumerate(https)))["Certificates"] == [{"CertificateArn": {"Ref": certificate_id}}]


def test_example_has_an_a_and_an_aaaa_alias_per_host(synth):
    result = synth("examples/custom-domain.yml")
    records = [r["Properties"] for r in result.resources(CLUSTER, RECORD).values()]
    assert sorted((r["Name"], r["Type"]) for r in records) == [
        (f"{host}.example.com.", kind) for host in ("api", "www") for kind in ("A", "AAAA")
    ]
    (balancer,) = result.resources(CLUSTER, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert all(r["AliasTarget"]["HostedZoneId"] == {"Fn::GetAtt": [balancer, "CanonicalHostedZoneID"]} for r in records)


def test_example_web_acl_rules_rate_limit_and_logging(synth):
    result = synth("examples/custom-domain.yml")
    (acl_id, acl), *_ = result.resources(CLUSTER, WEB_ACL).items()
    rules = acl["Properties"]["Rules"]
    assert acl["Properties"]["Scope"] == "REGIONAL"
    assert [r["Name"] for r in rules] == [
        "RateLimitPerClientIp",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    ]
    assert rules[0]["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": 300,
        "Limit": 2000,
    }
    assert len({r["Priority"] for r in rules}) == len(rules)
    association = only(result.resources(CLUSTER, ASSOCIATION))["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    (group_id, group), *_ = {
        k: v for k, v in result.resources(CLUSTER, "AWS::Logs::LogGroup").items() if "Firewall" in k
    }.items()
    assert group["Properties"]["LogGroupName"].startswith("aws-waf-logs-")
    assert group["DeletionPolicy"] == "Retain"
    logging = only(result.resources(CLUSTER, "AWS::WAFv2::LoggingConfiguration"))
    (destination,) = logging["Properties"]["LogDestinationConfigs"]
    assert destination["Fn::Join"][1][-1].endswith(f":log-group:{group['Properties']['LogGroupName']}")
    assert group_id in logging["DependsOn"]


def test_existing_web_acl_is_only_associated(synth, tmp_path):
    arn = "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/shared/a1b2c3d4-5678-90ab-cdef-123456789012"
    result = synth(manifest_file(tmp_path, f"waf: {{web_acl_arn: {arn}}}\n", {"web": None}))
    assert result.resources(CLUSTER, WEB_ACL) == {}
    assert only(result.resources(CLUSTER, ASSOCIATION))["Properties"]["WebACLArn"] == arn


def test_domain_with_certificate_arn_makes_records_but_no_certificate(synth, tmp_path):
    arn = "arn:aws:acm:eu-west-1:111111111111:certificate/abc-123"
    result = synth(manifest_file(tmp_path, DOMAIN + f"certificate_arn: {arn}\n", {"web": "www.example.com"}))
    assert result.resources(CLUSTER, CERTIFICATE) == {}
    records = sorted(
        (r["Properties"]["Name"], r["Properties"]["Type"]) for r in result.resources(CLUSTER, RECORD).values()
    )
    assert records == [("www.example.com.", "A"), ("www.example.com.", "AAAA")]
    https = [v["Properties"] for v in result.resources(CLUSTER, LISTENER).values() if v["Properties"]["Port"] == 443]
    assert https[0]["Certificates"] == [{"CertificateArn": arn}]


def test_domain_opens_443_and_redirects_80(synth, tmp_path):
    result = synth(manifest_file(tmp_path, DOMAIN, {"web": "www.example.com"}))
    listeners = {v["Properties"]["Port"]: v["Properties"] for v in result.resources(CLUSTER, LISTENER).values()}
    assert listeners[443]["Protocol"] == "HTTPS"
    assert listeners[80]["DefaultActions"][0]["Type"] == "redirect"
    group = only(result.resources(CLUSTER, "AWS::EC2::SecurityGroup"))["Properties"]
    assert {r["FromPort"] for r in group["SecurityGroupIngress"]} == {80, 443}


def test_service_order_does_not_change_the_certificate(synth, tmp_path):
    hosts = {"a": "a.example.com", "b": "b.example.com"}
    first = synth(manifest_file(tmp_path, DOMAIN, hosts, "one.yml"))
    second = synth(manifest_file(tmp_path, DOMAIN, dict(reversed(hosts.items())), "two.yml"))
    assert first.resources(CLUSTER, CERTIFICATE) == second.resources(CLUSTER, CERTIFICATE)


def test_without_domain_and_waf_nothing_new_is_made(synth):
    result = synth(ROOT / "examples" / "fargate-web.yml")
    stacks = result.templates()
    for kind in (CERTIFICATE, RECORD, WEB_ACL, ASSOCIATION):
        assert not [k for t in stacks.values() for k, v in t["Resources"].items() if v["Type"] == kind]


NIST_SCRIPT = """
import sys, tempfile
from aws_cdk import App, Validations
from cdk_nag import NIST80053R5Checks
from ecsforge.diff import cdk_context
from ecsforge.manifest import load_manifest
from ecsforge.platform import build
app = App(outdir=tempfile.mkdtemp(), context=cdk_context())
build(app, load_manifest(sys.argv[1]).manifest)
Validations.of(app).add_plugins(NIST80053R5Checks(app))
try:
    app.synth()
except Exception as error:
    print(error)
"""


@pytest.mark.parametrize(
    ("manifest", "flagged"), [("examples/fargate-web.yml", True), ("examples/custom-domain.yml", False)]
)
def test_waf_clears_cdk_nags_alb_waf_rule(manifest, flagged):
    # AwsSolutions has no rule about WAF on a load balancer; NIST 800-53 R5's ALBWAFEnabled is
    # the cdk-nag rule that checks it. With load_balancer.waf it finds nothing to report.
    import subprocess
    import sys

    from .helpers import offline_env

    process = subprocess.run(
        [sys.executable, "-c", NIST_SCRIPT, manifest], cwd=ROOT, env=offline_env(), capture_output=True, text=True
    )
    output = process.stdout + process.stderr
    assert "(NIST.800.53.R5)" in output  # the pack ran and reported its other findings
    assert ("NIST.800.53.R5-ALBWAFEnabled" in output) is flagged


def test_domain_warns_about_no_hosts_and_an_internal_load_balancer(tmp_path):
    public = load_manifest(manifest_file(tmp_path, DOMAIN, {"web": "www.example.com"}), environ={})
    assert list(public.manifest.warnings()) == []
    internal = load_manifest(manifest_file(tmp_path, DOMAIN + "public: false\n", {"web": None}), environ={})
    texts = [message for _, message in internal.manifest.warnings()]
    assert any("no DNS record is made" in t for t in texts)
    assert any("internal load balancer" in t for t in texts)
