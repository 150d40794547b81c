"""What a task definition gets from the manifest's runtime wiring: its runtime platform,
environment files, the FireLens log router and the X-Ray collector sidecar."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..manifest.containers import Container
from ..manifest.isolation import isolated
from ..manifest.models import Manifest
from ..manifest.runtime import (
    COLLECTOR,
    COLLECTOR_CONFIG,
    COLLECTOR_IMAGE,
    COLLECTOR_MEMORY_RESERVATION,
    LOG_ROUTER,
    LOG_ROUTER_IMAGE,
    LOG_ROUTER_MEMORY_RESERVATION,
    LOG_ROUTER_REGIONAL_PARAMETER,
    LOG_ROUTER_REGIONAL_REPOSITORY,
    env_file_location,
)
from ..manifest.tasks import TaskSpec
from .template import literal

ARCHITECTURES = {"linux/amd64": ecs.CpuArchitecture.X86_64, "linux/arm64": ecs.CpuArchitecture.ARM64}
# X-Ray's write and sampling actions support no resource-level permissions; this is the
# write half of the managed AWSXrayWriteOnlyAccess, inline so that no managed policy is attached.
XRAY_ACTIONS = [
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
]
# What ECS needs to pull an image from a repository of Amazon ECR.
PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]


def runtime_platform(spec: TaskSpec) -> ecs.RuntimePlatform | None:
    """Written only for an explicit `platform` on Fargate: without one Fargate runs x86_64, as in v1.
    EC2 tasks run on their groups' architecture, which validation holds to `platform` (ECS takes
    no runtime platform for EC2 tasks, and aws-cdk refuses one)."""
    if spec.platform is None or not spec.on_fargate:
        return None
    return ecs.RuntimePlatform(
        cpu_architecture=ARCHITECTURES[spec.platform], operating_system_family=ecs.OperatingSystemFamily.LINUX
    )


class TaskRuntime:
    """Created inside a TaskDefinition construct, after its log group and before its containers.
    Its construct scope (`Runtime`) is made only for a task that needs it: every construct is a
    round trip into the jsii runtime, and most tasks have no env files and no tracing."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        manifest: Manifest,
        spec: TaskSpec,
        definition: ecs.TaskDefinition,
        log_group: logs.ILogGroup,
    ) -> None:
        self._parent, self._construct_id = scope, construct_id
        self._construct: Construct | None = None
        self.manifest, self.spec, self.definition, self.log_group = manifest, spec, definition, log_group
        self.log_router: ecs.FirelensLogRouter | None = None
        self.collector: ecs.ContainerDefinition | None = None
        self.xray_policy: iam.Policy | None = None
        # The log router's image from Amazon ECR of the region (networks without NAT gateways).
        self.regional_log_router = False
        self._buckets: dict[str, s3.IBucket] = {}
        self._grant_env_files()

    @property
    def _scope(self) -> Construct:
        if self._construct is None:
            self._construct = Construct(self._parent, self._construct_id)
        return self._construct

    def files(self, container: Container) -> list[ecs.EnvironmentFile] | None:
        """environmentFiles of a container; the execution role may read exactly these objects."""
        files: list[ecs.EnvironmentFile] = []
        for arn in container.env_files:
            bucket, key = env_file_location(arn)
            if bucket not in self._buckets:
                bucket_arn = arn.split("/", 1)[0]
                self._buckets[bucket] = s3.Bucket.from_bucket_arn(self._scope, f"EnvFiles-{bucket}", bucket_arn)
            files.append(ecs.EnvironmentFile.from_bucket(self._buckets[bucket], key))
        return files or None

    def _grant_env_files(self) -> None:
        objects = list(dict.fromkeys(arn for c in self.spec.containers.values() for arn in c.env_files))
        if not objects:
            return
        buckets = list(dict.fromkeys(arn.split("/", 1)[0] for arn in objects))
        self.definition.add_to_execution_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=objects))
        self.definition.add_to_execution_role_policy(
            iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=buckets)
        )

    def log_driver(
        self, name: str, container: Container, secret: Callable[[str, str, str], ecs.Secret]
    ) -> ecs.LogDriver | None:
        """awsfirelens for a container with logging.firelens (None: the caller's awslogs)."""
        firelens = container.logging.firelens if container.logging is not None else None
        if firelens is None:
            return None
        self._add_log_router()
        return ecs.LogDrivers.firelens(
            options={"Name": firelens.name, **{option: literal(value) for option, value in firelens.options.items()}},
            # The execution role is granted read on these when the task starts (aws-cdk grants it).
            secret_options={o: secret(f"{name}.firelens", o, s) for o, s in firelens.secret_options.items()} or None,
        )

    def _add_log_router(self) -> None:
        if self.log_router is not None:
            return
        self.log_router = self.definition.add_firelens_log_router(
            LOG_ROUTER,
            container_name=LOG_ROUTER,
            image=self._log_router_image(),
            firelens_config=ecs.FirelensConfig(type=ecs.FirelensLogRouterType.FLUENTBIT),
            essential=True,
            memory_reservation_mib=LOG_ROUTER_MEMORY_RESERVATION,
            # The router's own logs, kept like the containers'.
            logging=ecs.LogDriver.aws_logs(stream_prefix=LOG_ROUTER, log_group=self.log_group),
        )

    def _log_router_image(self) -> ecs.ContainerImage:
        """ECR Public, or without NAT gateways the same version from AWS's repository in Amazon ECR of
        the region, which tasks pull through the ECR endpoints. Its URI (AWS's account differs between
        regions) is AWS's public SSM parameter, which CloudFormation reads at deploy time."""
        if not isolated(self.manifest):
            return ecs.ContainerImage.from_registry(LOG_ROUTER_IMAGE)
        self.regional_log_router = True
        manifest = self.manifest
        repository = f"arn:{manifest.partition}:ecr:{manifest.region}:*:repository/{LOG_ROUTER_REGIONAL_REPOSITORY}"
        self.definition.add_to_execution_role_policy(iam.PolicyStatement(actions=PULL_ACTIONS, resources=[repository]))
        self.definition.add_to_execution_role_policy(
            iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])
        )
        uri = ssm.StringParameter.value_for_string_parameter(self._parent, LOG_ROUTER_REGIONAL_PARAMETER)
        return ecs.ContainerImage.from_registry(uri)

    def wire(self, containers: dict[str, ecs.ContainerDefinition]) -> None:
        """After the containers: their dependency on the router, and the collector."""
        if self.log_router is not None:
            start = ecs.ContainerDependencyCondition.START
            started = ecs.ContainerDependency(container=self.log_router, condition=start)
            for name, container in self.spec.containers.items():
                if container.logging is not None and container.logging.firelens is not None:
                    containers[name].add_container_dependencies(started)
        if self.spec.tracing == "xray":
            self._add_collector()

    def _add_collector(self) -> None:
        self.collector = self.definition.add_container(
            COLLECTOR,
            container_name=COLLECTOR,
            image=ecs.ContainerImage.from_registry(COLLECTOR_IMAGE),
            command=[f"--config={COLLECTOR_CONFIG}"],
            # Traces are lost while it restarts, but the application keeps serving.
            essential=False,
            memory_reservation_mib=COLLECTOR_MEMORY_RESERVATION,
            logging=ecs.LogDriver.aws_logs(stream_prefix=COLLECTOR, log_group=self.log_group),
        )
        self.xray_policy = iam.Policy(
            self._scope,
            "XRayWrite",
            statements=[iam.PolicyStatement(actions=XRAY_ACTIONS, resources=["*"])],
            roles=[self.definition.task_role],
        )
