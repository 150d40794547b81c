"""The environment's shared Application Load Balancer: one per environment, services add
their own target groups and listener rules in their own stacks."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..manifest.http import DEFAULT_SSL_POLICY, LoadBalancer
from .buckets import secure_bucket
from .template import cfn_resource
from .traffic import ManagedDomain, WebFirewall
from .units import seconds


class SharedLoadBalancer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        settings: LoadBalancer,
        allowed_cidrs: list[str],
        hosts: list[str] | None = None,
        firewall_name: str = "",
    ) -> None:
        """hosts: the services' http.host names (load_balancer.domain); firewall_name: the web ACL's."""
        super().__init__(scope, construct_id)
        self.security_group = self._security_group(vpc, settings, allowed_cidrs)
        subnets = vpc.public_subnets if settings.public else vpc.private_subnets
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=settings.public,
            vpc_subnets=ec2.SubnetSelection(subnets=subnets),
            security_group=self.security_group,
            idle_timeout=seconds(settings.idle_timeout_seconds),
            drop_invalid_header_fields=True,
        )
        certificate_arn = settings.certificate_arn
        self.domain: ManagedDomain | None = None
        if settings.domain is not None:
            self.domain = ManagedDomain(
                self, "Domain", domain=settings.domain, hosts=hosts or [], managed=certificate_arn is None
            )
            if self.domain.certificate is not None:
                certificate_arn = self.domain.certificate.certificate_arn
            self.domain.add_records(self.alb)
        # The listener that carries the services' rules, published in an SSM parameter.
        self.listener = self._listeners(certificate_arn, settings.ssl_policy)
        self.firewall: WebFirewall | None = None
        if settings.waf is not None:
            self.firewall = WebFirewall(self, "Firewall", waf=settings.waf, alb=self.alb, name=firewall_name)
        self.access_logs: s3.Bucket | None = None
        if settings.access_logs:
            self.access_logs = secure_bucket(self, "AccessLogs")
            self.alb.log_access_logs(self.access_logs, prefix="alb")

    def _security_group(self, vpc: ec2.IVpc, settings: LoadBalancer, allowed_cidrs: list[str]) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="The shared load balancer: listeners open to load_balancer.allowed_cidrs",
            allow_all_outbound=True,
        )
        ports = [80, 443] if settings.https else [80]
        for cidr in allowed_cidrs:
            for port in ports:
                group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(port), f"{cidr} to {port}")
        return group

    def _listeners(self, certificate_arn: str | None, ssl_policy: str) -> elbv2.ApplicationListener:
        not_found = elbv2.ListenerAction.fixed_response(404, content_type="text/plain", message_body="not found")
        # Port 80 is the same listener ("Http") with and without a certificate; only its default
        # action changes. Adding a certificate thus keeps the services' rules on port 80 serving
        # until their stacks move them to 443 (rules are evaluated before the default action).
        if not certificate_arn:
            return self.alb.add_listener(
                "Http", port=80, protocol=elbv2.ApplicationProtocol.HTTP, default_action=not_found, open=False
            )
        listener = self.alb.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_action=not_found,
            open=False,
        )
        if ssl_policy != DEFAULT_SSL_POLICY:  # RECOMMENDED_TLS is the default; aws-cdk's enum names no other by value
            cfn_resource(listener).add_property_override("SslPolicy", ssl_policy)
        self.alb.add_listener(
            "Http",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            default_action=elbv2.ListenerAction.redirect(protocol="HTTPS", port="443", permanent=True),
            open=False,
        )
        return listener
