"""What the promoting pipeline and the promoted environment's trust stack agree on: the role's
ARN, the services deployed there, the release step there, and a fingerprint of the grant, so
that a stale trust stack fails the promotion with a clear message before anything changes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .. import names
from ..manifest.models import Manifest
from ..manifest.pipelines import Build, Deploy, Pipeline
from ..manifest.promotion import Promotion
from ..manifest.promotion_checks import promotion_services

# Bumped when the trust stack grants something new that the promotion script relies on.
TRUST_VERSION = 1


@dataclass(frozen=True)
class PromotionPlan:
    source: Manifest
    name: str
    pipeline: Pipeline
    promotion: Promotion

    @property
    def target(self) -> Manifest:
        target: Manifest = self.promotion.target
        return target

    @property
    def environment(self) -> str:
        return self.target.environment

    @property
    def registry(self) -> str:
        return self.pipeline.build.pushed_registry

    @property
    def services(self) -> list[str]:
        return promotion_services(self.promotion, self.target, self.registry)

    @property
    def target_pipeline(self) -> Pipeline:
        """The pipeline the promoted environment would have if it built the image itself: the
        release step generated for it does there exactly what the pipeline's does here."""
        return Pipeline.model_construct(
            source=[],
            build=Build.model_construct(registry=self.registry),
            deploy=Deploy.model_construct(services=self.services, timeout_minutes=self.promotion.timeout_minutes),
            promote=[],
        )

    @property
    def trust_stack(self) -> str:
        return self.target.stack_name(names.promotion_unit(self.source, self.name))

    def role_arn(self, account: str) -> str:
        path = names.promotion_role_path(self.target) + names.promotion_role_name(self.source, self.name)
        return f"arn:{self.target.partition}:iam::{account}:role{path}"

    def source_role_arn(self, account: str) -> str:
        name = names.promoting_role_name(self.source, self.name, self.target)
        return f"arn:{self.source.partition}:iam::{account}:role/{name}"

    @property
    def trust_parameter(self) -> str:
        return names.promotion_trust_parameter(self.target, self.source, self.name)

    @property
    def fingerprint(self) -> str:
        """Everything the trust stack's grant depends on; the pipeline compares it before promoting."""
        granted = {
            "version": TRUST_VERSION,
            "source": [self.source.account, self.source.region, self.source.environment, self.name],
            "target": [self.target.account, self.target.region, self.target.environment],
            "registry": self.registry,
            "services": self.services,
            "followers": sorted(self.target.release_followers(self.registry)),
        }
        return hashlib.sha256(json.dumps(granted, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def deploy_hint(self) -> str:
        account = self.target.account or "of this pipeline"
        return (
            f"run `cdk deploy {self.trust_stack} -c manifest=<the manifest declaring pipeline {self.name}>` "
            f"with credentials of account {account} (or from account {self.source.account or 'of the pipeline'} "
            "when that account's CDK bootstrap trusts it)"
        )


def plans(manifest: Manifest, name: str) -> list[PromotionPlan]:
    pipeline = manifest.pipelines[name]
    return [PromotionPlan(manifest, name, pipeline, promotion) for promotion in pipeline.promote]
