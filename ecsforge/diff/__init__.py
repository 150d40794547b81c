"""`python -m ecsforge diff OLD.yml NEW.yml`: what deploying NEW over OLD would do, offline.

Both manifests are synthesized in this process and their templates compared by structure:
resources added, removed, updated and replaced (from the CloudFormation resource schemas'
createOnlyProperties, which cfn-lint ships), the ECS deployments the change starts, and
every hazard. Nothing here calls AWS.

synthesis: templates in this process; schemas: create-only properties; templates: reading one;
changes: resource changes and how replacements propagate; nested: addons' nested stacks, compared as
their parent's resources; services: ECS deployments;
view: what the rules look at; hazards and notes: one rule per function; architecture: what only
the manifests tell (a workload moving to a CPU architecture its released image lacks); compare: the whole diff;
render: the text printed.
"""

from __future__ import annotations

from ..manifest.deployment import DEPLOYMENT_MARGIN_MINUTES, NLB_SHIFT_DELAY_MINUTES
from .architecture import architecture_findings
from .compare import diff_manifests, diff_templates
from .model import (
    ADDED,
    CHANGED,
    REMOVED,
    REPLACED,
    UNCHANGED,
    UPDATED,
    Deployment,
    DiffResult,
    Hazard,
    Note,
    ResourceChange,
    StackDiff,
    Templates,
)
from .render import render
from .schemas import create_only_paths
from .services import deployment_minutes, is_traffic_shifting, strategy_of
from .synthesis import ROOT, SynthError, cdk_context, synthesize, synthesize_into

__all__ = [
    "ADDED",
    "CHANGED",
    "DEPLOYMENT_MARGIN_MINUTES",
    "NLB_SHIFT_DELAY_MINUTES",
    "REMOVED",
    "REPLACED",
    "ROOT",
    "UNCHANGED",
    "UPDATED",
    "Deployment",
    "DiffResult",
    "Hazard",
    "Note",
    "ResourceChange",
    "StackDiff",
    "SynthError",
    "Templates",
    "architecture_findings",
    "cdk_context",
    "create_only_paths",
    "deployment_minutes",
    "diff_manifests",
    "diff_templates",
    "is_traffic_shifting",
    "render",
    "strategy_of",
    "synthesize",
    "synthesize_into",
]
