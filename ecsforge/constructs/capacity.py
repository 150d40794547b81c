"""One EC2 capacity provider: launch template, Auto Scaling group, ECS capacity provider."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..manifest.catalog import instance_gpus
from ..manifest.cluster import Ec2Capacity
from .template import cfn_resource, keep_only_depends_on


class Ec2CapacityProvider(Construct):
    """An Auto Scaling group of ECS container instances that ECS scales (managed scaling).

    Launch template only (AWS no longer lets new accounts create launch configurations),
    IMDSv2 required, encrypted gp3 root volume, the ECS-optimized image read from its
    public SSM parameter at deploy time (no lookup at synth).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.Cluster,
        vpc: ec2.IVpc,
        subnets: list[ec2.ISubnet],
        provider_name: str,
        group: Ec2Capacity,
    ) -> None:
        super().__init__(scope, construct_id)
        instance_type = ec2.InstanceType(group.instance_type)
        image = _machine_image(group.machine_image, instance_type, gpus=instance_gpus(group.instance_type) > 0)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"ECS container instances of capacity provider {provider_name}",
            allow_all_outbound=True,
        )
        self.role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description=f"ECS container instances of capacity provider {provider_name}",
        )
        launch_template = self._launch_template(instance_type, image, group.root_volume_gib)
        self.auto_scaling_group = self._auto_scaling_group(vpc, subnets, group, launch_template)
        self.provider = ecs.AsgCapacityProvider(
            self,
            "CapacityProvider",
            auto_scaling_group=self.auto_scaling_group,
            capacity_provider_name=provider_name,
            enable_managed_scaling=True,
            target_capacity_percent=group.target_capacity_percent,
            enable_managed_termination_protection=group.managed_termination_protection,
            enable_managed_draining=group.managed_draining,
            machine_image_type=image.image_type,
            spot_instance_draining=group.spot,
        )
        cluster.add_asg_capacity_provider(self.provider)
        self.unprotect = self._lift_protection_on_delete()
        if group.spot:
            self._drain_spot_instances(group.machine_image)

    def _drain_spot_instances(self, machine_image: str) -> None:
        # aws-cdk turns spot draining on only for groups with a spotPrice, never for a
        # mixed-instances spot group like this one. Appended after the cluster's user
        # data, so on Bottlerocket it lands in the same [settings.ecs] table.
        self.auto_scaling_group.add_user_data(
            "enable-spot-instance-draining = true"
            if machine_image == "bottlerocket"
            else "echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config"
        )

    def _launch_template(
        self, instance_type: ec2.InstanceType, image: _Image, root_volume_gib: int
    ) -> ec2.LaunchTemplate:
        return ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            instance_type=instance_type,
            machine_image=image.machine_image,
            user_data=image.user_data,
            role=self.role,
            security_group=self.security_group,
            require_imdsv2=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name=image.volume_device,
                    volume=ec2.BlockDeviceVolume.ebs(
                        root_volume_gib,
                        encrypted=True,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )

    def _auto_scaling_group(
        self, vpc: ec2.IVpc, subnets: list[ec2.ISubnet], group: Ec2Capacity, launch_template: ec2.LaunchTemplate
    ) -> autoscaling.AutoScalingGroup:
        placement: dict[str, Any]
        if group.spot:
            placement = {
                "mixed_instances_policy": autoscaling.MixedInstancesPolicy(
                    launch_template=launch_template,
                    instances_distribution=autoscaling.InstancesDistribution(
                        on_demand_base_capacity=0,
                        on_demand_percentage_above_base_capacity=0,
                        spot_allocation_strategy=autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
                    ),
                ),
                "capacity_rebalance": True,
            }
        else:
            placement = {"launch_template": launch_template}
        return autoscaling.AutoScalingGroup(
            self,
            "AutoScalingGroup",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=subnets),
            min_capacity=group.min,
            max_capacity=group.max_size,
            **placement,
        )

    def _lift_protection_on_delete(self) -> LiftScaleInProtection:
        unprotect = LiftScaleInProtection(self, "LiftScaleInProtection", group=self.auto_scaling_group)
        # aws-cdk names the CfnCapacityProvider after its parent, so it is no default_child.
        (provider,) = [c for c in self.provider.node.children if isinstance(c, ecs.CfnCapacityProvider)]
        # Deleted in reverse: cluster association, then capacity provider (ECS stops protecting),
        # then this lifts the protection, then the group (it Refs the group) can go.
        provider.add_resource_dependency(cfn_resource(unprotect.resource))
        return unprotect


@dataclass(frozen=True)
class _Image:
    machine_image: ec2.IMachineImage
    image_type: ecs.MachineImageType
    volume_device: str
    user_data: ec2.UserData


def _machine_image(kind: str, instance_type: ec2.InstanceType, *, gpus: bool) -> _Image:
    """gpus: the type has NVIDIA GPUs, which only the GPU variants' drivers expose to ECS."""
    arm = instance_type.architecture == ec2.InstanceArchitecture.ARM_64
    if kind == "bottlerocket":
        return _Image(
            # aws-ecs-2, the current variant; aws-cdk still defaults to the older aws-ecs-1.
            machine_image=ecs.BottleRocketImage(
                variant=ecs.BottlerocketEcsVariant.AWS_ECS_2_NVIDIA if gpus else ecs.BottlerocketEcsVariant.AWS_ECS_2,
                architecture=ec2.InstanceArchitecture.ARM_64 if arm else ec2.InstanceArchitecture.X86_64,
            ),
            image_type=ecs.MachineImageType.BOTTLEROCKET,
            # Bottlerocket keeps images and containers on its data volume, not the OS one.
            volume_device="/dev/xvdb",
            user_data=ec2.UserData.custom(""),
        )
    # /aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id for GPU types.
    hardware = ecs.AmiHardwareType.GPU if gpus else ecs.AmiHardwareType.ARM if arm else ecs.AmiHardwareType.STANDARD
    return _Image(
        machine_image=ecs.EcsOptimizedImage.amazon_linux2023(hardware),
        image_type=ecs.MachineImageType.AMAZON_LINUX_2,
        volume_device="/dev/xvda",
        user_data=ec2.UserData.for_linux(),
    )


HANDLER = Path(__file__).with_name("unprotect_handler.py")
HANDLER_LOG_RETENTION = logs.RetentionDays.ONE_MONTH


class LiftScaleInProtection(Construct):
    """Makes `cdk destroy` finish for a group under ECS managed termination protection.

    ECS protects instances from scale-in and never lifts the protection, so deleting the
    group waits forever (aws-cdk issues 14732, 18179). This custom resource does nothing
    until it is deleted; then (after the capacity provider, before the group) its inline
    Lambda (unprotect_handler.py) lifts the protection and removes ECS's draining hook.
    """

    def __init__(self, scope: Construct, construct_id: str, *, group: autoscaling.AutoScalingGroup) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        group_arn = stack.format_arn(
            service="autoscaling",
            resource="autoScalingGroup",
            resource_name=f"*:autoScalingGroupName/{group.auto_scaling_group_name}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        # Kept after deletion like every log group here: it tells what the deletion did.
        self.log_group = logs.LogGroup(
            self, "Logs", retention=HANDLER_LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN
        )
        # Inline policies: they live in the role, so none is deleted before the function runs.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Lifts scale-in protection from one Auto Scaling group when its stack deletes it",
            inline_policies={"LiftProtection": _lift_protection_policy(group_arn, self.log_group.log_group_arn)},
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline(HANDLER.read_text()),
            role=self.role,
            log_group=self.log_group,
            # Well below CloudFormation's one hour; the handler answers 10 s before this.
            timeout=Duration.minutes(2),
            description="Lifts scale-in protection from an Auto Scaling group when its stack deletes it",
        )
        # Its policies are inline in the role, which the function GetAtts already.
        keep_only_depends_on(self.function)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type="Custom::LiftScaleInProtection",
            properties={"AutoScalingGroupName": group.auto_scaling_group_name},
        )


def _lift_protection_policy(group_arn: str, log_group_arn: str) -> iam.PolicyDocument:
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                actions=[
                    "autoscaling:UpdateAutoScalingGroup",
                    "autoscaling:SetInstanceProtection",
                    "autoscaling:DeleteLifecycleHook",
                ],
                resources=[group_arn],
            ),
            # No resource-level permissions for Describe* calls.
            iam.PolicyStatement(actions=["autoscaling:DescribeAutoScalingGroups"], resources=["*"]),
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group_arn]),
        ]
    )
