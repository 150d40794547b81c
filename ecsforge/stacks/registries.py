"""`<app>-<environment>-registries`: the ECR repositories."""

from __future__ import annotations

from aws_cdk import CfnOutput
from constructs import Construct

from ..constructs.registry import repository
from ..manifest.models import Manifest
from .base import PlatformStack


class RegistriesStack(PlatformStack):
    def __init__(self, scope: Construct, manifest: Manifest) -> None:
        super().__init__(scope, manifest, "registries", description="ECR repositories (retained on deletion)")
        self.repositories = {}
        for key, registry in manifest.registries.items():
            repo = repository(self, key, name=f"{manifest.app}/{manifest.environment}/{key}", registry=registry)
            self.repositories[key] = repo
            CfnOutput(
                self,
                f"{key}-uri",
                value=repo.repository_uri,
                description=f"Push images for registry {key} here",
                export_name=self.export_name(f"registry-{key}-uri"),
            )
