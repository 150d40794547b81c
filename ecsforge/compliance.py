"""Every cdk-nag acknowledgement of ecsforge, in one place.

Each is scoped to the one construct it is about (and, for IAM5, to the one finding),
with a reason a reviewer can check against the template. A finding not listed here
fails synthesis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from .constructs.release import CFN_EXEC_ROLE, handoff_stacks
from .manifest.models import Manifest
from .names import task_role_path
from .stacks.registries import AWS_CUSTOM_RESOURCE_FUNCTION

if TYPE_CHECKING:
    from .constructs.capacity import Ec2CapacityProvider
    from .constructs.load_balancer import SharedLoadBalancer
    from .constructs.pipeline import ContainerPipeline
    from .constructs.scheduled_task import ScheduledEcsTask
    from .constructs.service import EcsService
    from .constructs.task_definition import TaskDefinition
    from .stacks import Platform
    from .stacks.cluster import ClusterStack
    from .stacks.registries import RegistriesStack
    from .stacks.workloads import PipelineStack, ServiceStack, TaskStack

# The ECS agent's own calls, as aws-cdk's AsgCapacityProvider grants them: the
# registration calls are scoped to the cluster ARN; ecs:Poll and StartTelemetrySession
# to the cluster by condition; ecr:GetAuthorizationToken and ecs:DiscoverPollEndpoint
# support no resource-level permissions at all.
INSTANCE_POLICY_FINDINGS = {
    "AwsSolutions-IAM5[Action::ecs:Submit*]": (
        "ecs:Submit* (SubmitTaskStateChange, SubmitContainerStateChange, SubmitAttachmentStateChanges) is the "
        "ECS agent reporting task state, and is restricted to this cluster's ARN."
    ),
    "AwsSolutions-IAM5[Resource::*]": (
        "ecr:GetAuthorizationToken and ecs:DiscoverPollEndpoint support no resource-level permissions; "
        "ecs:Poll and ecs:StartTelemetrySession are limited to this cluster by an ecs:cluster condition; "
        "the agent's log calls write its own instance logs."
    ),
}


def _ack(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def _default_policy(role: iam.IRole | None) -> IConstruct | None:
    """The inline policy aws-cdk grants into, where IAM findings are reported."""
    return role.node.try_find_child("DefaultPolicy") if role is not None else None


def _logical_id(construct: IConstruct) -> str:
    stack = Stack.of(construct)
    resource = _resource(construct)
    assert isinstance(resource, CfnElement)
    return str(stack.resolve(stack.get_logical_id(resource)))


def _partition(manifest: Manifest) -> str:
    return "aws-cn" if manifest.region.startswith("cn-") else "aws-us-gov" if "-gov-" in manifest.region else "aws"


def _capacity(capacity: Ec2CapacityProvider, manifest: Manifest, key: str) -> None:
    group = manifest.cluster.ec2[key]
    lift_role = _resource(capacity.unprotect.role)
    account = manifest.account or "<AWS::AccountId>"  # as cdk-nag prints ARNs in findings
    group_id = _logical_id(capacity.auto_scaling_group)
    _ack(
        lift_role,
        f"AwsSolutions-IAM5[Resource::arn:{_partition(manifest)}:autoscaling:{manifest.region}:{account}:"
        f"autoScalingGroup:*:autoScalingGroupName/<{group_id}>]",
        "The delete-time function lifts scale-in protection from this one Auto Scaling group, named in the ARN; "
        "the * is the group's id, which its ARN needs and CloudFormation does not return.",
    )
    _ack(
        lift_role,
        "AwsSolutions-IAM5[Resource::*]",
        "autoscaling:DescribeAutoScalingGroups, which the delete-time function uses to list the group's "
        "instances, supports no resource-level permissions.",
    )
    policy = capacity.role.node.find_child("DefaultPolicy")
    for rule, reason in INSTANCE_POLICY_FINDINGS.items():
        _ack(policy, rule, reason)
    asg = capacity.auto_scaling_group.node.default_child
    assert asg is not None
    _ack(
        asg,
        "AwsSolutions-AS3",
        "ECS managed scaling drives this group; its scaling activity is visible in the capacity provider "
        "and EventBridge, and an SNS topic here would have no subscriber.",
    )
    if group.spot:
        _ack(
            asg,
            "AwsSolutions-EC26",
            "The rule cannot read a MixedInstancesPolicy's launch template reference; the launch template "
            "in this construct sets Encrypted: true on its only block device.",
        )
    if group.machine_image == "bottlerocket":
        role = capacity.role.node.default_child
        assert role is not None
        _ack(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]",
            "aws-cdk's BottleRocketImage attaches the AWS-documented ECS container instance policy, which AWS "
            "keeps current as the ECS agent gains calls.",
        )
        _ack(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]",
            "Bottlerocket has no SSH; its control container reaches the host through SSM only, which needs "
            "this AWS-maintained policy.",
        )


def _opt_outs(platform: Platform, manifest: Manifest) -> None:
    """Findings that exist only because the manifest explicitly turned a default off."""
    if platform.network is not None and not manifest.network.flow_logs:
        vpc = platform.network.platform_vpc.vpc.node.default_child
        assert vpc is not None
        _ack(
            vpc,
            "AwsSolutions-VPC7",
            "The manifest sets network.flow_logs: false; flow logs are on by default and this VPC's owner "
            "turned them off explicitly.",
        )
    if manifest.cluster.container_insights == "disabled":
        cluster = platform.cluster.cluster.node.default_child
        assert cluster is not None
        _ack(
            cluster,
            "AwsSolutions-ECS4",
            "The manifest sets cluster.container_insights: disabled; Container Insights is on (enhanced) by "
            "default and this cluster's owner turned it off explicitly.",
        )


def _load_balancer(balancer: SharedLoadBalancer, manifest: Manifest) -> None:
    settings = manifest.load_balancer
    if settings.public and "0.0.0.0/0" in (settings.allowed_cidrs or ["0.0.0.0/0"]):
        _ack(
            _resource(balancer.security_group),
            "AwsSolutions-EC23",
            "An internet-facing load balancer: load_balancer.public is true and allowed_cidrs admits 0.0.0.0/0 "
            "(the default for a public one); only its listener ports are open.",
        )
    if balancer.access_logs is not None:
        _ack(
            _resource(balancer.access_logs),
            "AwsSolutions-S1",
            "This bucket holds the load balancer's access logs; logging access to the log bucket would need "
            "yet another bucket. It is SSE-S3 encrypted, SSL only, private and retained.",
        )
    else:
        _ack(
            _resource(balancer.alb),
            "AwsSolutions-ELB2",
            "The manifest sets load_balancer.access_logs: false; access logs are on by default and this "
            "environment's owner turned them off explicitly.",
        )


def _task(task: TaskDefinition) -> None:
    spec = task.spec
    definition = task.task_definition
    if any(container.environment for container in spec.containers.values()):
        _ack(
            _resource(definition),
            "AwsSolutions-ECS2",
            "These environment variables are the manifest's plain `environment` settings; secrets go through "
            "`secrets` (SSM or Secrets Manager), and names that look like secrets are warned about.",
        )
    execution_policy = _default_policy(definition.execution_role)
    if execution_policy is not None and any(c.image.registry for c in spec.containers.values()):
        _ack(
            execution_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, needed to pull from ECR, supports no resource-level permissions; the "
            "image pull itself is limited to this task's repositories.",
        )
    for secret in task.generated_secrets.values():
        _ack(
            _resource(secret),
            "AwsSolutions-SMG4",
            "A value generated once for a container (`generate` in the manifest), e.g. a database root "
            "password that the container sets at first start; rotating it would lock the container out.",
        )


def _service(service: EcsService) -> None:
    _task(service.task)
    alternate_role = service.service.node.try_find_child("AlternateRole")
    if alternate_role is not None:
        _ack(
            _resource(alternate_role),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]",
            "ECS-native blue/green, canary and linear deployments shift this service's listener rule between its "
            "two target groups; AWS maintains this policy for exactly that.",
        )
    if service.spec.exec:
        task_policy = _default_policy(service.task.task_definition.task_role)
        if task_policy is not None:
            _ack(
                task_policy,
                "AwsSolutions-IAM5[Resource::*]",
                "ECS Exec (exec: true in the manifest) opens sessions through ssmmessages:Create/OpenControl and "
                "DataChannel, which support no resource-level permissions.",
            )


def _scheduled_task(scheduled: ScheduledEcsTask, manifest: Manifest) -> None:
    if scheduled.family_arn_target:
        account = manifest.account or "<AWS::AccountId>"
        partition = _partition(manifest)
        _ack(
            _default_policy(scheduled.role) or scheduled.role,
            f"AwsSolutions-IAM5[Resource::arn:{partition}:ecs:{manifest.region}:{account}:task-definition/"
            f"{scheduled.family}:*]",
            "The revisions of this one task family: the schedule runs the latest, which the pipeline's release "
            "step registers with each released image; limited to this cluster by an ecs:cluster condition.",
        )


ARTIFACT_GRANTS = {
    "Action::s3:Abort*": "aws-cdk's artifact grant: abort multipart uploads",
    "Action::s3:DeleteObject*": "aws-cdk's artifact grant: replace artifacts",
    "Action::s3:GetBucket*": "aws-cdk's artifact grant: read bucket settings",
    "Action::s3:GetObject*": "aws-cdk's artifact grant: read artifacts",
    "Action::s3:List*": "aws-cdk's artifact grant: list artifacts",
    "Action::kms:GenerateDataKey*": "aws-cdk's grant on the pipeline's own key: encrypt artifacts",
    "Action::kms:ReEncrypt*": "aws-cdk's grant on the pipeline's own key: re-encrypt artifacts",
}


def _pipeline(pipeline: ContainerPipeline, manifest: Manifest) -> None:
    logical_id = _logical_id
    partition = _partition(manifest)
    bucket = f"Resource::<{logical_id(pipeline.artifacts)}.Arn>/*"
    account = manifest.account or "<AWS::AccountId>"  # as cdk-nag prints ARNs in findings
    policies = [c for c in pipeline.node.find_all() if isinstance(c, iam.Policy)]
    for policy in policies:
        for finding, what in ARTIFACT_GRANTS.items():
            _ack(
                policy,
                f"AwsSolutions-IAM5[{finding}]",
                f"{what}, limited to this pipeline's own artifact bucket and KMS key (CodePipeline passes "
                "artifacts between actions through them).",
            )
        _ack(
            policy,
            f"AwsSolutions-IAM5[{bucket}]",
            "The objects of this pipeline's own artifact bucket, which holds only its artifacts.",
        )
    projects = [p for p in (pipeline.build_project, pipeline.test_project, pipeline.release_project) if p is not None]
    for project in projects:
        project_policy = _default_policy(project.role)
        if project_policy is None:
            continue
        project_id = logical_id(project)
        codebuild = f"{partition}:codebuild:{manifest.region}:{account}"
        _ack(
            project_policy,
            f"AwsSolutions-IAM5[Resource::arn:{codebuild}:report-group/<{project_id}>-*]",
            "CodeBuild's test report groups of this one project, which CodeBuild names after the project.",
        )
        _ack(
            project_policy,
            f"AwsSolutions-IAM5[Resource::arn:{partition}:logs:{manifest.region}:{account}:"
            f"log-group:/aws/codebuild/<{project_id}>:*]",
            "The log streams of this one project's CodeBuild log group.",
        )
    build_policy = _default_policy(pipeline.build_project.role)
    if build_policy is not None:
        _ack(
            build_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken supports no resource-level permissions; pushing is limited to the one "
            "repository of build.registry.",
        )
    release = _default_policy(pipeline.release_project.role)
    assert release is not None
    arn = f"arn:{partition}"
    for stack_name in handoff_stacks(manifest, pipeline.spec):
        _ack(
            release,
            f"AwsSolutions-IAM5[Resource::{arn}:cloudformation:{manifest.region}:{account}:stack/{stack_name}/*]",
            f"Stack {stack_name}, whatever the id CloudFormation appended to its ARN: the release step reads which "
            "released tag it recorded and, at its first release, updates it with its previous template.",
        )
    _ack(
        release,
        f"AwsSolutions-IAM5[Resource::{arn}:iam::{account}:role/{CFN_EXEC_ROLE}]",
        "The CloudFormation execution role of the CDK bootstrap (cdk-<qualifier>-cfn-exec-role-<account>-<region>), "
        "passed only to CloudFormation (iam:PassedToService): update-stack deploys with the stack's own role.",
    )
    followers = manifest.release_followers(pipeline.spec.build.registry)
    for name in followers:
        _ack(
            release,
            f"AwsSolutions-IAM5[Resource::{arn}:iam::{account}:role{task_role_path(manifest, name)}*]",
            f"The task and execution roles of scheduled task {name}, which its stack creates under this IAM path; "
            "passed only to ECS tasks, in the task definition revision the release step registers.",
        )
    if followers:
        _ack(
            release,
            "AwsSolutions-IAM5[Resource::*]",
            "ecs:DescribeTaskDefinition and ecs:RegisterTaskDefinition support no resource-level permissions; the "
            "release step registers revisions of the scheduled tasks that follow this pipeline's registry.",
        )
    for deploy in policies:
        if "/Deploy/Deploy-" in deploy.node.path:
            _ack(
                deploy,
                "AwsSolutions-IAM5[Resource::*]",
                "aws-cdk's ECS deploy action: registering a task definition revision supports no resource-level "
                "permissions, and iam:PassRole is limited by iam:PassedToService to ECS tasks.",
            )
    _ack(
        _resource(pipeline.artifacts),
        "AwsSolutions-S1",
        "The pipeline's artifact bucket: KMS-encrypted, SSL only, private and retained; logging its access "
        "would need yet another bucket.",
    )
    for source_bucket in pipeline.source_buckets:
        _ack(
            _resource(source_bucket),
            "AwsSolutions-S1",
            "The pipeline's S3 source bucket: versioned, encrypted, SSL only, private and retained; uploads "
            "are recorded as object versions and EventBridge events.",
        )


def _registries(stack: RegistriesStack) -> None:
    function = stack.node.try_find_child(AWS_CUSTOM_RESOURCE_FUNCTION)
    role = function.node.try_find_child("ServiceRole") if function is not None else None
    if role is None:
        return
    _ack(
        _resource(role),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "aws-cdk's AwsCustomResource function, which creates each released-tag parameter once: the AWS-managed "
        "basic execution policy lets it write only its own CloudWatch logs; its SSM calls are limited to those "
        "parameters' ARNs.",
    )


def _resource(construct: IConstruct) -> IConstruct:
    """The CloudFormation resource of an L2 construct, where its findings are reported."""
    return construct.node.default_child or construct


def acknowledge(platform: Platform, manifest: Manifest) -> None:
    _opt_outs(platform, manifest)
    for key, capacity in platform.cluster.capacity.items():
        _capacity(capacity, manifest, key)
    if platform.cluster.load_balancer is not None:
        _load_balancer(platform.cluster.load_balancer, manifest)
    if platform.registries is not None:
        _registries(platform.registries)
    for stack in platform.services.values():
        _service(stack.service)
    for task_stack in platform.tasks.values():
        _task(task_stack.task.task)
        _scheduled_task(task_stack.task, manifest)
    for pipeline_stack in platform.pipelines.values():
        _pipeline(pipeline_stack.pipeline, manifest)
    consumers: list[ClusterStack | ServiceStack | TaskStack | PipelineStack] = [
        platform.cluster,
        *platform.services.values(),
        *platform.tasks.values(),
        *platform.pipelines.values(),
    ]
    if manifest.network.import_ is None:
        return  # the network stack exports route tables; no subnet is imported without one
    for consumer in consumers:
        vpc = consumer.refs.vpc
        for subnet in vpc.private_subnets + vpc.public_subnets:
            _ack(
                subnet,
                "Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId",
                "This stack uses the imported VPC's subnets by id only (for instances, tasks and the load "
                "balancer); it never reads their route tables, which the manifest does not list.",
            )
