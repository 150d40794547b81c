"""`addons` (manifest v1.2, "Escape hatches"): CloudFormation templates the user writes.

A workload's addons are nested stacks of its own stack; the environment's (top-level `addons`)
are nested stacks of `<app>-<env>-addons`. The models hold what the user wrote; the templates
themselves are read by addon_templates.py, a step of load_manifest, and attached here, so that
the stacks never read a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Discriminator, Field, PrivateAttr, Tag

from .base import Model, matching

ParameterValue = str | int | float | bool | list[str]
OutputName = Annotated[str, Field(min_length=1, max_length=255)]

# What a workload addon's output becomes, from the type of the resource its value `Ref`s.
POLICY, SECURITY_GROUP, SECRET, VARIABLE = "policy", "security_group", "secret", "variable"
OUTPUT_KINDS = {
    "AWS::IAM::ManagedPolicy": POLICY,
    "AWS::EC2::SecurityGroup": SECURITY_GROUP,
    "AWS::SecretsManager::Secret": SECRET,
}


@dataclass(frozen=True)
class TemplateResource:
    logical_id: str
    type: str
    line: int
    column: int
    # Metadata.cdk_nag.rules_to_suppress of the resource: rule id -> reason.
    suppressed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AddonTemplate:
    """What ecsforge needs of one addon template: read once, by the manifest layer."""

    path: str  # absolute
    shown: str  # as problems and warnings name it: relative to where the manifest was loaded from
    key: str  # the construct id: the file's stem, so reordering the list replaces nothing
    parameters: dict[str, bool]  # declared parameter -> has a default
    outputs: dict[str, str]  # output -> kind (POLICY, SECURITY_GROUP, SECRET, VARIABLE)
    resources: dict[str, TemplateResource]


class Addon(Model):
    template: str = Field(
        min_length=1,
        description="Required. A CloudFormation template (YAML, short-form intrinsics allowed, or JSON), as a path "
        "relative to the manifest file that lists it. Deployed as a nested stack keyed by the file's name (not its "
        "place in the list).",
    )
    parameters: dict[Annotated[str, Field(min_length=1, max_length=255)], ParameterValue] = Field(
        default_factory=dict,
        description="Default: none. Values of the template's parameters (lists are passed comma-separated). "
        "`App`, `Env` and `Name` are passed for you when the template declares them.",
    )

    _resolved: AddonTemplate | None = PrivateAttr(None)

    def attach(self, template: AddonTemplate) -> None:
        self._resolved = template

    @property
    def resolved(self) -> AddonTemplate:
        if self._resolved is None:
            raise ValueError(f"addon {self.template!r} was not read by load_manifest")
        return self._resolved


class AddonValue(Model):
    """`{addon: <Output>}`: the value of an output of an environment addon, read from its SSM
    parameter when the workload's stack deploys."""

    addon: OutputName = Field(description="Required. An output of an environment addon (top-level `addons`).")


# Up to 255 characters, as the Outputs section takes for names.
CFN_EXPORT_NAME = r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,254}$"


class CfnExportValue(Model):
    """`{cfn_export: <Name>}`: the value of an existing CloudFormation export (Fn::ImportValue). The
    exporting stack is the user's: ecsforge never creates one."""

    cfn_export: Annotated[str, matching(CFN_EXPORT_NAME, "CloudFormation export name", "shop-db-SecretArn")] = Field(
        description="Required. The name of an export of a stack in the same account and region; while a stack "
        "imports it, CloudFormation lets nobody change or delete the export."
    )


def parameter_text(value: ParameterValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def upper_snake(name: str) -> str:
    """`OrdersTableName` -> `ORDERS_TABLE_NAME`, as Copilot names an addon output's variable."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).upper()


def shape(value: object) -> str:
    """Which form of a plain value, `{addon: <Output>}` or `{cfn_export: <Name>}` was written: told
    apart before validation, so that a mistake in one is reported once, for that form (an untagged
    union would add the other forms' complaints). A mapping without `cfn_export` is read as the
    addon form, the older one."""
    if isinstance(value, CfnExportValue) or (isinstance(value, dict) and "cfn_export" in value):
        return "(export)"
    return "(mapping)" if isinstance(value, dict | AddonValue) else "(value)"


EnvironmentValue = Annotated[
    Annotated[str, Tag("(value)")]
    | Annotated[AddonValue, Tag("(mapping)")]
    | Annotated[CfnExportValue, Tag("(export)")],
    Discriminator(shape),
]
