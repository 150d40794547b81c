"""`services.*.nlb` (a Network Load Balancer of the service's own) and Service Connect
(`cluster.service_connect`, `services.*.connect`): defaults, templates and day 2."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from ecsforge.manifest import load_manifest
from ecsforge.manifest.deployment import DEPLOYMENT_MARGIN_MINUTES, NLB_SHIFT_DELAY_MINUTES, deployment_minutes
from ecsforge.manifest.nlb import connect_names

from .helpers import Synth, inprocess_synth, only

BASE = "version: 1\napp: shop\nenvironment: prod\nregion: us-east-1\n"
NLB = "AWS::ElasticLoadBalancingV2::LoadBalancer"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
SERVICE = "AWS::ECS::Service"
GROUP = "AWS::EC2::SecurityGroup"


def load(tmp_path, text):
    path = tmp_path / "m.yml"
    path.write_text(BASE + textwrap.dedent(text))
    return load_manifest(path, environ={}).manifest


def synth_text(tmp_path, name: str, text: str) -> Synth:
    path = tmp_path / f"{name}.yml"
    path.write_text(BASE + textwrap.dedent(text))
    result = inprocess_synth(path, tmp_path / f"{name}.out")
    assert result.returncode == 0, result.stderr
    return result


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource["Properties"]


# --- the models --------------------------------------------------------------------------------


def test_nlb_defaults_internal_tcp_open_to_the_vpc(tmp_path):
    manifest = load(
        tmp_path,
        """
        network: {cidr: 10.20.0.0/16}
        services:
          db:
            containers: {proxy: {image: pgbouncer:1.23, port: 6432}}
            nlb: {port: 5432}
        """,
    )
    nlb = manifest.services["db"].nlb
    assert (nlb.protocol, nlb.public, nlb.cidrs, nlb.health_check_port) == ("tcp", False, ["10.20.0.0/16"], None)
    assert manifest.services["db"].connect is False and manifest.cluster.service_connect is False


def test_public_nlb_defaults_to_everyone(tmp_path):
    manifest = load(
        tmp_path,
        """
        services:
          game:
            containers: {server: {image: game:1.0, port: 7777}}
            nlb: {port: 7777, protocol: udp, public: true}
        """,
    )
    assert manifest.services["game"].nlb.cidrs == ["0.0.0.0/0"]


def test_nlb_alone_allows_traffic_shifting_and_its_ecs_delays_are_modelled(tmp_path):
    manifest = load(
        tmp_path,
        """
        services:
          mqtt:
            containers: {broker: {image: mosquitto:2.0, port: 1883}}
            nlb: {port: 1883}
            deployment: {strategy: blue_green, bake_minutes: 5}
        """,
    )
    expected = 5 + DEPLOYMENT_MARGIN_MINUTES + NLB_SHIFT_DELAY_MINUTES
    assert deployment_minutes(manifest.services["mqtt"]) == expected


def test_connect_names_first_port_is_the_service_others_carry_the_container(tmp_path):
    manifest = load(
        tmp_path,
        """
        cluster: {service_connect: true}
        services:
          api:
            containers:
              app: {image: httpd:2.4, port: 8080}
              worker: {image: busybox:1.36}
              admin: {image: httpd:2.4, port: 9090}
            connect: true
        """,
    )
    assert connect_names("api", manifest.services["api"]) == {"app": "api", "admin": "api-admin"}


# --- templates: NLB ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tcp_example(synth) -> Synth:
    result: Synth = synth("examples/tcp-service.yml")
    return result


def test_each_nlb_lives_in_its_own_service_stack(tcp_example):
    assert not tcp_example.resources("play-prod-cluster", NLB)
    schemes = {
        name: props(only(tcp_example.resources(f"play-prod-service-{name}", NLB)))["Scheme"]
        for name in ("db-proxy", "mqtt", "game")
    }
    assert schemes == {"db-proxy": "internal", "mqtt": "internet-facing", "game": "internet-facing"}


def test_nlb_group_admits_only_allowed_cidrs_and_the_tasks_admit_only_the_nlb(tcp_example):
    stack = "play-prod-service-db-proxy"
    balancer = only(tcp_example.resources(stack, NLB))
    groups = tcp_example.resources(stack, GROUP)
    nlb_group_id = balancer["Properties"]["SecurityGroups"][0]["Fn::GetAtt"][0]
    assert [
        (r["CidrIp"], r["FromPort"], r["IpProtocol"]) for r in props(groups[nlb_group_id])["SecurityGroupIngress"]
    ] == [("10.0.0.0/16", 5432, "tcp")]
    (task_group,) = [g for k, g in groups.items() if k != nlb_group_id]
    ingress = props(task_group)["SecurityGroupIngress"]
    assert [(r["SourceSecurityGroupId"]["Fn::GetAtt"][0], r["FromPort"]) for r in ingress] == [(nlb_group_id, 6432)]


def test_udp_target_group_is_health_checked_over_tcp_and_the_port_mapping_is_udp(tcp_example):
    stack = "play-prod-service-game"
    group = props(only(tcp_example.resources(stack, TARGET_GROUP)))
    assert (group["Protocol"], group["HealthCheckProtocol"], group["TargetType"]) == ("UDP", "TCP", "ip")
    task = props(only(tcp_example.resources(stack, "AWS::ECS::TaskDefinition")))
    assert task["ContainerDefinitions"][0]["PortMappings"] == [{"ContainerPort": 7777, "Protocol": "udp"}]
    ingress = props(
        next(
            g for g in tcp_example.resources(stack, GROUP).values() if "Tasks of" in g["Properties"]["GroupDescription"]
        )
    )["SecurityGroupIngress"]
    assert sorted((r["IpProtocol"], r["FromPort"]) for r in ingress) == [("tcp", 7777), ("udp", 7777)]


def test_access_logs_only_on_the_tls_nlb(tcp_example):
    def logs_on(name: str) -> bool:
        attributes = props(only(tcp_example.resources(f"play-prod-service-{name}", NLB)))["LoadBalancerAttributes"]
        return {"Key": "access_logs.s3.enabled", "Value": "true"} in attributes

    assert [logs_on(n) for n in ("db-proxy", "mqtt", "game")] == [False, True, False]
    (bucket,) = tcp_example.resources("play-prod-service-mqtt", "AWS::S3::Bucket").values()
    assert bucket["DeletionPolicy"] == "Retain"


def test_blue_green_nlb_shifts_its_listener_which_carries_no_tags(tcp_example):
    stack = "play-prod-service-mqtt"
    listeners = tcp_example.resources(stack, LISTENER)
    (listener_id, listener) = next(iter(listeners.items()))
    assert props(listener)["Protocol"] == "TLS" and "Tags" not in props(listener)
    (lb,) = props(only(tcp_example.resources(stack, SERVICE)))["LoadBalancers"]
    assert lb["AdvancedConfiguration"]["ProductionListenerRule"] == {"Ref": listener_id}
    assert len(tcp_example.resources(stack, TARGET_GROUP)) == 2


def test_bridge_nlb_registers_instances_and_opens_the_ephemeral_ports(tmp_path):
    result = synth_text(
        tmp_path,
        "bridge",
        """
        cluster:
          ec2:
            general: {instance_type: t3.medium}
        services:
          db:
            capacity: general
            network_mode: bridge
            containers: {proxy: {image: pgbouncer:1.23, port: 6432, memory: 256}}
            nlb: {port: 5432}
        """,
    )
    stack = "shop-prod-service-db"
    assert props(only(result.resources(stack, TARGET_GROUP)))["TargetType"] == "instance"
    rule = props(only(result.resources(stack, "AWS::EC2::SecurityGroupIngress")))
    assert (rule["FromPort"], rule["ToPort"]) == (32768, 65535)
    assert rule["GroupId"] == {"Fn::ImportValue": "shop-prod-capacity-general-security-group-id"}


def test_bridge_tasks_with_a_fixed_host_port_are_reached_on_that_port_by_alb_and_nlb(tmp_path):
    # The ALB used to open the ephemeral range whatever the host port: its health checks and
    # requests to a task published on host port 8080 found the port closed.
    result = synth_text(
        tmp_path,
        "fixed",
        """
        cluster:
          ec2:
            general: {instance_type: t3.medium}
        services:
          web:
            capacity: general
            network_mode: bridge
            containers: {app: {image: nginx:1.27, port: 80, host_port: 8080, memory: 256}}
            http: {path: /web/*}
          db:
            capacity: general
            network_mode: bridge
            containers: {proxy: {image: pgbouncer:1.23, port: 6432, host_port: 6432, memory: 256}}
            nlb: {port: 5432}
        """,
    )
    for stack in ("shop-prod-service-web", "shop-prod-service-db"):
        rule = props(only(result.resources(stack, "AWS::EC2::SecurityGroupIngress")))
        expected = 8080 if stack.endswith("web") else 6432
        assert (rule["FromPort"], rule["ToPort"]) == (expected, expected)
        assert rule["GroupId"] == {"Fn::ImportValue": "shop-prod-capacity-general-security-group-id"}


# --- templates: Service Connect -----------------------------------------------------------------

MESH = """
cluster: {service_connect: true}
services:
  orders:
    containers: {api: {image: httpd:2.4, port: 8080}}
    connect: true
  client:
    containers: {app: {image: busybox:1.36, command: ["sleep", "infinity"]}}
    connect: true
"""


def test_service_connect_namespace_group_and_server_entries(tmp_path):
    result = synth_text(tmp_path, "mesh", MESH)
    cluster = props(only(result.resources("shop-prod-cluster", "AWS::ECS::Cluster")))
    assert cluster["ServiceConnectDefaults"] == {"Namespace": {"Fn::GetAtt": ["Namespace9B63B8C8", "Arn"]}}
    outputs = result.templates()["shop-prod-cluster"]["Outputs"]
    assert any(
        o.get("Export", {}).get("Name") == "shop-prod-service-connect-security-group-id" for o in outputs.values()
    )
    orders = props(only(result.resources("shop-prod-service-orders", SERVICE)))
    config = orders["ServiceConnectConfiguration"]
    assert config["Services"] == [
        {"ClientAliases": [{"DnsName": "orders", "Port": 8080}], "DiscoveryName": "orders", "PortName": "api"}
    ]
    assert config["Namespace"] == {"Fn::ImportValue": "shop-prod-namespace-arn"}
    groups = orders["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    assert {"Fn::ImportValue": "shop-prod-service-connect-security-group-id"} in groups
    mapping = props(only(result.resources("shop-prod-service-orders", "AWS::ECS::TaskDefinition")))
    assert mapping["ContainerDefinitions"][0]["PortMappings"] == [
        {"AppProtocol": "http", "ContainerPort": 8080, "Name": "api", "Protocol": "tcp"}
    ]
    client = props(only(result.resources("shop-prod-service-client", SERVICE)))["ServiceConnectConfiguration"]
    assert "Services" not in client and client["Enabled"] is True
    proxy_logs = [
        r
        for k, r in result.resources("shop-prod-service-client", "AWS::Logs::LogGroup").items()
        if "ServiceConnect" in k
    ]
    assert len(proxy_logs) == 1 and proxy_logs[0]["DeletionPolicy"] == "Retain"


def test_adding_a_connect_service_changes_no_other_stack(tmp_path):
    before = synth_text(tmp_path, "before", MESH).templates()
    after = synth_text(
        tmp_path,
        "after",
        MESH
        + """
  payments:
    containers: {grpc: {image: busybox:1.36, port: 9090, app_protocol: grpc}}
    connect: true
""",
    ).templates()
    assert set(after) - set(before) == {"shop-prod-service-payments"}
    assert all(after[name] == template for name, template in before.items())


def test_services_without_connect_keep_their_templates(tmp_path):
    plain = "services:\n  api:\n    containers: {api: {image: httpd:2.4, port: 8080}}\n"
    without = synth_text(tmp_path, "plain", plain).templates()
    with_cluster_flag = synth_text(tmp_path, "flag", "cluster: {service_connect: true}\n" + plain).templates()
    assert without["shop-prod-service-api"] == with_cluster_flag["shop-prod-service-api"]


def test_diagram_shows_the_nlb_and_the_service_connect_names(tmp_path):
    from ecsforge.diagram import service_node

    manifest = load(
        tmp_path, MESH + "  db:\n    containers: {proxy: {image: pgbouncer:1.23, port: 6432}}\n    nlb: {port: 5432}\n"
    )
    orders = service_node(manifest, "orders", manifest.services["orders"]).lines
    client = service_node(manifest, "client", manifest.services["client"]).lines
    db = service_node(manifest, "db", manifest.services["db"]).lines
    assert "Service Connect: orders:8080" in orders and "Service Connect: client only" in client
    assert "own NLB: TCP 5432, internal" in db and not any("NLB" in line for line in orders)
