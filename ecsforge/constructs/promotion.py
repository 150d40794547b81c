"""The pipeline's promotion stages: after Deploy, one stage per promoted environment, in order,
each an optional manual approval and one CodeBuild action that, with the role the promoted
environment's trust stack holds, copies the image (same digest) into that environment's own
registry, deploys it to its services and records the release there.

No CodePipeline action runs in the other account or region: the action runs here and calls the
other account's APIs with an assumed role. So no artifact leaves this pipeline's bucket, and the
artifact bucket and key need no cross-account grant; what the other account allows is all in
its trust stack (promotion_trust.py)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from .. import names
from ..release import image_copy
from ..release.plan import pipeline_plan
from .promotion_plan import PromotionPlan
from .release import BUILD_IMAGE, release_commands
from .template import cfn_resource
from .units import minutes

# The copy (ecsforge/release/image_copy.py) puts every manifest back byte for byte through the ECR
# API, so the digest stays the same, for a multi-architecture index too (docker pull/push keeps one
# platform and rewrites the manifest). It runs on the build image's python3 and boto3: a release
# installs nothing and fetches nothing from outside AWS.
IMAGE_COPY = Path(image_copy.__file__)
_END_OF_IMAGE_COPY = "ECSFORGE_IMAGE_COPY"
# How long the release step may take after the deployment: a first release's hand-off waits
# for CloudFormation to start the services (as the pipeline's own release step, 2 hours).
RELEASE_MINUTES = 120


def image_copy_file() -> str:
    """ecsforge/release/image_copy.py as it is, written where the step runs."""
    source = IMAGE_COPY.read_text(encoding="utf-8")
    return f"cat > {IMAGE_COPY.name} <<'{_END_OF_IMAGE_COPY}'\n{source}{_END_OF_IMAGE_COPY}"


def copy_script() -> list[str]:
    """Copy SOURCE_REPOSITORY_NAME@<digest of IMAGE_TAG> to TARGET_REPOSITORY_NAME:IMAGE_TAG and verify it."""
    return [
        "set -euo pipefail",
        'fail() { echo "promotion to $TARGET_ENVIRONMENT failed: $*" >&2; exit 1; }',
        'DIGEST=$(aws ecr describe-images --repository-name "$SOURCE_REPOSITORY_NAME" --image-ids '
        "imageTag=\"$IMAGE_TAG\" --query 'imageDetails[0].imageDigest' --output text)",
        image_copy_file(),
        "# From here on every call runs as the promoted environment's role (held by its trust stack).",
        "# A profile, not exported keys: the CLI assumes the role again when a session (at most an",
        "# hour, as a chained role) ends, so a long deployment or hand-off never runs out of time.",
        'aws configure set profile.promoted.role_arn "$TARGET_ROLE_ARN"',
        "aws configure set profile.promoted.credential_source EcsContainer",
        'aws configure set profile.promoted.role_session_name "promote-$TARGET_ENVIRONMENT"',
        'aws configure set profile.promoted.region "$TARGET_REGION"',
        'export AWS_PROFILE=promoted AWS_REGION="$TARGET_REGION" AWS_DEFAULT_REGION="$TARGET_REGION"',
        "if ! WHO=$(aws sts get-caller-identity --query Arn --output text 2>&1); then",
        '  fail "cannot assume $TARGET_ROLE_ARN ($WHO): stack $TRUST_STACK is missing; $DEPLOY_HINT"',
        "fi",
        'TRUST=$(aws ssm get-parameter --name "$TRUST_PARAMETER" --query Parameter.Value --output text 2>&1) '
        '|| fail "cannot read $TRUST_PARAMETER ($TRUST): stack $TRUST_STACK is missing or stale; $DEPLOY_HINT"',
        'if [ "$(jq -r .fingerprint <<<"$TRUST")" != "$FINGERPRINT" ]; then',
        '  fail "stack $TRUST_STACK grants $(jq -r .fingerprint <<<"$TRUST"), this pipeline needs $FINGERPRINT: '
        'it is stale; $DEPLOY_HINT"',
        "fi",
        'CLUSTER=$(jq -r .cluster <<<"$TRUST")',
        'COPIED=$(aws ecr describe-images --repository-name "$TARGET_REPOSITORY_NAME" --image-ids '
        "imageTag=\"$IMAGE_TAG\" --query 'imageDetails[0].imageDigest' --output text 2>/dev/null || true)",
        'if [ "$COPIED" != "$DIGEST" ]; then',
        f'  DIGEST="$DIGEST" python3 {IMAGE_COPY.name} || fail "the image was not copied; nothing was deployed"',
        '  COPIED=$(aws ecr describe-images --repository-name "$TARGET_REPOSITORY_NAME" --image-ids '
        "imageTag=\"$IMAGE_TAG\" --query 'imageDetails[0].imageDigest' --output text)",
        "fi",
        '[ "$COPIED" = "$DIGEST" ] || fail "the copy has digest $COPIED, not $DIGEST; nothing was deployed"',
        'echo "$TARGET_REPOSITORY_URI:$IMAGE_TAG is $DIGEST, as deployed before"',
    ]


def deploy_script(plan: PromotionPlan) -> list[str]:
    """A new task definition revision with the copied image for each service, then wait; on a failed
    or timed-out rollout every service goes back to its previous revision (ECS's circuit breaker
    and rollback alarms roll back first, as in the pipeline's own Deploy)."""
    target, registry = plan.target, plan.registry
    lines = [
        "deploy() {  # service-name parameter, JSON list of its containers following the registry",
        '  SERVICE=$(aws ssm get-parameter --name "$1" --query Parameter.Value --output text)',
        '  CURRENT=$(aws ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" '
        "--query 'services[0].taskDefinition' --output text)",
        '  aws ecs describe-task-definition --task-definition "$CURRENT" --output json > described.json',
        '  jq --arg image "$TARGET_REPOSITORY_URI:$IMAGE_TAG" --argjson names "$2" \'.taskDefinition'
        " | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,"
        " .registeredAt, .registeredBy, .deregisteredAt)"
        " | .containerDefinitions |= map(.name as $n | if any($names[]; . == $n)"
        " then .image = $image else . end)' described.json > revision.json",
        "  NEW=$(aws ecs register-task-definition --cli-input-json file://revision.json "
        "--query taskDefinition.taskDefinitionArn --output text)",
        '  aws ecs update-service --cluster "$CLUSTER" --service "$SERVICE" --task-definition "$NEW" > /dev/null',
        '  echo "$SERVICE $CURRENT $NEW" >> deployed.txt',
        "}",
        ": > deployed.txt",
    ]
    for name in plan.services:
        containers = [
            n for n, c in target.services[name].containers.items() if c.image.released and c.image.registry == registry
        ]
        parameter = names.service_name_parameter(target, name)
        lines.append(f"deploy {shlex.quote(parameter)} {shlex.quote(json.dumps(containers))}")
    lines += [
        "DEADLINE=$(( $(date +%s) + DEPLOY_MINUTES * 60 ))",
        "rollback() {",
        '  while read -r SERVICE CURRENT NEW <&4; do aws ecs update-service --cluster "$CLUSTER" --service "$SERVICE" '
        '--task-definition "$CURRENT" > /dev/null; done 4< deployed.txt',
        '  fail "$1; every service is back on its previous task definition and no release was recorded"',
        "}",
        "# The list on fd 3: the commands in the loop must not read it as their input.",
        "while read -r SERVICE CURRENT NEW <&3; do",
        "  while :; do",
        '    STATE=$(aws ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" --query '
        "\"services[0].deployments[?taskDefinition=='$NEW'].rolloutState | [0]\" --output text)",
        '    case "$STATE" in COMPLETED) break ;; FAILED|None) rollback "$SERVICE did not deploy ($STATE)" ;; esac',
        '    [ "$(date +%s)" -lt "$DEADLINE" ] || rollback "$SERVICE was not deployed within $DEPLOY_MINUTES minutes"',
        "    sleep 15",
        "  done",
        "done 3< deployed.txt",
    ]
    return lines


def promotion_script(plan: PromotionPlan) -> str:
    """Copy, deploy, then the release step as the promoted environment's own pipeline would run it.

    The release step is ecsforge/release/runner.py, the code path of the pipeline's own release
    step and of `python -m ecsforge release`, with the plan of that environment (its stacks, its
    parameter, its followers); boto3 takes the assumed role from the AWS_PROFILE set above."""
    target_plan = pipeline_plan(plan.target, plan.target_pipeline).to_json()
    lines = [
        *copy_script(),
        *deploy_script(plan),
        f"export RELEASE_PLAN={shlex.quote(target_plan)}",
        'export REPOSITORY_URI="$TARGET_REPOSITORY_URI"',
        release_commands(),
    ]
    return "\n".join(lines) + "\n"


class PromotionStage:
    """One stage `Promote-<environment>` added to `pipeline`; the projects are children of `scope`."""

    def __init__(
        self,
        scope: Construct,
        plan: PromotionPlan,
        *,
        pipeline: codepipeline.Pipeline,
        source_repository: ecr.IRepository,
        build_output: codepipeline.Artifact,
        key: kms.IKey,
    ) -> None:
        self.plan = plan
        env = plan.environment
        self.topic: sns.Topic | None = None
        stage_actions: list[codepipeline.IAction] = []
        approval = plan.promotion.approval
        if approval is not None:
            self.topic = sns.Topic(
                scope, f"Approval-{env}", display_name=f"Approve promotion to {env}", master_key=key, enforce_ssl=True
            )
            for address in approval.notify:
                self.topic.add_subscription(subscriptions.EmailSubscription(address))
            stage_actions.append(
                actions.ManualApprovalAction(
                    action_name=f"Approve-{env}",
                    notification_topic=self.topic,
                    additional_information=approval.comment,
                    timeout=minutes(approval.timeout_minutes),
                    run_order=1,
                )
            )
        self.role = self._role(scope, source_repository)
        self.project = self._project(scope, source_repository, key)
        stage_actions.append(
            actions.CodeBuildAction(
                action_name=f"Release-{env}",
                project=self.project,
                input=build_output,
                run_order=2,
                environment_variables={"IMAGE_TAG": codebuild.BuildEnvironmentVariable(value="#{Build.IMAGE_TAG}")},
            )
        )
        pipeline.add_stage(stage_name=f"Promote-{env}", actions=stage_actions)

    def _target_account(self, scope: Construct) -> str:
        # Same account when neither manifest names one (validation requires both otherwise).
        return self.plan.target.account or Stack.of(scope).account

    def _role(self, scope: Construct, source_repository: ecr.IRepository) -> iam.Role:
        plan = self.plan
        role = iam.Role(
            scope,
            f"PromoteRole-{plan.environment}",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            # The promoted environment trusts this one role, by name.
            role_name=names.promoting_role_name(plan.source, plan.name, plan.target),
            description=f"Promotes pipeline {plan.source.stack_name(plan.name)} to {plan.environment}",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[plan.role_arn(self._target_account(scope))])
        )
        # What the copy reads (image_copy.py) and the digest lookup: no GetAuthorizationToken, as
        # nothing logs in to the registry.
        source_repository.grant(role, "ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
        return role

    def _project(
        self, scope: Construct, source_repository: ecr.IRepository, key: kms.IKey
    ) -> codebuild.PipelineProject:
        plan = self.plan
        target = plan.target
        target_repository = names.repository_name(target, plan.registry)
        account = self._target_account(scope)
        suffix = "amazonaws.com.cn" if target.region.startswith("cn-") else "amazonaws.com"
        variables = {
            "SOURCE_REPOSITORY_NAME": source_repository.repository_name,
            "SOURCE_REGION": Stack.of(scope).region,
            "TARGET_ENVIRONMENT": plan.environment,
            "TARGET_REGION": target.region,
            "TARGET_ROLE_ARN": plan.role_arn(account),
            "TARGET_REPOSITORY_NAME": target_repository,
            "TARGET_REPOSITORY_URI": f"{account}.dkr.ecr.{target.region}.{suffix}/{target_repository}",
            "TRUST_STACK": plan.trust_stack,
            "TRUST_PARAMETER": plan.trust_parameter,
            "FINGERPRINT": plan.fingerprint,
            "DEPLOY_HINT": plan.deploy_hint,
            "DEPLOY_MINUTES": str(plan.promotion.timeout_minutes),
        }
        project = codebuild.PipelineProject(
            scope,
            f"Promote-{plan.environment}",
            description=f"Promotes the image of pipeline {plan.source.stack_name(plan.name)} to {plan.environment}",
            build_spec=codebuild.BuildSpec.from_object(
                {
                    "version": "0.2",
                    "env": {"shell": "bash"},
                    "phases": {"build": {"commands": [promotion_script(plan)]}},
                }
            ),
            environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE, compute_type=codebuild.ComputeType.SMALL),
            environment_variables={k: codebuild.BuildEnvironmentVariable(value=v) for k, v in variables.items()},
            encryption_key=key,
            role=self.role,
            timeout=Duration.minutes(plan.promotion.timeout_minutes + RELEASE_MINUTES),
        )
        # A role with a path is named by its ARN: CodeBuild resolves a bare name under "/" only.
        cfn_resource(project).add_property_override("ServiceRole", self.role.role_arn)
        return project
