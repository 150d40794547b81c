"""Day-2 safety: ordinary edits deploy with a plain `cdk deploy --all`, and `cdk destroy --all`
finishes. Read from synthesized templates, and from the delete-time handler run without AWS."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ecsforge.constructs import unprotect_handler
from ecsforge.constructs.capacity import HANDLER

from .helpers import only, variant

BASE = "examples/fargate-web.yml"
CERTIFICATE = "arn:aws:acm:eu-west-1:222222222222:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
IMPORT = re.compile(r'"Fn::ImportValue": "([^"]+)"')


def exports(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        output["Export"]["Name"]: output["Value"]
        for template in templates.values()
        for output in template.get("Outputs", {}).values()
        if "Export" in output
    }


def imports(templates: dict[str, dict[str, Any]]) -> set[str]:
    return {
        name
        for stack, template in templates.items()
        if not stack.endswith(("-network", "-cluster"))
        for name in IMPORT.findall(json.dumps(template))
    }


# --- exports stay stable across ordinary edits ----------------------------------------------


@pytest.mark.parametrize(
    "change",
    [{"load_balancer.certificate_arn": CERTIFICATE}, {"load_balancer.public": False}],
    ids=["certificate-added", "public-flipped"],
)
def test_every_imported_export_keeps_its_value(synth, tmp_path, change):
    before = synth(BASE).templates()
    after = synth(variant(tmp_path, BASE, "changed", change)).templates()
    assert set(before) == set(after)
    # The edit does change the cluster stack...
    assert before["store-prod-cluster"] != after["store-prod-cluster"]
    # ...but no value that another stack imports, so CloudFormation lets it update.
    for templates in (before, after):
        imported = imports(templates)
        assert "store-prod-alb-security-group-id" in imported
        for name in imported:
            assert exports(before)[name] == exports(after)[name], name


def test_services_read_listener_and_name_from_ssm_not_exports(synth):
    templates = synth(BASE).templates()
    for name in imports(templates):
        assert not name.endswith(("-alb-listener-arn", "-alb-full-name")), name
    api = templates["store-prod-service-api"]
    read = {p["Default"] for p in api["Parameters"].values() if p["Type"] == "AWS::SSM::Parameter::Value<String>"}
    assert {"/ecsforge/store/prod/load-balancer/listener-arn", "/ecsforge/store/prod/load-balancer/full-name"} <= read
    rule = only(synth(BASE).resources("store-prod-service-api", "AWS::ElasticLoadBalancingV2::ListenerRule"))
    (listener_parameter,) = [
        k for k, p in api["Parameters"].items() if p.get("Default", "").endswith("/load-balancer/listener-arn")
    ]
    assert rule["Properties"]["ListenerArn"] == {"Ref": listener_parameter}


def _listeners(result, stack):
    return {k: r["Properties"] for k, r in result.resources(stack, "AWS::ElasticLoadBalancingV2::Listener").items()}


def _parameters(result, stack):
    found = result.resources(stack, "AWS::SSM::Parameter").values()
    return {r["Properties"]["Name"]: r["Properties"]["Value"] for r in found}


def test_parameters_name_the_rules_listener_and_port_80_keeps_its_logical_id(synth, tmp_path):
    plain = synth(BASE)
    secure = synth(variant(tmp_path, BASE, "certificate", {"load_balancer.certificate_arn": CERTIFICATE}))
    stack = "store-prod-cluster"
    (http,) = _listeners(plain, stack)
    assert _listeners(plain, stack)[http]["Port"] == 80
    assert _listeners(plain, stack)[http]["DefaultActions"][0]["Type"] == "fixed-response"
    # With a certificate port 80 is the same listener, now redirecting; rules move to 443.
    with_certificate = _listeners(secure, stack)
    assert with_certificate[http]["Port"] == 80
    assert with_certificate[http]["DefaultActions"][0]["Type"] == "redirect"
    (https,) = set(with_certificate) - {http}
    assert with_certificate[https]["Port"] == 443
    listener = "/ecsforge/store/prod/load-balancer/listener-arn"
    assert _parameters(plain, stack)[listener] == {"Ref": http}
    assert _parameters(secure, stack)[listener] == {"Ref": https}
    full_name = _parameters(plain, stack)["/ecsforge/store/prod/load-balancer/full-name"]
    assert full_name["Fn::GetAtt"][1] == "LoadBalancerFullName"
    # The deprecated exports are still written with the values they always had.
    assert exports(plain.templates())["store-prod-alb-listener-arn"] == {"Ref": http}
    assert exports(secure.templates())["store-prod-alb-listener-arn"] == {"Ref": https}
    assert exports(plain.templates())["store-prod-alb-full-name"] == full_name


# --- cdk destroy finishes -------------------------------------------------------------------


def test_scale_in_protection_is_lifted_after_the_provider_and_before_the_group(synth):
    result = synth("examples/ec2-spot.yml")
    stack = "batch-staging-cluster"
    resources = result.templates()[stack]["Resources"]
    lifts = result.resources(stack, "Custom::LiftScaleInProtection")
    providers = result.resources(stack, "AWS::ECS::CapacityProvider")
    groups = result.resources(stack, "AWS::AutoScaling::AutoScalingGroup")
    assert len(lifts) == len(providers) == len(groups) == 2
    association = only(result.resources(stack, "AWS::ECS::ClusterCapacityProviderAssociations"))
    associated = {p["Ref"] for p in association["Properties"]["CapacityProviders"]}
    assert associated == set(providers)  # association goes first, then the providers
    for provider in providers.values():
        group = provider["Properties"]["AutoScalingGroupProvider"]["AutoScalingGroupArn"]["Ref"]
        (lift,) = provider["DependsOn"]  # the provider goes before the lift
        assert resources[lift]["Type"] == "Custom::LiftScaleInProtection"
        # The lift Refs the group, so it runs before the group is deleted.
        assert resources[lift]["Properties"]["AutoScalingGroupName"] == {"Ref": group}
        assert resources[lift]["DeletionPolicy"] == "Delete"  # Retain would send no Delete
        function = resources[resources[lift]["Properties"]["ServiceToken"]["Fn::GetAtt"][0]]
        assert function["Properties"]["Code"]["ZipFile"] == HANDLER.read_text()
        assert function["Properties"]["Runtime"] == "python3.14"
        assert function["Properties"]["Timeout"] <= 300
        log_group = resources[function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Properties"]["RetentionInDays"] == 30
        role = resources[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        (policy,) = role["Properties"]["Policies"]
        statements = {
            tuple(sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"])): s["Resource"]
            for s in policy["PolicyDocument"]["Statement"]
        }
        scoped = statements[
            (
                "autoscaling:DeleteLifecycleHook",
                "autoscaling:SetInstanceProtection",
                "autoscaling:UpdateAutoScalingGroup",
            )
        ]
        assert scoped["Fn::Join"][1][-1] == {"Ref": group}
        assert scoped["Fn::Join"][1][0].endswith(":autoScalingGroup:*:autoScalingGroupName/")
        assert statements[("autoscaling:DescribeAutoScalingGroups",)] == "*"


def test_inline_handler_fits_cloudformation_zipfile():
    # CloudFormation has long limited inline ZipFile code to 4096 characters.
    assert len(HANDLER.read_text()) <= 4096


class FakeAutoScaling:
    def __init__(self, instances: dict[str, bool], fail: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.instances = instances
        self.fail = fail
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _call(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))
        if name in self.fail:
            raise RuntimeError(f"{name} denied")

    def update_auto_scaling_group(self, **kwargs: Any) -> None:
        self._call("update_auto_scaling_group", **kwargs)

    def describe_auto_scaling_groups(self, **kwargs: Any) -> dict[str, Any]:
        self._call("describe_auto_scaling_groups", **kwargs)
        listed = [{"InstanceId": i, "ProtectedFromScaleIn": p} for i, p in self.instances.items()]
        return {"AutoScalingGroups": [{"AutoScalingGroupName": "asg-1", "Instances": listed}]}

    def set_instance_protection(self, **kwargs: Any) -> None:
        self._call("set_instance_protection", **kwargs)

    def delete_lifecycle_hook(self, **kwargs: Any) -> None:
        self._call("delete_lifecycle_hook", **kwargs)


class Context:
    log_stream_name = "2026/01/01/[$LATEST]abc"

    def __init__(self, remaining_ms: int = 100_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def event(kind: str) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/x",
        "StackId": "arn:aws:cloudformation:eu-west-1:222222222222:stack/s/1",
        "RequestId": "r-1",
        "LogicalResourceId": "Lift",
        "ResourceProperties": {"ServiceToken": "arn:fn", "AutoScalingGroupName": "asg-1"},
        **({"PhysicalResourceId": "asg-1"} if kind != "Create" else {}),
    }


def run(kind: str, client: FakeAutoScaling, context: Context | None = None) -> dict[str, Any]:
    sent: list[tuple[str, dict[str, Any]]] = []
    unprotect_handler.handler(
        event(kind), context or Context(), client=client, send=lambda url, body: sent.append((url, json.loads(body)))
    )
    ((url, body),) = sent  # exactly one answer, always
    assert url == event(kind)["ResponseURL"]
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == "asg-1"
    return body


@pytest.mark.parametrize("kind", ["Create", "Update"])
def test_handler_does_nothing_on_create_and_update(kind):
    client = FakeAutoScaling({"i-1": True})
    run(kind, client)
    assert client.calls == []


def test_handler_lifts_protection_in_batches_of_50_and_removes_the_draining_hook():
    instances = {f"i-{n:03}": n % 7 != 0 for n in range(120)}  # some already unprotected
    client = FakeAutoScaling(instances)
    run("Delete", client)
    names = [name for name, _ in client.calls]
    assert names[:2] == ["update_auto_scaling_group", "describe_auto_scaling_groups"]
    assert client.calls[0][1] == {"AutoScalingGroupName": "asg-1", "NewInstancesProtectedFromScaleIn": False}
    batches = [kwargs for name, kwargs in client.calls if name == "set_instance_protection"]
    assert [len(b["InstanceIds"]) for b in batches] == [50, 50, 2]
    assert all(b["ProtectedFromScaleIn"] is False and b["AutoScalingGroupName"] == "asg-1" for b in batches)
    assert sorted(i for b in batches for i in b["InstanceIds"]) == sorted(i for i, p in instances.items() if p)
    assert client.calls[-1] == (
        "delete_lifecycle_hook",
        {"AutoScalingGroupName": "asg-1", "LifecycleHookName": "ecs-managed-draining-termination-hook"},
    )


def test_handler_answers_success_even_when_aws_calls_fail():
    client = FakeAutoScaling({"i-1": True}, fail={"update_auto_scaling_group", "delete_lifecycle_hook"})
    body = run("Delete", client)
    # The group's flag and the hook failing do not stop the instances being unprotected.
    assert (
        "set_instance_protection",
        {"AutoScalingGroupName": "asg-1", "InstanceIds": ["i-1"], "ProtectedFromScaleIn": False},
    ) in client.calls
    assert "group unchanged" in body["Reason"]
    broken = FakeAutoScaling({"i-1": True}, fail={"describe_auto_scaling_groups"})
    assert "left protection as it was" in run("Delete", broken)["Reason"]


def test_handler_answers_a_malformed_delete():
    sent: list[bytes] = []
    broken = {**event("Delete"), "ResourceProperties": {}}
    unprotect_handler.handler(broken, Context(), client=FakeAutoScaling({}), send=lambda url, body: sent.append(body))
    (body,) = [json.loads(b) for b in sent]
    assert body["Status"] == "SUCCESS" and "left protection as it was" in body["Reason"]


def test_handler_stops_before_the_lambda_times_out():
    client = FakeAutoScaling({f"i-{n}": True for n in range(200)})
    body = run("Delete", client, Context(remaining_ms=5_000))
    assert not [name for name, _ in client.calls if name == "set_instance_protection"]
    assert "out of time" in body["Reason"]


# --- endpoints without NAT ------------------------------------------------------------------

ECS_ENDPOINTS = ("ecs", "ecs-agent", "ecs-telemetry")


def _endpoint_services(result, stack, region="eu-central-1") -> set[str]:
    found = set()
    for endpoint in result.resources(stack, "AWS::EC2::VPCEndpoint").values():
        name = endpoint["Properties"]["ServiceName"]
        if isinstance(name, dict):  # {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]}
            name = "".join(part if isinstance(part, str) else region for part in name["Fn::Join"][1])
        found.add(name.removeprefix(f"com.amazonaws.{region}."))
    return found


def test_no_nat_without_ec2_or_exec_adds_no_ecs_or_exec_endpoints(synth):
    services = _endpoint_services(synth("examples/no-nat.yml"), "vault-prod-network")
    assert {"ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "s3"} <= services
    assert not services & {*ECS_ENDPOINTS, "ssmmessages"}


EC2_AND_EXEC = {
    "cluster.ec2": {"general": {"instance_type": "t3.medium"}},
    "services": {
        "shell": {
            "capacity": [{"provider": "general"}],
            "exec": True,
            # From the manifest's own registry: without NAT, validation rejects images from outside ECR.
            "containers": {"app": {"image": {"registry": "app", "tag": "v1.0.0"}, "port": 80, "memory": 256}},
        }
    },
}


@pytest.mark.parametrize(("nat", "expected"), [(0, {*ECS_ENDPOINTS, "ssmmessages"}), (1, set())])
def test_ec2_groups_and_exec_add_their_endpoints_only_without_nat(synth, tmp_path, nat, expected):
    path = variant(tmp_path, "examples/no-nat.yml", f"nat-{nat}", {**EC2_AND_EXEC, "network.nat_gateways": nat})
    result = synth(path)
    services = _endpoint_services(result, "vault-prod-network")
    assert services & {*ECS_ENDPOINTS, "ssmmessages"} == expected
    assert {"ecr.api", "ssm", "s3"} <= services
