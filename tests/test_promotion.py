"""Promotion across environments and accounts, V2 push triggers and notify (manifest v1.1):
the pipeline's stages, actions and roles, the promoted environment's trust stack, and both
sides agreeing on what trusts what."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest

from ecsforge.constructs.promotion import IMAGE_COPY
from ecsforge.constructs.release import RUNNER
from ecsforge.manifest import load_manifest

from .helpers import ROOT, offline_env, only

STAGING = "tests/manifests/promotion/staging.yml"
PIPELINE = "shop-staging-pipeline-web"
TRUST = "shop-prod-promotion-staging-web"
SOURCE_ROLE = "arn:aws:iam::111111111111:role/shop-staging-promote-"
TARGET_ROLE = "arn:aws:iam::222222222222:role/ecsforge/shop/prod/promotion/staging-web"


@pytest.fixture(scope="module")
def result(synth):
    synthesized = synth(STAGING)
    assert synthesized.returncode == 0, synthesized.stderr
    return synthesized


def pipeline(result):
    return only(result.resources(PIPELINE, "AWS::CodePipeline::Pipeline"))["Properties"]


def stage(result, name):
    return next(s for s in pipeline(result)["Stages"] if s["Name"] == name)


def promote_project(result):
    action = next(a for a in stage(result, "Promote-prod")["Actions"] if a["Name"] == "Release-prod")
    resource = result.templates()[PIPELINE]["Resources"][action["Configuration"]["ProjectName"]["Ref"]]
    return resource["Properties"]


def variables(project):
    return {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}


def statements(result, stack, role_id):
    policies = result.resources(stack, "AWS::IAM::Policy").values()
    return [
        s
        for p in policies
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def role_id(result, stack, predicate):
    return next(k for k, r in result.resources(stack, "AWS::IAM::Role").items() if predicate(r["Properties"]))


def test_promotion_stage_follows_deploy_with_approval_then_release(result):
    assert [s["Name"] for s in pipeline(result)["Stages"]] == ["Source", "Build", "Deploy", "Promote-prod"]
    actions = stage(result, "Promote-prod")["Actions"]
    assert [(a["Name"], a["ActionTypeId"]["Category"], a["RunOrder"]) for a in actions] == [
        ("Approve-prod", "Approval", 1),
        ("Release-prod", "Build", 2),
    ]
    # The action runs in the pipeline's own account and region: nothing is read across accounts.
    assert all("Region" not in a and "Fn::GetAtt" in a["RoleArn"] for a in actions)
    release = actions[1]
    assert json.loads(release["Configuration"]["EnvironmentVariables"]) == [
        {"name": "IMAGE_TAG", "type": "PLAINTEXT", "value": "#{Build.IMAGE_TAG}"}
    ]


def test_approval_of_a_promotion_has_its_own_subscribers(result):
    subscriptions = result.resources(PIPELINE, "AWS::SNS::Subscription").values()
    approval_topic = stage(result, "Promote-prod")["Actions"][0]["Configuration"]["NotificationArn"]
    endpoints = {s["Properties"]["Endpoint"] for s in subscriptions if s["Properties"]["TopicArn"] == approval_topic}
    assert endpoints == {"release-managers@example.com"}


def test_promotion_project_targets_the_other_account_and_region(result):
    project = promote_project(result)
    env = variables(project)
    assert env["TARGET_ROLE_ARN"] == TARGET_ROLE
    assert env["TARGET_REGION"] == "eu-west-1"
    assert env["TARGET_REPOSITORY_URI"] == "222222222222.dkr.ecr.eu-west-1.amazonaws.com/shop/prod/web"
    assert env["TRUST_STACK"] == TRUST
    assert env["DEPLOY_MINUTES"] == "45"
    # its own timeout, plus the release step's hand-off
    assert project["TimeoutInMinutes"] == 45 + 120


def test_promotion_copies_by_digest_verifies_it_and_releases_there(result):
    script = json.loads(promote_project(result)["Source"]["BuildSpec"])["phases"]["build"]["commands"][0]
    # The copy is image_copy.py as it is, run after the trust was checked, with the source's digest.
    assert IMAGE_COPY.read_text(encoding="utf-8") in script
    copy = script.index('DIGEST="$DIGEST" python3 image_copy.py')
    assert script.index("cat > image_copy.py") < script.index("$FINGERPRINT") < copy
    assert "get-login-password" not in script and "go install" not in script
    assert '[ "$COPIED" = "$DIGEST" ] || fail' in script
    env = variables(promote_project(result))
    assert env["SOURCE_REGION"] == "us-east-1" and env["SOURCE_REPOSITORY_NAME"] == "shop/staging/web"
    # The release step there is the runner with prod's plan: prod's parameter and stacks, never staging's.
    plan = json.loads(shlex.split(script[script.index("export RELEASE_PLAN=") :].splitlines()[0])[1].split("=", 1)[1])
    assert plan["parameter"] == "/ecsforge/shop/prod/registries/web/released-tag"
    assert plan["stacks"] == ["shop-prod-service-web"]
    assert "/shop/staging/" not in script
    assert RUNNER.read_text(encoding="utf-8") in script
    # Deploy, then record: a failed rollout rolls back and records nothing.
    assert script.index("aws ecs update-service") < script.index("python3 runner.py")
    assert "rollback()" in script


def test_pipeline_role_may_assume_only_the_trust_role(result):
    promote_role = role_id(result, PIPELINE, lambda p: p.get("RoleName", "").startswith("shop-staging-promote-"))
    allowed = statements(result, PIPELINE, promote_role)
    assume = [s for s in allowed if s["Action"] == "sts:AssumeRole"]
    assert assume == [{"Action": "sts:AssumeRole", "Effect": "Allow", "Resource": TARGET_ROLE}]
    pushes = [s for s in allowed if "ecr:PutImage" in s["Action"]]
    assert pushes == []  # the source registry is only read
    # What the copy reads, on the one repository; no registry login, so no GetAuthorizationToken.
    (reads,) = [s for s in allowed if "ecr:BatchGetImage" in s["Action"]]
    assert reads["Action"] == ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"]
    assert reads["Resource"] == "arn:aws:ecr:us-east-1:111111111111:repository/shop/staging/web"
    assert not any("ecr:GetAuthorizationToken" in s["Action"] for s in allowed)


def test_trust_stack_is_prods_and_trusts_exactly_the_pipelines_role(result):
    assembly = json.loads((result.outdir / "manifest.json").read_text())
    assert assembly["artifacts"][TRUST]["environment"] == "aws://222222222222/eu-west-1"
    role = only(result.resources(TRUST, "AWS::IAM::Role"))["Properties"]
    assert f"arn:aws:iam::222222222222:role{role['Path']}{role['RoleName']}" == TARGET_ROLE
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    promote_role = result.resources(PIPELINE, "AWS::IAM::Role")[
        role_id(result, PIPELINE, lambda p: p.get("RoleName", "").startswith("shop-staging-promote-"))
    ]
    name = promote_role["Properties"]["RoleName"]
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": f"{SOURCE_ROLE}{name.rsplit('-', 1)[1]}"}}
    tags = {t["Key"]: t["Value"] for t in role["Tags"]}
    assert tags["environment"] == "prod"


def test_trust_role_pushes_deploys_and_releases_only_in_prod(result):
    trust_role = only(result.resources(TRUST, "AWS::IAM::Role"))
    role = next(k for k, v in result.templates()[TRUST]["Resources"].items() if v is trust_role)
    allowed = statements(result, TRUST, role)
    text = json.dumps(allowed)
    assert "arn:aws:ecr:eu-west-1:222222222222:repository/shop/prod/web" in text
    assert "parameter/ecsforge/shop/prod/registries/web/released-tag" in text
    assert "stack/shop-prod-service-web/*" in text
    # prod's cluster by its name, never by importing prod's export: an import would lock prod's
    # cluster stack until this stack, of staging's manifest, is gone.
    assert "arn:aws:ecs:eu-west-1:222222222222:service/shop-prod-cluster/*" in text
    assert "Fn::ImportValue" not in json.dumps(result.templates()[TRUST])
    assert "111111111111" not in text and "staging" not in text
    passes = [s for s in allowed if s["Action"] == "iam:PassRole"]
    assert all("iam:PassedToService" in s["Condition"]["StringEquals"] for s in passes)


def test_stale_trust_is_caught_by_a_fingerprint_both_sides_share(result):
    parameter = only(result.resources(TRUST, "AWS::SSM::Parameter"))["Properties"]
    env = variables(promote_project(result))
    assert parameter["Name"] == env["TRUST_PARAMETER"]
    assert json.loads(parameter["Value"]) == {"fingerprint": env["FINGERPRINT"], "cluster": "shop-prod-cluster"}
    # A change to what the trust grants changes the fingerprint.
    loaded = load_manifest(ROOT / STAGING)
    promotion = loaded.manifest.pipelines["web"].promote[0]
    from ecsforge.constructs.promotion_plan import plans

    before = plans(loaded.manifest, "web")[0].fingerprint
    promotion.services = ["web", "worker"]
    assert plans(loaded.manifest, "web")[0].fingerprint != before


def test_push_filters_for_branches_with_paths_and_for_tags(result):
    (trigger,) = pipeline(result)["Triggers"]
    source = pipeline(result)["Stages"][0]["Actions"][0]["Configuration"]
    assert source["DetectChanges"] is False
    assert trigger["ProviderType"] == "CodeStarSourceConnection"
    assert trigger["GitConfiguration"] == {
        "SourceActionName": "source",
        "Push": [
            {
                "Branches": {"Includes": ["main", "release/*"]},
                "FilePaths": {"Includes": ["services/web/**", "Dockerfile"]},
            },
            {"Tags": {"Includes": ["v*"]}},
        ],
    }


def test_notify_sends_failures_approvals_and_promotions_to_emails_and_slack(result):
    rule = only(result.resources(PIPELINE, "AWS::CodeStarNotifications::NotificationRule"))["Properties"]
    assert rule["EventTypeIds"][-1] == "codepipeline-pipeline-pipeline-execution-succeeded"
    emails = {s["Properties"]["Endpoint"] for s in result.resources(PIPELINE, "AWS::SNS::Subscription").values()}
    assert "dev@example.com" in emails
    chat = only(result.resources(PIPELINE, "AWS::Chatbot::SlackChannelConfiguration"))["Properties"]
    assert (chat["SlackWorkspaceId"], chat["SlackChannelId"]) == ("T0123ABCD", "C0123ABCD")
    assert chat["SnsTopicArns"] == [rule["Targets"][0]["TargetAddress"]]
    role_arn = chat["IamRoleArn"]["Fn::GetAtt"][0]
    guardrail = result.templates()[PIPELINE]["Resources"][chat["GuardrailPolicies"][0]["Ref"]]["Properties"]
    for document in [guardrail["PolicyDocument"], *[{"Statement": statements(result, PIPELINE, role_arn)}]]:
        actions = {a for s in document["Statement"] for a in s["Action"]}
        assert actions == {"codepipeline:GetPipelineState", "codepipeline:GetPipelineExecution"}


def test_without_the_new_fields_no_trigger_chat_or_promotion(synth):
    result = synth("examples/pipeline-github.yml")
    properties = pipeline_of(result, "shop-prod-pipeline-app")
    assert "Triggers" not in properties
    assert not any(s["Name"].startswith("Promote-") for s in properties["Stages"])
    assert result.resources("shop-prod-pipeline-app", "AWS::Chatbot::SlackChannelConfiguration") == {}
    rule = only(result.resources("shop-prod-pipeline-app", "AWS::CodeStarNotifications::NotificationRule"))
    assert "codepipeline-pipeline-pipeline-execution-succeeded" not in rule["Properties"]["EventTypeIds"]
    assert not any(name.startswith("shop-prod-promotion-") for name in result.templates())


def pipeline_of(result, stack):
    return only(result.resources(stack, "AWS::CodePipeline::Pipeline"))["Properties"]


def test_promotion_templates_are_cdk_nag_and_cfn_lint_clean(result):
    report = json.loads((result.outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []
    templates = sorted(str(p) for p in result.outdir.glob("*.template.json"))
    assert any(TRUST in t for t in templates)
    lint = subprocess.run(
        ["cfn-lint", "--regions", "us-east-1", "eu-west-1", "--", *templates],
        cwd=ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_promoted_manifest_is_loaded_relative_to_the_declaring_one(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    loaded = load_manifest(ROOT / STAGING)
    target = loaded.manifest.pipelines["web"].promote[0].target
    assert (target.environment, target.account, target.region) == ("prod", "222222222222", "eu-west-1")


def test_promotion_script_is_valid_bash_and_refreshes_the_assumed_role():
    from ecsforge.constructs.promotion import promotion_script
    from ecsforge.constructs.promotion_plan import plans

    plan = plans(load_manifest(ROOT / STAGING).manifest, "web")[0]
    script = promotion_script(plan)
    checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    # A profile the CLI re-assumes, never exported keys that expire after an hour.
    assert "profile.promoted.credential_source EcsContainer" in script and "AWS_SECRET_ACCESS_KEY" not in script
    # Both of prod's services follow the registry, but only the listed one is deployed.
    assert "/ecsforge/shop/prod/services/web/service-name" in script
    assert "/services/worker/" not in script


def test_same_account_promotion_trusts_the_deploying_account(synth, tmp_path):
    target = (ROOT / "tests/manifests/invalid/promote-targets/prod.yml").read_text()
    (tmp_path / "prod.yml").write_text(target)
    source = (ROOT / "tests/manifests/invalid/promote-fields.yml").read_text()
    source = source.replace("https://example.com/prod.yml", "prod.yml").replace("[web, web]", "[web]")
    (tmp_path / "staging.yml").write_text(source)
    result = synth(tmp_path / "staging.yml")
    assert result.returncode == 0, result.stderr
    report = json.loads((result.outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []
    role = only(result.resources(TRUST, "AWS::IAM::Role"))["Properties"]
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
    assert {"Ref": "AWS::AccountId"} in principal["Fn::Join"][1]
    env = variables(promote_project(result))
    assert env["TARGET_REGION"] == "us-east-1" and "prod" in env["TARGET_ROLE_ARN"]["Fn::Join"][1][-1]
