"""The release itself (ecsforge/release/runner.py), which the pipeline's release step and
`python -m ecsforge release` both run, against botocore's Stubber: no network, and every
AWS call checked, with its parameters, in order."""

from __future__ import annotations

import ast
import copy
import datetime
import os
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from ecsforge.manifest import load_manifest
from ecsforge.release import command, runner
from ecsforge.release.plan import pipeline_plan, release_plan
from ecsforge.release.runner import ReleaseError, ReleasePlan, release

from .helpers import ROOT

WEB, TASK = "shop-prod-service-web", "shop-prod-task-rotate-logs"
PARAMETER = "/ecsforge/shop/prod/registries/web/released-tag"
URI = "111111111111.dkr.ecr.us-east-1.amazonaws.com/shop/prod/web"
MANIFEST = '{"schemaVersion":2}'
MEDIA = "application/vnd.oci.image.manifest.v1+json"
DEFINITION = {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:111111111111:task-definition/shop-prod-rotate-logs:3",
    "family": "shop-prod-rotate-logs",
    "revision": 3,
    "status": "ACTIVE",
    "requiresAttributes": [{"name": "x"}],
    "compatibilities": ["EC2", "FARGATE"],
    "registeredAt": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    "registeredBy": "arn:aws:iam::111111111111:role/x",
    "cpu": "256",
    "taskRoleArn": "arn:aws:iam::111111111111:role/ecsforge/shop/prod/task-rotate-logs/r",
    "containerDefinitions": [
        {"name": "rotate", "image": "repo:old", "command": ["npm", "run", "rotate-logs"]},
        {"name": "sidecar", "image": "nginx:1.27"},
    ],
}


class FakeSession:
    """A boto3 Session whose clients answer from Stubbers; `calls` is every call, in order."""

    def __init__(self) -> None:
        session = boto3.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        self.calls: list[str] = []
        self.clients = {}
        self.stubs = {}
        for name in ("ecr", "ssm", "cloudformation", "ecs", "sts"):
            client = session.client(name)
            client.meta.events.register("before-call.*.*", self._record)
            self.clients[name] = client
            self.stubs[name] = Stubber(client)
            self.stubs[name].activate()

    def _record(self, model, **_kwargs):
        self.calls.append(model.name)

    def client(self, name):
        return self.clients[name]

    def done(self):
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def plan() -> ReleasePlan:
    return pipeline_plan(load_manifest(ROOT / "platform.yml").manifest, _web_pipeline())


def _web_pipeline():
    return load_manifest(ROOT / "platform.yml").manifest.pipelines["web"]


def stack(name: str, resolved: str, status: str = "UPDATE_COMPLETE") -> dict:
    return {
        "Stacks": [
            {
                "StackName": name,
                "CreationTime": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
                "StackStatus": status,
                "Parameters": [
                    {"ParameterKey": "TagParam", "ParameterValue": PARAMETER, "ResolvedValue": resolved},
                    {"ParameterKey": "BootstrapVersion", "ParameterValue": "/cdk-bootstrap/hnb659fds/version"},
                ],
            }
        ]
    }


def expect_image(fake: FakeSession, tag: str = "abc123") -> None:
    fake.stubs["ecr"].add_response(
        "batch_get_image",
        {"images": [{"imageManifest": MANIFEST, "imageManifestMediaType": MEDIA}], "failures": []},
        {"repositoryName": "shop/prod/web", "imageIds": [{"imageTag": tag}]},
    )


def expect_find(fake: FakeSession, resolved: dict[str, str]) -> None:
    for name, value in resolved.items():
        fake.stubs["cloudformation"].add_response("describe_stacks", stack(name, value), {"StackName": name})


def expect_record(fake: FakeSession, retag_exists: bool = False) -> None:
    put = {
        "repositoryName": "shop/prod/web",
        "imageTag": "released-abc123",
        "imageManifest": MANIFEST,
        "imageManifestMediaType": MEDIA,
    }
    if retag_exists:
        fake.stubs["ecr"].add_client_error("put_image", "ImageAlreadyExistsException", expected_params=put)
    else:
        fake.stubs["ecr"].add_response("put_image", {}, put)
    fake.stubs["ssm"].add_response(
        "put_parameter",
        {"Version": 2},
        {"Name": PARAMETER, "Value": "abc123", "Type": "String", "Overwrite": True},
    )


def expect_update(fake: FakeSession, name: str, error: str | None = None) -> None:
    cloudformation = fake.stubs["cloudformation"]
    cloudformation.add_response("describe_stacks", stack(name, "none"), {"StackName": name})
    update = {
        "StackName": name,
        "UsePreviousTemplate": True,
        "Parameters": [
            {"ParameterKey": "TagParam", "UsePreviousValue": True},
            {"ParameterKey": "BootstrapVersion", "UsePreviousValue": True},
        ],
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    }
    if error:
        cloudformation.add_client_error("update_stack", "ValidationError", error, expected_params=update)
    else:
        cloudformation.add_response("update_stack", {"StackId": f"arn:{name}"}, update)


def release_with(fake: FakeSession, **options):
    chosen = plan()
    chosen.repository_uri = URI  # as CodeBuild's REPOSITORY_URI gives it
    lines: list[str] = []
    outcome = release(fake, chosen, "abc123", log=lines.append, **options)
    return outcome, lines


def test_first_release_tags_records_then_hands_over_to_cloudformation():
    fake = FakeSession()
    expect_image(fake)
    expect_find(fake, {WEB: "none", TASK: "none"})
    expect_record(fake)
    expect_update(fake, WEB)
    expect_update(fake, TASK)
    expect_find(fake, {WEB: "old", TASK: "old"})  # the waiter: both updates complete
    outcome, lines = release_with(fake)
    fake.done()
    assert outcome.handoff == [WEB, TASK] and outcome.failed == []
    assert lines[0] == f"stacks taking their first release: {WEB} {TASK}"
    calls = fake.calls
    assert calls.index("PutImage") < calls.index("PutParameter") < calls.index("UpdateStack")
    # The hand-off registers the task's revision through CloudFormation, not through ECS.
    assert "RegisterTaskDefinition" not in calls and outcome.registered == []


def test_later_release_touches_no_stack_and_registers_the_task_revision():
    fake = FakeSession()
    expect_image(fake)
    expect_find(fake, {WEB: "old-tag", TASK: "old-tag"})
    expect_record(fake, retag_exists=True)  # released-<tag> on the image already (a re-run) is fine
    fake.stubs["ecs"].add_response(
        "describe_task_definition",
        {"taskDefinition": copy.deepcopy(DEFINITION)},
        {"taskDefinition": "shop-prod-rotate-logs"},
    )
    registered = {k: v for k, v in copy.deepcopy(DEFINITION).items() if k not in runner.DESCRIBED_ONLY}
    registered["containerDefinitions"][0]["image"] = f"{URI}:abc123"
    fake.stubs["ecs"].add_response(
        "register_task_definition",
        {"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:us-east-1:111111111111:task-definition/x:4"}},
        registered,
    )
    outcome, _ = release_with(fake)
    fake.done()
    assert outcome.handoff == [] and outcome.registered == ["arn:aws:ecs:us-east-1:111111111111:task-definition/x:4"]
    assert "UpdateStack" not in fake.calls
    assert registered["containerDefinitions"][1]["image"] == "nginx:1.27" and "revision" not in registered


def test_a_failed_hand_off_fails_the_release_and_no_updates_is_success():
    fake = FakeSession()
    expect_image(fake)
    expect_find(fake, {WEB: "none", TASK: "none"})
    expect_record(fake)
    expect_update(fake, WEB, error="No updates are to be performed.")
    expect_update(fake, TASK)
    cloudformation = fake.stubs["cloudformation"]
    # The waiter sees the update roll back; the release reads the status once more.
    cloudformation.add_response("describe_stacks", stack(TASK, "none", "UPDATE_ROLLBACK_COMPLETE"), {"StackName": TASK})
    cloudformation.add_response("describe_stacks", stack(TASK, "none", "UPDATE_ROLLBACK_COMPLETE"), {"StackName": TASK})
    with pytest.raises(ReleaseError, match=f"hand-off failed for: {TASK}"):
        release_with(fake)
    fake.done()
    assert "PutParameter" in fake.calls  # recorded: the next release retries the hand-off


def test_a_missing_tag_or_repository_changes_nothing():
    fake = FakeSession()
    fake.stubs["ecr"].add_response(
        "batch_get_image",
        {"images": [], "failures": [{"imageId": {"imageTag": "abc123"}, "failureCode": "ImageTagDoesNotMatchDigest"}]},
        {"repositoryName": "shop/prod/web", "imageIds": [{"imageTag": "abc123"}]},
    )
    with pytest.raises(ReleaseError, match="shop/prod/web:abc123 does not exist; push the image first"):
        release_with(fake)
    fake.stubs["ecr"].add_client_error("batch_get_image", "RepositoryNotFoundException")
    with pytest.raises(ReleaseError, match="repository shop/prod/web does not exist"):
        release_with(fake)
    fake.done()
    assert fake.calls == ["BatchGetImage", "BatchGetImage"]


def test_dry_run_reads_and_prints_the_plan_but_writes_nothing():
    fake = FakeSession()
    expect_image(fake)
    expect_find(fake, {WEB: "none", TASK: "old"})
    outcome, lines = release_with(fake, dry_run=True)
    fake.done()
    assert set(fake.calls) == {"BatchGetImage", "DescribeStacks"}
    assert lines == [
        f"stacks taking their first release: {WEB}",
        "would tag shop/prod/web:abc123 as released-abc123",
        f"would set {PARAMETER} to abc123",
        f"would update {WEB} with its previous template and parameters",
        "would register a revision of shop-prod-rotate-logs with shop/prod/web:abc123",
    ]
    assert outcome.handoff == [WEB]


def test_the_pipeline_runs_the_module_as_a_script(monkeypatch):
    """What CodeBuild runs: `python3 runner.py`, the plan and tag from its environment."""
    fake = FakeSession()
    expect_image(fake)
    expect_find(fake, {WEB: "old", TASK: "old"})
    expect_record(fake)
    fake.stubs["ecs"].add_response("describe_task_definition", {"taskDefinition": copy.deepcopy(DEFINITION)}, None)
    fake.stubs["ecs"].add_response("register_task_definition", {"taskDefinition": {"taskDefinitionArn": "a:5"}}, None)
    monkeypatch.setenv("RELEASE_PLAN", plan().to_json())
    monkeypatch.setenv("IMAGE_TAG", "abc123")
    monkeypatch.setenv("REPOSITORY_URI", URI)
    monkeypatch.setattr(boto3, "Session", lambda region_name=None: fake)
    assert runner.main() == 0
    fake.done()


def test_a_release_to_another_account_runs_with_the_assumed_role(monkeypatch):
    sts = boto3.Session(region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b").client("sts")
    stub = Stubber(sts)
    stub.add_response(
        "assume_role",
        {
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLEEXAMPLE12",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC),
            }
        },
        {"RoleArn": "arn:aws:iam::222222222222:role/release", "RoleSessionName": "ecsforge-release"},
    )
    stub.activate()
    monkeypatch.setattr(boto3, "client", lambda name: sts)
    session = runner.session_for(boto3, "arn:aws:iam::222222222222:role/release", "eu-central-1")
    stub.assert_no_pending_responses()
    credentials = session.get_credentials()
    assert (credentials.access_key, credentials.token, session.region_name) == (
        "ASIAEXAMPLEEXAMPLE12",
        "token",
        "eu-central-1",
    )


def test_the_runner_imports_only_the_standard_library():
    tree = ast.parse(Path(runner.__file__).read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"__future__", "json", "os", "sys", "collections", "dataclasses", "typing", "importlib"}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))


# --- python -m ecsforge release ------------------------------------------------------------

PROD = "examples/environments/prod.yml"
BOOKS = {"services": "books-prod-service-web", "parameter": "/ecsforge/books/prod/registries/web/released-tag"}


def test_the_command_releases_every_service_following_the_registry(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    fake = FakeSession()
    fake.stubs["sts"].add_response("get_caller_identity", {"Account": "222222222222"}, {})
    fake.stubs["ecr"].add_response(
        "batch_get_image",
        {"images": [{"imageManifest": MANIFEST, "imageManifestMediaType": MEDIA}]},
        {"repositoryName": "books/prod/web", "imageIds": [{"imageTag": "v1.2.0"}]},
    )
    web = BOOKS["services"]
    described = stack(web, "none")
    described["Stacks"][0]["Parameters"][0]["ParameterValue"] = BOOKS["parameter"]
    fake.stubs["cloudformation"].add_response("describe_stacks", described, {"StackName": web})
    fake.stubs["ecr"].add_response("put_image", {}, None)
    fake.stubs["ssm"].add_response(
        "put_parameter", {}, {"Name": BOOKS["parameter"], "Value": "v1.2.0", "Type": "String", "Overwrite": True}
    )
    fake.stubs["cloudformation"].add_response("describe_stacks", described, {"StackName": web})
    fake.stubs["cloudformation"].add_response("update_stack", {}, None)
    fake.stubs["cloudformation"].add_response("describe_stacks", stack(web, "v1.2.0"), {"StackName": web})
    assert command.run(PROD, "web", "v1.2.0", session_factory=lambda region: fake) == 0
    fake.done()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"stacks taking their first release: {web}"
    assert out[-2:] == [f"released books/prod/web:v1.2.0 ({BOOKS['parameter']} = v1.2.0)", f"started: {web}"]


def test_the_command_plan_follows_the_registry_not_a_pipeline():
    manifest = load_manifest(ROOT / "platform.yml").manifest
    assert release_plan(manifest, "web").stacks == pipeline_plan(manifest, _web_pipeline()).stacks
    prod = load_manifest(ROOT / PROD).manifest
    assert release_plan(prod, "web").stacks == [BOOKS["services"]]


def test_the_command_refuses_an_unknown_registry_and_the_wrong_account(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert command.run(PROD, "api", "v1", session_factory=pytest.fail) == 1
    assert capsys.readouterr().err == f"{PROD}: registries.api: unknown registry; the manifest has: web\n"
    fake = FakeSession()
    fake.stubs["sts"].add_response("get_caller_identity", {"Account": "111111111111"}, {})
    assert command.run(PROD, "web", "v1", session_factory=lambda region: fake) == 1
    assert "credentials are for account 111111111111, the manifest's environment is in 222222222222" in (
        capsys.readouterr().err
    )
    assert fake.calls == ["GetCallerIdentity"]  # nothing read or written in the wrong account


def test_the_command_without_credentials_says_how_to_give_them(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(ROOT)
    for variable in [v for v in list(os.environ) if v.startswith("AWS_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert command.run(PROD, "web", "v1") == 1
    err = capsys.readouterr().err
    assert err.startswith("release failed: no usable AWS credentials") and "Traceback" not in err
