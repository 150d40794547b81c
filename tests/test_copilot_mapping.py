"""The Copilot importer's mappings, one Copilot construct at a time, on manifests written as dicts."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecsforge.importers.copilot import Options, Result, WorkspaceError, import_workspace, run, write
from ecsforge.importers.copilot.convert import duration_seconds, schedule
from ecsforge.manifest import ManifestError, load_manifest

from .helpers import ROOT


def workspace(
    tmp_path: Path,
    workloads: dict[str, Any],
    environments: dict[str, Any] | None = None,
    pipelines: dict[str, Any] | None = None,
) -> Path:
    root = tmp_path / "ws" / "copilot"
    root.mkdir(parents=True)
    (root / ".workspace").write_text("application: demo\n")
    files = {f"{name}/manifest.yml": data for name, data in workloads.items()}
    envs = environments if environments is not None else {"test": {}}
    files |= {f"environments/{name}/manifest.yml": data for name, data in envs.items()}
    files |= {f"pipelines/{name}/manifest.yml": data for name, data in (pipelines or {}).items()}
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return root.parent


def imported(tmp_path: Path, workloads: dict[str, Any], **kwargs: Any) -> tuple[dict[str, dict[str, Any]], list[str]]:
    connection = kwargs.pop("connection_arn", None)
    result = import_workspace(workspace(tmp_path, workloads, **kwargs), Options("us-east-1", {}, connection))
    validate_written(result, tmp_path / "out")
    return result.full, result.report.lines()


CONNECTION = "arn:aws:codeconnections:us-east-1:111111111111:connection/abc-123"


def _example_value(variable: str) -> str:
    if variable.startswith("ACCOUNT_"):
        return "111111111111"
    if variable == "CODECONNECTIONS_ARN":
        return CONNECTION
    if variable.startswith("IMAGE_"):
        return "public.ecr.aws/docker/library/busybox:1.36"
    return "example"


def validate_written(result: Result, out: Path) -> None:
    """Every file the import writes validates, once its ${VAR} references are exported."""
    environ = {name: _example_value(name) for name in result.report.variables}
    for path in write(result, out):
        try:
            load_manifest(path, environ)
        except ManifestError as error:
            pytest.fail(f"{path.name} does not validate:\n{error}")


def web(**fields: Any) -> dict[str, Any]:
    return {"name": "web", "type": "Load Balanced Web Service", "image": {"location": "nginx:1", "port": 80}, **fields}


@pytest.mark.parametrize(
    ("copilot", "expected"),
    [
        ("@daily", "cron(0 0 * * ? *)"),
        ("@hourly", "cron(0 * * * ? *)"),
        ("@weekly", "cron(0 0 ? * 1 *)"),
        ("@every 30m", "rate(30 minutes)"),
        ("@every 2h", "rate(2 hours)"),
        ("@every 1m", "rate(1 minute)"),
        ("*/5 * * * *", "cron(*/5 * * * ? *)"),
        ("0 9 * * 0,6", "cron(0 9 ? * SUN,SAT *)"),
        ("30 2 1 * *", "cron(30 2 1 * ? *)"),
    ],
)
def test_schedules_become_eventbridge_expressions(copilot: str, expected: str) -> None:
    assert schedule(copilot) == (expected, None)


def test_schedules_without_an_equivalent_say_why() -> None:
    assert schedule("none")[0] is None
    assert schedule("@every 10s")[0] is None
    assert schedule("0 0 1 * 1")[1] is not None  # day of month and weekday both set


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1h30m", 5400), ("250ms", 0.25), (45, 45), ("4x", None)])
def test_go_durations(text: Any, seconds: float | None) -> None:
    assert duration_seconds(text) == seconds


def test_a_worker_gets_a_queue_per_topic_and_scales_on_its_backlog(tmp_path: Path) -> None:
    publisher = web(publish={"topics": [{"name": "events"}, {"name": "audit", "fifo": True}]})
    worker = {
        "name": "sink",
        "type": "Worker Service",
        "image": {"location": "busybox:1"},
        "subscribe": {
            "topics": [
                {"name": "events", "service": "web", "filter_policy": {"kind": ["a"]}},
                {"name": "audit", "service": "web", "queue": {"timeout": "5m", "retention": "1d", "fifo": True}},
                {"name": "missing", "service": "nobody"},
            ],
            "queue": {"retention": "36h", "delay": "10s", "dead_letter": {"tries": 3}},
        },
        "count": {"range": "0-5", "queue_delay": {"acceptable_latency": "1m", "msg_processing_time": "2s"}},
    }
    full, lines = imported(tmp_path, {"web": publisher, "sink": worker})
    env = full["test"]
    assert env["topics"] == {"events": {"fifo": False}, "audit": {"fifo": True}}
    assert env["queues"] == {
        "sink-audit": {
            "retention_days": 1,
            "visibility_timeout_seconds": 300,
            "fifo": True,
            "subscribe": [{"topic": "audit"}],
        },
        "sink": {
            "retention_days": 2,
            "dead_letter": {"max_receives": 3},
            "subscribe": [{"topic": "events", "filter": {"kind": ["a"]}}],
        },
    }
    assert env["services"]["sink"]["access"] == {"queues": {"sink-audit": "consume", "sink": "consume"}}
    assert env["services"]["sink"]["scaling"] == {"min": 0, "max": 5}  # two queues: no single backlog
    assert env["services"]["web"]["access"] == {"topics": {"events": "publish", "audit": "publish"}}
    text = "\n".join(lines)
    assert "count.queue_delay: not imported; ecsforge scales on the backlog of the one queue a service consumes" in text
    assert "subscribe.queue.delay: not imported" in text
    assert "subscribe.topics[2]: not imported; no workload 'nobody' of this workspace publishes 'missing'" in text
    assert "subscribe.queue.retention: approximate; SQS retention in whole days for ecsforge: 2" in text


def test_a_backend_service_with_http_uses_an_internal_load_balancer_when_nothing_is_public(tmp_path: Path) -> None:
    backend = {
        "name": "api",
        "type": "Backend Service",
        "image": {"location": "nginx:1", "port": 8080},
        "http": {"path": "/api", "healthcheck": "/ping"},
    }
    full, lines = imported(tmp_path, {"api": backend})
    env = full["test"]
    assert env["load_balancer"] == {"public": False}
    assert env["services"]["api"]["http"] == {"path": "/api*", "health_check": {"path": "/ping"}}
    assert env["services"]["api"]["discovery"] is True
    assert any("http.path: approximate; Copilot matches /api and /api/*" in line for line in lines)


def test_a_backend_service_with_http_next_to_a_public_service_keeps_only_discovery(tmp_path: Path) -> None:
    backend = {
        "name": "api",
        "type": "Backend Service",
        "image": {"location": "nginx:1", "port": 80},
        "http": {"path": "/"},
    }
    full, lines = imported(tmp_path, {"api": backend, "web": web(http={"path": "/"})})
    assert "http" not in full["test"]["services"]["api"]
    assert full["test"]["services"]["web"]["http"] == {"path": "/*"}
    assert any(line.startswith("copilot/api/manifest.yml:") and "http: not imported; ecsforge has one load" in line
               for line in lines)  # fmt: skip


def test_count_with_spot_cooldowns_and_unsupported_targets(tmp_path: Path) -> None:
    count = {
        "range": {"min": 2, "max": 8, "spot_from": 1},
        "cpu_percentage": {"value": 60, "cooldown": {"in": "90s", "out": "30s"}},
        "memory_percentage": 75,
        "response_time": "2s",
        "cooldown": {"in": "60s", "out": "60s"},
    }
    full, lines = imported(tmp_path, {"web": web(http={"path": "/"}, count=count)})
    service = full["test"]["services"]["web"]
    assert service["capacity"] == "fargate_spot"
    assert service["scaling"] == {
        "min": 2,
        "max": 8,
        "target_tracking": {"cpu_percent": 60, "memory_percent": 75},
        "cooldown_seconds": {"scale_in": 90, "scale_out": 30},
    }
    text = "\n".join(lines)
    assert "count.response_time: not imported; ecsforge has no response-time target" in text
    assert "count: approximate; ecsforge has one cooldown per service" in text


def test_secrets_variables_sidecars_and_commands(tmp_path: Path) -> None:
    manifest = web(
        http={"path": "/"},
        command="gunicorn -b 0.0.0.0:80 'app:create()'",
        entrypoint=["/bin/sh", "-c"],
        variables={"FLAG": True, "COUNT": 3, "FROM": {"from_cfn": "Export"}},
        secrets={
            "A": "/demo/a",
            "B": "arn:aws:ssm:us-east-1:111111111111:parameter/demo/b",
            "C": {"secretsmanager": "demo/c"},
            "D": {"secretsmanager": "demo/d:user::"},
            "E": {"from_cfn": "SomeExport"},
        },
        sidecars={"proxy": {"image": "envoy:1", "port": "9000/udp", "essential": False, "labels": {"a": "b"}}},
    )
    full, lines = imported(tmp_path, {"web": manifest})
    containers = full["test"]["services"]["web"]["containers"]
    assert containers["web"]["command"] == ["gunicorn", "-b", "0.0.0.0:80", "app:create()"]
    assert containers["web"]["entrypoint"] == ["/bin/sh", "-c"]
    assert containers["web"]["environment"] == {"FLAG": "true", "COUNT": "3", "FROM": {"cfn_export": "Export"}}
    assert containers["web"]["secrets"] == {
        "A": "ssm:/demo/a",
        "B": "ssm:/demo/b",
        "C": "secretsmanager:demo/c",
        "D": "secretsmanager:demo/d:user",
        "E": {"cfn_export": "SomeExport"},
    }
    assert containers["proxy"] == {"image": "envoy:1", "port": 9000, "essential": False}
    text = "\n".join(lines)
    assert "variables.FROM" not in text
    assert "secrets.E: approximate; ecsforge reads the export as a Secrets Manager secret's ARN" in text
    assert "sidecars.proxy.labels: not imported" in text
    assert "sidecars.proxy.port: approximate" in text


def test_an_environment_override_is_reported_where_it_was_written(tmp_path: Path) -> None:
    manifest = (
        "name: web\n"
        "type: Load Balanced Web Service\n"
        "image:\n  location: nginx:1\n  port: 80\n"
        "http:\n  path: /\n"
        "environments:\n"
        "  test:\n"
        "    taskdef_overrides:\n"
        "      - path: ContainerDefinitions[1].Ulimits\n"
        "        value: []\n"
        "      - path: ContainerDefinitions[0].StartTimeout\n"
        "        value: 60\n"
        "      - path: ContainerDefinitions[0].DockerLabels\n"
        "        value:\n          stage: ${COPILOT_ENVIRONMENT_NAME}\n"
        "  staging:\n"
        "    count: 2\n"
    )
    full, lines = imported(tmp_path, {"web": manifest}, environments={})
    assert set(full) == {"test", "staging"}  # older workspaces name environments in overrides only
    assert any(line.startswith("copilot/web/manifest.yml:11:9: environments.test.taskdef_overrides[0]: not imported")
               for line in lines)  # fmt: skip
    assert full["staging"]["services"]["web"]["count"] == 2
    # the rule of test's override reaches test only
    start, labels = full["test"]["overrides"]["service-web"][-2:]
    assert start["path"].endswith("/ContainerDefinitions/0/StartTimeout")
    assert labels["value"] == {"stage": "test"}  # Copilot's variables replaced, as in every field
    assert "overrides" not in full["staging"]


def test_fields_the_importer_does_not_know_are_reported_never_dropped(tmp_path: Path) -> None:
    full, lines = imported(tmp_path, {"web": web(http={"path": "/", "shiny": 1}, sparkle=True)})
    assert "web" in full["test"]["services"]
    text = "\n".join(lines)
    assert "http.shiny: not imported; the importer does not know this field" in text
    assert "sparkle: not imported; the importer does not know this field" in text


ODD = [
    {"name": "x", "type": "Load Balanced Web Service", "image": "nginx", "http": 5, "count": "many"},
    {"name": "x", "type": "Backend Service", "image": {"build": 7}, "sidecars": ["a"], "storage": "big"},
    {"name": "x", "type": "Worker Service", "subscribe": {"topics": "all", "queue": 3}, "count": {"range": "a-b"}},
    {"name": "x", "type": "Scheduled Job", "on": {"schedule": "every tuesday"}, "image": {"location": "a"}},
    {"name": "x", "type": "Request-Driven Web Service", "instance": {"cpu": 1024}},
    {"name": "x", "type": "Mystery"},
    {"name": "x", "type": "Load Balanced Web Service", "image": {"location": "a", "port": 80},
     "http": {"alias": [{"name": 3}], "healthcheck": [1]}, "nlb": {"port": "x/zz"}, "platform": "windows/x86_64",
     "exec": "yes", "deployment": {"rolling": "sideways", "rollback_alarms": ["a"]}, "logging": "on",
     "network": {"vpc": {"placement": {"subnets": ["subnet-1"]}}, "connect": {"alias": "x"}}},
]  # fmt: skip


@pytest.mark.parametrize("manifest", ODD)
def test_odd_shapes_become_report_lines_not_tracebacks(tmp_path: Path, manifest: dict[str, Any]) -> None:
    _, lines = imported(tmp_path, {"x": manifest})
    assert any(": not imported; " in line for line in lines)


def test_pipelines_from_codecommit_bitbucket_and_the_legacy_file(tmp_path: Path) -> None:
    def stages(workload: str) -> list[dict[str, Any]]:
        return [{"name": "test", "deployments": {workload: None}}, {"name": "prod", "requires_approval": True,
                "test_commands": ["make smoke"], "deployments": {workload: None}}]  # fmt: skip

    pipelines = {
        "cc": {"name": "cc", "source": {"provider": "CodeCommit", "properties": {
            "repository": "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/demo", "branch": "trunk"}},
            "stages": stages("web")},
        "bb": {"name": "bb", "source": {"provider": "Bitbucket", "properties": {
            "repository": "https://bitbucket.org/acme/demo"}}, "stages": stages("api")},
    }  # fmt: skip
    built = web(http={"path": "/"}, image={"build": "Dockerfile", "port": 80})
    api = {"name": "api", "type": "Backend Service", "image": {"build": "api/Dockerfile", "port": 80}}
    full, lines = imported(
        tmp_path,
        {"web": built, "api": api},
        environments={"test": {}, "prod": {}},
        pipelines=pipelines,
        connection_arn=CONNECTION,
    )
    cc = full["test"]["pipelines"]["cc"]
    assert cc["source"] == {"codecommit": {"repository": "demo", "branch": "trunk", "create": False}}
    assert cc["build"] == {"registry": "web", "dockerfile": "Dockerfile", "context": "."}
    assert cc["promote"] == [{"manifest": "prod.yml", "approval": {}, "services": ["web"]}]
    # promotion names concrete accounts, and none was given by --account
    assert full["prod"]["account"] == "${ACCOUNT_PROD}" and full["test"]["account"] == "${ACCOUNT_TEST}"
    bb = full["test"]["pipelines"]["bb"]["source"]["github"]
    assert bb == {"connection_arn": CONNECTION, "owner": "acme", "repository": "demo", "branch": "main"}
    text = "\n".join(lines)
    assert "stages[1].test_commands: not imported" in text
    assert "source.provider: approximate; Bitbucket" in text


def test_an_unreadable_workspace_exits_1_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = workspace(tmp_path, {"web": "name: web\ntype: Backend Service\nimage: [unclosed\n"})
    assert run(str(ws), "us-east-1", [], None, str(tmp_path / "out")) == 1
    assert capsys.readouterr().err.startswith("copilot/web/manifest.yml:3:")
    assert not (tmp_path / "out").exists()
    with pytest.raises(WorkspaceError, match="no copilot/ folder"):
        import_workspace(tmp_path, Options("us-east-1"))


def test_a_bad_account_flag_exits_1(tmp_path: Path) -> None:
    ws = workspace(tmp_path, {"web": web()})
    assert run(str(ws), "us-east-1", ["prod=123"], None, str(tmp_path / "out")) == 1


def test_the_importer_never_imports_aws_cdk(tmp_path: Path) -> None:
    ws = workspace(tmp_path, {"web": web(http={"path": "/"})})
    code = (
        "import sys\n"
        "from ecsforge.cli import main\n"
        f"args = ['import', 'copilot', {str(ws)!r}, '--region', 'us-east-1', '--out', {str(tmp_path / 'out')!r}]\n"
        "assert main(args) == 0\n"
        "assert not [m for m in sys.modules if m.startswith(('aws_cdk', 'boto'))], 'imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_stage_with_deployments_deploys_only_the_workloads_it_lists(tmp_path: Path) -> None:
    stages = [{"name": "test", "deployments": {"web": None, "api": {"depends_on": ["web"]}}}, {"name": "prod",
              "deployments": {"api": None}}]  # fmt: skip
    pipelines = {
        "p": {
            "name": "p",
            "source": {"provider": "GitHub", "properties": {"repository": "https://github.com/acme/demo"}},
            "build": {"buildspec": "copilot/pipelines/p/buildspec.yml"},
            "stages": stages,
        }
    }
    built = {"image": {"build": "Dockerfile", "port": 80}, "http": {"path": "/"}}
    api = {"name": "api", "type": "Backend Service", "image": {"build": "api/Dockerfile", "port": 80}}
    full, lines = imported(
        tmp_path,
        {"web": web(**built), "api": api},
        environments={"test": {}, "prod": {}},
        pipelines=pipelines,
        connection_arn=CONNECTION,
    )
    pipelines_out = full["test"]["pipelines"]
    assert set(pipelines_out) == {"p"}
    assert set(pipelines_out["p"]["build"]["images"]) == {"web", "api"}
    assert "buildspec" not in pipelines_out["p"]["build"]
    # prod deploys api only, and ecsforge promotes one image: reported, not half-imported
    assert "promote" not in pipelines_out["p"]
    text = "\n".join(lines)
    assert "stages[1]: not imported; promotion of several images" in text
    assert "build.buildspec: not imported; Copilot's buildspec runs `copilot svc package`" in text
    assert "stages[0].deployments.api.depends_on: approximate; ecsforge deploys a stage's services in parallel" in text
    assert "account" not in full["prod"]  # nothing promoted, so no account needs naming


_ODD_VALUES: list[Any] = [None, True, 0, -1, 3.5, "", "x", "1-2", "30s", [], [1, "a"], {}, {"a": 1}, {"name": 3}]


def _mutated(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        out = {k: rng.choice(_ODD_VALUES) if rng.random() < 0.12 else _mutated(v, rng) for k, v in value.items()}
        if rng.random() < 0.1:
            out["unheard_of"] = rng.choice(_ODD_VALUES)
        return out
    if isinstance(value, list):
        return [_mutated(v, rng) for v in value if rng.random() > 0.1]
    return rng.choice(_ODD_VALUES) if rng.random() < 0.15 else value


@pytest.mark.parametrize("seed", range(40))
def test_mutated_fixture_workspaces_never_raise(tmp_path: Path, seed: int, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(seed)
    ws = tmp_path / "shop"
    shutil.copytree(ROOT / "tests" / "copilot" / "shop", ws)
    for path in sorted(ws.rglob("manifest.yml")):
        path.write_text(yaml.safe_dump(_mutated(yaml.safe_load(path.read_text()), rng)))
    assert run(str(ws), "us-east-1", ["prod=222222222222"], None, str(tmp_path / "out")) == 0
    assert "Wrote:" in capsys.readouterr().out


def test_an_environment_named_base_keeps_its_file_and_the_base_takes_another_name(tmp_path: Path) -> None:
    ws = workspace(tmp_path, {"web": web(http={"path": "/"})}, environments={"base": {}, "prod": {}})
    assert run(str(ws), "us-east-1", [], None, str(tmp_path / "out")) == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("*.yml")) == ["base.yml", "prod.yml", "shared.yml"]
    assert yaml.safe_load((tmp_path / "out" / "base.yml").read_text())["extends"] == "shared.yml"


def test_service_connect_needs_a_port(tmp_path: Path) -> None:
    worker = {"name": "w", "type": "Backend Service", "image": {"location": "a:1"}, "network": {"connect": True}}
    full, lines = imported(tmp_path, {"w": worker})
    assert "connect" not in full["test"]["services"]["w"]
    assert any("network.connect: not imported; Service Connect needs a container port" in line for line in lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "copilot/web/manifest.yml:1:1: the file is empty"),
        ("- a\n- b\n", "copilot/web/manifest.yml:1:1: expected a mapping of fields"),
        ("name: web\nname: web\n", "copilot/web/manifest.yml:2:1: duplicate key 'name' (first at line 1)"),
    ],
)
def test_manifests_that_are_not_copilot_manifests_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    ws = workspace(tmp_path, {"web": text})
    assert run(str(ws), "us-east-1", [], None, str(tmp_path / "out")) == 1
    assert capsys.readouterr().err.startswith(expected)


def test_container_insights_follow_the_environment_manifest(tmp_path: Path) -> None:
    environments = {"test": {"observability": {"container_insights": False}}, "prod": {}}
    full, _ = imported(tmp_path, {"web": web(http={"path": "/"})}, environments=environments)
    assert full["test"]["cluster"] == {"container_insights": "disabled"}
    assert "cluster" not in full["prod"]  # ecsforge's default (enhanced)


def test_an_override_for_an_environment_the_workspace_does_not_have_is_reported(tmp_path: Path) -> None:
    manifest = web(http={"path": "/"}, environments={"gone": {"count": 3}})
    full, lines = imported(tmp_path, {"web": manifest}, environments={"test": {}})
    assert set(full) == {"test"}
    assert any("environments.gone: not imported; no such environment in this workspace" in line for line in lines)


def _github(name: str, deployments: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "source": {"provider": "GitHub", "properties": {"repository": "https://github.com/acme/demo"}},
        "stages": [{"name": "test", "deployments": dict.fromkeys(deployments)}],
    }


def test_two_copilot_pipelines_with_one_long_name_keep_a_pipeline_each(tmp_path: Path) -> None:
    long = "the-storefront-continuous-delivery-pipeline"
    pipelines = {"a": _github(long, ["web"]), "b": _github(long, ["api"]), "c": _github("again", ["web"])}
    api = {"name": "api", "type": "Backend Service", "image": {"build": "api/Dockerfile", "port": 80}}
    built = web(http={"path": "/"}, image={"build": "Dockerfile", "port": 80})
    full, lines = imported(tmp_path, {"web": built, "api": api}, pipelines=pipelines, connection_arn=CONNECTION)
    placed = {key: entry["deploy"]["services"] for key, entry in full["test"]["pipelines"].items()}
    assert sorted(placed.values()) == [["api"], ["web"]]
    assert all(len(key) <= 32 for key in placed) and len(placed) == 2
    text = "\n".join(lines)
    assert "copilot/pipelines/c/manifest.yml:" in text and "'web' is deployed by the ecsforge pipeline" in text
    assert "(ecsforge names are unique and at most 32 characters)" in text


def test_an_imported_vpc_with_three_subnets_per_tier_and_no_account_gets_three_zones(tmp_path: Path) -> None:
    subnets = {
        tier: [{"id": f"subnet-0{digit}{n}{'0' * 14}"} for n in range(3)]
        for tier, digit in (("public", 1), ("private", 2))
    }
    environments = {"test": {"network": {"vpc": {"id": "vpc-0123456789abcdef0", "subnets": subnets}}}}
    full, lines = imported(tmp_path, {"web": web(http={"path": "/"})}, environments=environments)
    assert full["test"]["network"]["availability_zones"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert any("as many as its imported subnets per tier (3)" in line for line in lines)


def test_an_unknown_port_leaves_neither_http_nor_nlb(tmp_path: Path) -> None:
    implied = {"name": "a", "type": "Load Balanced Web Service", "image": {"location": "nginx:1", "port": "web"}}
    with_nlb = {**implied, "name": "b", "http": False, "nlb": {"port": "80/tcp"}}
    full, lines = imported(tmp_path, {"a": implied, "b": with_nlb})
    services = full["test"]["services"]
    assert "http" not in services["a"] and "nlb" not in services["b"]
    assert any(line.startswith("copilot/a/manifest.yml:1:1: http: not imported; the load balancer") for line in lines)
    assert any(
        line.startswith("copilot/b/manifest.yml:") and "nlb: not imported; the network" in line for line in lines
    )


def test_a_sidecar_mount_of_a_volume_that_is_not_imported_is_dropped_and_reported(tmp_path: Path) -> None:
    sidecar = {
        "image": "busybox:1",
        "command": "run ${COPILOT_SERVICE_NAME}",
        "healthcheck": {"command": ["CMD-SHELL", "test -f /x/${COPILOT_ENVIRONMENT_NAME}"]},
        "mount_points": [{"source_volume": "local", "path": "/x"}, {"source_volume": "shared", "path": "/y"}],
    }
    storage = {"volumes": {"local": {"path": "/x"}, "shared": {"path": "/y", "efs": True}}}
    full, lines = imported(tmp_path, {"web": web(http={"path": "/"}, sidecars={"side": sidecar}, storage=storage)})
    containers = full["test"]["services"]["web"]["containers"]
    assert containers["side"]["mounts"] == [{"volume": "web-shared", "path": "/y", "read_only": True}]
    assert containers["web"]["mounts"] == [{"volume": "web-shared", "path": "/y", "read_only": True}]
    assert containers["side"]["command"] == ["run", "web"]
    assert containers["side"]["health_check"] == {"command": "test -f /x/test"}
    assert any("sidecars.side.mount_points[0]: not imported; its volume was not imported" in line for line in lines)


@pytest.mark.parametrize(
    ("line", "hub"),
    [
        ('echo "$T" | docker login --username acme --password-stdin', True),
        ("docker login -u acme -p $T docker.io && make", True),
        ("docker login --username AWS --password-stdin 111111111111.dkr.ecr.us-east-1.amazonaws.com", False),
        ("docker login ghcr.io -u acme", False),
    ],
)
def test_docker_hub_logins_are_told_from_other_registries(tmp_path: Path, line: str, hub: bool) -> None:
    root = workspace(tmp_path, {"web": web(http={"path": "/"})}) / "copilot"
    (root / "pipelines" / "p").mkdir(parents=True)
    (root / "pipelines" / "p" / "buildspec.yml").write_text(f"phases:\n  pre_build:\n    commands:\n      - {line}\n")
    lines = import_workspace(root.parent, Options("us-east-1")).report.lines()
    logins = [entry for entry in lines if entry.startswith("copilot/pipelines/p/buildspec.yml:4:")]
    assert len(logins) == hub
    assert any(entry.startswith("copilot/pipelines/p/buildspec.yml:1:1: buildspec: not imported") for entry in lines)


def test_a_buildspec_the_pipeline_names_outside_copilot_is_read_for_docker_hub_logins(tmp_path: Path) -> None:
    pipeline = {**_github("p", ["web"]), "build": {"buildspec": "ci/buildspec.yml"}}
    root = workspace(tmp_path, {"web": web(http={"path": "/"})}, pipelines={"p": pipeline})
    (root / "ci").mkdir()
    (root / "ci" / "buildspec.yml").write_text("phases:\n  build:\n    commands:\n      - docker login -u a -p b\n")
    lines = import_workspace(root, Options("us-east-1", {}, CONNECTION)).report.lines()
    assert any(
        line.startswith("ci/buildspec.yml:4:9: docker login: not imported; a Docker Hub login") for line in lines
    )
    assert any(line.startswith("copilot/pipelines/p/manifest.yml:") and "build.buildspec" in line for line in lines)


def test_a_cdk_override_is_one_report_line_and_unknown_files_are_reported(tmp_path: Path) -> None:
    root = workspace(tmp_path, {"web": web(http={"path": "/"})}) / "copilot"
    for name in ("overrides/stack.ts", "overrides/cdk.json", "overrides/node_modules/x/index.js", "notes.txt"):
        (root / "web" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "web" / name).write_text("x\n")
    lines = import_workspace(root.parent, Options("us-east-1")).report.lines()
    assert [line for line in lines if line.startswith("copilot/web/") and ": not imported; " in line] == [
        "copilot/web/notes.txt:1:1: (file): not imported; the importer does not read this file; port what it does by "
        "hand",
        "copilot/web/overrides/:1:1: overrides: not imported; a CDK override (`copilot svc override`) changes "
        "Copilot's template; port what it changes by hand (2 files)",
    ]
    assert lines[-1].endswith("; 6 files read, 3 of them not used (each reported above)")


TEMPLATE = (
    "Parameters:\n  App: {Type: String}\n  Env: {Type: String}\n  Name: {Type: String}\n"
    "  Prefix: {Type: String}\nResources:\n  Bucket:\n    Type: AWS::S3::Bucket\n"
)


def test_addon_parameters_that_mean_the_same_in_ecsforge_are_passed_the_rest_reported(tmp_path: Path) -> None:
    root = workspace(tmp_path, {"web": web(http={"path": "/"}), "site": {"name": "site", "type": "Static Site"}})
    for folder in ("web", "site"):
        (root / "copilot" / folder / "addons").mkdir()
        (root / "copilot" / folder / "addons" / "bucket.yml").write_text(TEMPLATE)
    (root / "copilot" / "web" / "addons" / "broken.yml").write_text("Resources:\n  X: [unclosed\n")
    (root / "copilot" / "environments" / "addons").mkdir()
    network = "Parameters:\n  VpcId: {Type: String}\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
    (root / "copilot" / "environments" / "addons" / "network.yml").write_text(network)
    (root / "copilot" / "environments" / "addons" / "addons.parameters.yml").write_text(
        "Parameters:\n  VpcId: !Ref VPC\n"
    )
    (root / "copilot" / "web" / "addons" / "addons.parameters.yml").write_text(
        "Parameters:\n  Prefix: !Sub '${App}-${Env}-${Name}'\n  App: other\n"
    )
    result = import_workspace(root, Options("us-east-1"))
    validate_written(result, tmp_path / "out")
    assert result.full["test"]["services"]["web"]["addons"] == [
        {"template": "addons/web/bucket.yml", "parameters": {"Prefix": "demo-test-web"}}
    ]
    assert (tmp_path / "out" / "addons" / "web" / "bucket.yml").read_text() == TEMPLATE
    lines = result.report.lines()
    passed = "approximate; ecsforge passes its own"
    assert _starting(lines, f"copilot/web/addons/addons.parameters.yml:3:3: Parameters.App: {passed} App ('demo')")
    assert _starting(lines, f"copilot/environments/addons/addons.parameters.yml:2:3: Parameters.VpcId: {passed}")
    assert result.full["test"]["addons"] == [{"template": "addons/environments/network.yml"}]
    assert _starting(lines, "copilot/web/addons/broken.yml:3:1: addons: not imported; the template is not valid YAML")
    # the Static Site is not imported, and so are not its addons
    assert _starting(lines, "copilot/site/addons/bucket.yml:1:1: addons: not imported; not an addon template of an")


def _starting(lines: list[str], start: str) -> list[str]:
    return [line for line in lines if line.startswith(start)]


PATCHES = """\
- op: add
  path: /Resources/TaskRole/Properties/Policies/0/PolicyDocument/Statement/-
  value:
    Effect: Allow
    Principal: {AWS: "*"}
    Action: s3:GetObject
    Resource: "*"
- op: add
  path: /Resources/TaskDefinition/Properties/ContainerDefinitions/0/Environment/-
  value: {Name: APP, Value: !Ref AppName}
- op: remove
  path: /Resources/TaskDefinition/Properties/ContainerDefinitions/0/Ulimits
- op: add
  path: /Resources/TaskDefinition/Properties/ContainerDefinitions/1/Ulimits
  value: []
- op: add
  path: /Resources/TaskDefinition/Properties/Volumes/-
  value: {Name: cache}
- op: add
  path: /Resources/TaskDefinition/Properties/ContainerDefinitions/0/MountPoints/-
  value: {SourceVolume: cache, ContainerPath: /cache}
- op: add
  path: /Resources/TaskDefinition/Properties/PidMode
  value: task
"""


def test_patch_operations_without_a_certain_equivalent_are_reported_at_their_line(tmp_path: Path) -> None:
    root = workspace(tmp_path, {"web": web(http={"path": "/"})})
    (root / "copilot" / "web" / "overrides").mkdir()
    (root / "copilot" / "web" / "overrides" / "cfn.patches.yml").write_text(PATCHES)
    result = import_workspace(root, Options("us-east-1"))
    validate_written(result, tmp_path / "out")
    reported = [line.split(": not imported; ")[0] for line in result.report.lines() if "cfn.patches.yml" in line]
    assert reported == [
        "copilot/web/overrides/cfn.patches.yml:1:3: [0] add /Resources/TaskRole/Properties/Policies/0/PolicyDocument"
        "/Statement/-",
        "copilot/web/overrides/cfn.patches.yml:8:3: [1] add /Resources/TaskDefinition/Properties/ContainerDefinitions"
        "/0/Environment/-",
        "copilot/web/overrides/cfn.patches.yml:11:3: [2] remove /Resources/TaskDefinition/Properties"
        "/ContainerDefinitions/0/Ulimits",
        "copilot/web/overrides/cfn.patches.yml:13:3: [3] add /Resources/TaskDefinition/Properties"
        "/ContainerDefinitions/1/Ulimits",
    ]
    # what it maps: a task volume, the main container's mount of it, a property ecsforge does not write
    task_definition = "/Resources/ServiceTaskTaskDefinition2B6F6746/Properties"
    assert result.full["test"]["overrides"]["service-web"] == [
        {"op": "add", "path": f"{task_definition}/Volumes", "value": [{"Name": "cache"}]},
        {"op": "test", "path": f"{task_definition}/ContainerDefinitions/0/Name", "value": "web"},
        {
            "op": "add",
            "path": f"{task_definition}/ContainerDefinitions/0/MountPoints",
            "value": [{"SourceVolume": "cache", "ContainerPath": "/cache"}],
        },
        {"op": "add", "path": f"{task_definition}/PidMode", "value": "task"},
    ]
    assert "permissions" not in result.full["test"]["services"]["web"]
