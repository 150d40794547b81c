"""`ecsforge diff`'s rules on small hand-written templates: the hazards no lifecycle pair reaches."""

from __future__ import annotations

from typing import Any

from ecsforge.diff import DEPLOYMENT_MARGIN_MINUTES, DiffResult, deployment_minutes, diff_templates


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
    assert deployment_minutes(service(linear)) == 4 * 3 + 10 + DEPLOYMENT_MARGIN_MINUTES
    assert deployment_minutes(service(canary)) == 5 + 10 + DEPLOYMENT_MARGIN_MINUTES
    assert deployment_minutes(service({"Strategy": "BLUE_GREEN", "BakeTimeInMinutes": {"Ref": "P"}})) is None


def test_in_process_synthesis_equals_the_cli(synth, tmp_path):
    # diff, the fuzzer and the tests' ad-hoc manifests synthesize in-process: same templates as `cdk synth`.
    from .helpers import inprocess_synth, normalized

    cli = synth("examples/fargate-web.yml").templates()
    here = inprocess_synth("examples/fargate-web.yml", tmp_path).templates()
    assert normalized(here) == normalized(cli)
