"""Security group rules that several workloads need alike, declared once, by the cluster stack:
the load balancer to the dynamic host ports of an EC2 group's instances, and the instances to
the NFS port of the volumes their bridge and host mode workloads mount.

EC2 keeps one rule per (group, source, protocol, ports), and CloudFormation deletes it when any
resource declaring it is deleted (aws-cdk#4437): declared by each workload's stack, destroying one
workload would cut the others off. Earlier ecsforge versions did declare these in the workload
stacks, with the ports 32768-65535 and 2049; the rules here are never those tuples. A rule equal
to one a workload stack still declares could not be created beside it (EC2 refuses a duplicate,
or CloudFormation takes the existing rule, which the workload stack's update then deletes), and
`cdk deploy --all` deploys this stack first. Ranges that differ, covering the same ports (or, for
NFS, one port more, where an EFS mount target listens on nothing), let one deploy move them:
this stack adds its rules, then each workload stack deletes its own.

AWS::EC2::SecurityGroupIngress: every property but Description is create-only (cfn-lint's
schema), and AWS does not rewrite a rule. A failed update of this stack rolls back by deleting
the rules it added, which no other stack declares; a workload stack deletes its old copy only in
the clean-up after its own update succeeded.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from ..manifest.instances import EPHEMERAL_PORTS

# The ephemeral range in two rules, neither of them the one earlier versions declared.
DYNAMIC_PORT_RULES = ((EPHEMERAL_PORTS[0], 49151), (49152, EPHEMERAL_PORTS[1]))
NFS_PORT = 2049
# 2050 reaches nothing on a mount target; a later version may narrow this to 2049 by replacement.
NFS_RULE_PORTS = (NFS_PORT, NFS_PORT + 1)


def open_dynamic_ports(scope: Construct, *, group: str, group_id: str, load_balancer_group_id: str) -> None:
    for low, high in DYNAMIC_PORT_RULES:
        ec2.CfnSecurityGroupIngress(
            scope,
            f"LoadBalancerToDynamicPorts-{group}-{low}",
            group_id=group_id,
            source_security_group_id=load_balancer_group_id,
            ip_protocol="tcp",
            from_port=low,
            to_port=high,
            description=f"load balancer to the dynamic host ports of group {group} ({low}-{high})",
        )


def admit_nfs_clients(scope: Construct, *, volume: str, volume_group_id: str, group: str, group_id: str) -> None:
    low, high = NFS_RULE_PORTS
    ec2.CfnSecurityGroupIngress(
        scope,
        f"NfsTo-{volume}-From-{group}",
        group_id=volume_group_id,
        source_security_group_id=group_id,
        ip_protocol="tcp",
        from_port=low,
        to_port=high,
        description=f"NFS from the bridge and host mode tasks of group {group}",
    )
