"""One image of a pipeline: its registry, its build project(s) and action(s), its release project.

The one-image form (`build.registry`) is one ImageBuild with no suffix, whose construct ids are those
the pipeline always had (Registry, BuildProject, BuildProject-<arch>, ReleaseProject). Each image of
`build.images` is one ImageBuild whose ids, artifact and variables namespace end in -<image name>."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .. import names
from ..manifest.models import Manifest
from ..manifest.pipelines import Pipeline
from .pipeline_build import (
    PlatformBuilds,
    build_environment,
    build_spec,
    index_build_spec,
    source_variables,
)
from .pipeline_sources import PipelineSources
from .release import release_project


class ImageBuild:
    """`view` is the one-image pipeline of this image (manifest.pipeline_images.image_view)."""

    def __init__(
        self,
        scope: Construct,
        *,
        manifest: Manifest,
        view: Pipeline,
        title: str,
        key: kms.IKey,
        image: str | None = None,
        paths: list[str] | None = None,
    ) -> None:
        self.scope, self.manifest, self.view, self.title, self.key = scope, manifest, view, title, key
        self.image, self.paths = image, paths
        self.suffix = "" if image is None else f"-{image}"
        registry = view.build.pushed_registry
        self.repository = ecr.Repository.from_repository_name(
            scope, f"Registry{self.suffix}", names.repository_name(manifest, registry)
        )
        self.architectures = manifest.build_architectures(view)
        self.output = codepipeline.Artifact(f"build{self.suffix}")
        self.namespace = f"Build{self.suffix}"
        self.platform_builds: PlatformBuilds | None = None
        self.build_project: codebuild.PipelineProject | None = None
        self.release_project: codebuild.PipelineProject | None = None

    @property
    def image_tag(self) -> str:
        """The commit's tag, as this image's build exported it."""
        return f"#{{{self.namespace}.IMAGE_TAG}}"

    def build_actions(self, sources: PipelineSources) -> list[codepipeline.IAction]:
        """The image's build: one action, or one per platform (run order 1) then the index (run order 2)."""
        self.build_project = self._build_project()
        variables = source_variables(self.view, sources.versions)
        options: dict[str, Any] = {
            "action_name": f"Build{self.suffix}",
            "project": self.build_project,
            "input": sources.outputs[0],
            "extra_inputs": sources.outputs[1:] or None,
            "outputs": [self.output],
            "variables_namespace": self.namespace,
            "environment_variables": variables,
        }
        if not self.view.build.multi_architecture:
            return [actions.CodeBuildAction(**options)]
        self.platform_builds = PlatformBuilds(
            self.scope,
            title=self.title,
            pipeline=self.view,
            architectures=self.architectures,
            repository=self.repository,
            key=self.key,
            environment_variables=self.build_variables(),
            suffix=self.suffix,
        )
        return [*self.platform_builds.actions(sources, variables), actions.CodeBuildAction(run_order=2, **options)]

    def release(self, name: str) -> codebuild.PipelineProject:
        self.release_project = release_project(
            self.scope,
            manifest=self.manifest,
            name=name,
            pipeline=self.view,
            repository=self.repository,
            key=self.key,
            construct_id=f"ReleaseProject{self.suffix}",
        )
        return self.release_project

    def _build_project(self) -> codebuild.PipelineProject:
        build = self.view.build
        if build.buildspec:
            spec = codebuild.BuildSpec.from_source_filename(build.buildspec)
        elif build.multi_architecture:
            spec = codebuild.BuildSpec.from_object(index_build_spec(self.manifest, self.view, self.architectures))
        else:
            spec = codebuild.BuildSpec.from_object(build_spec(self.manifest, self.view, self.paths))
        of = f"image {self.image} of " if self.image else ""
        project = codebuild.PipelineProject(
            self.scope,
            f"BuildProject{self.suffix}",
            description=f"Image {'index ' if build.multi_architecture else ''}build of {of}pipeline {self.title}",
            build_spec=spec,
            # docker build (and docker login, for the index) needs the Docker daemon
            environment=build_environment(self.architectures[0], build.compute, privileged=True),
            environment_variables=self.build_variables(),
            encryption_key=self.key,
        )
        # Push to this one repository, and nothing else.
        self.repository.grant_pull_push(project)
        self.repository.grant(project, "ecr:DescribeImages")
        if self.paths:
            # The released tag: the commit whose image an unchanged image keeps.
            stack = Stack.of(self.scope)
            parameter = self.released_tag_parameter.lstrip("/")
            project.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["ssm:GetParameter"],
                    resources=[stack.format_arn(service="ssm", resource="parameter", resource_name=parameter)],
                )
            )
        return project

    @property
    def released_tag_parameter(self) -> str:
        return names.released_tag_parameter(self.manifest, self.view.build.pushed_registry)

    def build_variables(self) -> dict[str, codebuild.BuildEnvironmentVariable]:
        build = self.view.build
        return {
            "REPOSITORY_URI": codebuild.BuildEnvironmentVariable(value=self.repository.repository_uri),
            "REPOSITORY_NAME": codebuild.BuildEnvironmentVariable(value=self.repository.repository_name),
            "DOCKERFILE": codebuild.BuildEnvironmentVariable(value=build.dockerfile),
            "BUILD_CONTEXT": codebuild.BuildEnvironmentVariable(value=build.context),
            **(
                {"RELEASED_TAG_PARAMETER": codebuild.BuildEnvironmentVariable(value=self.released_tag_parameter)}
                if self.paths
                else {}
            ),
        }
