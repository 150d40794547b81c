"""Manifest -> stacks. The only place that decides which stacks exist."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from . import compliance
from .manifest.models import Manifest
from .stacks.base import PlatformStack
from .stacks.cluster import ClusterStack
from .stacks.network import NetworkStack
from .stacks.registries import RegistriesStack


@dataclass
class Platform:
    network: NetworkStack | None
    cluster: ClusterStack
    registries: RegistriesStack | None

    @property
    def stacks(self) -> list[PlatformStack]:
        return [s for s in (self.network, self.cluster, self.registries) if s is not None]


def build(app: App, manifest: Manifest) -> Platform:
    network = NetworkStack(app, manifest) if manifest.network.import_ is None else None
    cluster = ClusterStack(app, manifest, network)
    # CloudFormation rejects a stack with no resources: no registries, no stack.
    registries = RegistriesStack(app, manifest) if manifest.registries else None
    platform = Platform(network, cluster, registries)
    compliance.acknowledge(platform, manifest)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return platform
