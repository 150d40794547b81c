"""A task definition from a service's or scheduled task's containers."""

from __future__ import annotations

from aws_cdk import CfnCondition, Fn, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import names
from ..manifest import containers
from ..manifest.addons import AddonValue, CfnExportValue
from ..manifest.compute_checks import uses_managed_instances
from ..manifest.containers import Container, parse_secret
from ..manifest.models import Manifest
from ..manifest.nlb import nlb_container
from ..manifest.services import Service
from ..manifest.tasks import TaskSpec
from .task_runtime import TaskRuntime, runtime_platform
from .template import literal
from .units import seconds

NETWORK_MODES = {"awsvpc": ecs.NetworkMode.AWS_VPC, "bridge": ecs.NetworkMode.BRIDGE, "host": ecs.NetworkMode.HOST}
R = logs.RetentionDays
RETENTION = {
    1: R.ONE_DAY, 3: R.THREE_DAYS, 5: R.FIVE_DAYS, 7: R.ONE_WEEK, 14: R.TWO_WEEKS, 30: R.ONE_MONTH,
    60: R.TWO_MONTHS, 90: R.THREE_MONTHS, 120: R.FOUR_MONTHS, 150: R.FIVE_MONTHS, 180: R.SIX_MONTHS,
    365: R.ONE_YEAR, 400: R.THIRTEEN_MONTHS, 545: R.EIGHTEEN_MONTHS, 731: R.TWO_YEARS, 1096: R.THREE_YEARS,
    1827: R.FIVE_YEARS, 2192: R.SIX_YEARS, 2557: R.SEVEN_YEARS, 2922: R.EIGHT_YEARS, 3288: R.NINE_YEARS,
    3653: R.TEN_YEARS,
}  # fmt: skip
DEPENDENCY = {
    "start": ecs.ContainerDependencyCondition.START,
    "complete": ecs.ContainerDependencyCondition.COMPLETE,
    "success": ecs.ContainerDependencyCondition.SUCCESS,
    "healthy": ecs.ContainerDependencyCondition.HEALTHY,
}


def _literals(values: list[str] | None) -> list[str] | None:
    return [literal(value) for value in values] if values is not None else None


def generated_secret_name(manifest: Manifest, unit: str, container: str, variable: str) -> str:
    return containers.generated_secret_name(manifest.app, manifest.environment, unit, container, variable)


class ReleasedImages(Construct):
    """The tags the pipeline last released, read from SSM at every deployment.

    `released` is a condition that holds once every registry this task follows has had
    a release; until then the image tag is "none" and the caller runs no task.
    """

    def __init__(self, scope: Construct, construct_id: str, *, manifest: Manifest, registries: list[str]) -> None:
        super().__init__(scope, construct_id)
        self.tags = {
            registry: ssm.StringParameter.value_for_string_parameter(
                self, names.released_tag_parameter(manifest, registry)
            )
            for registry in registries
        }
        checks = [Fn.condition_not(Fn.condition_equals(tag, names.NOT_RELEASED)) for tag in self.tags.values()]
        self.released = CfnCondition(
            self, "Released", expression=checks[0] if len(checks) == 1 else Fn.condition_and(*checks)
        )
        self._released_id = self.released.logical_id

    def when_released(self, value: object, otherwise: object) -> object:
        return Fn.condition_if(self._released_id, value, otherwise)


class TaskDefinition(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        manifest: Manifest,
        family: str,
        unit: str,
        spec: TaskSpec,
        role_path: str | None = None,
    ) -> None:
        """role_path: create the task and execution roles under this IAM path (the release
        step passes the roles under it), instead of letting aws-cdk create them."""
        super().__init__(scope, construct_id)
        self.manifest = manifest
        self.unit = unit
        self.spec = spec
        self._repositories: dict[str, ecr.IRepository] = {}
        followed = sorted({c.image.registry for c in spec.containers.values() if c.image.released and c.image.registry})
        self.released_images = (
            ReleasedImages(self, "ReleasedImages", manifest=manifest, registries=followed) if followed else None
        )
        self._released_tags = self.released_images.tags if self.released_images is not None else {}
        self.task_definition = ecs.TaskDefinition(
            self,
            "TaskDefinition",
            family=family,
            compatibility=_compatibility(manifest, spec),
            network_mode=NETWORK_MODES[spec.network_mode],
            cpu=str(spec.cpu) if spec.cpu is not None else None,
            memory_mib=str(spec.memory) if spec.memory is not None else None,
            task_role=self._role("TaskRole", role_path),
            execution_role=self._role("ExecutionRole", role_path),
            runtime_platform=runtime_platform(spec),
            ephemeral_storage_gib=spec.ephemeral_storage_gib,
        )
        # One log group per task family; it outlives the stack, like the logs in it.
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            # The longest retention any container asks for, so no container's logs go early.
            retention=RETENTION[max(c.log_retention_days for c in spec.containers.values())],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.generated_secrets: dict[str, secretsmanager.Secret] = {}
        self.runtime = TaskRuntime(
            self, "Runtime", manifest=manifest, spec=spec, definition=self.task_definition, log_group=self.log_group
        )
        self.containers = {name: self._container(name, container) for name, container in spec.containers.items()}
        self.runtime.wire(self.containers)
        for name, container in spec.containers.items():
            definition = self.containers[name]
            for other, condition in container.depends_on.items():
                definition.add_container_dependencies(
                    ecs.ContainerDependency(container=self.containers[other], condition=DEPENDENCY[condition])
                )
            for other in container.links:
                definition.add_link(self.containers[other])

    def _role(self, construct_id: str, path: str | None) -> iam.Role | None:
        if path is None:
            return None
        return iam.Role(self, construct_id, assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"), path=path)

    def _repository(self, registry: str) -> ecr.IRepository:
        if registry not in self._repositories:
            self._repositories[registry] = ecr.Repository.from_repository_name(
                self, f"Registry-{registry}", names.repository_name(self.manifest, registry)
            )
        return self._repositories[registry]

    def _image(self, name: str, container: Container) -> ecs.ContainerImage:
        image = container.image
        if image.registry is not None:
            repository = self._repository(image.registry)
            # Without a tag: what the pipeline last released (ReleasedImages follows every such registry).
            tag = image.tag if image.tag is not None else self._released_tags[image.registry]
            return ecs.ContainerImage.from_ecr_repository(repository, tag)
        if image.reference is None:
            raise ValueError(f"container {name} has neither an image reference nor a registry")
        credentials = None
        if container.credentials:
            credentials = secretsmanager.Secret.from_secret_name_v2(
                self, f"{name}.credentials", container.credentials.removeprefix("secretsmanager:")
            )
        return ecs.ContainerImage.from_registry(image.reference, credentials=credentials)

    def _addon_output(self, value: AddonValue) -> str:
        # Read at every deploy, like the other values another stack publishes.
        return ssm.StringParameter.value_for_string_parameter(
            self, names.addon_output_parameter(self.manifest, value.addon)
        )

    def _value(self, value: str | AddonValue | CfnExportValue) -> str:
        if isinstance(value, AddonValue):
            return self._addon_output(value)
        if isinstance(value, CfnExportValue):
            return Fn.import_value(value.cfn_export)
        return literal(value)

    def _environment(self, container: Container) -> dict[str, str] | None:
        return {variable: self._value(value) for variable, value in container.environment.items()} or None

    def _secret(self, name: str, variable: str, source: str | AddonValue | CfnExportValue) -> ecs.Secret:
        if not isinstance(source, str):
            arn = self._value(source)
            return ecs.Secret.from_secrets_manager(
                secretsmanager.Secret.from_secret_complete_arn(self, f"{name}-{variable}", arn)
            )
        kind, secret_name, field = parse_secret(source)
        if kind == "ssm":
            parameter = ssm.StringParameter.from_secure_string_parameter_attributes(
                self, f"{name}-{variable}", parameter_name=secret_name, simple_name=not secret_name.startswith("/")
            )
            return ecs.Secret.from_ssm_parameter(parameter)
        if kind == "secretsmanager":
            secret = secretsmanager.Secret.from_secret_name_v2(self, f"{name}-{variable}", secret_name)
            return ecs.Secret.from_secrets_manager(secret, field)
        generated = secretsmanager.Secret(
            self,
            f"{name}-{variable}",
            secret_name=generated_secret_name(self.manifest, self.unit, name, variable),
            description=f"{variable} of container {name} in {Stack.of(self).stack_name}, generated by ecsforge",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=32, exclude_punctuation=True),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.generated_secrets[f"{name}.{variable}"] = generated
        return ecs.Secret.from_secrets_manager(generated)

    def _port_mapping(self, name: str, container: Container, host_port: int | None) -> ecs.PortMapping:
        # Service Connect finds ports by name; a UDP NLB needs a UDP mapping.
        spec = self.spec
        connect = isinstance(spec, Service) and spec.connect
        udp = (
            isinstance(spec, Service)
            and spec.nlb is not None
            and spec.nlb.protocol == "udp"
            and nlb_container(spec) == name
        )
        return ecs.PortMapping(
            container_port=container.port or 0,
            host_port=host_port,
            protocol=ecs.Protocol.UDP if udp else ecs.Protocol.TCP,
            name=name if connect else None,
            # tcp: no appProtocol, so the proxy passes bytes through without HTTP parsing.
            # By name: jsii's class properties (AppProtocol.http) read as functions to mypy.
            app_protocol=getattr(ecs.AppProtocol, container.app_protocol)
            if connect and container.app_protocol != "tcp"
            else None,
        )

    def _container(self, name: str, container: Container) -> ecs.ContainerDefinition:
        port_mappings = []
        if container.port is not None:
            host_port = {
                "awsvpc": None,
                "bridge": container.host_port if container.host_port is not None else 0,
                "host": container.port,
            }[self.spec.network_mode]
            port_mappings.append(self._port_mapping(name, container, host_port))
        health_check = None
        if container.health_check is not None:
            check = container.health_check
            health_check = ecs.HealthCheck(
                command=["CMD-SHELL", literal(check.command)],
                interval=seconds(check.interval_seconds),
                timeout=seconds(check.timeout_seconds),
                retries=check.retries,
                start_period=seconds(check.start_period_seconds),
            )
        return self.task_definition.add_container(
            name,
            container_name=name,
            image=self._image(name, container),
            essential=container.essential,
            cpu=container.cpu,
            memory_limit_mib=container.memory,
            memory_reservation_mib=container.memory_reservation,
            gpu_count=container.gpu or None,
            command=_literals(container.command),
            entry_point=_literals(container.entrypoint),
            environment=self._environment(container),
            secrets={v: self._secret(name, v, s) for v, s in container.secrets.items()} or None,
            health_check=health_check,
            readonly_root_filesystem=container.readonly_root_filesystem,
            user=literal(container.user) if container.user is not None else None,
            privileged=container.privileged or None,
            stop_timeout=seconds(container.stop_timeout_seconds),
            port_mappings=port_mappings or None,
            logging=self.runtime.log_driver(name, container, self._secret)
            or ecs.LogDriver.aws_logs(stream_prefix=name, log_group=self.log_group),
            environment_files=self.runtime.files(container),
        )


def _compatibility(manifest: Manifest, spec: TaskSpec) -> ecs.Compatibility:
    if spec.on_fargate:
        return ecs.Compatibility.FARGATE
    if uses_managed_instances(manifest, spec):
        return ecs.Compatibility.MANAGED_INSTANCES
    return ecs.Compatibility.EC2
