"""`ecsforge diff`'s rules on small hand-written templates: the hazards no lifecycle pair reaches."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ecsforge.diff import (
    DEPLOYMENT_MARGIN_MINUTES,
    NLB_SHIFT_DELAY_MINUTES,
    DiffResult,
    deployment_minutes,
    diff_templates,
    synthesize,
)
from ecsforge.manifest import load_manifest
from ecsforge.manifest.deployment import deployment_minutes as validated_minutes


def template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Resources": resources, "Outputs": outputs or {}}


def run(old: dict[str, Any], new: dict[str, Any]) -> DiffResult:
    return diff_templates(old, new, old_manifest="old.yml", new_manifest="new.yml", region="eu-west-1")


QUEUE = {"Type": "AWS::SQS::Queue", "Properties": {}}
LISTENER = {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {"LoadBalancerArn": "arn:lb", "Port": 80}}


def test_removed_stack_importing_a_changed_export_is_destroyed_before_deploying():
    exporter_old = template({"Q": QUEUE}, {"Out": {"Value": {"Ref": "Q"}, "Export": {"Name": "x-queue"}}})
    exporter_new = template({"Q": QUEUE}, {"Out": {"Value": "other", "Export": {"Name": "x-queue"}}})
    importer = template({"P": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::ImportValue": "x-queue"}}}})
    result = run({"a": exporter_old, "b": importer}, {"a": exporter_new})
    by_kind = {h.kind: h for h in result.hazards}
    assert by_kind["export"].stack == "a" and "the deploy would fail" in by_kind["export"].what
    assert by_kind["stack-removed"].action == "run `cdk destroy b -c manifest=old.yml` BEFORE deploying"
    # Without the import, the removed stack is only to be destroyed, in any order.
    plain = run({"a": exporter_old, "b": template({"T": LISTENER})}, {"a": exporter_new})
    assert [h.kind for h in plain.hazards] == ["stack-removed"]
    assert "BEFORE" not in plain.hazards[0].action


def test_a_changed_export_that_stacks_need_while_they_exist_asks_for_no_impossible_deploy_order():
    network_old = template({"V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}})
    network_old["Outputs"] = {"Vpc": {"Value": {"Ref": "V"}, "Export": {"Name": "shop-prod-vpc-id"}}}
    network_new = {**network_old, "Outputs": {"Vpc": {"Value": "vpc-other", "Export": {"Name": "shop-prod-vpc-id"}}}}
    group = {"Type": "AWS::EC2::SecurityGroup", "Properties": {"VpcId": {"Fn::ImportValue": "shop-prod-vpc-id"}}}
    service = template({"G": group})
    result = run({"net": network_old, "svc": service}, {"net": network_new, "svc": service})
    (hazard,) = [h for h in result.hazards if h.kind == "export"]
    assert "no longer import it" not in hazard.action
    assert "no deploy order avoids it" in hazard.action and "`cdk destroy svc -c manifest=old.yml`" in hazard.action


def test_replacing_a_listener_rule_target_propagates_through_refs():
    old = template(
        {
            "L": LISTENER,
            "R": {
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {"ListenerArn": {"Ref": "L"}, "Priority": 1},
            },
        }
    )
    new = template(
        {
            "L": {**LISTENER, "Properties": {**LISTENER["Properties"], "LoadBalancerArn": "arn:lb2"}},
            "R": old["Resources"]["R"],
        }
    )
    result = run({"s": old}, {"s": new})
    assert {c.logical_id: c.action for _, c in result.changes()} == {"L": "replaced", "R": "replaced"}


def test_stateful_replaced_removed_and_retained():
    group = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "a"}}
    kept = {**group, "DeletionPolicy": "Retain"}
    old = template({"G": group, "Gone": group, "Kept": kept})
    new = template({"G": {**group, "Properties": {"LogGroupName": "b"}}})
    result = run({"s": old}, {"s": new})
    assert sorted((h.kind, h.what.split(" ")[0]) for h in result.hazards) == [("stateful", "G"), ("stateful", "Gone")]
    assert any(n.text.startswith("Kept (AWS::Logs::LogGroup) is kept (Retain)") for n in result.notes)


def test_a_generated_secret_left_behind_says_how_to_free_its_name():
    secret = {
        "Type": "AWS::SecretsManager::Secret",
        "DeletionPolicy": "Retain",
        "Properties": {"Name": "shop/prod/web/app/SALT", "GenerateSecretString": {"PasswordLength": 32}},
    }
    result = run({"svc": template({"S": secret}), "other": template({"Q": QUEUE})}, {"other": template({"Q": QUEUE})})
    (note,) = [n for n in result.notes if n.stack == "svc"]
    command = "aws secretsmanager delete-secret --secret-id shop/prod/web/app/SALT --force-delete-without-recovery"
    assert "is kept (Retain) and orphaned on destroy" in note.text and command in note.text
    # Inside a stack that stays, the same.
    kept = run({"svc": template({"S": secret, "Q": QUEUE})}, {"svc": template({"Q": QUEUE})})
    assert any(command in n.text for n in kept.notes)


def test_https_listener_removed_is_a_hazard():
    https = {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {"Protocol": "HTTPS", "Port": 443}}
    result = run({"s": template({"H": https, "P": LISTENER})}, {"s": template({"P": LISTENER})})
    assert [h.kind for h in result.hazards] == ["https"]
    assert result.exit_code == 3


def association(acl: Any, balancer: str = "LB", **attributes: str) -> dict[str, Any]:
    return {
        "Type": "AWS::WAFv2::WebACLAssociation",
        "Properties": {"ResourceArn": {"Ref": balancer}, "WebACLArn": acl},
        **attributes,
    }


def test_web_acl_switch_on_a_stack_that_does_not_retain_the_association_says_so():
    old = template({"A": association({"Fn::GetAtt": ["Acl", "Arn"]})})
    new = template({"A": association("arn:aws:wafv2:eu-west-1:1:regional/webacl/x/y", UpdateReplacePolicy="Retain")})
    ((kind, hazard),) = [(h.kind, h) for h in run({"s": old}, {"s": new}).hazards]
    assert kind == "waf"
    assert "the deployed template does not retain the replaced association" in hazard.what
    assert "--web-acl-arn arn:aws:wafv2:eu-west-1:1:regional/webacl/x/y" in hazard.action
    # Retained on both sides: the clean-up is safe; the rollback is not.
    kept = run({"s": template({"A": association("arn:a", UpdateReplacePolicy="Retain")})}, {"s": new})
    assert [h.kind for h in kept.hazards] == ["waf"] and "is retained" in kept.hazards[0].what


def test_web_acl_association_moved_to_another_load_balancer_is_no_waf_hazard():
    """The association follows a replaced load balancer; the old one goes with its load balancer."""
    result = run({"s": template({"A": association("arn:a")})}, {"s": template({"A": association("arn:a", "LB2")})})
    assert [c.replaced_by for _, c in result.changes()] == [("ResourceArn",)]
    assert result.hazards == []


def test_modelled_durations():
    def service(configuration: dict[str, Any]) -> dict[str, Any]:
        return {"Type": "AWS::ECS::Service", "Properties": {"DeploymentConfiguration": configuration}}

    linear = {
        "Strategy": "LINEAR",
        "BakeTimeInMinutes": 10,
        "LinearConfiguration": {"StepPercent": 25, "StepBakeTimeInMinutes": 3},
    }
    canary = {"Strategy": "CANARY", "BakeTimeInMinutes": 10, "CanaryConfiguration": {"CanaryBakeTimeInMinutes": 5}}
    # Four shifts of 25 %, a step bake between each two, none after the last (CloudFormation's count).
    assert deployment_minutes(service(linear)) == 3 * 3 + 10 + DEPLOYMENT_MARGIN_MINUTES
    # StepPercent is a double: 12.5 % shifts 8 times, 12 % 9 times.
    eighths = {**linear, "LinearConfiguration": {"StepPercent": 12.5, "StepBakeTimeInMinutes": 3}}
    assert deployment_minutes(service(eighths)) == 7 * 3 + 10 + DEPLOYMENT_MARGIN_MINUTES
    assert deployment_minutes(service(canary)) == 5 + 10 + DEPLOYMENT_MARGIN_MINUTES
    assert deployment_minutes(service({})) == DEPLOYMENT_MARGIN_MINUTES  # rolling
    assert deployment_minutes(service({"Strategy": "BLUE_GREEN", "BakeTimeInMinutes": {"Ref": "P"}})) is None
    # Behind a Network Load Balancer ECS waits at both traffic shifts.
    blue_green = service({"Strategy": "BLUE_GREEN", "BakeTimeInMinutes": 10})
    blue_green["Properties"]["LoadBalancers"] = [{"TargetGroupArn": {"Ref": "G"}}]
    group = {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Protocol": "TCP"}}
    assert deployment_minutes(blue_green, {"G": group}) == 10 + DEPLOYMENT_MARGIN_MINUTES + NLB_SHIFT_DELAY_MINUTES
    http = {"G": {**group, "Properties": {"Protocol": "HTTP"}}}
    assert deployment_minutes(blue_green, http) == 10 + DEPLOYMENT_MARGIN_MINUTES


def test_in_process_synthesis_equals_the_cli(synth, tmp_path):
    # diff, the fuzzer and the tests' ad-hoc manifests synthesize in-process: same templates as `cdk synth`.
    from .helpers import inprocess_synth, normalized

    cli = synth("examples/fargate-web.yml").templates()
    here = inprocess_synth("examples/fargate-web.yml", tmp_path).templates()
    assert normalized(here) == normalized(cli)


# One service per way of deploying; the deploy timeouts of `validate` use the same model.
EVERY_STRATEGY = """
version: 1
app: time
environment: dev
region: eu-west-1
services:
  steady:
    containers: {app: {image: nginx:1.27, port: 80}}
    http: {path: /steady/*}
  swap:
    containers: {app: {image: nginx:1.27, port: 80}}
    http: {path: /swap/*}
    deployment: {strategy: blue_green, bake_minutes: 15}
  bird:
    containers: {app: {image: nginx:1.27, port: 80}}
    http: {path: /bird/*}
    deployment: {strategy: canary, step_minutes: 7, bake_minutes: 3}
  ramp:
    containers: {app: {image: nginx:1.27, port: 80}}
    http: {path: /ramp/*}
    deployment: {strategy: linear, linear_step_percent: 30, step_minutes: 4, bake_minutes: 2}
  tcp:
    containers: {app: {image: nginx:1.27, port: 5432}}
    nlb: {port: 5432}
    deployment: {strategy: blue_green, bake_minutes: 5}
  tcp-steady:
    containers: {app: {image: nginx:1.27, port: 6432}}
    nlb: {port: 6432}
"""


def test_diff_prints_the_deployment_time_that_validate_checks_timeouts_against(tmp_path: Path):
    path = tmp_path / "time.yml"
    path.write_text(EVERY_STRATEGY)
    loaded = load_manifest(path)
    new = synthesize(loaded)
    old = copy.deepcopy(new)
    for stack in old.values():
        for resource in stack["Resources"].values():
            if resource["Type"] == "AWS::ECS::Service":
                resource["Properties"]["TaskDefinition"] = "an older revision"
    result = run(old, new)
    printed = {d.stack: d.line() for d in result.deployments}
    expected = {
        f"time-dev-service-{name}": validated_minutes(service) for name, service in loaded.manifest.services.items()
    }
    assert set(printed) == set(expected)
    for stack, minutes in expected.items():
        assert f" ~{minutes} min " in printed[stack], (printed[stack], minutes)
    # ECS waits for the NLB only when it shifts traffic: a rolling service behind one takes as long as any.
    assert expected["time-dev-service-tcp-steady"] == expected["time-dev-service-steady"]
    assert expected["time-dev-service-tcp"] > expected["time-dev-service-swap"]


def with_addon(name: str) -> dict[str, dict[str, Any]]:
    """A parent stack `p` whose addon `store` (a nested stack) names its bucket after a parameter."""
    addon = {
        "Type": "AWS::CloudFormation::Stack",
        "Metadata": {
            "aws:cdk:path": "p/Addons/store.NestedStack/store.NestedStackResource",
            "aws:asset:path": "pAddonsstore1234.nested.template.json",
        },
        "Properties": {"TemplateURL": "https://bucket/key.json", "Parameters": {"Name": name}},
    }
    nested = {
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "Name"}}},
            "Q": QUEUE,
        },
    }
    return {"p": template({"Addon": addon}), "pAddonsstore1234.nested": nested}


def test_a_parameter_the_parent_passes_anew_replaces_what_the_addon_names_with_it():
    """The nested template is the same text; the value its parent passes is not. BucketName is
    create-only: the bucket is replaced, shown under the parent with the stateful hazard."""
    result = run(with_addon("a"), with_addon("b"))
    assert [s.name for s in result.stacks] == ["p"]
    changes = {c.logical_id: (c.action, c.replaced_by) for c in result.stack("p").changes}
    assert changes == {"Addon": ("updated", ()), "store/Bucket": ("replaced", ("BucketName",))}
    assert [(h.stack, h.kind) for h in result.hazards] == [("p", "stateful")]
    assert result.hazards[0].what.startswith("store/Bucket (AWS::S3::Bucket) is replaced (BucketName)")
