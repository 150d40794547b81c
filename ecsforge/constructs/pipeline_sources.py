"""The pipeline's Source stage: one action per source (CodeCommit, GitHub or S3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..manifest.pipelines import CodeCommitSource, GitHubSource, S3Source, Source
from .buckets import secure_bucket
from .template import cfn_resource


def _shortened(text: str, limit: int = 200) -> str:
    """An S3 key may be 1024 characters; an EventBridge rule's description only 512."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class PipelineSources:
    """What the Source stage made: its actions and artifacts, the first source's version
    variable, and the repositories and buckets it created (not those it imported)."""

    actions: list[codepipeline.IAction] = field(default_factory=list)
    outputs: list[codepipeline.Artifact] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    buckets: list[s3.Bucket] = field(default_factory=list)
    repositories: list[codecommit.Repository] = field(default_factory=list)


class SourceStage:
    """Builds the source actions in `scope` (the pipeline construct, which keeps the ids)."""

    def __init__(
        self, scope: Construct, *, title: str, pipeline: codepipeline.Pipeline, full_clone: bool = False
    ) -> None:
        self.scope, self.title, self.pipeline = scope, title, pipeline
        # images.<i>.paths compares commits: the primary source is then a git clone (with history).
        self.full_clone = full_clone
        self.made = PipelineSources()

    def add(self, source: Source) -> None:
        if source.name is None:
            raise ValueError("a pipeline source has no name (the manifest loader names every source)")
        name = source.name
        output = codepipeline.Artifact(f"source_{name.replace('-', '_')}")
        if source.codecommit is not None:
            action, version = self._codecommit(name, source.codecommit, output)
        elif source.github is not None:
            action, version = self._github(name, source.github, output)
        elif source.s3 is not None:
            action, version = self._s3(name, source.s3, output)
        else:
            raise ValueError(f"pipeline source {name} has no kind")
        self.made.actions.append(action)
        self.made.outputs.append(output)
        self.made.versions.append(version)

    def _codecommit(
        self, name: str, spec: CodeCommitSource, output: codepipeline.Artifact
    ) -> tuple[codepipeline.IAction, str]:
        repository: codecommit.IRepository
        if spec.create:
            created = codecommit.Repository(
                self.scope,
                f"Repository-{name}",
                repository_name=spec.repository,
                description=f"Source of pipeline {self.title}",
            )
            created.apply_removal_policy(RemovalPolicy.RETAIN)
            self.made.repositories.append(created)
            repository = created
        else:
            repository = codecommit.Repository.from_repository_name(self.scope, f"Repository-{name}", spec.repository)
        commit = actions.CodeCommitSourceAction(
            action_name=name,
            repository=repository,
            branch=spec.branch,
            output=output,
            code_build_clone_output=self._clones() or None,
        )
        return commit, commit.variables.commit_id

    def _github(
        self, name: str, github: GitHubSource, output: codepipeline.Artifact
    ) -> tuple[codepipeline.IAction, str]:
        connection = actions.CodeStarConnectionsSourceAction(
            action_name=name,
            connection_arn=github.connection_arn,
            owner=github.owner,
            repo=github.repository,
            branch=github.branch,
            output=output,
            # With push filters (pipeline_triggers.py) the trigger starts the pipeline; CodePipeline
            # sets DetectChanges false for a filtered trigger.
            trigger_on_push=github.trigger is None,
            role=self._connection_role(name, github.connection_arn),
            code_build_clone_output=self._clones() or None,
        )
        return connection, connection.variables.commit_id

    def _clones(self) -> bool:
        return self.full_clone and not self.made.outputs  # the primary source only

    def _connection_role(self, source: str, connection_arn: str) -> iam.Role:
        """aws-cdk grants codestar-connections:UseConnection; a connection whose ARN has the newer
        codeconnections prefix is authorized under that prefix, so the role has both."""
        role = iam.Role(
            self.scope,
            f"SourceRole-{source}",
            assumed_by=iam.AccountPrincipal(Stack.of(self.scope).account),
            description=f"Source {source} of pipeline {self.title}",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["codeconnections:UseConnection", "codestar-connections:UseConnection"],
                resources=[connection_arn],
            )
        )
        return role

    def _s3(self, name: str, spec: S3Source, output: codepipeline.Artifact) -> tuple[codepipeline.IAction, str]:
        bucket: s3.IBucket
        if spec.bucket is None:
            created = secure_bucket(self.scope, f"SourceBucket-{name}", versioned=True)  # S3 sources read versions
            # Natively, not through aws-cdk's event_bridge_enabled, which adds a Lambda to set it.
            cfn_resource(created).add_property_override(
                "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
            )
            self.made.buckets.append(created)
            bucket = created
        else:
            bucket = s3.Bucket.from_bucket_name(self.scope, f"SourceBucket-{name}", spec.bucket)
        upload = actions.S3SourceAction(
            action_name=name, bucket=bucket, bucket_key=spec.key, output=output, trigger=actions.S3Trigger.NONE
        )
        # A new object version starts the pipeline, through EventBridge (no CloudTrail trail).
        events.Rule(
            self.scope,
            f"SourceChanged-{name}",
            description=f"Starts pipeline {self.title} on a new {_shortened(spec.key)}",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": [spec.key]}},
            ),
            targets=[targets.CodePipeline(self.pipeline)],
        )
        return upload, upload.variables.version_id
