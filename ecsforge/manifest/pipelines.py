"""`pipelines` of the manifest (contract v1): one CodePipeline (V2) each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from .base import Model, Name, Rule, matching
from .promotion import Approval, Notify, Promotion, Trigger
from .runtime import ARCHITECTURES, Platform
from .s3_names import bucket_name_problems, object_key_problem

BRANCH = Annotated[str, Field(min_length=1, max_length=255), matching(r"^[^\s~^:?*\[\\]+$", "branch name", "main")]
BucketName = Annotated[str, matching(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", "S3 bucket name", "shop-sources")]
SOURCE_KINDS = ("codecommit", "github", "s3")


class CodeCommitSource(Model):
    repository: Annotated[
        str, Field(min_length=1, max_length=100), matching(r"^[A-Za-z0-9_.-]+$", "repository name", "shop-web")
    ] = Field(
        description="Required. The repository's name.",
    )
    branch: BRANCH = Field("main", description="Default: main.")
    create: bool = Field(
        True,
        description="Default: true, the repository is created by the stack (and kept on deletion). "
        "false: an existing repository of this name is used.",
    )

    def check(self) -> Iterator[Rule]:
        if self.repository.lower().endswith(".git"):
            yield ("repository",), f"{self.repository!r}: CodeCommit names cannot end in .git; drop the suffix"
        if self.repository in (".", ".."):
            yield ("repository",), f"{self.repository!r} is not a repository name; use a name like shop-web"


class GitHubSource(Model):
    connection_arn: Annotated[
        str,
        matching(
            r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/[A-Za-z0-9-]+$",
            "CodeConnections connection ARN (not an OAuth token)",
            "arn:aws:codeconnections:us-east-1:111111111111:connection/abc-123",
        ),
    ] = Field(
        description="Required. A CodeConnections connection ARN (never an OAuth token).",
    )
    owner: str = Field(min_length=1, max_length=100, description="Required. The GitHub user or organisation.")
    repository: str = Field(min_length=1, max_length=100, description="Required. The repository's name.")
    branch: BRANCH = Field("main", description="Default: main.")
    trigger: Trigger | None = Field(
        None,
        description="Default: every push to `branch`. CodePipeline V2 push filters on branches, tags and paths.",
    )

    @property
    def trigger_branches(self) -> list[str]:
        return list(self.trigger.branches or [self.branch]) if self.trigger is not None else [self.branch]


class S3Source(Model):
    bucket: Annotated[str, matching(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", "S3 bucket name", "shop-sources")] | None = (
        Field(
            None,
            description="Default: a versioned bucket created by the stack. An existing bucket must have versioning "
            "and EventBridge notifications on.",
        )
    )
    key: str = Field(
        min_length=1,
        max_length=1024,
        description="Required. The object key of the source zip: one object, so no * or ? (which IAM would read "
        "as wildcards in the pipeline's grant).",
    )

    def check(self) -> Iterator[Rule]:
        # CodePipeline watches the one object named; the grant on it is an IAM resource, where * and ?
        # are wildcards (and cdk-nag's IAM5 stops a synthesis with one).
        wildcard = next((c for c in "*?" if c in self.key), None)
        if wildcard is not None:
            yield (
                ("key",),
                f"{self.key!r}: an S3 source is one object, named exactly, and {wildcard!r} would widen the "
                "pipeline's access to every key it matches; give the key of the zip, e.g. web/source.zip",
            )
        if self.bucket is not None:
            yield from ((("bucket",), message) for message in bucket_name_problems(self.bucket))
        problem = object_key_problem(self.key)
        if problem:
            yield ("key",), problem


class Source(Model):
    """One source: exactly one of codecommit, github or s3."""

    name: Name | None = Field(
        None,
        description="The source artifact's name; required in a list of sources. Default: source, for a single "
        "source written without a list.",
    )
    codecommit: CodeCommitSource | None = Field(None, description="Default: not this kind.")
    github: GitHubSource | None = Field(None, description="Default: not this kind.")
    s3: S3Source | None = Field(None, description="Default: not this kind.")

    @property
    def kind(self) -> str:
        return next(kind for kind in SOURCE_KINDS if getattr(self, kind) is not None)

    def check(self) -> Iterator[Rule]:
        kinds = [kind for kind in SOURCE_KINDS if getattr(self, kind) is not None]
        if len(kinds) != 1:
            given = ", ".join(kinds) or "none"
            yield (), f"a source has exactly one of codecommit, github or s3 (given: {given}); keep one"


def _one_source_to_list(value: Any) -> Any:
    # `source: {github: ...}` is shorthand for a list of one source named "source".
    if isinstance(value, dict):
        return [{"name": "source", **value}] if "name" not in value else [value]
    return value


class Image(Model):
    """One image of `build.images` (manifest v1.2): built from the pipeline's commit, in parallel with the others."""

    registry: Name = Field(description="Required. The key of `registries` the image is pushed to.")
    dockerfile: str = Field("Dockerfile", min_length=1, description="Default: Dockerfile.")
    context: str = Field(".", min_length=1, description="Default: the repository root.")
    platforms: list[Platform] | None = Field(
        None,
        min_length=1,
        description="linux/amd64 | linux/arm64, each once. Default: build.platforms, else the platform of the "
        "workloads following the registry. Several: one image index, as build.platforms.",
    )
    paths: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None,
        min_length=1,
        description="Default: always rebuilt. Git glob patterns of the primary source (CodeCommit or GitHub, one "
        "source, one platform): when none changed between the released commit and this one, the released image "
        "gets this commit's tag (an ECR re-tag) instead of a build.",
    )
    args: dict[Annotated[str, matching(r"^[A-Za-z_][A-Za-z0-9_]*$", "build argument name", "NODE_ENV")], str] | None = (
        Field(None, description="Default: none. Docker build arguments (`--build-arg NAME=value`).")
    )
    target: Annotated[str, matching(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", "build stage name", "runtime")] | None = Field(
        None, description="Default: the Dockerfile's last stage. The stage of a multi-stage build to build."
    )

    def check(self) -> Iterator[Rule]:
        platforms = self.platforms or []
        for index, platform in enumerate(platforms):
            if platform in platforms[:index]:
                yield ("platforms", index), f"{platform!r} is listed twice; list each platform once"


class Build(Model):
    registry: Name | None = Field(
        None,
        description="Default: none, and then `images` is required. The key of `registries` the one image is pushed to.",
    )
    images: dict[Name, Image] | None = Field(
        None,
        min_length=1,
        description="Default: one image, `registry`/`dockerfile`/`context` (manifest v1.2). Several images by name, "
        "all built from the same commit, in parallel, each pushed to its registry under the commit's tag.",
    )
    dockerfile: str = Field("Dockerfile", min_length=1, description="Default: Dockerfile.")
    context: str = Field(".", min_length=1, description="Default: the repository root.")
    buildspec: str | None = Field(
        None,
        min_length=1,
        description="Default: generated (log in to ECR, build, tag with the commit id, push, write "
        "imagedefinitions.json). A path in the source replaces it: it must push to REPOSITORY_URI, export "
        "IMAGE_TAG and write images/<service>/imagedefinitions.json for each deployed service.",
    )
    compute: Annotated[str, matching(r"^(small|medium|large)$", "compute size", "small, medium or large")] = Field(
        "small",
        description="small | medium | large. Default: small.",
    )
    platform: Platform | None = Field(
        None,
        description="linux/amd64 | linux/arm64. Default: the platform of the services it deploys (they must "
        "agree). linux/arm64 builds and tests on ARM CodeBuild hosts.",
    )

    platforms: list[Platform] | None = Field(
        None,
        min_length=1,
        description="linux/amd64 | linux/arm64, each once (manifest v1.2). Several: each is built natively on its "
        "own CodeBuild host, then one multi-architecture image (an image index) carries the commit's tag, so the "
        "services and scheduled tasks following the registry may run on any of them, and may move between them. "
        "Default: `platform`.",
    )

    args: dict[Annotated[str, matching(r"^[A-Za-z_][A-Za-z0-9_]*$", "build argument name", "NODE_ENV")], str] | None = (
        Field(None, description="Default: none. Docker build arguments (`--build-arg NAME=value`).")
    )
    target: Annotated[str, matching(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", "build stage name", "runtime")] | None = Field(
        None, description="Default: the Dockerfile's last stage. The stage of a multi-stage build to build."
    )
    cache: bool = Field(
        True,
        description="Default: true, each build starts from the layers of the newest image its registry holds "
        "(BuildKit's inline cache: no cache tag, no cache repository). false: every layer is built anew.",
    )

    @property
    def architecture(self) -> str | None:
        """The platform as the catalog names architectures (x86_64, arm64), or None when unset."""
        return ARCHITECTURES[self.platform] if self.platform is not None else None

    @property
    def architectures(self) -> list[str] | None:
        """The architectures built (platforms, else platform), or None when they follow the services."""
        if self.platforms is not None:
            return [ARCHITECTURES[p] for p in self.platforms]
        return [ARCHITECTURES[self.platform]] if self.platform is not None else None

    @property
    def multi_architecture(self) -> bool:
        return len(self.platforms or ()) > 1

    @property
    def pushed_registry(self) -> str:
        """The registry of the one-image form (each image's view has one too)."""
        if self.registry is None:
            raise ValueError("build.images has no single registry: use Pipeline.image_views()")
        return self.registry

    def check(self) -> Iterator[Rule]:
        yield from self._check_form()
        platforms = self.platforms or []
        for index, platform in enumerate(platforms):
            if platform in platforms[:index]:
                yield ("platforms", index), f"{platform!r} is listed twice; list each platform once"
        if self.platforms is not None and self.platform is not None:
            yield (
                ("platform",),
                f"{self.platform!r}: platforms is set too; keep platforms (platform: X is platforms: [X])",
            )
        if self.multi_architecture and self.buildspec is not None:
            yield (
                ("buildspec",),
                f"{self.buildspec!r}: a custom buildspec builds one image, but platforms asks for "
                f"{len(platforms)}; remove buildspec (ecsforge builds each platform and the image index), or "
                "build the image index yourself and keep one platform",
            )

    def _check_form(self) -> Iterator[Rule]:
        if self.images is None and self.registry is None:
            yield (), "a build needs `registry` (one image) or `images` (several); add one"
        if self.images is None:
            return
        for field in ("registry", "dockerfile", "context", "buildspec", "platform", "args", "target"):
            if field in self.model_fields_set:
                yield (
                    (field,),
                    f"{getattr(self, field)!r}: `images` lists the images, so {field} belongs to each image; "
                    f"move it into images.<name> (or drop `images` for the one-image form)",
                )


class Test(Model):
    commands: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="Required. Shell commands run on the source; any failure stops the pipeline."
    )


class Deploy(Model):
    services: list[Name] = Field(
        min_length=1,
        description="Required. Services whose containers use `{registry: <build.registry>}`.",
    )
    timeout_minutes: int = Field(60, ge=5, le=60, description="5..60. Default: 60.")

    def check(self) -> Iterator[Rule]:
        for index, name in enumerate(self.services):
            if name in self.services[:index]:
                yield ("services", index), f"{name!r} is listed twice; list each service once"


class Pipeline(Model):
    source: Annotated[
        list[Source], BeforeValidator(_one_source_to_list, json_schema_input_type=Source | list[Source])
    ] = Field(
        min_length=1,
        description="Required. One source, or a list of named sources: the first is the build's primary input.",
    )
    build: Build = Field(description="Required. The image build.")
    test: Test | None = Field(None, description="Default: no test stage.")
    approval: Approval | None = Field(None, description="Default: no approval stage.")
    deploy: Deploy = Field(description="Required. The ECS deploy actions, one per service, in parallel.")
    promote: list[Promotion] = Field(
        default_factory=list,
        description="Default: none. After Deploy succeeds, the same image (same digest) goes to each of these "
        "environments, in order.",
    )
    notify: Notify | None = Field(
        None, description="Default: failures and approvals go to the email subscribers of approval.notify."
    )

    def check(self) -> Iterator[Rule]:
        names = [source.name for source in self.source]
        for index, name in enumerate(names):
            if name is None:
                yield ("source", index), "in a list of sources each needs a `name`; add one"
            elif name in names[:index]:
                yield ("source", index, "name"), f"{name!r} is used by another source; give each a distinct name"
