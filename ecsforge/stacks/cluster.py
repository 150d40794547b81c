"""`<app>-<environment>-cluster`: the ECS cluster, its capacity providers, the namespace,
and the shared load balancer once a service has `http`."""

from __future__ import annotations

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_servicediscovery as servicediscovery
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import names
from ..constructs.capacity import Ec2CapacityProvider
from ..constructs.load_balancer import SharedLoadBalancer
from ..constructs.managed_instances import ManagedInstancesProvider
from ..constructs.refs import PlatformRefs
from ..constructs.service_connect import connect_security_group
from ..constructs.shared_rules import admit_nfs_clients, open_dynamic_ports
from ..constructs.template import cfn_resource
from ..manifest.instances import groups_behind_load_balancer, volume_clients
from ..manifest.models import Manifest
from ..manifest.traffic import domain_hosts
from .base import PlatformStack
from .network import NetworkStack

CONTAINER_INSIGHTS = {
    "enhanced": ecs.ContainerInsights.ENHANCED,
    "enabled": ecs.ContainerInsights.ENABLED,
    "disabled": ecs.ContainerInsights.DISABLED,
}


class ClusterStack(PlatformStack):
    def __init__(self, scope: Construct, manifest: Manifest, network: NetworkStack | None) -> None:
        super().__init__(
            scope, manifest, "cluster", description="ECS cluster, capacity providers, namespace, load balancer"
        )
        if network is not None:
            self.add_stack_dependency(network, reason="the cluster runs in the network stack's VPC")
        self.refs = refs = PlatformRefs(self, manifest, public_subnets=True)
        self.vpc = refs.vpc
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=names.cluster_name(manifest),
            vpc=self.vpc,
            container_insights_v2=CONTAINER_INSIGHTS[manifest.cluster.container_insights],
            enable_fargate_capacity_providers=manifest.cluster.fargate,
        )
        self.namespace = servicediscovery.PrivateDnsNamespace(
            self,
            "Namespace",
            name=manifest.namespace,
            vpc=self.vpc,
            description=f"Service discovery for {manifest.app}/{manifest.environment}",
        )
        self.connect_security_group: ec2.SecurityGroup | None = None
        if manifest.cluster.service_connect:
            # The namespace becomes the cluster's Service Connect default.
            cfn_resource(self.cluster).add_property_override(
                "ServiceConnectDefaults", {"Namespace": self.namespace.namespace_arn}
            )
            self.connect_security_group = connect_security_group(self, self.vpc)
        self.capacity: dict[str, Ec2CapacityProvider] = {}
        for key, group in manifest.cluster.ec2.items():
            self.capacity[key] = Ec2CapacityProvider(
                self,
                f"Capacity-{key}",
                cluster=self.cluster,
                vpc=self.vpc,
                subnets=self.vpc.private_subnets,
                provider_name=names.capacity_provider_name(manifest, key),
                group=group,
            )
        self.managed_instances = self._managed_instances()
        self.load_balancer: SharedLoadBalancer | None = None
        if manifest.http_services:
            settings = manifest.load_balancer
            self.load_balancer = SharedLoadBalancer(
                self,
                "LoadBalancer",
                vpc=self.vpc,
                settings=settings,
                allowed_cidrs=settings.cidrs,
                hosts=domain_hosts(manifest),
                firewall_name=names.web_acl_name(manifest),
            )
        self._shared_rules()
        self._exports()

    def _managed_instances(self) -> dict[str, ManagedInstancesProvider]:
        manifest = self.manifest
        return {
            key: ManagedInstancesProvider(
                self,
                f"ManagedInstances-{key}",
                cluster=self.cluster,
                vpc=self.vpc,
                subnets=self.vpc.private_subnets,
                provider_name=names.capacity_provider_name(manifest, key),
                settings=settings,
            )
            for key, settings in manifest.cluster.managed_instances.items()
        }

    def _shared_rules(self) -> None:
        """What the bridge and host mode workloads of a group need alike, declared once (constructs/shared_rules.py)."""
        manifest = self.manifest
        if self.load_balancer is not None:
            for key in groups_behind_load_balancer(manifest):
                open_dynamic_ports(
                    self,
                    group=key,
                    group_id=self.capacity[key].security_group.security_group_id,
                    load_balancer_group_id=self.load_balancer.security_group.security_group_id,
                )
        for volume, groups in volume_clients(manifest).items():
            # Written by the resources stack, which this stack then deploys after (platform.py).
            volume_group_id = ssm.StringParameter.value_for_string_parameter(
                self, names.volume_security_group_parameter(manifest, volume)
            )
            for key in groups:
                admit_nfs_clients(
                    self,
                    volume=volume,
                    volume_group_id=volume_group_id,
                    group=key,
                    group_id=self.capacity[key].security_group.security_group_id,
                )

    def _exports(self) -> None:
        values = {
            names.CLUSTER_NAME: ("ClusterName", self.cluster.cluster_name),
            names.CLUSTER_ARN: ("ClusterArn", self.cluster.cluster_arn),
            names.NAMESPACE_ID: ("NamespaceId", self.namespace.namespace_id),
            names.NAMESPACE_ARN: ("NamespaceArn", self.namespace.namespace_arn),
        }
        for key, capacity in self.capacity.items():
            values[names.capacity_security_group(key)] = (
                f"CapacitySecurityGroup-{key}",
                capacity.security_group.security_group_id,
            )
        for key, managed in self.managed_instances.items():
            values[names.managed_instances_provider(key)] = (
                f"ManagedInstancesProvider-{key}",
                managed.provider.capacity_provider_name,
            )
        if self.connect_security_group is not None:
            values[names.CONNECT_SECURITY_GROUP] = (
                "ServiceConnectSecurityGroupId",
                self.connect_security_group.security_group_id,
            )
        if self.load_balancer is not None:
            balancer = self.load_balancer
            # Deprecated, imported by nothing; see names.LISTENER_ARN.
            values[names.LISTENER_ARN] = ("AlbListenerArn", balancer.listener.listener_arn)
            # The group survives a certificate change and a replaced load balancer: an export.
            values[names.ALB_SECURITY_GROUP] = ("AlbSecurityGroupId", balancer.security_group.security_group_id)
            values[names.ALB_FULL_NAME] = ("AlbFullName", balancer.alb.load_balancer_full_name)
            CfnOutput(self, "AlbDnsName", value=balancer.alb.load_balancer_dns_name)
            parameters = {
                "ListenerArnParameter": (
                    names.listener_parameter(self.manifest),
                    balancer.listener.listener_arn,
                    "The listener that carries the services' rules",
                ),
                "AlbFullNameParameter": (
                    names.alb_full_name_parameter(self.manifest),
                    balancer.alb.load_balancer_full_name,
                    "The shared load balancer's full name, for its metrics",
                ),
            }
            for construct_id, (name, value, description) in parameters.items():
                ssm.StringParameter(
                    self, construct_id, parameter_name=name, string_value=value, description=description
                )
        for export, (output_id, value) in values.items():
            CfnOutput(self, output_id, value=value, export_name=self.export_name(export))
