"""One CodePipeline (V2): Source, Build, Test, Approval, Deploy."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import names
from ..manifest.models import Manifest
from ..manifest.pipeline_images import image_views
from ..manifest.pipelines import Pipeline
from .buckets import secure_bucket
from .image_build import ImageBuild
from .pipeline_build import build_environment, build_spec, image_definitions_path
from .pipeline_notify import add_notify, notify_events
from .pipeline_sources import PipelineSources, SourceStage
from .pipeline_triggers import add_triggers
from .promotion import PromotionStage
from .promotion_plan import plans
from .refs import PlatformRefs
from .template import keep_only_depends_on
from .units import minutes

# What the approval and failure notifications publish.
NOTIFY_EVENTS = [
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
]
# build_spec is re-exported: the buildspecs live in pipeline_build.
__all__ = ["ContainerPipeline", "build_spec"]


class ContainerPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        manifest: Manifest,
        name: str,
        pipeline: Pipeline,
        refs: PlatformRefs,
    ) -> None:
        super().__init__(scope, construct_id)
        self.manifest, self.name, self.spec, self.refs = manifest, name, pipeline, refs
        self.key = self._artifact_key()
        self.artifacts = secure_bucket(self, "Artifacts", key=self.key)
        self.topic = self._notification_topic()
        self.images = self._images()
        self.architectures = manifest.pipeline_architectures(name)

        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=manifest.stack_name(name),
            pipeline_type=codepipeline.PipelineType.V2,
            artifact_bucket=self.artifacts,
            cross_account_keys=False,
            restart_execution_on_update=False,
        )
        sources = self._source_stage()
        add_triggers(self.pipeline, pipeline, sources.actions)
        self.source_buckets, self.repositories = sources.buckets, sources.repositories
        self.pipeline.add_stage(stage_name="Build", actions=[a for i in self.images for a in i.build_actions(sources)])
        self.test_project = self._test_stage(sources)
        self._allow_clone()
        self._approval_stage()
        for image in self.images:
            image.release(name)
        self._deploy_stage()
        self.promotions = self._promotion_stages()
        # The pipeline GetAtts its role already; its policy must exist before the pipeline runs.
        role_policy = self.pipeline.role.node.find_child("DefaultPolicy")
        keep_only_depends_on(self.pipeline, role_policy)
        self.notification_rule = notifications.NotificationRule(
            self,
            "NotificationRule",
            source=self.pipeline,
            events=notify_events(pipeline, NOTIFY_EVENTS),
            targets=[self.topic],
            detail_type=notifications.DetailType.FULL,
        )
        self.chat = add_notify(self, spec=pipeline, topic=self.topic, pipeline=self.pipeline, title=self.title)

    @property
    def title(self) -> str:
        return self.manifest.stack_name(self.name)

    def _artifact_key(self) -> kms.Key:
        key = kms.Key(
            self,
            "ArtifactKey",
            description=f"Artifacts and notifications of pipeline {self.title}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                principals=[iam.ServicePrincipal("codestar-notifications.amazonaws.com")],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={"StringEquals": {"kms:ViaService": f"sns.{Stack.of(self).region}.amazonaws.com"}},
            )
        )
        return key

    def _notification_topic(self) -> sns.Topic:
        topic = sns.Topic(
            self,
            "Notifications",
            display_name=f"{self.title} pipeline",
            master_key=self.key,
            enforce_ssl=True,
        )
        for address in self.spec.approval.notify if self.spec.approval else []:
            topic.add_subscription(subscriptions.EmailSubscription(address))
        return topic

    def _source_stage(self) -> PipelineSources:
        stage = SourceStage(self, title=self.title, pipeline=self.pipeline, full_clone=self.full_clone)
        for source in self.spec.source:
            stage.add(source)
        self.pipeline.add_stage(stage_name="Source", actions=stage.made.actions)
        return stage.made

    def _images(self) -> list[ImageBuild]:
        """One ImageBuild per image (the one-image form: one, with the pipeline's own construct ids)."""
        specs = self.spec.build.images or {}
        return [
            ImageBuild(
                self,
                manifest=self.manifest,
                view=view,
                title=self.title,
                key=self.key,
                image=image,
                paths=specs[image].paths if image is not None else None,
            )
            for image, view in image_views(self.manifest, self.spec).items()
        ]

    @property
    def full_clone(self) -> bool:
        return any(image.paths for image in self.images)

    def _allow_clone(self) -> None:
        """A full clone through a connection is a git fetch by each project that reads the primary source:
        aws-cdk grants codestar-connections:UseConnection, and a codeconnections ARN needs that prefix too."""
        github = self.spec.source[0].github
        if not self.full_clone or github is None:
            return
        readers: list[codebuild.PipelineProject | None] = [self.test_project]
        for image in self.images:
            readers.append(image.build_project)
            readers += image.platform_builds.projects.values() if image.platform_builds else ()
        for project in readers:
            if project is not None:
                project.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=["codeconnections:UseConnection", "codestar-connections:UseConnection"],
                        resources=[github.connection_arn],
                    )
                )

    def _codebuild_stage(
        self, name: str, project: codebuild.PipelineProject, sources: PipelineSources, **options: Any
    ) -> None:
        """A stage of one CodeBuild action of that name, on every source."""
        action = actions.CodeBuildAction(
            action_name=name,
            project=project,
            input=sources.outputs[0],
            extra_inputs=sources.outputs[1:] or None,
            **options,
        )
        self.pipeline.add_stage(stage_name=name, actions=[action])

    def _test_stage(self, sources: PipelineSources) -> codebuild.PipelineProject | None:
        if self.spec.test is None:
            return None
        project = self._project(
            "Test",
            {"version": "0.2", "phases": {"build": {"commands": self.spec.test.commands}}},
            privileged=False,
        )
        self._codebuild_stage("Test", project, sources)
        return project

    def _approval_stage(self) -> None:
        approval = self.spec.approval
        if approval is None:
            return
        self.pipeline.add_stage(
            stage_name="Approval",
            actions=[
                actions.ManualApprovalAction(
                    action_name="Approve",
                    notification_topic=self.topic,
                    additional_information=approval.comment,
                    timeout=minutes(approval.timeout_minutes),
                )
            ],
        )

    def _deploy_stage(self) -> None:
        deploy = self.spec.deploy
        image_of = {service: image for image in self.images for service in image.view.deploy.services}
        deploy_actions: list[codepipeline.IAction] = [
            actions.EcsDeployAction(
                action_name=f"Deploy-{service}",
                service=self._service(service),
                image_file=image_of[service].output.at_path(image_definitions_path(service)),
                deployment_timeout=minutes(deploy.timeout_minutes),
                run_order=1,
            )
            for service in deploy.services
        ]
        deploy_actions += [
            actions.CodeBuildAction(
                action_name=f"RecordRelease{image.suffix}",
                project=image.release_project,
                input=image.output,
                run_order=2,
                environment_variables={"IMAGE_TAG": codebuild.BuildEnvironmentVariable(value=image.image_tag)},
            )
            for image in self.images
            if image.release_project is not None
        ]
        # One failed ECS deploy action rolls every service of the stage back to the previous
        # successful execution's image (and reruns its RecordRelease with that execution's
        # variables), so the released tag always names what runs.
        self.pipeline.add_stage(
            stage_name="Deploy",
            actions=deploy_actions,
            on_failure=codepipeline.FailureConditions(result=codepipeline.Result.ROLLBACK),
        )

    def _promotion_stages(self) -> list[PromotionStage]:
        """After Deploy, one stage per promoted environment, in the manifest's order (the one-image
        form only: validation refuses promote with build.images for now)."""
        (image,) = self.images if self.spec.promote else (None,)
        if image is None:
            return []
        return [
            PromotionStage(
                self,
                plan,
                pipeline=self.pipeline,
                source_repository=image.repository,
                build_output=image.output,
                key=self.key,
            )
            for plan in plans(self.manifest, self.name)
        ]

    def _environment(self, compute: str, *, privileged: bool) -> codebuild.BuildEnvironment:
        # With several platforms, the tests and the index run on the first one's hosts.
        return build_environment(self.architectures[0], compute, privileged=privileged)

    def _project(self, construct_id: str, spec: dict[str, Any], *, privileged: bool) -> codebuild.PipelineProject:
        return codebuild.PipelineProject(
            self,
            construct_id,
            description=f"{construct_id} of pipeline {self.title}",
            build_spec=codebuild.BuildSpec.from_object(spec),
            environment=self._environment(self.spec.build.compute, privileged=privileged),
            encryption_key=self.key,
        )

    def _service(self, name: str) -> ecs.IBaseService:
        # Read at each deployment of this stack, never imported: a replaced service (new name)
        # must not be held back by an import in this stack.
        service_name = ssm.StringParameter.value_for_string_parameter(
            self, names.service_name_parameter(self.manifest, name)
        )
        if self.manifest.services[name].on_fargate:
            return ecs.FargateService.from_fargate_service_attributes(
                self, f"Service-{name}", cluster=self.refs.cluster, service_name=service_name
            )
        return ecs.Ec2Service.from_ec2_service_attributes(
            self, f"Service-{name}", cluster=self.refs.cluster, service_name=service_name
        )
