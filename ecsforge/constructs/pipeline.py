"""One CodePipeline (V2): Source, Build, Test, Approval, Deploy."""

from __future__ import annotations

import json
import shlex
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import names
from ..manifest.catalog import ARM64
from ..manifest.models import Manifest
from ..manifest.pipelines import Pipeline, Source
from .refs import PlatformRefs
from .template import keep_only_depends_on
from .units import minutes

COMPUTE = {
    "small": codebuild.ComputeType.SMALL,
    "medium": codebuild.ComputeType.MEDIUM,
    "large": codebuild.ComputeType.LARGE,
}
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
# Graviton services need arm64 images, built natively on ARM.
ARM_BUILD_IMAGE = codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0
# How `cdk bootstrap` (default template) names the role CloudFormation deploys stacks with.
CFN_EXEC_ROLE = "cdk-*-cfn-exec-role-*"
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
# What the approval and failure notifications publish.
NOTIFY_EVENTS = [
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
]


def _shortened(text: str, limit: int = 200) -> str:
    """An S3 key may be 1024 characters; an EventBridge rule's description only 512."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def image_definitions_path(service: str) -> str:
    return f"images/{service}/imagedefinitions.json"


def build_spec(manifest: Manifest, pipeline: Pipeline) -> dict[str, Any]:
    """Log in to ECR, build the image once per commit, push it, write imagedefinitions.json."""
    registry = pipeline.build.registry
    write_definitions = []
    combined = []
    for service_name in pipeline.deploy.services:
        service = manifest.services[service_name]
        names = [n for n, c in service.containers.items() if c.image.released and c.image.registry == registry]
        entries = ",".join(f'{{"name":"{n}","imageUri":"%s"}}' for n in names)
        combined += names
        path = image_definitions_path(service_name)
        args = " ".join(['"$REPOSITORY_URI:$IMAGE_TAG"'] * len(names))
        write_definitions += [f"mkdir -p images/{service_name}", f"printf '[{entries}]' {args} > {path}"]
    unique = list(dict.fromkeys(combined))
    all_entries = ",".join(f'{{"name":"{n}","imageUri":"%s"}}' for n in unique)
    all_args = " ".join(['"$REPOSITORY_URI:$IMAGE_TAG"'] * len(unique))
    return {
        "version": "0.2",
        "env": {"shell": "bash", "exported-variables": ["IMAGE_TAG"]},
        "phases": {
            "pre_build": {
                "on-failure": "ABORT",
                "commands": [
                    # ECR tags allow [A-Za-z0-9._-], at most 128 characters.
                    "IMAGE_TAG=$(printf '%s' \"$SOURCE_VERSION\" | tr -c 'A-Za-z0-9._-' '-' | cut -c1-128)",
                    'aws ecr get-login-password | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"',
                ],
            },
            "build": {
                "on-failure": "ABORT",
                "commands": [
                    # Tags are immutable: a re-run of the same commit reuses the image it pushed.
                    'if aws ecr describe-images --repository-name "$REPOSITORY_NAME" '
                    '--image-ids imageTag="$IMAGE_TAG" > /dev/null 2>&1; then '
                    'echo "$REPOSITORY_URI:$IMAGE_TAG exists already, not rebuilt"; else '
                    'docker build --file "$DOCKERFILE" --tag "$REPOSITORY_URI:$IMAGE_TAG" "$BUILD_CONTEXT" && '
                    'docker push "$REPOSITORY_URI:$IMAGE_TAG"; fi',
                ],
            },
            "post_build": {
                "commands": [
                    *write_definitions,
                    f"printf '[{all_entries}]' {all_args} > imagedefinitions.json",
                ]
            },
        },
        "artifacts": {"files": ["imagedefinitions.json", "images/**/*"]},
    }


def handoff_stacks(manifest: Manifest, pipeline: Pipeline) -> list[str]:
    """The stacks whose recorded state a first release must move from "none" to released:
    the services the pipeline deploys and the scheduled tasks that follow its registry."""
    registry = pipeline.build.registry
    return [
        *(manifest.stack_name(f"service-{name}") for name in pipeline.deploy.services),
        *(manifest.stack_name(f"task-{name}") for name in manifest.release_followers(registry)),
    ]


def release_script(manifest: Manifest, pipeline: Pipeline) -> str:
    """The release step, one bash script: needs REPOSITORY_NAME, REPOSITORY_URI, IMAGE_TAG."""
    registry = pipeline.build.registry
    parameter = names.released_tag_parameter(manifest, registry)
    stacks = " ".join(handoff_stacks(manifest, pipeline))
    lines = [
        "set -euo pipefail",
        f"PARAMETER={shlex.quote(parameter)}",
        f"RELEASED_TAG=$(printf '{names.RELEASED_TAG_PREFIX}%s' \"$IMAGE_TAG\" | cut -c1-128)",
        "# Stacks whose last deployment resolved this registry's released tag to none: they hand",
        "# over to the release through CloudFormation, so that their recorded state is released.",
        "HANDOFF=''",
        f"for STACK in {stacks}; do",
        '  VALUE=$(aws cloudformation describe-stacks --stack-name "$STACK" '
        "--query \"Stacks[0].Parameters[?ParameterValue=='$PARAMETER'].ResolvedValue | [0]\" --output text)",
        f'  if [ "$VALUE" = {shlex.quote(names.NOT_RELEASED)} ]; then HANDOFF="$HANDOFF $STACK"; fi',
        "done",
        'echo "stacks taking their first release: ${HANDOFF:-none}"',
        "# (a) released-<tag> on the image, which the repository's lifecycle rules keep.",
        'aws ecr batch-get-image --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$IMAGE_TAG" '
        "--output json > image.json",
        'if ! OUT=$(aws ecr put-image --repository-name "$REPOSITORY_NAME" --image-tag "$RELEASED_TAG" '
        "--image-manifest \"$(jq -r '.images[0].imageManifest' image.json)\" "
        "--image-manifest-media-type \"$(jq -r '.images[0].imageManifestMediaType' image.json)\" 2>&1); then",
        '  case "$OUT" in *ImageAlreadyExistsException*) ;; *) echo "$OUT" >&2; exit 1 ;; esac',
        "fi",
        "# (b) the released tag, which every later deployment of the following stacks resolves.",
        'aws ssm put-parameter --name "$PARAMETER" --value "$IMAGE_TAG" --type String --overwrite > /dev/null',
        "# (c) the hand-off: the previous template with every previous parameter value; CloudFormation",
        "# resolves the SSM-typed ones again, so the stack's own condition starts what waited for a release.",
        "FAILED=''",
        "STARTED=''",
        "for STACK in $HANDOFF; do",
        "  PARAMETERS=()",
        '  for KEY in $(aws cloudformation describe-stacks --stack-name "$STACK" '
        "--query 'Stacks[0].Parameters[].ParameterKey' --output text); do",
        '    PARAMETERS+=("ParameterKey=$KEY,UsePreviousValue=true")',
        "  done",
        '  if OUT=$(aws cloudformation update-stack --stack-name "$STACK" --use-previous-template '
        '--parameters "${PARAMETERS[@]}" --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM 2>&1); then',
        '    STARTED="$STARTED $STACK"',
        "  else",
        '    case "$OUT" in *"No updates are to be performed"*) echo "$STACK: no updates" ;;'
        ' *) echo "$STACK: $OUT" >&2; FAILED="$FAILED $STACK" ;; esac',
        "  fi",
        "done",
    ]
    followers = manifest.release_followers(registry)
    if followers:
        lines += [
            "# Scheduled tasks run the latest revision of their family: one with the released image.",
            "register() {",
            '  aws ecs describe-task-definition --task-definition "$1" --output json > described.json',
            '  jq --arg image "$REPOSITORY_URI:$IMAGE_TAG" --argjson names "$2" \'.taskDefinition'
            " | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,"
            " .registeredAt, .registeredBy, .deregisteredAt)"
            " | .containerDefinitions |= map(.name as $n | if any($names[]; . == $n)"
            " then .image = $image else . end)' described.json > revision.json",
            "  aws ecs register-task-definition --cli-input-json file://revision.json "
            "--query taskDefinition.taskDefinitionArn --output text",
            "}",
        ]
        for name, task in followers.items():
            stack = manifest.stack_name(f"task-{name}")
            containers = [n for n, c in task.containers.items() if c.image.released and c.image.registry == registry]
            family = manifest.stack_name(name)
            lines.append(
                f'case " $HANDOFF " in *" {stack} "*) ;; '
                f"*) register {shlex.quote(family)} {shlex.quote(json.dumps(containers))} ;; esac"
            )
    lines += [
        "for STACK in $STARTED; do",
        '  until aws cloudformation wait stack-update-complete --stack-name "$STACK"; do',
        '    case "$(aws cloudformation describe-stacks --stack-name "$STACK" '
        "--query 'Stacks[0].StackStatus' --output text)\" in",
        "      *_IN_PROGRESS) ;;",  # the waiter gives up after an hour; CloudFormation has not
        '      *) echo "$STACK: the hand-off failed; the next pipeline run retries it" >&2;'
        ' FAILED="$FAILED $STACK"; break ;;',
        "    esac",
        "  done",
        "done",
        'if [ -n "$FAILED" ]; then echo "hand-off failed for:$FAILED" >&2; exit 1; fi',
    ]
    return "\n".join(lines) + "\n"


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
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "ArtifactKey",
            description=f"Artifacts and notifications of pipeline {manifest.stack_name(name)}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                principals=[iam.ServicePrincipal("codestar-notifications.amazonaws.com")],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={"StringEquals": {"kms:ViaService": f"sns.{stack.region}.amazonaws.com"}},
            )
        )
        self.artifacts = s3.Bucket(
            self,
            "Artifacts",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.topic = sns.Topic(
            self,
            "Notifications",
            display_name=f"{manifest.stack_name(name)} pipeline",
            master_key=self.key,
            enforce_ssl=True,
        )
        for address in pipeline.approval.notify if pipeline.approval else []:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))
        self.repository = ecr.Repository.from_repository_name(
            self,
            "Registry",
            names.repository_name(manifest, pipeline.build.registry),
        )
        self.released_tag_parameter = names.released_tag_parameter(manifest, pipeline.build.registry)
        self.arm = manifest.pipeline_architecture(name) == ARM64

        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=manifest.stack_name(name),
            pipeline_type=codepipeline.PipelineType.V2,
            artifact_bucket=self.artifacts,
            cross_account_keys=False,
            restart_execution_on_update=False,
        )
        self.source_buckets: list[s3.Bucket] = []
        self.repositories: list[codecommit.Repository] = []
        source_actions, outputs, version = self._sources()
        self.pipeline.add_stage(stage_name="Source", actions=source_actions)

        self.build_project = self._build_project()
        build_output = codepipeline.Artifact("build")
        self.pipeline.add_stage(
            stage_name="Build",
            actions=[
                actions.CodeBuildAction(
                    action_name="Build",
                    project=self.build_project,
                    input=outputs[0],
                    extra_inputs=outputs[1:] or None,
                    outputs=[build_output],
                    variables_namespace="Build",
                    environment_variables={"SOURCE_VERSION": codebuild.BuildEnvironmentVariable(value=version)},
                )
            ],
        )
        self.test_project: codebuild.PipelineProject | None = None
        if pipeline.test is not None:
            self.test_project = self._project(
                "Test",
                {"version": "0.2", "phases": {"build": {"commands": pipeline.test.commands}}},
                privileged=False,
            )
            self.pipeline.add_stage(
                stage_name="Test",
                actions=[
                    actions.CodeBuildAction(
                        action_name="Test",
                        project=self.test_project,
                        input=outputs[0],
                        extra_inputs=outputs[1:] or None,
                    )
                ],
            )
        if pipeline.approval is not None:
            self.pipeline.add_stage(
                stage_name="Approval",
                actions=[
                    actions.ManualApprovalAction(
                        action_name="Approve",
                        notification_topic=self.topic,
                        additional_information=pipeline.approval.comment,
                        timeout=minutes(pipeline.approval.timeout_minutes),
                    )
                ],
            )
        self.release_project = self._release_project()
        deploy_actions: list[codepipeline.IAction] = [
            actions.EcsDeployAction(
                action_name=f"Deploy-{service}",
                service=self._service(service),
                image_file=build_output.at_path(image_definitions_path(service)),
                deployment_timeout=minutes(pipeline.deploy.timeout_minutes),
                run_order=1,
            )
            for service in pipeline.deploy.services
        ]
        deploy_actions.append(
            actions.CodeBuildAction(
                action_name="RecordRelease",
                project=self.release_project,
                input=build_output,
                run_order=2,
                environment_variables={"IMAGE_TAG": codebuild.BuildEnvironmentVariable(value="#{Build.IMAGE_TAG}")},
            )
        )
        # One failed ECS deploy action rolls every service of the stage back to the previous
        # successful execution's image (and reruns its RecordRelease with that execution's
        # variables), so the released tag always names what runs.
        self.pipeline.add_stage(
            stage_name="Deploy",
            actions=deploy_actions,
            on_failure=codepipeline.FailureConditions(result=codepipeline.Result.ROLLBACK),
        )
        # The pipeline GetAtts its role already; its policy must exist before the pipeline runs.
        role_policy = self.pipeline.role.node.find_child("DefaultPolicy")
        keep_only_depends_on(self.pipeline, role_policy)
        self.notification_rule = notifications.NotificationRule(
            self,
            "NotificationRule",
            source=self.pipeline,
            events=NOTIFY_EVENTS,
            targets=[self.topic],
            detail_type=notifications.DetailType.FULL,
        )

    def _sources(self) -> tuple[list[codepipeline.IAction], list[codepipeline.Artifact], str]:
        result: list[codepipeline.IAction] = []
        outputs: list[codepipeline.Artifact] = []
        versions: list[str] = []
        for source in self.spec.source:
            assert source.name is not None
            output = codepipeline.Artifact(f"source_{source.name.replace('-', '_')}")
            action, version = self._source_action(source, output)
            result.append(action)
            outputs.append(output)
            versions.append(version)
        return result, outputs, versions[0]

    def _source_action(self, source: Source, output: codepipeline.Artifact) -> tuple[codepipeline.IAction, str]:
        assert source.name is not None
        action_name = source.name
        if source.codecommit is not None:
            spec = source.codecommit
            repository: codecommit.IRepository
            if spec.create:
                created = codecommit.Repository(
                    self,
                    f"Repository-{source.name}",
                    repository_name=spec.repository,
                    description=f"Source of pipeline {self.manifest.stack_name(self.name)}",
                )
                created.apply_removal_policy(RemovalPolicy.RETAIN)
                self.repositories.append(created)
                repository = created
            else:
                repository = codecommit.Repository.from_repository_name(
                    self, f"Repository-{source.name}", spec.repository
                )
            commit = actions.CodeCommitSourceAction(
                action_name=action_name, repository=repository, branch=spec.branch, output=output
            )
            return commit, commit.variables.commit_id
        if source.github is not None:
            github = source.github
            connection = actions.CodeStarConnectionsSourceAction(
                action_name=action_name,
                connection_arn=github.connection_arn,
                owner=github.owner,
                repo=github.repository,
                branch=github.branch,
                output=output,
                trigger_on_push=True,
                role=self._connection_role(source.name, github.connection_arn),
            )
            return connection, connection.variables.commit_id
        assert source.s3 is not None
        bucket: s3.IBucket
        if source.s3.bucket is None:
            created_bucket = s3.Bucket(
                self,
                f"SourceBucket-{source.name}",
                versioned=True,  # S3 source actions read object versions
                encryption=s3.BucketEncryption.S3_MANAGED,
                enforce_ssl=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                removal_policy=RemovalPolicy.RETAIN,
            )
            # Natively, not through aws-cdk's event_bridge_enabled, which adds a Lambda to set it.
            resource = created_bucket.node.default_child
            assert isinstance(resource, s3.CfnBucket)
            resource.add_property_override(
                "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
            )
            self.source_buckets.append(created_bucket)
            bucket = created_bucket
        else:
            bucket = s3.Bucket.from_bucket_name(self, f"SourceBucket-{source.name}", source.s3.bucket)
        upload = actions.S3SourceAction(
            action_name=action_name,
            bucket=bucket,
            bucket_key=source.s3.key,
            output=output,
            trigger=actions.S3Trigger.NONE,
        )
        # A new object version starts the pipeline, through EventBridge (no CloudTrail trail).
        events.Rule(
            self,
            f"SourceChanged-{source.name}",
            description=f"Starts pipeline {self.manifest.stack_name(self.name)} on a new {_shortened(source.s3.key)}",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": [source.s3.key]}},
            ),
            targets=[targets.CodePipeline(self.pipeline)],
        )
        return upload, upload.variables.version_id

    def _connection_role(self, source: str, connection_arn: str) -> iam.Role:
        """aws-cdk grants codestar-connections:UseConnection; a connection whose ARN has the newer
        codeconnections prefix is authorized under that prefix, so the role has both."""
        role = iam.Role(
            self,
            f"SourceRole-{source}",
            assumed_by=iam.AccountPrincipal(Stack.of(self).account),
            description=f"Source {source} of pipeline {self.manifest.stack_name(self.name)}",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["codeconnections:UseConnection", "codestar-connections:UseConnection"],
                resources=[connection_arn],
            )
        )
        return role

    def _project(self, construct_id: str, spec: dict[str, Any], *, privileged: bool) -> codebuild.PipelineProject:
        return codebuild.PipelineProject(
            self,
            construct_id,
            description=f"{construct_id} of pipeline {self.manifest.stack_name(self.name)}",
            build_spec=codebuild.BuildSpec.from_object(spec),
            environment=codebuild.BuildEnvironment(
                build_image=ARM_BUILD_IMAGE if self.arm else BUILD_IMAGE,
                compute_type=COMPUTE[self.spec.build.compute],
                privileged=privileged,
            ),
            encryption_key=self.key,
        )

    def _build_project(self) -> codebuild.PipelineProject:
        build = self.spec.build
        spec = (
            codebuild.BuildSpec.from_source_filename(build.buildspec)
            if build.buildspec
            else codebuild.BuildSpec.from_object(build_spec(self.manifest, self.spec))
        )
        project = codebuild.PipelineProject(
            self,
            "BuildProject",
            description=f"Image build of pipeline {self.manifest.stack_name(self.name)}",
            build_spec=spec,
            environment=codebuild.BuildEnvironment(
                build_image=ARM_BUILD_IMAGE if self.arm else BUILD_IMAGE,
                compute_type=COMPUTE[build.compute],
                privileged=True,  # docker build needs the Docker daemon
            ),
            environment_variables={
                "REPOSITORY_URI": codebuild.BuildEnvironmentVariable(value=self.repository.repository_uri),
                "REPOSITORY_NAME": codebuild.BuildEnvironmentVariable(value=self.repository.repository_name),
                "DOCKERFILE": codebuild.BuildEnvironmentVariable(value=build.dockerfile),
                "BUILD_CONTEXT": codebuild.BuildEnvironmentVariable(value=build.context),
            },
            encryption_key=self.key,
        )
        # Push to this one repository, and nothing else.
        self.repository.grant_pull_push(project)
        self.repository.grant(project, "ecr:DescribeImages")
        return project

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

    def _release_project(self) -> codebuild.PipelineProject:
        """Tags the released image, records its tag, and hands the first release over to the
        stacks that still wait for one (see release_script)."""
        stack = Stack.of(self)
        manifest, spec = self.manifest, self.spec
        registry = spec.build.registry
        project = codebuild.PipelineProject(
            self,
            "ReleaseProject",
            description=f"Records the release of pipeline {manifest.stack_name(self.name)}",
            build_spec=codebuild.BuildSpec.from_object(
                {
                    "version": "0.2",
                    "env": {"shell": "bash"},
                    "phases": {"build": {"commands": [release_script(manifest, spec)]}},
                }
            ),
            environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE, compute_type=codebuild.ComputeType.SMALL),
            environment_variables={
                "REPOSITORY_URI": codebuild.BuildEnvironmentVariable(value=self.repository.repository_uri),
                "REPOSITORY_NAME": codebuild.BuildEnvironmentVariable(value=self.repository.repository_name),
            },
            encryption_key=self.key,
            # A hand-off waits for CloudFormation to start the services.
            timeout=Duration.hours(2),
        )

        def parameter_arn(name: str) -> str:
            return stack.format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"))

        project.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter", "ssm:PutParameter"], resources=[parameter_arn(self.released_tag_parameter)]
            )
        )
        self.repository.grant(project, "ecr:BatchGetImage", "ecr:PutImage")
        stack_names = handoff_stacks(manifest, spec)
        project.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks", "cloudformation:UpdateStack"],
                resources=[
                    stack.format_arn(service="cloudformation", resource="stack", resource_name=f"{name}/*")
                    for name in stack_names
                ],
            )
        )
        # update-stack without --role-arn deploys with the stack's own role: that of `cdk deploy`.
        project.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[f"arn:{stack.partition}:iam::{stack.account}:role/{CFN_EXEC_ROLE}"],
                conditions={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
            )
        )
        # The SSM-typed parameters those stacks resolve again: the released tags they follow and
        # CDK's bootstrap version (in case the caller's credentials resolve them).
        followed = {registry}
        for name in [*spec.deploy.services, *manifest.release_followers(registry)]:
            workload = manifest.services.get(name) or manifest.scheduled_tasks[name]
            followed |= {
                c.image.registry for c in workload.containers.values() if c.image.released and c.image.registry
            }
        project.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameters"],
                resources=[
                    parameter_arn(BOOTSTRAP_VERSION_PARAMETER),
                    *(parameter_arn(names.released_tag_parameter(manifest, r)) for r in sorted(followed)),
                ],
            )
        )
        followers = manifest.release_followers(registry)
        if followers:
            project.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], resources=["*"]
                )
            )
            project.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[
                        f"arn:{stack.partition}:iam::{stack.account}:role{names.task_role_path(manifest, name)}*"
                        for name in followers
                    ],
                    conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                )
            )
        return project
