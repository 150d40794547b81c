"""Services, the shared load balancer, scaling, placement and scheduled tasks: what the
templates of the examples and platform.yml contain."""

from __future__ import annotations

import itertools
import json
import subprocess

import pytest
import yaml

from ecsforge.manifest import load_manifest

from .helpers import ROOT, normalized, offline_env, only


def containers(result, stack):
    definition = only(result.resources(stack, "AWS::ECS::TaskDefinition"))["Properties"]
    return definition, {c["Name"]: c for c in definition["ContainerDefinitions"]}


# --- isolation -------------------------------------------------------------------------


def test_adding_a_service_and_a_task_changes_no_other_stack(synth, tmp_path):
    base = yaml.safe_load((ROOT / "examples" / "fargate-web.yml").read_text())
    grown = yaml.safe_load((ROOT / "examples" / "fargate-web.yml").read_text())
    grown["services"]["extra"] = {
        "containers": {"app": {"image": "public.ecr.aws/nginx/nginx:1.27", "port": 80}},
        "http": {"path": "/extra/*"},
        "discovery": True,
        "scaling": {"min": 1, "max": 3, "target_tracking": {"cpu_percent": 60}},
    }
    grown["scheduled_tasks"]["extra-job"] = {
        "schedule": "rate(1 hour)",
        "containers": {"job": {"image": {"registry": "api"}}},
    }
    path = tmp_path / "grown.yml"
    path.write_text(yaml.safe_dump(grown, sort_keys=False))
    before = normalized(synth("examples/fargate-web.yml").templates())
    after = normalized(synth(path).templates())
    assert set(after) - set(before) == {"store-prod-service-extra", "store-prod-task-extra-job"}
    # The task follows registry api: the pipeline building api now releases to it too.
    releasing = "store-prod-pipeline-api"
    assert after[releasing] != before[releasing]
    for stack in set(before) - {releasing}:
        assert after[stack] == before[stack], f"{stack} changed when a service was added"
    assert base["services"].keys() < grown["services"].keys()


def test_the_first_http_service_adds_the_load_balancer(synth):
    without_http = synth("examples/minimal.yml").templates()["hello-dev-cluster"]["Resources"]
    with_http = synth("examples/fargate-web.yml").templates()["store-prod-cluster"]["Resources"]
    kind = "AWS::ElasticLoadBalancingV2::LoadBalancer"
    assert not [r for r in without_http.values() if r["Type"] == kind]
    assert len([r for r in with_http.values() if r["Type"] == kind]) == 1


def test_service_stacks_use_exports_not_implicit_references(synth):
    templates = synth("platform.yml").templates()
    exported = {
        o["Export"]["Name"]
        for stack in ("shop-prod-network", "shop-prod-cluster", "shop-prod-registries")
        for o in templates[stack].get("Outputs", {}).values()
        if "Export" in o
    }
    for stack in ("shop-prod-service-web", "shop-prod-service-api", "shop-prod-task-rotate-logs"):
        text = json.dumps(templates[stack])
        imports = set(__import__("re").findall(r'"Fn::ImportValue": "([^"]+)"', text))
        assert imports and imports <= exported, imports - exported
        # CDK's automatic cross-stack exports would be named after the producing stack.
        assert "ExportsOutput" not in text


# --- task definitions ------------------------------------------------------------------


def test_task_definition_family_order_sizes_and_ports(synth):
    result = synth("platform.yml")
    definition, by_name = containers(result, "shop-prod-service-web")
    assert definition["Family"] == "shop-prod-web"
    assert [c["Name"] for c in definition["ContainerDefinitions"]] == ["app", "migrate", "proxy"]
    assert (definition["Cpu"], definition["Memory"]) == ("512", "1024")
    assert definition["RequiresCompatibilities"] == ["FARGATE"]
    assert definition["NetworkMode"] == "awsvpc"
    app = by_name["app"]
    assert app["PortMappings"] == [{"ContainerPort": 8080, "Protocol": "tcp"}]
    assert (app["Cpu"], app["Memory"], app["MemoryReservation"]) == (384, 896, 512)
    assert app["Command"] == ["npm", "start"] and app["EntryPoint"] == ["docker-entrypoint.sh"]
    assert {"Name": "LOG_LEVEL", "Value": "info"} in app["Environment"]
    assert app["ReadonlyRootFilesystem"] is False and app["User"] == "1000"  # exec: true needs it writable
    _, task_containers = containers(result, "shop-prod-task-rotate-logs")
    assert task_containers["rotate"]["ReadonlyRootFilesystem"] is True
    assert app["StopTimeout"] == 30
    assert app["DependsOn"] == [{"Condition": "SUCCESS", "ContainerName": "migrate"}]
    assert app["HealthCheck"]["Command"] == ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"]
    assert (app["HealthCheck"]["Interval"], app["HealthCheck"]["StartPeriod"]) == (30, 10)
    assert by_name["migrate"]["Essential"] is False


def test_secrets_from_ssm_secrets_manager_json_key_and_generated(synth):
    result = synth("platform.yml")
    _, by_name = containers(result, "shop-prod-service-web")
    secrets = {s["Name"]: json.dumps(s["ValueFrom"]) for s in by_name["app"]["Secrets"]}
    assert ":parameter/shop/prod/db-url" in secrets["DB_URL"]
    assert ":secret:shop/api-key" in secrets["API_KEY"]
    assert secrets["DB_PASS"].endswith(':password::"]]}') or ":password::" in secrets["DB_PASS"]
    generated = only(result.resources("shop-prod-service-web", "AWS::SecretsManager::Secret"))
    assert generated["DeletionPolicy"] == "Retain"
    assert generated["Properties"]["Name"] == "shop/prod/service-web/app/SESSION_SALT"
    assert generated["Properties"]["GenerateSecretString"]["PasswordLength"] == 32


def test_execution_role_reads_only_what_the_task_uses(synth):
    result = synth("platform.yml")
    definition, _ = containers(result, "shop-prod-service-web")
    assert definition["TaskRoleArn"] != definition["ExecutionRoleArn"]
    policies = result.resources("shop-prod-service-web", "AWS::IAM::Policy")
    execution = next(p for name, p in policies.items() if "ExecutionRole" in name)
    statements = execution["Properties"]["PolicyDocument"]["Statement"]
    text = json.dumps(statements)
    for expected in (
        ":repository/shop/prod/web",
        ":parameter/shop/prod/db-url",
        ":secret:shop/api-key-",
        ":secret:shop/db-",
    ):
        assert expected in text, expected
    assert ":secret:dockerhub-" in text  # repositoryCredentials of the proxy container
    assert ":repository/shop/prod/api" not in text  # another service's registry
    wildcard = [s for s in statements if s["Resource"] == "*"]
    assert [s["Action"] for s in wildcard] == ["ecr:GetAuthorizationToken"]


def test_repository_credentials_for_a_private_plain_image(synth):
    _, by_name = containers(synth("platform.yml"), "shop-prod-service-web")
    assert by_name["proxy"]["Image"] == "docker.io/acme/envoy-sidecar:1.31"
    assert ":secret:dockerhub" in json.dumps(by_name["proxy"]["RepositoryCredentials"])


def test_logs_go_to_one_retained_group_per_service(synth):
    result = synth("platform.yml")
    group_id, group = next(iter(result.resources("shop-prod-service-web", "AWS::Logs::LogGroup").items()))
    assert group["Properties"]["RetentionInDays"] == 90  # the longest any container asks for
    assert group["DeletionPolicy"] == "Retain"
    _, by_name = containers(result, "shop-prod-service-web")
    for name, container in by_name.items():
        options = container["LogConfiguration"]["Options"]
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
        assert options["awslogs-group"] == {"Ref": group_id} and options["awslogs-stream-prefix"] == name


def test_wordpress_bridge_links_host_port_and_generated_password(synth):
    result = synth("examples/wordpress.yml")
    definition, by_name = containers(result, "wordpress-prod-service-wordpress")
    assert definition["NetworkMode"] == "bridge" and definition["RequiresCompatibilities"] == ["EC2"]
    wordpress, mysql = by_name["wordpress"], by_name["mysql"]
    assert wordpress["Links"] == ["mysql"]
    assert wordpress["PortMappings"] == [{"ContainerPort": 80, "HostPort": 80, "Protocol": "tcp"}]
    for container in (wordpress, mysql):
        assert (container["Cpu"], container["Memory"], container["Essential"]) == (10, 500, True)
    secret = only(result.resources("wordpress-prod-service-wordpress", "AWS::SecretsManager::Secret"))
    name = secret["Properties"]["Name"]
    assert name == "wordpress/prod/service-wordpress/mysql/MYSQL_ROOT_PASSWORD"
    assert f":secret:{name}" in json.dumps(wordpress["Secrets"])
    assert "MYSQL_ROOT_PASSWORD" not in json.dumps(mysql.get("Environment", []))


# --- images and the pipeline contract ----------------------------------------------------


def test_released_images_follow_the_ssm_tag_and_start_no_task_before_a_release(synth):
    result = synth("platform.yml")
    template = result.templates()["shop-prod-service-web"]
    parameter = next(p for p in template["Parameters"].values() if p.get("Default", "").endswith("/released-tag"))
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == "/ecsforge/shop/prod/registries/web/released-tag"
    (condition_id, condition) = next(iter(template["Conditions"].items()))
    assert '"none"' in json.dumps(condition)
    _, by_name = containers(result, "shop-prod-service-web")
    image = json.dumps(by_name["app"]["Image"])
    assert "/shop/prod/web:" in image and '"Ref": "SsmParameterValue' in image
    assert "migrations-v12" in json.dumps(by_name["migrate"]["Image"])  # a fixed tag stays fixed
    target = only(result.resources("shop-prod-service-web", "AWS::ApplicationAutoScaling::ScalableTarget"))
    assert target["Properties"]["MinCapacity"] == {"Fn::If": [condition_id, 2, 0]}
    minimums = [a["ScalableTargetAction"].get("MinCapacity") for a in target["Properties"]["ScheduledActions"]]
    assert minimums == [{"Fn::If": [condition_id, 4, 0]}, {"Fn::If": [condition_id, 2, 0]}]


# --- who owns the running count ------------------------------------------------------------


def test_with_scaling_and_a_release_the_count_belongs_to_application_auto_scaling(synth):
    result = synth("platform.yml")
    condition_id = next(iter(result.templates()["shop-prod-service-web"]["Conditions"]))
    service = only(result.resources("shop-prod-service-web", "AWS::ECS::Service"))["Properties"]
    # 0 before the first release; after it no DesiredCount, so an update leaves the count alone.
    assert service["DesiredCount"] == {"Fn::If": [condition_id, {"Ref": "AWS::NoValue"}, 0]}


def test_without_scaling_the_count_is_the_manifests(synth):
    result = synth("platform.yml")
    condition_id = next(iter(result.templates()["shop-prod-service-api"]["Conditions"]))
    service = only(result.resources("shop-prod-service-api", "AWS::ECS::Service"))["Properties"]
    assert service["DesiredCount"] == {"Fn::If": [condition_id, 3, 0]}
    plain = only(synth("examples/wordpress.yml").resources("wordpress-prod-service-wordpress", "AWS::ECS::Service"))
    assert plain["Properties"]["DesiredCount"] == 1


def test_registries_hold_a_released_tag_parameter_starting_at_none(synth):
    result = synth("platform.yml")
    created = {
        json.loads(p["Properties"]["Create"])["parameters"]["Name"]: p
        for p in result.resources("shop-prod-registries", "Custom::AWS").values()
    }
    web = created["/ecsforge/shop/prod/registries/web/released-tag"]
    assert json.loads(web["Properties"]["Create"])["parameters"]["Value"] == "none"
    assert web["DeletionPolicy"] == "Retain"


def test_plain_images_need_no_release(synth):
    result = synth("examples/ec2-placement.yml")
    service = only(result.resources("placement-test-service-api", "AWS::ECS::Service"))["Properties"]
    # With scaling and nothing to wait for, Application Auto Scaling alone sets the count.
    assert "DesiredCount" not in service
    target = only(result.resources("placement-test-service-api", "AWS::ApplicationAutoScaling::ScalableTarget"))
    assert target["Properties"]["MinCapacity"] == 2
    assert "Conditions" not in result.templates()["placement-test-service-api"]


# --- services ----------------------------------------------------------------------------


def test_capacity_strategies_and_defaults(synth):
    result = synth("examples/fargate-web.yml")
    web = only(result.resources("store-prod-service-web", "AWS::ECS::Service"))["Properties"]
    assert web["CapacityProviderStrategy"] == [
        {"Base": 1, "CapacityProvider": "FARGATE", "Weight": 1},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
    ]
    deployment = web["DeploymentConfiguration"]
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (100, 200)
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert "Strategy" not in deployment or deployment["Strategy"] == "ROLLING"


def test_ec2_capacity_provider_by_name_and_daemon(synth):
    result = synth("platform.yml")
    api = only(result.resources("shop-prod-service-api", "AWS::ECS::Service"))["Properties"]
    assert api["CapacityProviderStrategy"] == [{"CapacityProvider": "general-shop-prod", "Weight": 1}]
    agent = only(result.resources("shop-prod-service-agent", "AWS::ECS::Service"))["Properties"]
    assert agent["SchedulingStrategy"] == "DAEMON"
    assert "DesiredCount" not in agent and "PlacementStrategies" not in agent
    assert agent["PlacementConstraints"] == [{"Expression": "attribute:ecs.os-type == linux", "Type": "memberOf"}]
    definition, _ = containers(result, "shop-prod-service-agent")
    assert definition["NetworkMode"] == "host"
    assert definition["ContainerDefinitions"][0]["Privileged"] is True


def test_exec_turns_on_ecs_exec(synth):
    result = synth("platform.yml")
    assert only(result.resources("shop-prod-service-web", "AWS::ECS::Service"))["Properties"]["EnableExecuteCommand"]
    api = only(result.resources("shop-prod-service-api", "AWS::ECS::Service"))["Properties"]
    assert not api.get("EnableExecuteCommand")


@pytest.mark.parametrize(
    ("manifest", "stack", "strategy", "extra"),
    [
        ("platform.yml", "shop-prod-service-web", "BLUE_GREEN", {"BakeTimeInMinutes": 15}),
        (
            "platform.yml",
            "shop-prod-service-api",
            "LINEAR",
            {"LinearConfiguration": {"StepPercent": 25, "StepBakeTimeInMinutes": 3}},
        ),
        (
            "examples/fargate-web.yml",
            "store-prod-service-api",
            "CANARY",
            {"CanaryConfiguration": {"CanaryPercent": 10, "CanaryBakeTimeInMinutes": 5}, "BakeTimeInMinutes": 10},
        ),
    ],
)
def test_ecs_native_deployments(synth, manifest, stack, strategy, extra):
    result = synth(manifest)
    service = only(result.resources(stack, "AWS::ECS::Service"))["Properties"]
    deployment = service["DeploymentConfiguration"]
    assert deployment["Strategy"] == strategy
    for key, value in extra.items():
        assert deployment[key] == value, key
    advanced = service["LoadBalancers"][0]["AdvancedConfiguration"]
    groups = result.resources(stack, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert len(groups) == 2 and advanced["AlternateTargetGroupArn"]["Ref"] in groups
    assert advanced["ProductionListenerRule"]["Ref"] in result.resources(
        stack, "AWS::ElasticLoadBalancingV2::ListenerRule"
    )


def test_rollback_alarms_are_deployment_alarms(synth):
    result = synth("platform.yml")
    service = only(result.resources("shop-prod-service-web", "AWS::ECS::Service"))["Properties"]
    alarms = service["DeploymentConfiguration"]["Alarms"]
    assert alarms["Enable"] and alarms["Rollback"]
    defined = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in result.resources("shop-prod-service-web", "AWS::CloudWatch::Alarm").values()
        if "AlarmName" in a["Properties"]  # step scaling's alarms have generated names
    }
    assert set(alarms["AlarmNames"]) == set(defined) and len(defined) == 3
    five_xx = defined["shop-prod-service-web-rollback-http-5xx"]
    assert five_xx["Threshold"] == 5
    # blue_green: the new version may serve from either group, so the alarm adds up both.
    groups = result.resources("shop-prod-service-web", "AWS::ElasticLoadBalancingV2::TargetGroup")
    watched = {
        (m["MetricStat"]["Metric"]["MetricName"], json.dumps(m["MetricStat"]["Metric"]["Dimensions"]))
        for m in five_xx["Metrics"]
        if "MetricStat" in m
    }
    assert {name for name, _ in watched} == {"HTTPCode_Target_5XX_Count", "RequestCount"}
    assert len(watched) == 4 and all(sum(group in d for group in groups) == 1 for _, d in watched)
    assert {m["Id"]: m.get("Expression") for m in five_xx["Metrics"] if "Expression" in m} == {
        "expr_1": "IF(requests > 0, 100 * errors / requests, 0)",
        "errors": "FILL(e1, 0) + FILL(e2, 0)",
        "requests": "FILL(r1, 0) + FILL(r2, 0)",
    }
    assert defined["shop-prod-service-web-rollback-cpu"]["MetricName"] == "CPUUtilization"
    assert defined["shop-prod-service-web-rollback-memory"]["Threshold"] == 95


# --- load balancing ----------------------------------------------------------------------


def test_https_load_balancer_with_redirect_allowed_cidrs_and_access_logs(synth):
    result = synth("platform.yml")
    stack = "shop-prod-cluster"
    alb = only(result.resources(stack, "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    assert alb["Scheme"] == "internet-facing"
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["idle_timeout.timeout_seconds"] == "60"
    assert attributes["access_logs.s3.enabled"] == "true"
    listeners = {
        item["Properties"]["Port"]: item["Properties"]
        for item in result.resources(stack, "AWS::ElasticLoadBalancingV2::Listener").values()
    }
    assert listeners[443]["Protocol"] == "HTTPS"
    assert listeners[443]["Certificates"][0]["CertificateArn"].startswith("arn:aws:acm:us-east-1:111111111111:")
    assert listeners[80]["DefaultActions"][0]["RedirectConfig"]["Port"] == "443"
    group = next(
        g["Properties"] for n, g in result.resources(stack, "AWS::EC2::SecurityGroup").items() if "LoadBalancer" in n
    )
    assert sorted((r["CidrIp"], r["FromPort"]) for r in group["SecurityGroupIngress"]) == [
        ("0.0.0.0/0", 80),
        ("0.0.0.0/0", 443),
    ]
    bucket = next(iter(result.resources(stack, "AWS::S3::Bucket").values()))
    assert bucket["DeletionPolicy"] == "Retain"
    assert (
        bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        == "AES256"
    )
    policy = only(result.resources(stack, "AWS::S3::BucketPolicy"))["Properties"]["PolicyDocument"]
    assert any(
        s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false" and s["Effect"] == "Deny"
        for s in policy["Statement"]
    )


def test_http_listener_without_certificate(synth):
    result = synth("examples/fargate-web.yml")
    listeners = [
        item["Properties"]
        for item in result.resources("store-prod-cluster", "AWS::ElasticLoadBalancingV2::Listener").values()
    ]
    assert [(listener["Port"], listener["Protocol"]) for listener in listeners] == [(80, "HTTP")]
    assert listeners[0]["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"


def test_internal_load_balancer_defaults_to_the_vpc_range(synth, tmp_path):
    manifest = yaml.safe_load((ROOT / "examples" / "fargate-web.yml").read_text())
    manifest["load_balancer"] = {"public": False, "access_logs": False, "idle_timeout_seconds": 120}
    path = tmp_path / "internal.yml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    result = synth(path)
    assert result.returncode == 0, result.stderr
    alb = only(result.resources("store-prod-cluster", "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    assert alb["Scheme"] == "internal"
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["idle_timeout.timeout_seconds"] == "120" and "access_logs.s3.enabled" not in attributes
    group = next(
        g["Properties"]
        for n, g in result.resources("store-prod-cluster", "AWS::EC2::SecurityGroup").items()
        if "LoadBalancer" in n
    )
    assert {r["CidrIp"] for r in group["SecurityGroupIngress"]} == {"10.0.0.0/16"}
    assert result.resources("store-prod-cluster", "AWS::S3::Bucket") == {}


def test_each_http_service_has_its_own_target_group_and_rule(synth):
    result = synth("examples/fargate-web.yml")
    manifest = load_manifest(ROOT / "examples" / "fargate-web.yml").manifest
    for name in ("web", "api"):
        stack = f"store-prod-service-{name}"
        rule = next(iter(result.resources(stack, "AWS::ElasticLoadBalancingV2::ListenerRule").values()))["Properties"]
        # Read from the SSM parameter at each deploy: the listener moves when a certificate comes or goes.
        parameter = rule["ListenerArn"]["Ref"]
        assert result.templates()[stack]["Parameters"][parameter] == {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/ecsforge/store/prod/load-balancer/listener-arn",
        }
        assert rule["Priority"] == manifest.services[name].http.rule_priority
        paths = [c["PathPatternConfig"]["Values"] for c in rule["Conditions"] if "PathPatternConfig" in c]
        assert paths == [[manifest.services[name].http.path]]
    rules = {
        name: next(
            iter(result.resources(f"store-prod-service-{name}", "AWS::ElasticLoadBalancingV2::ListenerRule").values())
        )["Properties"]["Priority"]
        for name in ("web", "api")
    }
    assert rules["api"] < rules["web"]  # /api/* is longer than /*, so it is evaluated first


def test_default_health_check_makes_a_50_second_rolling_step(synth):
    result = synth("examples/fargate-web.yml")
    group = next(iter(result.resources("store-prod-service-web", "AWS::ElasticLoadBalancingV2::TargetGroup").values()))[
        "Properties"
    ]
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    interval, healthy = group["HealthCheckIntervalSeconds"], group["HealthyThresholdCount"]
    deregistration = int(attributes["deregistration_delay.timeout_seconds"])
    assert (interval, healthy, deregistration) == (10, 2, 30)
    assert interval * healthy + deregistration == 50
    # With nothing set, ALB target groups check every 30 s, need 5 successes and drain
    # for 300 s (the AWS defaults aws-cdk leaves in place): 30 * 5 + 300 = 450 s.
    assert 30 * 5 + 300 == 450 > interval * healthy + deregistration
    assert group["TargetType"] == "ip" and group["HealthCheckPath"] == "/healthz"


def test_only_the_load_balancer_reaches_the_service_port(synth):
    result = synth("examples/fargate-web.yml")
    stack = "store-prod-service-api"
    ingress = [r["Properties"] for r in result.resources(stack, "AWS::EC2::SecurityGroupIngress").values()]
    assert len(ingress) == 1
    assert ingress[0]["SourceSecurityGroupId"] == {"Fn::ImportValue": "store-prod-alb-security-group-id"}
    assert (ingress[0]["FromPort"], ingress[0]["ToPort"]) == (8080, 8080)
    group = only(result.resources(stack, "AWS::EC2::SecurityGroup"))["Properties"]
    assert "SecurityGroupIngress" not in group


def test_bridge_services_reach_instances_on_dynamic_ports(synth):
    result = synth("platform.yml")
    # Every dynamic-port service of the group needs the same rule: the cluster stack's, once.
    assert result.resources("shop-prod-service-api", "AWS::EC2::SecurityGroupIngress") == {}
    ingress = [
        r["Properties"] for r in result.resources("shop-prod-cluster", "AWS::EC2::SecurityGroupIngress").values()
    ]
    dynamic = sorted((r["FromPort"], r["ToPort"]) for r in ingress if r["FromPort"] >= 32768)
    assert dynamic[0][0] == 32768 and dynamic[-1][1] == 65535
    assert all(low == high + 1 for (_, high), (low, _) in itertools.pairwise(dynamic))
    exported = {
        o["Export"]["Name"]: o["Value"]
        for o in result.templates()["shop-prod-cluster"]["Outputs"].values()
        if "Export" in o
    }
    groups = {json.dumps(r["GroupId"]) for r in ingress if r["FromPort"] >= 32768}
    assert groups == {json.dumps(exported["shop-prod-capacity-general-security-group-id"])}
    group = next(iter(result.resources("shop-prod-service-api", "AWS::ElasticLoadBalancingV2::TargetGroup").values()))
    assert group["Properties"]["TargetType"] == "instance"
    assert group["Properties"]["HealthCheckPort"] == "traffic-port"


def test_discovery_a_records_for_awsvpc(synth):
    result = synth("examples/fargate-web.yml")
    web = only(result.resources("store-prod-service-web", "AWS::ServiceDiscovery::Service"))["Properties"]
    assert web["Name"] == "web" and web["DnsConfig"]["DnsRecords"][0]["Type"] == "A"
    assert web["NamespaceId"] == {"Fn::ImportValue": "store-prod-namespace-id"}
    # The canary api is not in Cloud Map: its callers would reach new tasks before the shift.
    assert not result.resources("store-prod-service-api", "AWS::ServiceDiscovery::Service")


# --- scaling -----------------------------------------------------------------------------


def tracked(result, stack):
    policies = [p["Properties"] for p in result.resources(stack, "AWS::ApplicationAutoScaling::ScalingPolicy").values()]
    return {
        p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]: p[
            "TargetTrackingScalingPolicyConfiguration"
        ]
        for p in policies
        if "TargetTrackingScalingPolicyConfiguration" in p
    }


def test_target_tracking_on_cpu_and_memory(synth):
    tracking = tracked(synth("platform.yml"), "shop-prod-service-web")
    assert set(tracking) == {"ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"}
    cpu = tracking["ECSServiceAverageCPUUtilization"]
    assert (cpu["TargetValue"], cpu["ScaleInCooldown"], cpu["ScaleOutCooldown"]) == (75, 120, 60)


ROLLING = """\
version: 1
app: roll
environment: qa
region: eu-west-1
services:
  web:
    containers:
      web: {image: "public.ecr.aws/nginx/nginx:1.27", port: 80}
    http: {}
    deployment:
      rollback_alarms: {http_5xx_percent: 3}
    scaling:
      min: 1
      max: 4
      target_tracking: {requests_per_target: 250}
"""


def test_a_rolling_service_scales_on_requests_and_alarms_on_its_one_group(synth, tmp_path):
    path = tmp_path / "rolling.yml"
    path.write_text(ROLLING)
    result = synth(path)
    assert result.returncode == 0, result.stderr[-3000:]
    requests = tracked(result, "roll-qa-service-web")["ALBRequestCountPerTarget"]
    assert requests["TargetValue"] == 250
    label = json.dumps(requests["PredefinedMetricSpecification"]["ResourceLabel"])
    assert "SsmParameterValueecsforgerollqaloadbalancerfullname" in label and "TargetGroupFullName" in label
    alarm = next(
        a["Properties"]
        for a in result.resources("roll-qa-service-web", "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("AlarmName") == "roll-qa-service-web-rollback-http-5xx"
    )
    assert {m["Id"] for m in alarm["Metrics"]} == {"expr_1", "errors", "requests"}
    rule = only(result.resources("roll-qa-service-web", "AWS::ElasticLoadBalancingV2::ListenerRule"))
    assert {t["Key"] for t in rule["Properties"]["Tags"]} == {"app", "environment"}  # rolling: ECS never edits it


def test_step_scaling_75_80_90_gives_three_adjustments_in_one_policy(synth):
    result = synth("examples/ec2-placement.yml")
    policies = [
        p["Properties"]
        for p in result.resources("placement-test-service-api", "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    ]
    steps = [p["StepScalingPolicyConfiguration"] for p in policies if "StepScalingPolicyConfiguration" in p]
    assert len(steps) == 2  # one policy per direction
    out = next(s for s in steps if all(a["ScalingAdjustment"] > 0 for a in s["StepAdjustments"]))
    assert sorted(a["ScalingAdjustment"] for a in out["StepAdjustments"]) == [1, 2, 3]
    back = next(s for s in steps if all(a["ScalingAdjustment"] < 0 for a in s["StepAdjustments"]))
    assert [a["ScalingAdjustment"] for a in back["StepAdjustments"]] == [-1]
    alarms = [
        a["Properties"] for a in result.resources("placement-test-service-api", "AWS::CloudWatch::Alarm").values()
    ]
    assert sorted(a["Threshold"] for a in alarms) == [25, 75]


def test_scheduled_scaling_with_timezone(synth):
    result = synth("platform.yml")
    target = only(result.resources("shop-prod-service-web", "AWS::ApplicationAutoScaling::ScalableTarget"))[
        "Properties"
    ]
    actions = target["ScheduledActions"]
    assert [a["Schedule"] for a in actions] == ["cron(0 8 ? * MON-FRI *)", "cron(0 20 ? * MON-FRI *)"]
    assert {a["Timezone"] for a in actions} == {"Europe/Berlin"}
    assert actions[0]["ScalableTargetAction"]["MaxCapacity"] == 20
    assert target["MaxCapacity"] == 20


# --- placement ---------------------------------------------------------------------------


def test_placement_in_manifest_order(synth):
    result = synth("examples/ec2-placement.yml")
    service = only(result.resources("placement-test-service-api", "AWS::ECS::Service"))["Properties"]
    assert service["PlacementStrategies"] == [
        {"Field": "attribute:ecs.availability-zone", "Type": "spread"},
        {"Field": "memory", "Type": "binpack"},
    ]
    assert service["PlacementConstraints"] == [
        {"Expression": "attribute:ecs.instance-type == t2.micro", "Type": "memberOf"},
        {"Type": "distinctInstance"},
    ]


def test_default_placement_spreads_across_zones_then_binpacks_memory(synth):
    result = synth("examples/wordpress.yml")
    service = only(result.resources("wordpress-prod-service-wordpress", "AWS::ECS::Service"))["Properties"]
    assert service["PlacementStrategies"] == [
        {"Field": "attribute:ecs.availability-zone", "Type": "spread"},
        {"Field": "memory", "Type": "binpack"},
    ]


# --- scheduled tasks ---------------------------------------------------------------------


def test_scheduled_task_runs_its_task_family(synth):
    result = synth("examples/fargate-web.yml")
    stack = "store-prod-task-sync-catalog"
    schedule = only(result.resources(stack, "AWS::Scheduler::Schedule"))["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0/15 * ? * TUE,THU *)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    target = schedule["Target"]
    assert target["Arn"] == {"Fn::ImportValue": "store-prod-cluster-arn"}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    ecs_parameters = target["EcsParameters"]
    definition_id = next(iter(result.resources(stack, "AWS::ECS::TaskDefinition")))
    # It follows releases: the latest revision of its family, which the release step registers.
    family = result.templates()[stack]["Resources"][definition_id]["Properties"]["Family"]
    arn = json.dumps(ecs_parameters["TaskDefinitionArn"])
    assert arn.endswith(f':task-definition/{family}"]]}}') and definition_id not in arn
    assert ecs_parameters["TaskCount"] == 1
    assert ecs_parameters["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Weight": 1}]
    assert ecs_parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert schedule["State"]["Fn::If"][1:] == ["ENABLED", "DISABLED"]  # off until the first release
    policies = result.resources(stack, "AWS::IAM::Policy")
    policy = next(p for n, p in policies.items() if "SchedulerRole" in n)["Properties"]["PolicyDocument"]["Statement"]
    run, pass_role = policy
    assert run["Action"] == "ecs:RunTask" and json.dumps(run["Resource"]).endswith(f'/{family}:*"]]}}')
    assert run["Condition"]["ArnEquals"]["ecs:cluster"] == {"Fn::ImportValue": "store-prod-cluster-arn"}
    assert pass_role["Action"] == "iam:PassRole" and len(pass_role["Resource"]) == 2


def test_scheduled_task_on_ec2_with_placement_and_rate(synth):
    result = synth("platform.yml")
    schedule = only(result.resources("shop-prod-task-reindex", "AWS::Scheduler::Schedule"))["Properties"]
    assert schedule["ScheduleExpression"] == "rate(6 hours)"
    parameters = schedule["Target"]["EcsParameters"]
    assert parameters["CapacityProviderStrategy"] == [{"CapacityProvider": "general-shop-prod", "Weight": 1}]
    assert parameters["PlacementStrategy"] == [{"Type": "random"}]
    assert parameters["PlacementConstraints"] == [{"Type": "distinctInstance"}]
    assert "NetworkConfiguration" not in parameters
    assert schedule["State"] == "ENABLED"


# --- combinations no example shows ---------------------------------------------------------

MIXED = """\
version: 1
app: mixed
environment: qa
account: "333333333333"
region: eu-west-1
network:
  availability_zones: [eu-west-1a, eu-west-1b]
cluster:
  ec2:
    general: {instance_type: m6i.large}
registries:
  api: {}
services:
  api:
    capacity: general
    cpu: 512
    memory: 1024
    containers:
      api: {image: {registry: api}, port: 8080}
    http: {path: /api/*}
    discovery: true
  edge:
    capacity: general
    network_mode: host
    containers:
      proxy: {image: "public.ecr.aws/nginx/nginx:1.27", port: 8081, memory: 256}
    http: {path: /edge/*}
    discovery: true
pipelines:
  api:
    source:
      codecommit: {repository: mixed-api, create: false}
    build: {registry: api}
    deploy: {services: [api]}
"""


def test_ec2_awsvpc_host_mode_and_a_pipeline_with_an_account(synth, tmp_path):
    path = tmp_path / "mixed.yml"
    path.write_text(MIXED)
    result = synth(path)
    assert result.returncode == 0, result.stderr[-3000:]
    api_group = next(
        iter(result.resources("mixed-qa-service-api", "AWS::ElasticLoadBalancingV2::TargetGroup").values())
    )
    assert api_group["Properties"]["TargetType"] == "ip"  # awsvpc on EC2: tasks have their own address
    record = only(result.resources("mixed-qa-service-api", "AWS::ServiceDiscovery::Service"))["Properties"]
    assert record["DnsConfig"]["DnsRecords"][0]["Type"] == "A"
    edge_group = next(
        iter(result.resources("mixed-qa-service-edge", "AWS::ElasticLoadBalancingV2::TargetGroup").values())
    )
    assert edge_group["Properties"]["TargetType"] == "instance"
    ingress = [
        r["Properties"] for r in result.resources("mixed-qa-service-edge", "AWS::EC2::SecurityGroupIngress").values()
    ]
    assert [(r["FromPort"], r["ToPort"]) for r in ingress] == [(8081, 8081)]  # host mode: the port itself
    edge_record = only(result.resources("mixed-qa-service-edge", "AWS::ServiceDiscovery::Service"))["Properties"]
    assert edge_record["DnsConfig"]["DnsRecords"][0]["Type"] == "SRV"  # tasks share the instance's address
    assert result.resources("mixed-qa-pipeline-api", "AWS::CodeCommit::Repository") == {}  # create: false
    assembly = json.loads((result.outdir / "manifest.json").read_text())
    assert "missing" not in assembly  # an account is set, and still nothing is looked up
    templates = sorted(str(p) for p in result.outdir.glob("*.template.json"))
    lint = subprocess.run(
        ["cfn-lint", "--regions", "eu-west-1", "--", *templates], env=offline_env(), capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout


# --- day 2: edits that must not touch the production listener rule -------------------------


def test_ordinary_edits_leave_a_non_rolling_services_listener_rule_alone(synth, tmp_path):
    """ECS rewrites a canary's rule and may serve production from the alternate group; any
    CloudFormation update of the rule would point it back at the primary one."""
    edited = yaml.safe_load((ROOT / "examples" / "fargate-web.yml").read_text())
    edited["tags"] = {"cost-center": "4711"}
    api = edited["services"]["api"]
    api["containers"]["api"]["environment"]["LOG_LEVEL"] = "debug"
    api["http"]["health_check"]["interval_seconds"] = 15
    api["http"]["deregistration_delay_seconds"] = 10
    api["deployment"]["bake_minutes"] = 20
    api["scaling"]["max"] = 12
    path = tmp_path / "edited.yml"
    path.write_text(yaml.safe_dump(edited, sort_keys=False))
    before, after = synth("examples/fargate-web.yml"), synth(path)
    assert after.returncode == 0, after.stderr[-3000:]

    def rule(result, name):
        return only(result.resources(f"store-prod-service-{name}", "AWS::ElasticLoadBalancingV2::ListenerRule"))

    assert rule(after, "api") == rule(before, "api")
    assert "Tags" not in rule(after, "api")["Properties"]
    # The edits did reach the stack; and a rolling service's rule is tagged as before.
    assert before.templates()["store-prod-service-api"] != after.templates()["store-prod-service-api"]
    assert {"Key": "cost-center", "Value": "4711"} in rule(after, "web")["Properties"]["Tags"]


def test_one_scale_out_step_alone_makes_one_policy_and_one_alarm(synth, tmp_path):
    # aws-cdk needs two intervals; a single step once failed synthesis after validate said ok.
    path = tmp_path / "one-step.yml"
    path.write_text(
        "version: 1\napp: shop\nenvironment: prod\nregion: us-east-1\nservices:\n  web:\n"
        "    containers:\n      app: {image: nginx}\n"
        "    scaling:\n      min: 1\n      max: 4\n"
        "      step_scaling:\n        - {metric: cpu, scale_out: [{at: 75, add: 2}]}\n"
    )
    result = synth(path)
    policy = only(result.resources("shop-prod-service-web", "AWS::ApplicationAutoScaling::ScalingPolicy"))
    steps = policy["Properties"]["StepScalingPolicyConfiguration"]["StepAdjustments"]
    assert steps == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}]
    alarm = only(result.resources("shop-prod-service-web", "AWS::CloudWatch::Alarm"))["Properties"]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 75)
