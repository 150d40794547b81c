"""`<app>-<target environment>-promotion-<source environment>-<pipeline>`: a stack of the promoted
environment (its account and region), synthesized from the manifest that declares the pipeline,
since only that one knows who promotes. Deployed with the promoted account's credentials (or
from the pipeline's account when that account's CDK bootstrap trusts it)."""

from __future__ import annotations

from aws_cdk import CfnOutput, Tags
from constructs import Construct

from ..constructs.promotion_plan import PromotionPlan
from ..constructs.promotion_trust import PromotionTrust
from ..names import promotion_unit
from .base import PlatformStack

# Above the app's own tags (priority 100): this stack belongs to the promoted environment.
TAG_PRIORITY = 200


class PromotionTrustStack(PlatformStack):
    def __init__(self, scope: Construct, plan: PromotionPlan) -> None:
        target = plan.target
        super().__init__(
            scope,
            target,
            promotion_unit(plan.source, plan.name),
            description=f"trust for pipeline {plan.source.stack_name(plan.name)} to promote here",
        )
        for key, value in {**target.own_tags, **target.tags}.items():
            Tags.of(self).add(key, value, priority=TAG_PRIORITY)
        self.trust = PromotionTrust(self, "Promotion", plan=plan)
        CfnOutput(self, "RoleArn", value=self.trust.role.role_arn, description="Assumed by the promoting pipeline")
