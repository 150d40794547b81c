"""`python -m ecsforge import copilot`: Copilot workspaces -> ecsforge manifests and a report.

The fixture workspace tests/copilot/shop has every workload type, two environments (one with a
new VPC, one importing a VPC with three subnets per tier and a certificate) and a two-stage pipeline
with a long name and a customized buildspec; and what teams committed that the import used to get
wrong (issue 23): Copilot's variables in commands, two services on one path, YAML patch overrides
(one declaring a sidecar's volume), a port that is not a number; and (issue 21) a `storage init`
DynamoDB addon with addons.parameters.yml, an Aurora Serverless v2 environment addon, and
taskdef_overrides, some with a certain equivalent in ecsforge's template and some without.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecsforge.cli import main
from ecsforge.importers.copilot.layout import merge
from ecsforge.manifest import ManifestError, load_manifest

from .helpers import ROOT, Synth, inprocess_synth

FIXTURE = ROOT / "tests" / "copilot" / "shop"
CONNECTION = "arn:aws:codeconnections:us-east-1:111111111111:connection/abc-123"


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["import", "copilot", *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("copilot") / "ecsforge"
    code, stdout, stderr = _run(
        str(FIXTURE), "--region", "us-east-1", "--account", "prod=222222222222", "--out", str(out)
    )
    assert code == 0, stderr
    return out, stdout.splitlines()


OTHER_PART = (
    "this part of Copilot's template has no equivalent the importer maps (it maps task definition and main container "
    "properties, task volumes, role statements and log retention); write it as `overrides` on ecsforge's template "
    "(`cdk synth` shows its logical ids)"
)
EXPECTED_REPORT = [
    "copilot/api/addons/addons.parameters.yml:4:3: Parameters.DiscoveryServiceArn: not imported; it refers to "
    "Copilot's own stack, which ecsforge does not have; written as ${ADDON_API_DISCOVERY_SERVICE_ARN}: export the "
    "value, or pass another one in the addon's `parameters`",
    "copilot/api/manifest.yml:41:5: taskdef_overrides[1]: not imported; "
    "ContainerDefinitions[0].LinuxParameters.InitProcessEnabled: a nested or list property of the container, which "
    "ecsforge's template may hold differently",
    "copilot/api/overrides/cfn.patches.yml:16:3: [3] add /Resources/Service/Properties/AvailabilityZoneRebalancing: "
    "not imported; " + OTHER_PART,
    "copilot/docs-site/manifest.yml:2:1: type: not imported; Static Site: S3 + CloudFront sites are outside "
    "ecsforge; keep the site where it is, or serve it from a container",
    "copilot/environments/overrides/cfn.patches.yml:1:3: [0] add "
    "/Resources/PublicLoadBalancer/Properties/LoadBalancerAttributes/-: not imported; a YAML patch of Copilot's "
    "template with no equivalent the importer maps; write it as `overrides` on the stack ecsforge makes for it "
    "(`cdk synth` shows the logical ids)",
    "copilot/environments/prod/manifest.yml:28:1: cdn: not imported; ecsforge has no CloudFront distribution; "
    "put one in front of the load balancer yourself",
    "copilot/frontend/manifest.yml:48:1: env_file: not imported; Copilot uploads this local file to S3 at deploy "
    "time; upload it yourself and list its S3 object ARN in the container's `env_files`",
    "copilot/legacy/manifest.yml:6:3: image.port: not imported; expected a port number",
    "copilot/legacy/manifest.yml:8:1: http: not imported; the load balancer sends traffic to a container port, "
    "and no container has one (see image.port); write the port as a number and import again",
    "copilot/pipelines/release/buildspec.yml:1:1: buildspec: not imported; Copilot's pipeline build (it runs "
    "`copilot svc package`); ecsforge generates its own build (tag with the commit id, push, "
    "imagedefinitions.json); port custom steps into the pipeline's `build.buildspec`",
    "copilot/pipelines/release/buildspec.yml:12:35: docker login: not imported; a Docker Hub login; ecsforge's "
    "`build.login` will take it; until then ecsforge's build pulls from Docker Hub without logging in "
    "(rate-limited): pull base images from ECR Public, or log in in your own `build.buildspec`",
    "copilot/pipelines/release/manifest.yml:12:3: build.image: not imported; ecsforge builds on CodeBuild's "
    "standard image; use `build.compute` for its size",
    "copilot/pipelines/release/manifest.yml:18:5: stages[1]: not imported; promotion of several images: ecsforge "
    "promotes one image (build.registry) only, so this pipeline stops after its first environment; deploy 'prod' "
    "(and its approval) with its own pipeline or `python -m ecsforge release`",
    "copilot/status-next/overrides/cfn.patches.yml:6:3: [1] replace "
    "/Resources/Service/Properties/DeploymentConfiguration/MaximumPercent: not imported; " + OTHER_PART,
    "",
    "Mapped approximately:",
    "copilot/api/manifest.yml:29:3: network.connect: approximate; reachable through Service Connect as "
    "http://api:<port>; ecsforge registers a service in one of Service Connect or Cloud Map DNS, so "
    "api.<namespace> no longer resolves",
    *(
        f"copilot/environments/addons/ordersdb.yml:{at}: Resources.{resource}: approximate; copied unchanged; it "
        f"imports Copilot's environment exports ({export}), so it deploys only while Copilot's environment stack "
        "exists: declare VpcId, PrivateSubnets or PublicSubnets parameters instead (ecsforge passes them to "
        "environment addons)"
        for at, resource, export in (
            ("19:3", "ordersdbDBSubnetGroup", "${App}-${Env}-PrivateSubnets"),
            ("25:3", "ordersdbSecurityGroup", "${App}-${Env}-VpcId"),
            ("33:3", "ordersdbDBClusterSecurityGroup", "${App}-${Env}-VpcId"),
        )
    ),
    "copilot/environments/prod/manifest.yml:1:1: network: approximate; zones us-east-1a, us-east-1b, us-east-1c "
    "chosen for prod, as many as its imported subnets per tier (3), (synth never looks them up); check that your "
    "account has them (and, with network.import, that its subnets are in them, in this order)",
    "copilot/environments/prod/manifest.yml:6:5: network.vpc.id: approximate; Copilot's namespace "
    "prod.shop.local is in this VPC, so ecsforge's is prod.shop.ecsforge.local: services find each other as "
    "<service>.prod.shop.ecsforge.local; set cluster.namespace back to prod.shop.local after deleting Copilot's "
    "environment",
    "copilot/environments/test/manifest.yml:8:5: network.vpc.subnets: approximate; ecsforge divides network.cidr "
    "into subnets itself; the subnet CIDRs were not kept",
    "copilot/environments/test/manifest.yml:21:3: observability.container_insights: approximate; kept on "
    "(enabled): orders-worker scale on queue backlog per task, which counts running tasks through Container "
    "Insights",
    "copilot/frontend/manifest.yml:7:3: http.alias: approximate; Copilot issued the certificate for its "
    "application domain; ecsforge serves the host over HTTP until the environment has "
    "load_balancer.certificate_arn or load_balancer.domain",
    "copilot/frontend/manifest.yml:15:3: http.stickiness: approximate; load-balancer cookie for one day "
    "(Copilot's default duration)",
    "copilot/frontend/manifest.yml:66:7: publish.topics[0].name: approximate; the topic's ARN is in "
    "TOPIC_ORDERS_ARN (Copilot's COPILOT_SNS_TOPIC_ARNS is not set); update the code that reads it",
    "copilot/nightly-report/manifest.yml:7:1: timeout: approximate; timeout_minutes: 60; Copilot's limit covers "
    "all attempts together, ecsforge's each run (and whole minutes, at most a week)",
    "copilot/orders-worker/manifest.yml:9:1: subscribe: approximate; the queue's URL is in "
    "QUEUE_ORDERS_WORKER_URL (Copilot's COPILOT_QUEUE_URI is not set); update the code that reads it",
    "copilot/orders-worker/manifest.yml:26:3: count.range: approximate; spot_from: 3 -> the first 2 tasks on "
    "Fargate, every further task on Spot (a capacity provider strategy, applied by ECS when it places tasks)",
    "copilot/orders-worker/manifest.yml:30:3: count.queue_delay: approximate; essential containers get "
    "stop_timeout_seconds: 60, so a scale-in lets a message in flight finish",
    "copilot/orders-worker/manifest.yml:35:3: secrets.STRIPE_KEY: approximate; the secret's ARN became its name "
    "'shop/stripe' (same account and region as the service)",
    "copilot/pipelines/release/manifest.yml:1:1: name: approximate; the pipeline is named "
    "'shop-continuous-delivery-pipelin' (ecsforge names are unique and at most 32 characters)",
    "copilot/pipelines/release/manifest.yml:16:5: stages[0].test_commands: approximate; ecsforge's test stage "
    "runs after the build, before the deployment",
    "copilot/status-next/manifest.yml:10:3: http.path: approximate; Copilot deploys both status and status-next "
    "on /status* with no host: one listener rule shadows the other (which one followed Copilot's rule order); "
    "ecsforge gives status-next http.priority 43803, after status's 43802, so status receives these requests; give "
    "one of them another path or a host, or swap the priorities",
    "copilot/status-next/manifest.yml:10:3: http.path: approximate; Copilot matches /status and /status/*; "
    "ecsforge's rule matches /status*",
    "copilot/status-next/manifest.yml:16:9: sidecars.cache.mount_points[0]: approximate; mounted through "
    "`overrides` (service-status-next): its volume exists only through cfn.patches.yml",
    "copilot/status/manifest.yml:10:3: http.path: approximate; Copilot matches /status and /status/*; ecsforge's "
    "rule matches /status*",
    "",
    "Still missing, written as ${VAR} references (export them, or edit the files):",
    "  ADDON_API_DISCOVERY_SERVICE_ARN: the value of DiscoveryServiceArn for the addons of api",
    "  CODECONNECTIONS_ARN: the CodeConnections connection ARN of the connection named 'acme-github' (or pass "
    "--connection-arn)",
    "",
    "Wrote:",
]


ADDONS = ("addons/environments/ordersdb.yml", "addons/api/table.yml")


def test_the_report_names_every_field_not_imported_then_the_approximations(imported: tuple[Path, list[str]]) -> None:
    out, lines = imported
    assert lines[: len(EXPECTED_REPORT)] == EXPECTED_REPORT
    written = [f"  {out / name}" for name in ("base.yml", "prod.yml", "test.yml", *ADDONS)]
    assert lines[len(EXPECTED_REPORT) : -2] == written


def test_every_file_starts_with_the_schema_comment_and_environments_extend_the_base(
    imported: tuple[Path, list[str]],
) -> None:
    out, _ = imported
    for path in sorted(out.glob("*.yml")):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        assert (out / first.split("=", 1)[1]).resolve() == ROOT / "schema" / "manifest-v1.json"
    for env in ("test", "prod"):
        overlay = yaml.safe_load((out / f"{env}.yml").read_text())
        assert overlay["extends"] == "base.yml"
        assert overlay["environment"] == env
    assert "&" not in (out / "test.yml").read_text()  # no YAML anchors: reads like hand-written


def _full(out: Path, name: str) -> dict[str, Any]:
    base = yaml.safe_load((out / "base.yml").read_text())
    if name == "base":
        return dict(base)
    overlay = yaml.safe_load((out / f"{name}.yml").read_text())
    overlay.pop("extends")
    return merge(base, overlay)


def test_each_environment_gets_its_own_settings(imported: tuple[Path, list[str]]) -> None:
    out, _ = imported
    test, prod = _full(out, "test"), _full(out, "prod")
    assert "account" not in test  # no promotion (several images), so no concrete account is needed
    assert prod["account"] == "222222222222"
    assert test["network"] == {"cidr": "10.1.0.0/16", "availability_zones": ["us-east-1a", "us-east-1b"]}
    assert prod["network"]["import"] == {
        "vpc_id": "vpc-0123456789abcdef0",
        "private_subnet_ids": ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0bbbbbbbbbbbbbbb3"],
        "public_subnet_ids": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2", "subnet-0aaaaaaaaaaaaaaa3"],
    }
    assert "cidr" not in prod["network"]  # null in the overlay: the imported VPC has its own
    assert prod["load_balancer"]["certificate_arn"].startswith("arn:aws:acm:us-east-1:222222222222:")
    assert prod["load_balancer"]["allowed_cidrs"] == ["203.0.113.0/24"]
    # false in test's manifest, but the worker's backlog scaling counts tasks through Container Insights
    assert (test["cluster"]["container_insights"], prod["cluster"]["container_insights"]) == ("enabled", "enabled")
    assert "namespace" not in test["cluster"] and prod["cluster"]["namespace"] == "prod.shop.ecsforge.local"
    # environments.prod overrides and ${COPILOT_ENVIRONMENT_NAME} land in each environment
    web_test, web_prod = test["services"]["frontend"], prod["services"]["frontend"]
    assert web_test["scaling"]["min"] == 2 and web_prod["scaling"]["min"] == 3
    assert web_prod["scaling"]["cooldown_seconds"] == {"scale_in": 120, "scale_out": 30}
    assert web_prod["containers"]["frontend"]["environment"]["LOG_LEVEL"] == "warn"
    assert web_prod["containers"]["frontend"]["secrets"]["SESSION_KEY"] == "ssm:/copilot/shop/prod/secrets/session-key"
    assert test["services"]["api"]["count"] == 1 and prod["services"]["api"]["count"] == 2
    assert test["scheduled_tasks"]["nightly-report"]["schedule"] == "cron(0 3 ? * MON-FRI *)"
    # Copilot's `retries: 3` and `timeout: 1h`, which run the job through a state machine in both.
    job = test["scheduled_tasks"]["nightly-report"]
    assert (job["retries"], job["timeout_minutes"]) == (3, 60)
    assert prod["scheduled_tasks"]["nightly-report"]["schedule"] == "cron(0 0 * * ? *)"


def test_workloads_map_to_services_tasks_topics_and_queues(imported: tuple[Path, list[str]]) -> None:
    out, _ = imported
    test = _full(out, "test")
    web = test["services"]["frontend"]
    assert web["http"] == {
        "path": "/*",
        "grace_period_seconds": 120,
        "health_check": {"path": "/healthz", "healthy_threshold": 3, "interval_seconds": 15, "timeout_seconds": 10},
        "host": "shop.example.com",
        "stickiness_seconds": 86400,
        "deregistration_delay_seconds": 20,
    }
    assert web["scaling"]["target_tracking"] == {"cpu_percent": 70, "requests_per_target": 500}
    assert web["containers"]["frontend"]["image"] == {"registry": "frontend"}
    assert web["containers"]["envoy"]["port"] == 9901
    assert web["containers"]["frontend"]["secrets"]["DB_PASSWORD"] == "secretsmanager:shop/db:password"
    assert (web["exec"], web["ephemeral_storage_gib"], web["platform"]) == (True, 40, "linux/amd64")
    assert web["access"] == {"topics": {"orders": "publish"}}
    assert test["topics"] == {"orders": {"fifo": False}}
    assert test["queues"]["orders-worker"] == {
        "retention_days": 4,
        "visibility_timeout_seconds": 60,
        "dead_letter": {"max_receives": 10},
        "subscribe": [{"topic": "orders", "filter": {"event": ["created", "updated"]}}],
    }
    worker = test["services"]["orders-worker"]
    assert worker["access"] == {"queues": {"orders-worker": "consume"}}
    assert worker["scaling"] == {"min": 1, "max": 10, "queue_backlog_per_task": 2400}  # 10m / 250ms
    assert worker["containers"]["orders-worker"]["stop_timeout_seconds"] == 60  # the queue's visibility timeout
    api = test["services"]["api"]
    assert "discovery" not in api  # Service Connect instead (ecsforge takes one of the two)
    assert api["connect"] is True and test["cluster"]["service_connect"] is True
    assert api["containers"]["api"]["mounts"] == [{"volume": "uploads", "path": "/var/www/uploads", "read_only": False}]
    assert test["volumes"] == {"uploads": {"file_system_id": "fs-0123456789abcdef0"}}
    assert test["services"]["echo"]["nlb"] == {"port": 7000, "public": True, "protocol": "tcp"}
    assert "docs-site" not in test["services"]
    assert set(test["registries"]) == {"frontend", "orders-worker", "nightly-report"}


def test_one_copilot_pipeline_is_one_ecsforge_pipeline_building_every_image(imported: tuple[Path, list[str]]) -> None:
    out, lines = imported
    test = yaml.safe_load((out / "test.yml").read_text())
    assert "pipelines" not in yaml.safe_load((out / "prod.yml").read_text())
    assert "pipelines" not in yaml.safe_load((out / "base.yml").read_text())
    # "shop-continuous-delivery-pipeline" cut to 32 characters
    assert list(test["pipelines"]) == ["shop-continuous-delivery-pipelin"]
    shop = test["pipelines"]["shop-continuous-delivery-pipelin"]
    assert shop["source"] == {
        "github": {"connection_arn": "${CODECONNECTIONS_ARN}", "owner": "acme", "repository": "shop", "branch": "main"}
    }
    # the scheduled job's image too: its task follows the registry, released with the services
    assert shop["build"]["images"] == {
        name: {"registry": name, "dockerfile": f"{name}/Dockerfile", "context": name}
        for name in ("frontend", "orders-worker", "nightly-report")
    } | {
        # image.build.args of frontend's manifest
        "frontend": {
            "registry": "frontend",
            "dockerfile": "frontend/Dockerfile",
            "context": "frontend",
            "args": {"NODE_ENV": "production"},
        }
    }
    assert shop["test"] == {"commands": ["make integration-test"]}
    assert shop["deploy"] == {"services": ["frontend", "orders-worker"]}
    assert "promote" not in shop and "approval" not in shop
    assert not [line for line in lines if "built by no ecsforge pipeline" in line]


ENVIRON = {
    "CODECONNECTIONS_ARN": CONNECTION,
    "ACCOUNT_TEST": "111111111111",
    "ADDON_API_DISCOVERY_SERVICE_ARN": "arn:aws:servicediscovery:us-east-1:111111111111:service/srv-1",
}


@pytest.mark.parametrize("name", ["base", "test", "prod"])
def test_every_written_file_validates(imported: tuple[Path, list[str]], name: str) -> None:
    out, _ = imported
    try:
        load_manifest(out / f"{name}.yml", ENVIRON)
    except ManifestError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def synthesized(imported: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """One synthesis for the module: prod imports a VPC with three subnets per tier, and carries
    the addons and overrides the import made of Copilot's addons and patches."""
    out, _ = imported
    with pytest.MonkeyPatch.context() as patch:
        for key, value in ENVIRON.items():
            patch.setenv(key, value)
        return inprocess_synth(out / "prod.yml", tmp_path_factory.mktemp("cdk") / "cdk.out")


def test_the_imported_vpc_environment_synthesizes(synthesized: Synth) -> None:
    assert synthesized.returncode == 0, synthesized.stderr
    assert any(stack.endswith("service-orders-worker") for stack in synthesized.templates())


def _report(lines: list[str], start: str) -> list[str]:
    return [line for line in lines if line.startswith(start)]


def test_three_subnets_per_tier_get_three_zones(imported: tuple[Path, list[str]]) -> None:
    out, lines = imported
    prod = _full(out, "prod")
    assert prod["network"]["availability_zones"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert len(prod["network"]["import"]["private_subnet_ids"]) == 3
    assert any(
        "as many as its imported subnets per tier (3)" in line for line in _report(lines, "copilot/environments/prod/")
    )


def test_copilot_variables_in_commands_are_replaced_per_environment(imported: tuple[Path, list[str]]) -> None:
    out, _ = imported
    for env in ("test", "prod"):
        full = _full(out, env)
        command = full["services"]["api"]["containers"]["api"]["command"]
        assert command[-1] == f"ServerName api.{env}.shop.local"
        entrypoint = full["services"]["orders-worker"]["containers"]["orders-worker"]["entrypoint"]
        assert entrypoint == ["/app/worker", f"--queue-env={env}"]


def test_two_services_on_one_path_get_distinct_priorities_and_a_report_line(imported: tuple[Path, list[str]]) -> None:
    out, lines = imported
    services = _full(out, "test")["services"]
    first, second = services["status"]["http"], services["status-next"]["http"]
    assert first["path"] == second["path"] == "/status*"
    assert "priority" not in first and second["priority"] > 0
    assert _report(lines, "copilot/status-next/manifest.yml:10:3: http.path: approximate; Copilot deploys both")


def test_addons_are_copied_next_to_the_manifests_with_their_parameters(imported: tuple[Path, list[str]]) -> None:
    out, _ = imported
    base = _full(out, "base")
    assert base["addons"] == [{"template": "addons/environments/ordersdb.yml"}]
    assert base["services"]["api"]["addons"] == [
        {
            "template": "addons/api/table.yml",
            # a plain value, `!Ref Name` as ecsforge's own Name, a `!GetAtt` of Copilot's stack as a ${VAR}
            "parameters": {
                "TableClass": "STANDARD",
                "ServiceName": "api",
                "DiscoveryServiceArn": "${ADDON_API_DISCOVERY_SERVICE_ARN}",
            },
        }
    ]
    for written, copilot in (
        ("addons/environments/ordersdb.yml", "environments/addons/ordersdb.yml"),
        ("addons/api/table.yml", "api/addons/table.yml"),
    ):
        assert (out / written).read_bytes() == (FIXTURE / "copilot" / copilot).read_bytes()  # unchanged
    assert not (out / "addons" / "api" / "addons.parameters.yml").exists()


TASK_DEFINITION = "/Resources/ServiceTaskTaskDefinition2B6F6746/Properties"


def test_taskdef_overrides_and_yaml_patches_become_overrides_permissions_and_retention(
    imported: tuple[Path, list[str]],
) -> None:
    out, lines = imported
    base = _full(out, "base")
    assert base["overrides"]["service-api"] == [
        {"op": "test", "path": f"{TASK_DEFINITION}/ContainerDefinitions/0/Name", "value": "api"},
        {
            "op": "add",
            "path": f"{TASK_DEFINITION}/ContainerDefinitions/0/Ulimits",
            "value": [{"Name": "nofile", "SoftLimit": 65536, "HardLimit": 65536}],
        },
        {
            "op": "add",
            "path": "/Resources/ServiceTaskTaskDefinitionExecutionRoleDefaultPolicy8B78155F/Properties/PolicyDocument"
            "/Statement/-",
            "value": {
                "Effect": "Allow",
                "Action": "ssm:GetParameters",
                # written $${...}: the manifest keeps CloudFormation's own ${...} literal
                "Resource": {
                    "Fn::Sub": "arn:$${AWS::Partition}:ssm:$${AWS::Region}:$${AWS::AccountId}:parameter/shop/*"
                },
            },
        },
    ]
    api = base["services"]["api"]
    assert api["permissions"] == [{"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::shop-assets/*"]}]
    assert api["containers"]["api"]["log_retention_days"] == 90
    text = "not imported; " + OTHER_PART
    assert [line.split(": ", 1)[0] for line in lines if line.endswith(text)] == [
        "copilot/api/overrides/cfn.patches.yml:16:3",
        "copilot/status-next/overrides/cfn.patches.yml:6:3",
    ]


def test_a_sidecar_mount_of_a_volume_only_a_patch_declares_goes_through_overrides(
    imported: tuple[Path, list[str]],
) -> None:
    out, lines = imported
    full = _full(out, "test")
    assert "mounts" not in full["services"]["status-next"]["containers"]["cache"]  # no ecsforge volume: overrides
    assert full["overrides"]["service-status-next"] == [
        {"op": "add", "path": f"{TASK_DEFINITION}/Volumes", "value": [{"Name": "scratch"}]},
        {"op": "test", "path": f"{TASK_DEFINITION}/ContainerDefinitions/1/Name", "value": "cache"},
        {
            "op": "add",
            "path": f"{TASK_DEFINITION}/ContainerDefinitions/1/MountPoints",
            "value": [{"SourceVolume": "scratch", "ContainerPath": "/data", "ReadOnly": False}],
        },
    ]
    assert not _report(lines, "copilot/status-next/manifest.yml:16:9: sidecars.cache.mount_points[0]: not imported")


def test_the_synthesized_templates_carry_the_addons_and_overrides(synthesized: Synth) -> None:
    assert synthesized.returncode == 0, synthesized.stderr
    templates = synthesized.templates()
    api = templates["shop-prod-service-api"]["Resources"]
    container = api["ServiceTaskTaskDefinition2B6F6746"]["Properties"]["ContainerDefinitions"][0]
    assert container["Ulimits"] == [{"Name": "nofile", "SoftLimit": 65536, "HardLimit": 65536}]
    statements = api["ServiceTaskTaskDefinitionExecutionRoleDefaultPolicy8B78155F"]["Properties"]["PolicyDocument"]
    assert statements["Statement"][-1]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/shop/*"
    }
    assert [r["Properties"]["RetentionInDays"] for r in api.values() if r["Type"] == "AWS::Logs::LogGroup"] == [90, 90]
    nested = [r for r in api.values() if r["Type"] == "AWS::CloudFormation::Stack"]
    assert [r["Properties"]["Parameters"]["TableClass"] for r in nested] == ["STANDARD"]
    status = templates["shop-prod-service-status-next"]["Resources"]["ServiceTaskTaskDefinition2B6F6746"]
    assert status["Properties"]["Volumes"] == [{"Name": "scratch"}]
    assert status["Properties"]["ContainerDefinitions"][1]["MountPoints"][0]["SourceVolume"] == "scratch"
    # status logs through FireLens: ecsforge's log router is container 0, status container 1
    status_task = templates["shop-prod-service-status"]["Resources"]["ServiceTaskTaskDefinition2B6F6746"]
    containers = status_task["Properties"]["ContainerDefinitions"]
    assert [c["Name"] for c in containers] == ["log-router", "status"]
    assert [u["Name"] for u in containers[1]["Ulimits"]] == ["nofile", "core"]
    # a Scheduled Job that follows releases: its execution role is ecsforge's own, one construct up
    job = templates["shop-prod-task-nightly-report"]["Resources"]
    assert job["ScheduledTaskTaskDefinitionB544FA38"]["Properties"]["ContainerDefinitions"][0]["StopTimeout"] == 90
    policy = job["ScheduledTaskExecutionRoleDefaultPolicy610F98C1"]["Properties"]["PolicyDocument"]
    assert policy["Statement"][-1]["Resource"] == "arn:aws:ssm:us-east-1:222222222222:parameter/shop/report/*"
    addons = templates["shop-prod-addons"]["Resources"]
    assert [k[:8] for k, r in addons.items() if r["Type"] == "AWS::CloudFormation::Stack"] == ["ordersdb"]


def test_a_customized_buildspec_and_its_docker_hub_login_are_reported(imported: tuple[Path, list[str]]) -> None:
    _, lines = imported
    reported = _report(lines, "copilot/pipelines/release/buildspec.yml:")
    assert [line.split(": ", 1)[0] for line in reported] == [
        "copilot/pipelines/release/buildspec.yml:1:1",
        "copilot/pipelines/release/buildspec.yml:12:35",  # Docker Hub; the ECR login below is not one
    ]
    assert "`build.login`" in reported[1]


def test_a_port_that_is_not_a_number_leaves_no_http_behind(imported: tuple[Path, list[str]]) -> None:
    out, lines = imported
    legacy = _full(out, "test")["services"]["legacy"]
    assert "http" not in legacy and "port" not in legacy["containers"]["legacy"]
    assert _report(lines, "copilot/legacy/manifest.yml:6:3: image.port: not imported;")
    assert _report(lines, "copilot/legacy/manifest.yml:8:1: http: not imported;")


def test_the_summary_counts_what_was_imported(imported: tuple[Path, list[str]]) -> None:
    _, lines = imported
    summary = lines[-1]
    approximate = sum(1 for line in lines if ": approximate; " in line)
    skipped = sum(1 for line in lines if ": not imported; " in line)
    assert summary.startswith("copilot workspace 'shop': ")
    assert f" imported, {approximate} approximate, {skipped} not imported" in summary
