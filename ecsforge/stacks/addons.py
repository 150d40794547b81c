"""`<app>-<environment>-addons`: the environment's addons (top-level `addons`), each a nested
stack, deployed after the network and before the workloads. Every output is published as an SSM
parameter that `{addon: <Output>}` reads; never an export, so an addon's output may change or go
without CloudFormation holding the addons stack hostage."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import names
from ..constructs.addons import IncludedAddon, include_addons
from ..constructs.refs import PlatformRefs
from ..manifest.models import Manifest
from .base import PlatformStack


class AddonsStack(PlatformStack):
    def __init__(self, scope: Construct, manifest: Manifest, network: Stack | None) -> None:
        super().__init__(scope, manifest, names.ADDONS_UNIT, description="environment addons")
        if network is not None:
            self.add_stack_dependency(network, reason="addons get the VPC and its subnets")
        self.addons: list[IncludedAddon] = include_addons(self, manifest.addons, self._passed(manifest))
        for included in self.addons:
            for output in included.resolved.outputs:
                ssm.StringParameter(
                    self,
                    f"Output-{output}",
                    parameter_name=names.addon_output_parameter(manifest, output),
                    string_value=included.output(output),
                    description=f"Output {output} of addon {included.addon.template} of "
                    f"{manifest.app}/{manifest.environment}",
                )

    def _passed(self, manifest: Manifest) -> dict[str, str]:
        passed = {"App": manifest.app, "Env": manifest.environment, "Name": "environment"}
        declared = {name for addon in manifest.addons for name in addon.resolved.parameters}
        if not declared & {"VpcId", "PrivateSubnets", "PublicSubnets"}:
            return passed  # no import of the network's exports that nothing uses
        imported = manifest.network.import_
        if imported is not None:
            passed.update(VpcId=imported.vpc_id, PrivateSubnets=",".join(imported.private_subnet_ids))
            if imported.public_subnet_ids:
                passed["PublicSubnets"] = ",".join(imported.public_subnet_ids)
            return passed
        refs = PlatformRefs(self, manifest)
        passed.update(
            VpcId=refs.imported(names.VPC_ID),
            PrivateSubnets=refs.imported(names.PRIVATE_SUBNETS),
            PublicSubnets=refs.imported(names.PUBLIC_SUBNETS),
        )
        return passed


def depend_on_addons(addons: AddonsStack | None, workloads: list[Stack]) -> None:
    """Every workload deploys after the environment's addons: those reading `{addon: X}` need the
    parameter, and the others may use what an addon made by name."""
    if addons is None:
        return
    for stack in workloads:
        stack.add_stack_dependency(addons, reason="deploys after the environment's addons")
