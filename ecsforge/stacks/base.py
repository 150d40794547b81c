"""What every ecsforge stack shares: name, environment, tags and availability zones."""

from __future__ import annotations

from aws_cdk import Environment, Stack
from constructs import Construct

from .. import names
from ..manifest.models import Manifest
from .overrides import OverridingSynthesizer, overriding_synthesizer

_AGNOSTIC_ZONES: dict[str, list[str]] = {}


class PlatformStack(Stack):
    def __init__(self, scope: Construct, manifest: Manifest, unit: str, *, description: str) -> None:
        name = manifest.stack_name(unit)
        # Only a stack with overrides gets a synthesizer of its own: every other one is as before.
        self.overrides: OverridingSynthesizer | None = overriding_synthesizer(manifest, unit)
        super().__init__(
            scope,
            name,
            stack_name=name,
            env=Environment(account=manifest.account, region=manifest.region),
            description=f"ecsforge {manifest.app}/{manifest.environment}: {description}",
            synthesizer=self.overrides,
        )
        self.manifest = manifest
        self.unit = unit
        self._zones = manifest.network.availability_zones

    @property
    def availability_zones(self) -> list[str]:
        # With a concrete account, CDK would look the zones up in that account even when
        # the VPC lists them; the manifest's zones make synth work offline.
        if self._zones:
            return list(self._zones)
        if self.manifest.account is not None:
            return list(super().availability_zones)
        # Without an account they are Fn::GetAZs tokens that name no stack: one round trip
        # into jsii serves every stack of the app.
        region = self.manifest.region
        if region not in _AGNOSTIC_ZONES:
            _AGNOSTIC_ZONES[region] = list(super().availability_zones)
        return list(_AGNOSTIC_ZONES[region])

    def export_name(self, what: str) -> str:
        return names.name(self.manifest, what)
