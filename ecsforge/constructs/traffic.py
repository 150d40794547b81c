"""The shared load balancer's domain (a DNS-validated certificate and alias records in a Route 53
zone) and its web application firewall (a regional WAFv2 web ACL, logged to CloudWatch Logs)."""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnDeletionPolicy, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from ..manifest.traffic import MANAGED_RULE_GROUPS, Domain, Waf

WAF_LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# WAF delivers only to log groups whose name starts with this.
WAF_LOG_PREFIX = "aws-waf-logs-"
RATE_RULE = "RateLimitPerClientIp"


class ManagedDomain(Construct):
    """The zone is imported by id and name, never looked up. With `managed_certificate`, one ACM
    certificate for the zone and every host, validated by DNS in the zone: CloudFormation writes
    the validation records itself (DomainValidationOptions with HostedZoneId) and waits until the
    certificate is issued."""

    def __init__(self, scope: Construct, construct_id: str, *, domain: Domain, hosts: list[str], managed: bool) -> None:
        super().__init__(scope, construct_id)
        self.hosts = hosts
        self.zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=domain.zone_id, zone_name=domain.zone_name
        )
        self.certificate: acm.Certificate | None = None
        if managed:
            others = [host for host in hosts if host != domain.zone_name]
            # One logical ID whatever the names: a new host replaces the certificate in place of the
            # old (created and issued first, the listener moved to it, the old one deleted last).
            self.certificate = acm.Certificate(
                self,
                "Certificate",
                domain_name=domain.zone_name,
                subject_alternative_names=others or None,
                validation=acm.CertificateValidation.from_dns(self.zone),
            )

    def add_records(self, alb: elbv2.ApplicationLoadBalancer) -> None:
        target = route53.RecordTarget.from_alias(targets.LoadBalancerTarget(alb))
        for host in self.hosts:
            # Keyed by the host, so adding or removing one never touches another's record.
            key = host.replace("*", "wildcard")
            route53.ARecord(self, f"A-{key}", zone=self.zone, record_name=f"{host}.", target=target)
            # The contract's AAAA record too. While the load balancer is IPv4 only it answers no
            # address (clients fall back to A); a dual-stack load balancer later needs no DNS change.
            route53.AaaaRecord(self, f"Aaaa-{key}", zone=self.zone, record_name=f"{host}.", target=target)


class WebFirewall(Construct):
    """A regional web ACL in front of the load balancer (or an existing one, `web_acl_arn`)."""

    def __init__(self, scope: Construct, construct_id: str, *, waf: Waf, alb: elbv2.ApplicationLoadBalancer, name: str):
        super().__init__(scope, construct_id)
        self.acl: wafv2.CfnWebACL | None = None
        self.log_group: logs.LogGroup | None = None
        acl_arn = waf.web_acl_arn
        if acl_arn is None:
            self.acl = self._acl(waf, name)
            self.log_group = self._logging(self.acl, name)
            acl_arn = self.acl.attr_arn
        association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=alb.load_balancer_arn, web_acl_arn=acl_arn
        )
        # Switching the ACL (managed rules <-> web_acl_arn) replaces the association: CloudFormation
        # associates the new ACL, then deletes the old association, and DisassociateWebACL takes only
        # the load balancer, so that clean-up could detach the new ACL. Retained on replacement, the
        # old association is never deleted; removing `waf` still deletes (disassociates) it (Delete is
        # the default, written out because cfn-lint W3011 wants both policies once one is set).
        association.cfn_options.update_replace_policy = CfnDeletionPolicy.RETAIN
        association.cfn_options.deletion_policy = CfnDeletionPolicy.DELETE

    def _acl(self, waf: Waf, name: str) -> wafv2.CfnWebACL:
        rules = []
        if waf.rate_limit_per_5min is not None:
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=RATE_RULE,
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=waf.rate_limit_per_5min, aggregate_key_type="IP", evaluation_window_sec=300
                        )
                    ),
                    visibility_config=_visibility(RATE_RULE),
                )
            )
        for index, rule in enumerate(waf.managed_rules):
            group = MANAGED_RULE_GROUPS[rule]
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=1 + index,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name=group
                        )
                    ),
                    visibility_config=_visibility(group),
                )
            )
        # Name and Scope are create-only and never change here: editing rules updates the ACL in place.
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=_visibility(name),
            description="Web ACL of the shared load balancer",
        )

    def _logging(self, acl: wafv2.CfnWebACL, name: str) -> logs.LogGroup:
        group_name = f"{WAF_LOG_PREFIX}{name}"
        group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=group_name,
            retention=WAF_LOG_RETENTION,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # WAF wants the log group's ARN without the ":*" that LogGroup.log_group_arn ends with.
        arn = Stack.of(self).format_arn(
            service="logs", resource="log-group", resource_name=group_name, arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        config = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[arn],
            # Credentials never reach the logs.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(
                    single_header={"Name": header}  # WAF's logging schema spells the key "Name"
                )
                for header in ("authorization", "cookie")
            ],
        )
        config.node.add_dependency(group)
        return group


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )
