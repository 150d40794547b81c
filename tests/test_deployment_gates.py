"""`services.*.deployment.hooks` and `test_traffic` (issue 24 items 1-4): the model of how long
a gated deployment may wait, and what examples/gated.yml synthesizes."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

from ecsforge.manifest import load_manifest
from ecsforge.manifest.deployment import (
    DEPLOYMENT_MARGIN_MINUTES,
    deployment_minutes,
    pause_minutes,
    traffic_shift_minutes,
)

from .helpers import inprocess_synth

BASE = "version: 1\napp: shop\nenvironment: prod\nregion: us-east-1\n"
GATED = "examples/gated.yml"
SMOKE_TEST = "arn:aws:lambda:eu-west-1:111111111111:function:smoke-test"


def load(tmp_path, text):
    path = tmp_path / "m.yml"
    path.write_text(BASE + textwrap.dedent(text))
    return load_manifest(path, environ={}).manifest


def service_yaml(strategy: str, stage: str, extra: str = "") -> str:
    return f"""
    services:
      web:
        containers: {{app: {{image: nginx:1.27, port: 80}}}}
        http: {{}}
        deployment:
          strategy: {strategy}
          bake_minutes: 10
          step_minutes: 0
          {extra}
          hooks:
            - stages: [{stage}]
              pause: {{timeout_minutes: 30}}
    """


@pytest.mark.parametrize(
    ("strategy", "extra", "stage", "waits"),
    [
        ("blue_green", "", "PRE_PRODUCTION_TRAFFIC_SHIFT", 30),
        ("canary", "", "PRE_PRODUCTION_TRAFFIC_SHIFT", 60),  # before the canary step and before the rest
        ("linear", "linear_step_percent: 25", "PRE_PRODUCTION_TRAFFIC_SHIFT", 120),  # four steps
        ("linear", "linear_step_percent: 25", "POST_TEST_TRAFFIC_SHIFT", 30),  # once per deployment
    ],
)
def test_pause_timeouts_count_in_the_deployment_time(tmp_path, strategy, extra, stage, waits):
    service = load(tmp_path, service_yaml(strategy, stage, extra)).services["web"]
    assert deployment_minutes(service) == 10 + DEPLOYMENT_MARGIN_MINUTES + waits


def test_pauses_repeat_at_each_production_step():
    assert pause_minutes("linear", [(["PRE_PRODUCTION_TRAFFIC_SHIFT"], 30)], 25) == 120
    assert pause_minutes("blue_green", [(["PRE_SCALE_UP", "POST_PRODUCTION_TRAFFIC_SHIFT"], 30)], 20) == 60


def test_cloudformation_limit_counts_each_pause_once(tmp_path):
    # CloudFormation adds bake time and each hook's timeout once ("Total bake time ... 33 hours").
    manifest = load(tmp_path, service_yaml("linear", "PRE_PRODUCTION_TRAFFIC_SHIFT", "linear_step_percent: 25"))
    assert traffic_shift_minutes(manifest.services["web"].deployment) == 10 + 30


@pytest.fixture(scope="module")
def gated(synth) -> dict[str, Any]:
    result = synth(GATED)
    assert result.returncode == 0, result.stderr
    return result.templates()["shop-prod-service-web"]["Resources"]


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def test_hooks_reach_the_service(gated):
    ((service,),) = [list(of_type(gated, "AWS::ECS::Service").values())]
    lambda_hook, pause_hook = service["Properties"]["DeploymentConfiguration"]["LifecycleHooks"]
    assert lambda_hook["TargetType"] == "AWS_LAMBDA"
    assert lambda_hook["HookTargetArn"] == SMOKE_TEST
    assert lambda_hook["LifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
    assert json.loads(lambda_hook["HookDetails"])["url"] == "https://shop.example.com/health"
    role = lambda_hook["RoleArn"]["Fn::GetAtt"][0]
    assert gated[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ecs.amazonaws.com"
    }
    assert pause_hook == {
        "TargetType": "PAUSE",
        "LifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"],
        "TimeoutConfiguration": {"TimeoutInMinutes": 120, "Action": "ROLLBACK"},
    }


def test_hook_role_may_invoke_exactly_its_function(gated):
    service = next(iter(of_type(gated, "AWS::ECS::Service").values()))
    role = service["Properties"]["DeploymentConfiguration"]["LifecycleHooks"][0]["RoleArn"]["Fn::GetAtt"][0]
    policies = [p for p in of_type(gated, "AWS::IAM::Policy").values() if {"Ref": role} in p["Properties"]["Roles"]]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert statements == [{"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": SMOKE_TEST}]
    assert "ManagedPolicyArns" not in gated[role]["Properties"]


def test_test_listener_rule_precedes_the_production_rule(gated):
    service = next(iter(of_type(gated, "AWS::ECS::Service").values()))
    advanced = service["Properties"]["LoadBalancers"][0]["AdvancedConfiguration"]
    test_rule = gated[advanced["TestListenerRule"]["Ref"]]["Properties"]
    production = gated[advanced["ProductionListenerRule"]["Ref"]]["Properties"]
    assert test_rule["Priority"] == production["Priority"] - 1
    assert test_rule["ListenerArn"] == production["ListenerArn"]
    header = next(c for c in test_rule["Conditions"] if c["Field"] == "http-header")
    assert header["HttpHeaderConfig"] == {"HttpHeaderName": "x-ecsforge-test", "Values": ["1"]}
    assert [c for c in test_rule["Conditions"] if c["Field"] != "http-header"] == production["Conditions"]
    # ECS rewrites its forward, like the production rule's: no tags that an ordinary edit would update.
    assert "Tags" not in test_rule


def test_waiting_pause_mails_the_command(gated):
    ((rule,),) = [list(of_type(gated, "AWS::Events::Rule").values())]
    service = next(name for name, r in gated.items() if r["Type"] == "AWS::ECS::Service")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["ECS Hook State Change"]
    assert pattern["detail"] == {
        "eventName": ["HOOK_AWAITING_ACTION"],
        "hookType": ["PAUSE"],
        "serviceArn": [{"Ref": service}],
    }
    (target,) = rule["Properties"]["Targets"]
    topic = gated[target["Arn"]["Ref"]]
    assert topic["Type"] == "AWS::SNS::Topic" and "KmsMasterKeyId" in topic["Properties"]
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"]["detail-hookId"] == "$.detail.hookId"
    text = transformer["InputTemplate"]
    assert "service web" in text and "<detail-hookId>" in text and "<detail-lifecycleStage>" in text
    assert f"python -m ecsforge continue {GATED} web --rollback" in text
    emails = [s["Properties"]["Endpoint"] for s in of_type(gated, "AWS::SNS::Subscription").values()]
    assert emails == ["ops@example.com"]


# --- day 2 (tests/manifests/lifecycle/blue-green*.yml) ------------------------------------------

RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"


def test_adding_gates_adds_a_rule_and_leaves_the_production_rule_alone(diff):
    result = diff("blue-green", "blue-green-gated")
    changes = result.stack("life-dev-service-web").changes
    rules = [c for c in changes if c.type == RULE]
    assert [(c.action, c.logical_id.startswith("ServiceTestListenerRule")) for c in rules] == [("added", True)]
    assert "listener-rule" not in [h.kind for h in result.hazards]
    (deployment,) = result.deployments
    # The diff reads the pause back from the template: 90 minutes on top of bake and margin.
    assert deployment.minutes == 15 + DEPLOYMENT_MARGIN_MINUTES + 90


def test_test_header_edit_flags_the_test_rule_ecs_owns(diff):
    result = diff("blue-green-gated", "blue-green-gated-header-edit")
    hazards = [h for h in result.hazards if h.kind == "listener-rule"]
    assert len(hazards) == 1 and "ServiceTestListenerRule" in hazards[0].what
    assert result.exit_code == 3


# --- the pipeline's Slack channel ----------------------------------------------------------------

SLACK_MANIFEST = """
registries: {web: {}}
services:
  web:
    containers:
      web: {image: {registry: web}, port: 80}
    http: {}
    deployment:
      strategy: blue_green
      bake_minutes: 5
      hooks:
        - stages: [PRE_PRODUCTION_TRAFFIC_SHIFT]
          pause: {timeout_minutes: 30, notify: [ops@example.com]}
pipelines:
  web:
    source: {s3: {key: a.zip}}
    build: {registry: web}
    deploy: {services: [web]}
    notify:
      slack: {workspace_id: T0123ABCD, channel_id: C0123ABCD}
"""


@pytest.fixture(scope="module")
def with_slack(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("slack")
    path = folder / "slack.yml"
    path.write_text(BASE + SLACK_MANIFEST)
    result = inprocess_synth(path, folder / "out")
    assert result.returncode == 0, result.stderr
    return result.templates()["shop-prod-service-web"]["Resources"]


def test_waiting_pause_reaches_the_pipelines_slack_channel(with_slack):
    ((channel,),) = [list(of_type(with_slack, "AWS::Chatbot::SlackChannelConfiguration").values())]
    assert channel["Properties"]["SlackChannelId"] == "C0123ABCD"
    (chat_topic,) = channel["Properties"]["SnsTopicArns"]
    ((rule,),) = [list(of_type(with_slack, "AWS::Events::Rule").values())]
    targets = {t["Arn"]["Ref"]: t["InputTransformer"]["InputTemplate"] for t in rule["Properties"]["Targets"]}
    chat = json.loads(targets.pop(chat_topic["Ref"]))
    # AWS Chatbot's custom notification format; the email topic keeps the plain text.
    assert chat["source"] == "custom" and "--rollback" in chat["content"]["description"]
    (email_text,) = targets.values()
    assert email_text.startswith('"The deployment of service web waits')
    guardrail = next(iter(of_type(with_slack, "AWS::IAM::ManagedPolicy").values()))
    (statement,) = guardrail["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "ecs:DescribeServices"


def test_no_slack_channel_without_a_pipeline_that_has_one(gated):
    assert of_type(gated, "AWS::Chatbot::SlackChannelConfiguration") == {}
