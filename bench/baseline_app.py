#!/usr/bin/env python3
"""The benchmark's baseline: the resources ecsforge builds for a bench manifest, written
directly with aws-cdk-lib L2 constructs the way a team would by hand. No validation, no
cdk-nag, CDK's own cross-stack references. Not part of ecsforge; never imports it.

    CDK_CONTEXT_JSON='{"manifest": "bench-200.yml"}' python bench/baseline_app.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_servicediscovery as servicediscovery
from aws_cdk import aws_ssm as ssm


class Network(Stack):
    def __init__(self, scope: App, name: str, env: Environment) -> None:
        super().__init__(scope, name, env=env)
        self.vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1)
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs())


class Registries(Stack):
    def __init__(self, scope: App, name: str, env: Environment, registries: dict[str, Any]) -> None:
        super().__init__(scope, name, env=env)
        self.repositories: dict[str, ecr.Repository] = {}
        for key in registries:
            self.repositories[key] = ecr.Repository(self, key, removal_policy=RemovalPolicy.RETAIN)
            ssm.StringParameter(self, f"{key}-tag", string_value="none")


class Cluster(Stack):
    def __init__(self, scope: App, name: str, env: Environment, vpc: ec2.IVpc, ec2_groups: dict[str, Any]) -> None:
        super().__init__(scope, name, env=env)
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENHANCED,
            enable_fargate_capacity_providers=True,
        )
        self.namespace = servicediscovery.PrivateDnsNamespace(self, "Namespace", name="bench.local", vpc=vpc)
        for key, group in ec2_groups.items():
            instance_type = ec2.InstanceType(group["instance_type"])
            arm = instance_type.architecture == ec2.InstanceArchitecture.ARM_64
            template = ec2.LaunchTemplate(
                self,
                f"{key}-LaunchTemplate",
                instance_type=instance_type,
                machine_image=ecs.EcsOptimizedImage.amazon_linux2023(
                    ecs.AmiHardwareType.ARM if arm else ecs.AmiHardwareType.STANDARD
                ),
                user_data=ec2.UserData.for_linux(),
                require_imdsv2=True,
                security_group=ec2.SecurityGroup(self, f"{key}-Sg", vpc=vpc),
                role=iam.Role(self, f"{key}-Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com")),
            )
            asg = autoscaling.AutoScalingGroup(
                self,
                f"{key}-Asg",
                vpc=vpc,
                launch_template=template,
                min_capacity=group.get("min", 2),
                max_capacity=group.get("max", 4),
            )
            provider = ecs.AsgCapacityProvider(self, f"{key}-Provider", auto_scaling_group=asg)
            self.cluster.add_asg_capacity_provider(provider)
        self.alb = elbv2.ApplicationLoadBalancer(self, "Alb", vpc=vpc, internet_facing=True)
        self.alb.log_access_logs(s3.Bucket(self, "AccessLogs", enforce_ssl=True))
        self.listener = self.alb.add_listener("Http", port=80, default_action=elbv2.ListenerAction.fixed_response(404))


class Service(Stack):
    def __init__(
        self, scope: App, name: str, env: Environment, spec: dict[str, Any], cluster: Cluster, registries: Registries
    ) -> None:
        super().__init__(scope, name, env=env)
        on_ec2 = spec.get("network_mode") == "bridge"
        task = (
            ecs.Ec2TaskDefinition(self, "Task", network_mode=ecs.NetworkMode.BRIDGE)
            if on_ec2
            else ecs.FargateTaskDefinition(self, "Task", cpu=spec["cpu"], memory_limit_mib=spec["memory"])
        )
        group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH)
        for container_name, container in spec["containers"].items():
            image = container["image"]
            if isinstance(image, dict):
                image_ref = ecs.ContainerImage.from_ecr_repository(registries.repositories[image["registry"]], "latest")
            else:
                image_ref = ecs.ContainerImage.from_registry(image)
            secrets = {}
            for variable, source in container.get("secrets", {}).items():
                kind, _, value = source.partition(":")
                if kind == "ssm":
                    secrets[variable] = ecs.Secret.from_ssm_parameter(
                        ssm.StringParameter.from_secure_string_parameter_attributes(
                            self, variable, parameter_name=value
                        )
                    )
                else:
                    secrets[variable] = ecs.Secret.from_secrets_manager(
                        secretsmanager.Secret.from_secret_name_v2(self, variable, value)
                    )
            definition = task.add_container(
                container_name,
                image=image_ref,
                memory_limit_mib=container.get("memory"),
                environment=container.get("environment"),
                secrets=secrets,
                health_check=ecs.HealthCheck(command=["CMD-SHELL", container["health_check"]["command"]]),
                logging=ecs.LogDriver.aws_logs(stream_prefix=container_name, log_group=group),
            )
            definition.add_port_mappings(
                ecs.PortMapping(container_port=container["port"], host_port=0 if on_ec2 else None)
            )
        capacity = spec["capacity"] if isinstance(spec["capacity"], list) else [{"provider": spec["capacity"]}]
        strategies = [
            ecs.CapacityProviderStrategy(
                capacity_provider=c["provider"].upper() if c["provider"].startswith("fargate") else f"{c['provider']}",
                base=c.get("base"),
                weight=c.get("weight", 1),
            )
            for c in capacity
        ]
        common: dict[str, Any] = {
            "cluster": cluster.cluster,
            "task_definition": task,
            "desired_count": spec["scaling"]["min"],
            "capacity_provider_strategies": strategies,
            "circuit_breaker": ecs.DeploymentCircuitBreaker(rollback=True),
            "min_healthy_percent": 100,
            "max_healthy_percent": 200,
        }
        if spec.get("discovery"):
            common["cloud_map_options"] = ecs.CloudMapOptions(cloud_map_namespace=cluster.namespace, name=name)
        service = ecs.Ec2Service(self, "Service", **common) if on_ec2 else ecs.FargateService(self, "Service", **common)
        scaling = service.auto_scale_task_count(
            min_capacity=spec["scaling"]["min"], max_capacity=spec["scaling"]["max"]
        )
        tracking = spec["scaling"].get("target_tracking", {})
        if "cpu_percent" in tracking:
            scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=tracking["cpu_percent"])
        for index, steps in enumerate(spec["scaling"].get("step_scaling", [])):
            scaling.scale_on_metric(
                f"Steps{index}",
                metric=service.metric_cpu_utilization(),
                scaling_steps=[appscaling.ScalingInterval(lower=s["at"], change=s["add"]) for s in steps["scale_out"]]
                + [appscaling.ScalingInterval(upper=s["below"], change=-s["remove"]) for s in steps["scale_in"]],
            )
        if "http" in spec:
            target_group = elbv2.ApplicationTargetGroup(
                self,
                "TargetGroup",
                vpc=cluster.cluster.vpc,
                port=8080,
                protocol=elbv2.ApplicationProtocol.HTTP,
                target_type=elbv2.TargetType.INSTANCE if on_ec2 else elbv2.TargetType.IP,
                health_check=elbv2.HealthCheck(path=spec["http"]["health_check"]["path"]),
                deregistration_delay=Duration.seconds(30),
            )
            target_group.add_target(service)
            elbv2.ApplicationListenerRule(
                self,
                "Rule",
                listener=cluster.listener,
                priority=spec["http"].get("priority", 1 + hash(name) % 40000),
                conditions=[elbv2.ListenerCondition.path_patterns([spec["http"]["path"]])],
                action=elbv2.ListenerAction.forward([target_group]),
            )
            if "requests_per_target" in tracking:
                scaling.scale_on_request_count(
                    "Requests", requests_per_target=tracking["requests_per_target"], target_group=target_group
                )


def main() -> None:
    # As ecsforge's app.py does (the CDK CLI refuses aws: keys given with -c, and warns about them in
    # cdk.json): no creation stack traces, so that the comparison is of the apps' own work.
    app = App(context={"aws:cdk:disable-creation-stack-traces": True})
    manifest = yaml.safe_load(Path(app.node.get_context("manifest")).read_text())
    env = Environment(region=manifest["region"])
    prefix = f"{manifest['app']}-{manifest['environment']}-baseline"
    network = Network(app, f"{prefix}-network", env)
    registries = Registries(app, f"{prefix}-registries", env, manifest.get("registries", {}))
    cluster = Cluster(app, f"{prefix}-cluster", env, network.vpc, manifest["cluster"].get("ec2", {}))
    for name, spec in manifest.get("services", {}).items():
        Service(app, f"{prefix}-service-{name}", env, spec, cluster, registries)
    app.synth()


if __name__ == "__main__":
    main()
