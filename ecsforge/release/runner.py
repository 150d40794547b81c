"""Releasing an image: the one code path of the pipeline's release step and of
`python -m ecsforge release`.

Standard library and boto3 only, no other ecsforge module: the pipeline ships this file as
it is to CodeBuild (see ecsforge/constructs/release.py) and runs it there with `python3`.
A release, for a plan that ecsforge computed from the manifest (ecsforge/release/plan.py):
(a) tags the image `released-<tag>`, which the repository's lifecycle rules keep;
(b) writes the tag to the registry's released-tag SSM parameter, which every later
    deployment of the following stacks resolves;
(c) on the first release, hands over to CloudFormation: each following stack whose last
    deployment resolved the parameter to "none" is updated with its previous template and
    parameters, so that CloudFormation resolves the parameter again and the stack's own
    condition starts what waited for a release;
(d) registers a revision with the released image for each scheduled task not handed over
    (they run the latest revision of their family), and waits for the hand-offs.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
# What describe-task-definition returns and register-task-definition does not take.
DESCRIBED_ONLY = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
)
MAX_TAG = 128  # ECR's limit on a tag


@dataclass
class Follower:
    """A scheduled task that runs the latest revision of its family."""

    stack: str
    family: str
    containers: list[str]  # the containers whose image follows the registry


@dataclass
class ReleasePlan:
    """What a release of one registry of one environment touches; see plan.py."""

    parameter: str  # the registry's released-tag SSM parameter
    repository: str  # the ECR repository name
    stacks: list[str]  # the stacks that may take their first release from this one
    followers: list[Follower] = field(default_factory=list)
    released_prefix: str = "released-"
    not_released: str = "none"
    repository_uri: str | None = None  # - looked up in ECR

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ReleasePlan:
        data = json.loads(text)
        data["followers"] = [Follower(**f) for f in data.get("followers", [])]
        return cls(**data)


@dataclass
class Outcome:
    """What a release did (or, in a dry run, would do)."""

    tag: str
    released_tag: str
    handoff: list[str]
    registered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class ReleaseError(Exception):
    """A release that cannot be done or did not complete; the message says what to do."""


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def release(
    session: Any, plan: ReleasePlan, tag: str, *, dry_run: bool = False, log: Callable[[str], None] = print
) -> Outcome:
    """Release `tag` of the plan's repository through `session` (a boto3 Session: the caller's
    credentials, or an assumed role in another account). Raises ReleaseError."""
    ecr, ssm = session.client("ecr"), session.client("ssm")
    cloudformation = session.client("cloudformation")
    image = _image(ecr, plan, tag)
    outcome = Outcome(tag, (plan.released_prefix + tag)[:MAX_TAG], _find_handoff(cloudformation, plan))
    log(f"stacks taking their first release: {' '.join(outcome.handoff) or 'none'}")
    followers = [f for f in plan.followers if f.stack not in outcome.handoff]
    if dry_run:
        log(f"would tag {plan.repository}:{tag} as {outcome.released_tag}")
        log(f"would set {plan.parameter} to {tag}")
        for stack in outcome.handoff:
            log(f"would update {stack} with its previous template and parameters")
        for follower in followers:
            log(f"would register a revision of {follower.family} with {plan.repository}:{tag}")
        return outcome
    _record(ecr, ssm, plan, image, outcome)
    started = _start_handoff(cloudformation, outcome, log)
    if followers:
        uri = plan.repository_uri or _repository_uri(ecr, plan)
        for follower in followers:
            outcome.registered.append(_register(session.client("ecs"), follower, f"{uri}:{tag}", log))
    _await_handoff(cloudformation, started, outcome, log)
    if outcome.failed:
        raise ReleaseError(f"hand-off failed for: {' '.join(outcome.failed)}; the next release retries it")
    return outcome


def _image(ecr: Any, plan: ReleasePlan, tag: str) -> dict[str, Any]:
    try:
        found = ecr.batch_get_image(repositoryName=plan.repository, imageIds=[{"imageTag": tag}])
    except Exception as error:
        if error_code(error) == "RepositoryNotFoundException":
            raise ReleaseError(
                f"repository {plan.repository} does not exist in this account and region; "
                "deploy the registries stack first, or check the credentials' account and region"
            ) from None
        raise
    images = found.get("images", [])
    if not images:
        raise ReleaseError(f"{plan.repository}:{tag} does not exist; push the image first, or check the tag")
    image: dict[str, Any] = images[0]
    return image


def _find_handoff(cloudformation: Any, plan: ReleasePlan) -> list[str]:
    """Stacks whose last deployment resolved this registry's released tag to "none"."""
    handoff = []
    for stack in plan.stacks:
        try:
            described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        except Exception as error:
            if error_code(error) == "ValidationError":
                raise ReleaseError(f"stack {stack} does not exist; deploy it (cdk deploy) before releasing") from None
            raise
        parameters = described.get("Parameters", [])
        resolved = [p.get("ResolvedValue") for p in parameters if p["ParameterValue"] == plan.parameter]
        if resolved and resolved[0] == plan.not_released:
            handoff.append(stack)
    return handoff


def _record(ecr: Any, ssm: Any, plan: ReleasePlan, image: dict[str, Any], outcome: Outcome) -> None:
    try:
        ecr.put_image(
            repositoryName=plan.repository,
            imageTag=outcome.released_tag,
            imageManifest=image["imageManifest"],
            imageManifestMediaType=image["imageManifestMediaType"],
        )
    except Exception as error:
        if error_code(error) != "ImageAlreadyExistsException":  # a re-run of the same release
            raise
    ssm.put_parameter(Name=plan.parameter, Value=outcome.tag, Type="String", Overwrite=True)


def _start_handoff(cloudformation: Any, outcome: Outcome, log: Callable[[str], None]) -> list[str]:
    started = []
    for stack in outcome.handoff:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        parameters = [{"ParameterKey": p["ParameterKey"], "UsePreviousValue": True} for p in described["Parameters"]]
        try:
            cloudformation.update_stack(
                StackName=stack, UsePreviousTemplate=True, Parameters=parameters, Capabilities=CAPABILITIES
            )
            started.append(stack)
        except Exception as error:
            if "No updates are to be performed" in str(error):
                log(f"{stack}: no updates")
            else:
                log(f"{stack}: {error}")
                outcome.failed.append(stack)
    return started


def _repository_uri(ecr: Any, plan: ReleasePlan) -> str:
    repositories = ecr.describe_repositories(repositoryNames=[plan.repository])["repositories"]
    return str(repositories[0]["repositoryUri"])


def _register(ecs: Any, follower: Follower, image: str, log: Callable[[str], None]) -> str:
    described = ecs.describe_task_definition(taskDefinition=follower.family)["taskDefinition"]
    revision = {k: v for k, v in described.items() if k not in DESCRIBED_ONLY}
    for container in revision["containerDefinitions"]:
        if container["name"] in follower.containers:
            container["image"] = image
    arn = str(ecs.register_task_definition(**revision)["taskDefinition"]["taskDefinitionArn"])
    log(f"registered {arn}")
    return arn


def _await_handoff(cloudformation: Any, started: list[str], outcome: Outcome, log: Callable[[str], None]) -> None:
    waiter = cloudformation.get_waiter("stack_update_complete")
    for stack in started:
        while True:
            try:
                waiter.wait(StackName=stack)
                break
            except Exception:
                # The waiter gives up after an hour; CloudFormation may not have.
                status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
                if not status.endswith("_IN_PROGRESS"):
                    log(f"{stack}: the hand-off failed ({status}); the next release retries it")
                    outcome.failed.append(stack)
                    break


def session_for(boto3: Any, role_arn: str | None = None, region: str | None = None) -> Any:
    """A boto3 Session: CodeBuild's own role, or `role_arn` assumed from it (another account's
    environment), in `region` (- the build's region)."""
    if not role_arn:
        return boto3.Session(region_name=region)
    assumed = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="ecsforge-release")["Credentials"]
    return boto3.Session(
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
        region_name=region,
    )


def main() -> int:
    """The pipeline's release step: RELEASE_PLAN, IMAGE_TAG and REPOSITORY_URI from CodeBuild;
    RELEASE_ROLE_ARN and RELEASE_REGION, when set, for an environment in another account or region."""
    import importlib

    boto3 = importlib.import_module("boto3")
    plan = ReleasePlan.from_json(os.environ["RELEASE_PLAN"])
    plan.repository_uri = os.environ.get("REPOSITORY_URI") or plan.repository_uri
    session = session_for(boto3, os.environ.get("RELEASE_ROLE_ARN"), os.environ.get("RELEASE_REGION"))
    try:
        release(session, plan, os.environ["IMAGE_TAG"])
    except ReleaseError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
