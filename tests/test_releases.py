"""Day-2 safety of releases: released tags that no stack update resets, lifecycle rules that
keep what runs, and a release step that hands the first release over to CloudFormation."""

from __future__ import annotations

import json

import pytest
import yaml

from ecsforge import names
from ecsforge.constructs.release import RUNNER, handoff_stacks
from ecsforge.manifest import load_manifest
from ecsforge.manifest.catalog import all_instance_types, instance_architecture
from ecsforge.release.plan import pipeline_plan
from ecsforge.release.runner import ReleasePlan

from .helpers import ROOT, cdk_synth, only

ARM = "tests/manifests/releases-arm.yml"
WEB, TASK = "shop-prod-service-web", "shop-prod-task-rotate-logs"


def manifest_of(path: str):
    return load_manifest(ROOT / path).manifest


def statements(result, stack, path_part):
    return [
        s
        for name, p in result.resources(stack, "AWS::IAM::Policy").items()
        if path_part in name
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value):
    return value if isinstance(value, list) else [value]


# --- 1. released tags: created once, never written by CloudFormation again ---------------


def test_released_tags_are_created_once_and_never_updated_or_deleted(synth):
    result = synth("platform.yml")
    manifest = manifest_of("platform.yml")
    stack = "shop-prod-registries"
    assert result.resources(stack, "AWS::SSM::Parameter") == {}
    created = result.resources(stack, "Custom::AWS")
    assert len(created) == len(manifest.registries)
    parameter_names = set()
    for resource in created.values():
        properties = resource["Properties"]
        assert "Update" not in properties and "Delete" not in properties
        assert properties["InstallLatestAwsSdk"] is False
        assert resource["DeletionPolicy"] == "Retain"
        call = json.loads(properties["Create"])
        assert (call["service"], call["action"]) == ("SSM", "putParameter")
        assert call["parameters"]["Overwrite"] is False
        assert call["parameters"]["Value"] == names.NOT_RELEASED
        assert call["ignoreErrorCodesMatching"] == "ParameterAlreadyExists"
        assert call["physicalResourceId"] == {"id": call["parameters"]["Name"]}
        parameter_names.add(call["parameters"]["Name"])
    assert parameter_names == {names.released_tag_parameter(manifest, r) for r in manifest.registries}
    granted = [s for s in statements(result, stack, "CustomResourcePolicy")]
    assert {a for s in granted for a in as_list(s["Action"])} == {"ssm:PutParameter", "ssm:AddTagsToResource"}
    resources = json.dumps([s["Resource"] for s in granted])
    assert "*" not in resources and all(name in resources for name in parameter_names)


def test_a_tag_only_change_leaves_the_released_tag_resource_unchanged(synth, tmp_path):
    document = yaml.safe_load((ROOT / ARM).read_text())
    document["tags"] = {"x": "y"}
    tagged = tmp_path / "tagged.yml"
    tagged.write_text(yaml.safe_dump(document))
    before = synth(ARM).templates()["rel-test-registries"]["Resources"]
    after = cdk_synth(tagged, tmp_path / "cdk.out").templates()["rel-test-registries"]["Resources"]
    repository = next(k for k, v in before.items() if v["Type"] == "AWS::ECR::Repository")
    assert before[repository]["Properties"]["Tags"] != after[repository]["Properties"]["Tags"]  # the tag took
    custom = [k for k, v in before.items() if v["Type"] == "Custom::AWS"]
    assert custom and all(before[k]["Properties"] == after[k]["Properties"] for k in custom)


# --- 2. lifecycle rules keep pinned and released images -----------------------------------


@pytest.mark.parametrize("path", ["platform.yml", ARM])
def test_lifecycle_rules_protect_every_pinned_tag_and_released_images_first(synth, path):
    manifest = manifest_of(path)
    result = synth(path)
    stack = manifest.stack_name("registries")
    repositories = result.resources(stack, "AWS::ECR::Repository").values()
    by_name = {r["Properties"]["RepositoryName"]: r for r in repositories}
    for key, registry in manifest.registries.items():
        text = by_name[names.repository_name(manifest, key)]["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
        rules = sorted(json.loads(text)["rules"], key=lambda r: r["rulePriority"])
        pinned = manifest.pinned_tags(key)
        assert pinned or path == "platform.yml"
        selections = [r["selection"] for r in rules]
        assert [s.get("tagPatternList") for s in selections[: len(pinned)]] == [[tag] for tag in pinned]
        assert all(s["countType"] == "imageCountMoreThan" and s["countNumber"] >= 1 for s in selections[: len(pinned)])
        released, untagged, any_ = selections[len(pinned) :]
        assert released["tagPrefixList"] == [names.RELEASED_TAG_PREFIX]
        assert released["countNumber"] == registry.keep_images
        assert untagged["tagStatus"] == "untagged" and any_["tagStatus"] == "any"
    assert manifest_of("platform.yml").pinned_tags("web") == ["migrations-v12"]


# --- 3. the release step -------------------------------------------------------------------


def record_release(result, stack):
    pipeline = only(result.resources(stack, "AWS::CodePipeline::Pipeline"))["Properties"]
    deploy = next(s for s in pipeline["Stages"] if s["Name"] == "Deploy")
    action = next(a for a in deploy["Actions"] if a["Name"] == "RecordRelease")
    project = result.templates()[stack]["Resources"][action["Configuration"]["ProjectName"]["Ref"]]
    return deploy, project["Properties"]


def test_release_step_runs_the_release_module_with_least_privilege(synth):
    result = synth("platform.yml")
    manifest = manifest_of("platform.yml")
    stack = "shop-prod-pipeline-web"
    deploy, project = record_release(result, stack)
    spec = json.loads(project["Source"]["BuildSpec"])
    (commands,) = spec["phases"]["build"]["commands"]
    # The very module `python -m ecsforge release` runs, shipped as it is, with the plan ecsforge computed.
    shipped = commands.split("<<'ECSFORGE_RELEASE_RUNNER'\n", 1)[1].rsplit("ECSFORGE_RELEASE_RUNNER\n", 1)[0]
    assert shipped == RUNNER.read_text() and commands.endswith("python3 runner.py\n")
    variables = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    plan = ReleasePlan.from_json(variables["RELEASE_PLAN"])
    assert plan == pipeline_plan(manifest, manifest.pipelines["web"])
    assert plan.repository == "shop/prod/web" and plan.parameter == names.released_tag_parameter(manifest, "web")
    assert [(f.family, f.containers) for f in plan.followers] == [("shop-prod-rotate-logs", ["rotate"])]
    assert "REPOSITORY_URI" in variables
    assert deploy["OnFailure"] == {"Result": "ROLLBACK"}
    granted = statements(result, stack, "ReleaseProject")
    actions = {a for s in granted for a in as_list(s["Action"])}
    assert not any(a.startswith(("ecs:UpdateService", "application-autoscaling:")) for a in actions)
    cloudformation = next(s for s in granted if "cloudformation:UpdateStack" in as_list(s["Action"]))
    resources = json.dumps(cloudformation["Resource"])
    assert handoff_stacks(manifest, manifest.pipelines["web"]) == [
        "shop-prod-service-web",
        "shop-prod-task-rotate-logs",
    ]
    assert resources.count(":stack/") == 2
    assert all(f":stack/{name}/*" in resources for name in [WEB, TASK])
    pass_roles = [s for s in granted if "iam:PassRole" in as_list(s["Action"])]
    services = {s["Condition"]["StringEquals"]["iam:PassedToService"]: json.dumps(s["Resource"]) for s in pass_roles}
    assert set(services) == {"cloudformation.amazonaws.com", "ecs-tasks.amazonaws.com"}
    assert services["cloudformation.amazonaws.com"].endswith(':role/cdk-*-cfn-exec-role-*"')
    assert "role/ecsforge/shop/prod/task-rotate-logs/*" in services["ecs-tasks.amazonaws.com"]
    ecr = next(s for s in granted if "ecr:PutImage" in as_list(s["Action"]))
    assert json.dumps(ecr["Resource"]).endswith(':repository/shop/prod/web"')
    # The api pipeline has no scheduled task to release to: no ECS or task role grants at all.
    api = {a for s in statements(result, "shop-prod-pipeline-api", "ReleaseProject") for a in as_list(s["Action"])}
    assert "ecs:RegisterTaskDefinition" not in api and "cloudformation:UpdateStack" in api


# --- service names, scheduled tasks, sources, architectures --------------------------------


def test_pipeline_reads_service_names_from_ssm_written_by_the_service_stack(synth):
    result = synth("examples/pipeline-github.yml")
    manifest = manifest_of("examples/pipeline-github.yml")
    templates = result.templates()
    pipeline = templates["shop-prod-pipeline-app"]
    deploy = next(s for s in pipeline["Resources"].values() if s["Type"] == "AWS::CodePipeline::Pipeline")
    actions = next(s for s in deploy["Properties"]["Stages"] if s["Name"] == "Deploy")["Actions"]
    for service in ("web", "worker"):
        action = next(a for a in actions if a["Name"] == f"Deploy-{service}")
        parameter = pipeline["Parameters"][action["Configuration"]["ServiceName"]["Ref"]]
        assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
        assert parameter["Default"] == names.service_name_parameter(manifest, service)
        written = only(result.resources(f"shop-prod-service-{service}", "AWS::SSM::Parameter"))["Properties"]
        assert written["Name"] == parameter["Default"]
        assert written["Value"]["Fn::GetAtt"][1] == "Name"
    imported = json.dumps([a["Configuration"] for a in actions if a["Name"].startswith("Deploy-")])
    assert "-service-" not in imported  # no service export is imported any more


def test_scheduled_task_following_releases_runs_the_latest_revision_of_its_family(synth):
    result = synth("platform.yml")
    follows = only(result.resources("shop-prod-task-rotate-logs", "AWS::Scheduler::Schedule"))
    target = follows["Properties"]["Target"]["EcsParameters"]["TaskDefinitionArn"]
    assert target.endswith(":task-definition/shop-prod-rotate-logs")  # no revision: the latest ACTIVE one
    run = next(s for s in statements(result, "shop-prod-task-rotate-logs", "Scheduler") if s["Action"] == "ecs:RunTask")
    assert run["Resource"] == f"{target}:*"
    roles = result.resources("shop-prod-task-rotate-logs", "AWS::IAM::Role")
    paths = sorted(r["Properties"].get("Path", "/") for r in roles.values())
    assert paths.count("/ecsforge/shop/prod/task-rotate-logs/") == 2  # task and execution role
    pinned = only(result.resources("shop-prod-task-reindex", "AWS::Scheduler::Schedule"))
    assert "Ref" in pinned["Properties"]["Target"]["EcsParameters"]["TaskDefinitionArn"]  # a fixed revision


def test_github_source_may_use_the_connection_under_both_prefixes(synth):
    result = synth("examples/pipeline-github.yml")
    manifest = manifest_of("examples/pipeline-github.yml")
    arn = manifest.pipelines["app"].source[0].github.connection_arn
    granted = statements(result, "shop-prod-pipeline-app", "SourceRole")
    actions = {a for s in granted if s["Resource"] == arn for a in as_list(s["Action"])}
    assert {"codeconnections:UseConnection", "codestar-connections:UseConnection"} <= actions


def test_graviton_services_build_on_arm_and_others_on_x86(synth):
    arm = synth(ARM)
    for name, project in arm.resources("rel-test-pipeline-app", "AWS::CodeBuild::Project").items():
        environment = project["Properties"]["Environment"]
        if "Release" in name:
            continue
        assert environment["Type"] == "ARM_CONTAINER", name
        assert environment["Image"] == "aws/codebuild/amazonlinux-aarch64-standard:3.0"
    x86 = synth("examples/pipeline-github.yml")
    build = [p for n, p in x86.resources("shop-prod-pipeline-app", "AWS::CodeBuild::Project").items() if "Build" in n]
    assert build and all(p["Properties"]["Environment"]["Type"] == "LINUX_CONTAINER" for p in build)


def test_instance_architecture_agrees_with_aws_cdk():
    from aws_cdk import aws_ec2 as ec2

    families = {t.split(".")[0]: t for t in sorted(all_instance_types())}
    arm = ec2.InstanceArchitecture.ARM_64
    compared = 0
    for instance_type in families.values():
        try:
            architecture = ec2.InstanceType(instance_type).architecture
        except RuntimeError:  # names aws-cdk cannot parse (u-6tb1, mac2-m2): no ECS capacity either
            continue
        compared += 1
        assert instance_architecture(instance_type) == ("arm64" if architecture == arm else "x86_64"), instance_type
    assert compared > 100
    assert {instance_architecture(t) for t in ("m7g.large", "c7gn.xlarge", "t4g.small", "a1.large")} == {"arm64"}


def test_creating_a_codecommit_repository_is_warned_about():
    warnings = load_manifest(ROOT / "platform.yml").warnings
    codecommit = [w for w in warnings if w.path[:2] == ("pipelines", "web")]
    assert [w.path for w in codecommit] == [("pipelines", "web", "source", 0, "codecommit")]
    assert "already use CodeCommit" in codecommit[0].message
