"""Service and scheduled-task defaults as the contract states them, and the derived
listener priorities."""

from __future__ import annotations

import re
import textwrap

import pytest

from ecsforge.manifest import ManifestError, load_manifest
from ecsforge.manifest.deployment import DEPLOYMENT_MARGIN_MINUTES, Deployment, deployment_minutes, modelled_minutes
from ecsforge.manifest.http import Http
from ecsforge.manifest.placement import fargate_memory_choices

from .helpers import ROOT

BASE = "version: 1\napp: shop\nenvironment: prod\nregion: us-east-1\n"
EC2 = "cluster:\n  ec2:\n    general: {instance_type: t3.medium}\n"


def load(tmp_path, text):
    path = tmp_path / "m.yml"
    path.write_text(BASE + textwrap.dedent(text))
    return load_manifest(path, environ={})


def test_fargate_service_defaults(tmp_path):
    service = load(tmp_path, "services:\n  web:\n    containers: {app: {image: nginx:1.27}}\n").manifest.services["web"]
    assert [(c.provider, c.base, c.weight) for c in service.capacity] == [("fargate", None, 1)]
    assert (service.cpu, service.memory, service.count) == (256, 512, 1)
    assert (service.network_mode, service.scheduling, service.exec, service.discovery) == (
        "awsvpc",
        "replica",
        False,
        False,
    )
    deployment = service.deployment
    assert (deployment.strategy, deployment.minimum_healthy_percent, deployment.maximum_percent) == (
        "rolling",
        100,
        200,
    )
    assert (deployment.circuit_breaker, deployment.bake_minutes, deployment.canary_percent) == (True, 10, 10)
    assert (deployment.linear_step_percent, deployment.step_minutes, deployment.rollback_alarms) == (20, 5, None)
    assert service.placement is None and service.http is None and service.scaling is None
    container = service.containers["app"]
    assert (container.essential, container.stop_timeout_seconds, container.log_retention_days) == (True, 30, 30)
    assert container.image.reference == "nginx:1.27" and not container.image.released


def test_ec2_service_defaults(tmp_path):
    text = EC2 + "services:\n  web:\n    capacity: general\n    containers: {app: {image: nginx:1.27, memory: 256}}\n"
    service = load(tmp_path, text).manifest.services["web"]
    assert (service.cpu, service.memory) == (None, None)  # unset on EC2
    assert service.placement is not None
    assert [(s.spread, s.binpack) for s in service.placement.strategies] == [
        ("attribute:ecs.availability-zone", None),
        (None, "memory"),
    ]


def test_daemon_defaults(tmp_path):
    text = EC2 + "services:\n  agent:\n    capacity: general\n    scheduling: daemon\n"
    text += "    containers: {a: {image: x:1, memory: 64}}\n"
    service = load(tmp_path, text).manifest.services["agent"]
    assert (service.deployment.minimum_healthy_percent, service.deployment.maximum_percent) == (0, 100)
    assert service.placement is not None and service.placement.strategies == []


def test_count_defaults_to_scaling_min(tmp_path):
    text = "services:\n  web:\n    containers: {app: {image: nginx:1.27}}\n    scaling: {min: 3, max: 9}\n"
    assert load(tmp_path, text).manifest.services["web"].count == 3


def test_http_defaults(tmp_path):
    text = (
        "services:\n  web:\n    containers: {side: {image: a:1}, app: {image: nginx:1.27, port: 8080}}\n    http: {}\n"
    )
    service = load(tmp_path, text).manifest.services["web"]
    http = service.http
    assert http is not None and service.http_container == "app"  # the first container with a port
    assert (http.path, http.host, http.priority) == ("/*", None, None)
    assert (http.deregistration_delay_seconds, http.grace_period_seconds, http.stickiness_seconds) == (30, 60, 0)
    check = http.health_check
    assert (check.path, check.interval_seconds, check.timeout_seconds) == ("/", 10, 5)
    assert (check.healthy_threshold, check.unhealthy_threshold, check.success_codes) == (2, 3, "200-399")


def test_load_balancer_defaults(tmp_path):
    balancer = load(tmp_path, "").manifest.load_balancer
    assert (balancer.public, balancer.certificate_arn, balancer.allowed_cidrs) == (True, None, ["0.0.0.0/0"])
    assert (balancer.idle_timeout_seconds, balancer.access_logs) == (60, True)


def test_scheduled_task_defaults(tmp_path):
    text = 'scheduled_tasks:\n  job:\n    schedule: "rate(1 day)"\n    containers: {main: {image: busybox:1.36}}\n'
    task = load(tmp_path, text).manifest.scheduled_tasks["job"]
    assert (task.timezone, task.count, task.cpu, task.memory) == ("UTC", 1, 256, 512)
    assert (task.timeout_minutes, task.retries, task.supervised) == (None, 0, False)


@pytest.mark.parametrize(
    ("fields", "supervised"),
    [("timeout_minutes: 60", True), ("retries: 2", True), ("retries: 0", False), ("timeout_minutes: 10080", True)],
)
def test_a_time_limit_or_retries_make_a_state_machine_run_the_task(tmp_path, fields, supervised):
    text = (
        f'scheduled_tasks:\n  job:\n    schedule: "rate(1 day)"\n    {fields}\n'
        "    containers: {main: {image: busybox:1.36}}\n"
    )
    assert load(tmp_path, text).manifest.scheduled_tasks["job"].supervised is supervised


def test_derived_priorities_put_hosts_then_longer_paths_first():
    host_rule = Http(path="/*", host="api.example.com").rule_priority
    long_path = Http(path="/api/v1/orders/*").rule_priority
    short_path = Http(path="/api/*").rule_priority
    catch_all = Http(path="/*").rule_priority
    assert host_rule < long_path < short_path < catch_all <= 50000
    assert Http(path="/api/*", priority=7).rule_priority == 7
    # A service's priority depends on nothing but its own rule.
    assert Http(path="/api/*").rule_priority == short_path


def test_fargate_memory_table():
    assert fargate_memory_choices(256) == [512, 1024, 2048]
    assert fargate_memory_choices(4096)[0] == 8192 and fargate_memory_choices(4096)[-1] == 30720
    assert fargate_memory_choices(16384)[1] - fargate_memory_choices(16384)[0] == 8192
    assert fargate_memory_choices(300) == []


def test_secret_looking_environment_names_warn(tmp_path):
    text = """\
    services:
      web:
        containers:
          app:
            image: nginx:1.27
            environment: {DB_PASSWORD: x, LOG_LEVEL: info, stripe_key: y, GITHUB_TOKEN: z, CLIENT_SECRET: w}
    """
    warnings = load(tmp_path, text).warnings
    flagged = sorted(w.path[-1] for w in warnings)
    assert flagged == ["CLIENT_SECRET", "DB_PASSWORD", "GITHUB_TOKEN", "stripe_key"]
    assert all("move it to `secrets`" in w.message for w in warnings)


def test_unknown_key_in_a_container_suggests_the_field(tmp_path):
    with pytest.raises(
        ManifestError, match=r"services.web.containers.app.helth_check: unknown key; did you mean `health_check`\?"
    ):
        load(tmp_path, "services:\n  web:\n    containers: {app: {image: nginx:1.27, helth_check: {command: x}}}\n")


def test_credentials_on_a_registry_image_warn_and_are_not_used(tmp_path):
    text = """\
    registries: {web: {}}
    services:
      web:
        containers:
          app: {image: {registry: web}, credentials: "secretsmanager:dockerhub"}
    """
    loaded = load(tmp_path, text)
    assert [w.path for w in loaded.warnings if w.path[-1] == "credentials"] == [
        ("services", "web", "containers", "app", "credentials")
    ]
    assert "is ignored" in next(w.message for w in loaded.warnings if w.path[-1] == "credentials")


def test_services_that_follow_a_registry_no_pipeline_releases_warn(tmp_path):
    text = """\
    registries: {web: {}, api: {}}
    services:
      web:
        containers: {app: {image: {registry: web}}}
      api:
        containers: {app: {image: {registry: api}}}
      admin:
        containers: {app: {image: {registry: api}}}
      pinned:
        containers: {app: {image: {registry: web, tag: v1}}}
    pipelines:
      api:
        source: {s3: {key: api.zip}}
        build: {registry: api}
        deploy: {services: [api]}
    """
    warnings = {w.path[1]: w.message for w in load(tmp_path, text).warnings}
    assert set(warnings) == {"web", "admin"}
    assert "no pipeline of this environment builds 'web'" in warnings["web"]
    assert "does not deploy 'admin'" in warnings["admin"]


def deployment(tmp_path, text):
    service = "services:\n  web:\n    containers: {app: {image: nginx:1.27, port: 80}}\n    http: {}\n"
    return load(tmp_path, service + f"    deployment: {text}\n").manifest.services["web"]


@pytest.mark.parametrize(
    ("text", "baking"),
    [
        ("{strategy: rolling, bake_minutes: 30}", 0),  # rolling has no bake
        ("{strategy: blue_green, bake_minutes: 15}", 15),
        ("{strategy: canary, step_minutes: 7, bake_minutes: 10}", 17),
        # 25 % steps: shifts at 25, 50, 75, 100 and a step bake between each two.
        ("{strategy: linear, linear_step_percent: 25, step_minutes: 3, bake_minutes: 10}", 3 * 3 + 10),
        # 30 % steps: 30, 60, 90, 100; CloudFormation counts floor(100 / 30) = 3 steps too.
        ("{strategy: linear, linear_step_percent: 30, step_minutes: 4, bake_minutes: 0}", 3 * 4),
        ("{strategy: linear, linear_step_percent: 3, step_minutes: 1, bake_minutes: 0}", 33),
    ],
)
def test_deployment_minutes(tmp_path, text, baking):
    assert deployment_minutes(deployment(tmp_path, text)) == baking + DEPLOYMENT_MARGIN_MINUTES


@pytest.mark.parametrize(
    "case", ["daemon-distinct-instance", "discovery-canary", "nlb-udp-blue-green", "stickiness-blue-green"]
)
def test_a_deployed_manifest_may_keep_what_a_later_rule_rejects(case):
    """`diff` reads its OLD manifest with deployed=True: these rules came after such manifests were deployed."""
    path = ROOT / "tests" / "manifests" / "invalid" / f"{case}.yml"
    with pytest.raises(ManifestError) as rejected:
        load_manifest(path)
    (problem,) = rejected.value.problems
    loaded = load_manifest(path, deployed=True)
    kept = [w for w in loaded.warnings if w.message.endswith("(kept while deployed; a manifest to deploy must fix it)")]
    assert [(w.line, w.column, w.path) for w in kept] == [(problem.line, problem.column, problem.path)]


def test_readme_deployment_times_are_the_model_s():
    section = (ROOT / "README.md").read_text().split("### Deployment time", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^ *\| `(rolling|blue_green|canary|linear)`(.*?)\| (\d+) \|$", section, re.MULTILINE)
    assert len(rows) >= 5
    for strategy, settings, minutes in rows:
        fields = {key: int(value) for key, value in re.findall(r"`(\w+): (\d+)`", settings)}
        deployment = Deployment.model_validate({"strategy": strategy, **fields})
        model = modelled_minutes(
            strategy,
            bake_minutes=deployment.bake_minutes,
            step_minutes=deployment.step_minutes,
            linear_step_percent=deployment.linear_step_percent,
            nlb="with `nlb`" in settings,
        )
        assert int(minutes) == model, (strategy, settings)


def test_exec_into_a_read_only_container_warns(tmp_path):
    text = """\
    services:
      web:
        exec: true
        containers:
          app: {image: nginx:1.27, readonly_root_filesystem: true}
          side: {image: busybox:1.36}
      locked:
        containers:
          app: {image: nginx:1.27, readonly_root_filesystem: true}
    """
    warnings = load(tmp_path, text).warnings
    assert [w.path for w in warnings] == [("services", "web", "containers", "app", "readonly_root_filesystem")]
    assert "writable root file system" in warnings[0].message and "turn exec off" in warnings[0].message


def test_a_count_that_scaling_overrides_warns(tmp_path):
    text = """\
    services:
      set:
        containers: {app: {image: nginx:1.27}}
        count: 4
        scaling: {min: 2, max: 6}
      same:
        containers: {app: {image: nginx:1.27}}
        count: 2
        scaling: {min: 2, max: 6}
    """
    warnings = load(tmp_path, text).warnings
    assert [w.path for w in warnings] == [("services", "set", "count")]
    assert "raise scaling.min instead" in warnings[0].message
