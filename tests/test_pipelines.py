"""Pipelines: stages, sources, build, test, approval, deploy, and the image contract."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from ecsforge.constructs.pipeline import build_spec
from ecsforge.manifest import load_manifest

from .helpers import ROOT, only

NAME = re.compile(r"^[A-Za-z0-9.@\-_]{1,100}$")


def pipeline(result, stack):
    return only(result.resources(stack, "AWS::CodePipeline::Pipeline"))["Properties"]


def actions(properties):
    return {a["Name"]: (stage["Name"], a) for stage in properties["Stages"] for a in stage["Actions"]}


def project(result, stack, ref):
    return result.templates()[stack]["Resources"][ref["Ref"]]["Properties"]


@pytest.mark.parametrize(
    ("manifest", "stack", "stages"),
    [
        ("examples/pipeline-github.yml", "shop-prod-pipeline-app", ["Source", "Build", "Test", "Approval", "Deploy"]),
        ("examples/pipeline-s3.yml", "reports-dev-pipeline-renderer", ["Source", "Build", "Deploy"]),
        ("platform.yml", "shop-prod-pipeline-api", ["Source", "Build", "Deploy"]),
    ],
)
def test_v2_pipeline_with_stages_in_order_and_valid_names(synth, manifest, stack, stages):
    properties = pipeline(synth(manifest), stack)
    assert properties["PipelineType"] == "V2"
    assert properties["Name"] == stack.replace("-pipeline-", "-")
    assert [s["Name"] for s in properties["Stages"]] == stages
    names = [a["Name"] for s in properties["Stages"] for a in s["Actions"]]
    assert len(names) == len(set(names)) and all(NAME.match(n) for n in [*names, *stages])
    source = properties["Stages"][0]["Actions"]
    assert {a["ActionTypeId"]["Category"] for a in source} == {"Source"}


def test_github_source_through_a_connection_never_a_token(synth):
    result = synth("examples/pipeline-github.yml")
    _, action = actions(pipeline(result, "shop-prod-pipeline-app"))["source"]
    assert action["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert action["Configuration"]["ConnectionArn"].startswith("arn:aws:codeconnections:us-east-1:")
    assert action["Configuration"]["FullRepositoryId"] == "acme/shop"
    assert "OAuthToken" not in json.dumps(result.templates()["shop-prod-pipeline-app"])


def test_several_sources_run_side_by_side_and_the_first_is_primary(synth):
    result = synth("platform.yml")
    by_name = actions(pipeline(result, "shop-prod-pipeline-web"))
    assert by_name["app"][0] == by_name["config"][0] == "Source"
    assert by_name["app"][1]["RunOrder"] == by_name["config"][1]["RunOrder"]
    build = by_name["Build"][1]
    assert [i["Name"] for i in build["InputArtifacts"]] == ["source_app", "source_config"]
    assert build["Configuration"]["PrimarySource"] == "source_app"
    variables = {v["name"]: v["value"] for v in json.loads(build["Configuration"]["EnvironmentVariables"])}
    assert variables == {
        "SOURCE_VERSION": "#{Source_app_NS.CommitId}",
        "SOURCE_VERSION_CONFIG": "#{Source_config_NS.CommitId}",
    }


def image_tag(command: str, **versions: str) -> str:
    tagged = subprocess.run(
        ["bash", "-c", f"{command}; printf '%s' \"$IMAGE_TAG\""],
        env={**versions, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return tagged.stdout


def test_an_image_of_several_sources_is_tagged_with_every_source_s_version():
    """A push to the second source builds a new image under a new tag; under the first source's commit
    alone it would reuse (or, with a custom buildspec, overwrite or fail to push) the previous one."""
    manifest = load_manifest(ROOT / "platform.yml").manifest
    command = build_spec(manifest, manifest.pipelines["web"])["phases"]["pre_build"]["commands"][0]
    app, config = "9f1c2e3d4b5a69788796a5b4c3d2e1f009182736", "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
    tag = image_tag(command, SOURCE_VERSION=app, SOURCE_VERSION_CONFIG=config)
    assert tag.startswith(f"{app}-") and re.fullmatch(r"[A-Za-z0-9._-]{1,128}", tag)
    assert image_tag(command, SOURCE_VERSION=app, SOURCE_VERSION_CONFIG=config) == tag  # a re-run reuses it
    assert image_tag(command, SOURCE_VERSION=app, SOURCE_VERSION_CONFIG=config[::-1]) != tag
    # S3 version ids and long branch-less ids still make a valid ECR tag.
    long_tag = image_tag(command, SOURCE_VERSION="x/+=" * 60, SOURCE_VERSION_CONFIG=config)
    assert len(long_tag) == 128 and re.fullmatch(r"[A-Za-z0-9._-]+", long_tag)


def test_codecommit_repository_is_created_and_retained(synth):
    result = synth("platform.yml")
    repository = only(result.resources("shop-prod-pipeline-web", "AWS::CodeCommit::Repository"))
    assert repository["Properties"]["RepositoryName"] == "shop-web"
    assert repository["DeletionPolicy"] == "Retain"


def test_s3_source_bucket_created_versioned_encrypted_ssl_only_retained(synth):
    result = synth("examples/pipeline-s3.yml")
    stack = "reports-dev-pipeline-renderer"
    buckets = result.resources(stack, "AWS::S3::Bucket")
    source_id, source = next((k, v) for k, v in buckets.items() if "SourceBucket" in k)
    properties = source["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "BucketEncryption" in properties and source["DeletionPolicy"] == "Retain"
    assert properties["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert properties["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True
    policies = [p["Properties"] for p in result.resources(stack, "AWS::S3::BucketPolicy").values()]
    source_policy = next(p for p in policies if p["Bucket"] == {"Ref": source_id})
    assert any(
        s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s)
        for s in source_policy["PolicyDocument"]["Statement"]
    )
    rule = only(result.resources(stack, "AWS::Events::Rule"))["Properties"]
    assert rule["EventPattern"]["detail"]["object"]["key"] == ["renderer/source.zip"]
    _, action = actions(pipeline(result, stack))["source"]
    assert action["Configuration"]["S3ObjectKey"] == "renderer/source.zip"
    assert action["Configuration"]["PollForSourceChanges"] is False


def test_build_project_privileged_current_image_compute_and_kms(synth):
    result = synth("examples/pipeline-github.yml")
    stack = "shop-prod-pipeline-app"
    _, build = actions(pipeline(result, stack))["Build"]
    properties = project(result, stack, build["Configuration"]["ProjectName"])
    environment = properties["Environment"]
    assert environment["PrivilegedMode"] is True
    assert environment["Image"].startswith("aws/codebuild/standard:")
    assert environment["ComputeType"] == "BUILD_GENERAL1_MEDIUM"
    assert "EncryptionKey" in properties
    variables = {v["Name"]: v["Value"] for v in environment["EnvironmentVariables"]}
    assert variables["DOCKERFILE"] == "docker/Dockerfile" and variables["BUILD_CONTEXT"] == "."
    spec = properties["Source"]["BuildSpec"]
    for step in ("ecr get-login-password", "docker build", "docker push", "imagedefinitions.json"):
        assert step in spec, step


def test_custom_buildspec_replaces_the_generated_one(synth):
    result = synth("platform.yml")
    stack = "shop-prod-pipeline-api"
    _, build = actions(pipeline(result, stack))["Build"]
    assert project(result, stack, build["Configuration"]["ProjectName"])["Source"]["BuildSpec"] == "ci/buildspec.yml"


def test_build_role_pushes_to_its_one_repository_only(synth):
    result = synth("examples/pipeline-github.yml")
    statements = [
        s
        for name, p in result.resources("shop-prod-pipeline-app", "AWS::IAM::Policy").items()
        if "BuildProject" in name
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    push = [s for s in statements if "ecr:PutImage" in json.dumps(s["Action"])]
    assert len(push) == 1
    assert json.dumps(push[0]["Resource"]).endswith(':repository/shop/prod/app"]]}')


def test_generated_buildspec_writes_image_definitions_per_service(tmp_path):
    manifest = load_manifest(ROOT / "examples" / "pipeline-github.yml").manifest
    spec = build_spec(manifest, manifest.pipelines["app"])
    script = "\n".join(["set -euo pipefail", *spec["phases"]["post_build"]["commands"]])
    env = {
        "REPOSITORY_URI": "111111111111.dkr.ecr.us-east-1.amazonaws.com/shop/prod/app",
        "IMAGE_TAG": "abc123",
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, check=True)
    image = "111111111111.dkr.ecr.us-east-1.amazonaws.com/shop/prod/app:abc123"
    assert json.loads((tmp_path / "images/web/imagedefinitions.json").read_text()) == [
        {"name": "web", "imageUri": image}
    ]
    assert json.loads((tmp_path / "images/worker/imagedefinitions.json").read_text()) == [
        {"name": "worker", "imageUri": image}
    ]
    assert json.loads((tmp_path / "imagedefinitions.json").read_text()) == [
        {"name": "web", "imageUri": image},
        {"name": "worker", "imageUri": image},
    ]
    tag_command = spec["phases"]["pre_build"]["commands"][0]
    # One source: its commit id, in the characters ECR tags allow.
    assert image_tag(tag_command, SOURCE_VERSION="0123abc/+=weird") == "0123abc---weird"


def test_test_stage_runs_the_commands_on_the_source(synth):
    result = synth("examples/pipeline-github.yml")
    stack = "shop-prod-pipeline-app"
    _, test = actions(pipeline(result, stack))["Test"]
    assert [i["Name"] for i in test["InputArtifacts"]] == ["source_source"]
    spec = json.loads(project(result, stack, test["Configuration"]["ProjectName"])["Source"]["BuildSpec"])
    assert spec["phases"]["build"]["commands"] == ["npm ci", "npm test"]


def test_approval_notifies_by_email_through_an_ssl_only_topic(synth):
    result = synth("examples/pipeline-github.yml")
    stack = "shop-prod-pipeline-app"
    _, approval = actions(pipeline(result, stack))["Approve"]
    assert approval["ActionTypeId"]["Provider"] == "Manual"
    assert approval["TimeoutInMinutes"] == 1440
    assert approval["Configuration"]["CustomData"] == "Check staging before approving"
    topic_id = approval["Configuration"]["NotificationArn"]["Ref"]
    emails = sorted(s["Properties"]["Endpoint"] for s in result.resources(stack, "AWS::SNS::Subscription").values())
    assert emails == ["ops@example.com", "release-managers@example.com"]
    assert "KmsMasterKeyId" in result.templates()[stack]["Resources"][topic_id]["Properties"]
    policy = only(result.resources(stack, "AWS::SNS::TopicPolicy"))["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s) for s in policy)


def test_approval_defaults_to_seven_days(synth):
    _, approval = actions(pipeline(synth("platform.yml"), "shop-prod-pipeline-web"))["Approve"]
    assert approval["TimeoutInMinutes"] == 10080


def test_failures_and_waiting_approvals_are_published_to_the_topic(synth):
    result = synth("examples/pipeline-github.yml")
    stack = "shop-prod-pipeline-app"
    rule = only(result.resources(stack, "AWS::CodeStarNotifications::NotificationRule"))["Properties"]
    assert set(rule["EventTypeIds"]) == {
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-manual-approval-needed",
    }
    (topic_id,) = result.resources(stack, "AWS::SNS::Topic")
    assert rule["Targets"] == [{"TargetAddress": {"Ref": topic_id}, "TargetType": "SNS"}]


def test_deploy_stage_one_parallel_ecs_action_per_service(synth):
    result = synth("examples/pipeline-github.yml")
    stages = pipeline(result, "shop-prod-pipeline-app")["Stages"]
    deploy = next(s for s in stages if s["Name"] == "Deploy")["Actions"]
    ecs = [a for a in deploy if a["ActionTypeId"]["Provider"] == "ECS"]
    assert [a["Name"] for a in ecs] == ["Deploy-web", "Deploy-worker"]
    assert {a["RunOrder"] for a in ecs} == {1}
    for action, service in zip(ecs, ["web", "worker"], strict=True):
        configuration = action["Configuration"]
        assert configuration["FileName"] == f"images/{service}/imagedefinitions.json"
        assert configuration["DeploymentTimeout"] == 30
        assert "Ref" in configuration["ServiceName"]  # an SSM-typed parameter (tests/test_releases.py)
    record = next(a for a in deploy if a["Name"] == "RecordRelease")
    assert record["RunOrder"] == 2  # only after every service took the image


def test_artifact_bucket_encrypted_ssl_only_private_retained(synth):
    result = synth("examples/pipeline-github.yml")
    stack = "shop-prod-pipeline-app"
    store = pipeline(result, stack)["ArtifactStore"]
    bucket = result.templates()[stack]["Resources"][store["Location"]["Ref"]]
    assert bucket["DeletionPolicy"] == "Retain"
    rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    key = only(result.resources(stack, "AWS::KMS::Key"))
    assert key["Properties"]["EnableKeyRotation"] is True and key["DeletionPolicy"] == "Retain"


# --- the image contract, end to end at the template level --------------------------------


def test_the_pipeline_records_the_tag_that_services_read(synth):
    """The service's image comes from the SSM parameter that the pipeline's last release
    wrote, not from a tag fixed at synth time."""
    result = synth("examples/pipeline-github.yml")
    templates = result.templates()
    stack = "shop-prod-pipeline-app"
    _, record = actions(pipeline(result, stack))["RecordRelease"]
    spec = json.loads(project(result, stack, record["Configuration"]["ProjectName"])["Source"]["BuildSpec"])
    commands = " ".join(spec["phases"]["build"]["commands"])
    assert "ssm.put_parameter(Name=plan.parameter, Value=outcome.tag" in commands  # ecsforge/release/runner.py
    variables = {
        v["Name"]: v["Value"]
        for v in project(result, stack, record["Configuration"]["ProjectName"])["Environment"]["EnvironmentVariables"]
    }
    written = json.loads(variables["RELEASE_PLAN"])["parameter"]
    assert "#{Build.IMAGE_TAG}" in record["Configuration"]["EnvironmentVariables"]
    for service in ("web", "worker"):
        template = templates[f"shop-prod-service-{service}"]
        read = [p["Default"] for p in template["Parameters"].values() if p["Default"].endswith("/released-tag")]
        assert read == [written]
        definition = next(r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition")
        image = json.dumps(definition["Properties"]["ContainerDefinitions"][0]["Image"])
        assert "SsmParameterValue" in image and "abc" not in image  # no tag fixed at synth time
    registry = templates["shop-prod-registries"]["Resources"]
    created = [json.loads(r["Properties"]["Create"]) for r in registry.values() if r["Type"] == "Custom::AWS"]
    assert [c["parameters"]["Name"] for c in created] == [written]
