"""`<app>-<environment>-registries`: the ECR repositories."""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..constructs.registry import repository
from ..manifest.models import Manifest
from . import exports
from .base import PlatformStack


class RegistriesStack(PlatformStack):
    def __init__(self, scope: Construct, manifest: Manifest) -> None:
        super().__init__(scope, manifest, "registries", description="ECR repositories (retained on deletion)")
        self.repositories = {}
        for key, registry in manifest.registries.items():
            repo = repository(self, key, name=exports.repository_name(manifest, key), registry=registry)
            self.repositories[key] = repo
            # The tag the pipeline last released; "none" until the first release. CloudFormation
            # never rewrites it (its template value does not change), the pipeline does.
            released = ssm.StringParameter(
                self,
                f"{key}-released-tag",
                parameter_name=exports.released_tag_parameter(manifest, key),
                string_value=exports.NOT_RELEASED,
                description=f"Tag of the image the pipeline last released to {exports.repository_name(manifest, key)}",
            )
            released.apply_removal_policy(RemovalPolicy.RETAIN)
            CfnOutput(
                self,
                f"{key}-uri",
                value=repo.repository_uri,
                description=f"Push images for registry {key} here",
                export_name=self.export_name(f"registry-{key}-uri"),
            )
