"""The VPC: subnets, NAT, endpoints and flow logs, as the manifest's `network` asks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..manifest.network import Network

FLOW_LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# Interface endpoints that tasks need when they have no route to the internet: pulling
# images (ECR api + dkr, layers via the S3 gateway), shipping logs, reading secrets.
INTERFACE_ENDPOINTS = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
}
# Needed only without NAT, and only by some workloads: the ECS agent on EC2 container
# instances (Fargate tasks reach ECS through the Fargate platform) and ECS Exec sessions.
ECS_AGENT_ENDPOINTS = {
    "Ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
    "EcsAgent": ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
    "EcsTelemetry": ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
}
EXEC_ENDPOINTS = {"SsmMessages": ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES}
# Needed only without NAT, each when a workload uses its service (manifest/isolation.py decides).
WORKLOAD_ENDPOINTS = {
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "Sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "KinesisFirehose": ec2.InterfaceVpcEndpointAwsService.KINESIS_FIREHOSE,
    "KinesisStreams": ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
    "StepFunctions": ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
    "Lambda": ec2.InterfaceVpcEndpointAwsService.LAMBDA_,
    "EventBridge": ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
}
WORKLOAD_GATEWAY_ENDPOINTS = {"DynamoDb": ec2.GatewayVpcEndpointAwsService.DYNAMODB}


class PlatformVpc(Construct):
    """A two-tier VPC: public subnets for load balancers and NAT, private ones for tasks.

    With `nat_gateways: 0` the private subnets are isolated (no route out) and the
    endpoints carry the traffic tasks need.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: Network,
        ec2_instances: bool = False,
        exec_sessions: bool = False,
        workload_endpoints: Sequence[str] = (),
    ) -> None:
        """ec2_instances / exec_sessions: the cluster has EC2 groups / a service has ECS Exec;
        without NAT they add the endpoints those need. workload_endpoints: the keys of
        WORKLOAD_ENDPOINTS and WORKLOAD_GATEWAY_ENDPOINTS that the workloads use (only without NAT)."""
        super().__init__(scope, construct_id)
        private_type = ec2.SubnetType.PRIVATE_WITH_EGRESS if network.nat_gateways else ec2.SubnetType.PRIVATE_ISOLATED
        self.vpc = self._vpc(network, private_type)
        self.private_subnets = self.vpc.select_subnets(subnet_type=private_type).subnets
        self.public_subnets = self.vpc.public_subnets
        if network.flow_logs:
            self.flow_log_group = self._flow_logs()
        if network.vpc_endpoints:
            endpoints = dict(INTERFACE_ENDPOINTS)
            if not network.nat_gateways:
                if ec2_instances:
                    endpoints |= ECS_AGENT_ENDPOINTS
                if exec_sessions:
                    endpoints |= EXEC_ENDPOINTS
                endpoints |= {n: WORKLOAD_ENDPOINTS[n] for n in workload_endpoints if n in WORKLOAD_ENDPOINTS}
            self._endpoints(network.cidr, endpoints)
            for name in workload_endpoints:
                if name in WORKLOAD_GATEWAY_ENDPOINTS:
                    self.vpc.add_gateway_endpoint(name, service=WORKLOAD_GATEWAY_ENDPOINTS[name])

    def _vpc(self, network: Network, private_type: ec2.SubnetType) -> ec2.Vpc:
        zones: dict[str, Any] = (
            {"availability_zones": network.availability_zones} if network.availability_zones else {"max_azs": 2}
        )
        return ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(network.cidr),
            nat_gateways=network.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(name="private", subnet_type=private_type),
            ],
            **zones,
        )

    def _flow_logs(self) -> logs.LogGroup:
        group = logs.LogGroup(self, "FlowLogs", retention=FLOW_LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN)
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        return group

    def _endpoints(self, cidr: str, endpoints: dict[str, ec2.InterfaceVpcEndpointAwsService]) -> None:
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="HTTPS from inside the VPC to its interface endpoints",
            allow_all_outbound=False,
        )
        # The manifest's literal range, not the VPC's CidrBlock attribute: reviewers and
        # cdk-nag can then see that only the VPC itself is admitted.
        endpoint_security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from the VPC")
        for name, service in endpoints.items():
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                private_dns_enabled=True,
                security_groups=[endpoint_security_group],
                open=False,
            )
