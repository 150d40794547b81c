"""The quality gates, over platform.yml and every example (or `MANIFESTS=...`):
synthesis offline, snapshots, cfn-lint 0/0, cdk-nag 0 unacknowledged, stateful resources kept."""

from __future__ import annotations

import json
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from ecsforge.diff.rules import duplicates, unresolved

from .helpers import ROOT, cfn_lint, gate_manifests, normalized

MANIFESTS = gate_manifests()
IDS = [m.removesuffix(".yml").replace("/", "-") for m in MANIFESTS]
# What holds data or keys to data: replacing or deleting one loses it.
STATEFUL_TYPES = {
    "AWS::ECR::Repository",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
    "AWS::CodeCommit::Repository",
    "AWS::EFS::FileSystem",
    "AWS::SQS::Queue",  # (topics hold no messages: the pipeline's notification topic is not kept)
    # In addon templates (examples/addons): the examples keep them as users should.
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",  # dynamodb.TableV2, in a team's own app (examples/library)
    "AWS::RDS::DBCluster",
    # The released-tag parameters, created once by AwsCustomResource. (An AWS::SSM::Parameter
    # holds only what its template says, such as a service's name, and is not kept.)
    "Custom::AWS",
}
# SSM parameters whose value the template takes from its own resources: every deploy
# writes them again, so deleting one loses nothing (and keeping it would block redeploying).
DERIVED_PARAMETERS = ("/load-balancer/listener-arn", "/load-balancer/full-name")


def kept_on_deletion(resource: dict[str, Any]) -> bool:
    if resource["Type"] == "AWS::SSM::Parameter" and str(resource["Properties"]["Name"]).endswith(DERIVED_PARAMETERS):
        return False
    return resource["Type"] in STATEFUL_TYPES


@pytest.fixture
def json_snapshot(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("manifest", MANIFESTS, ids=IDS)
def test_synthesizes_offline_with_node_22(synth, manifest):
    result = synth(manifest)
    assert result.returncode == 0, result.stderr
    assert "end-of-life" not in result.stderr
    assembly = json.loads((result.outdir / "manifest.json").read_text())
    assert "missing" not in assembly, f"synth wanted context lookups: {assembly.get('missing')}"
    assert not (ROOT / "cdk.context.json").exists()


@pytest.mark.parametrize("manifest", MANIFESTS, ids=IDS)
def test_templates_match_snapshot(synth, manifest, json_snapshot):
    assert normalized(synth(manifest).templates()) == json_snapshot


@pytest.mark.parametrize("manifest", MANIFESTS, ids=IDS)
def test_stateful_logical_ids_are_stable(synth, manifest, json_snapshot):
    """A change of these IDs would make CloudFormation replace (and so orphan) the resource."""
    stateful = {
        stack: sorted(name for name, r in template["Resources"].items() if kept_on_deletion(r))
        for stack, template in synth(manifest).templates().items()
    }
    assert stateful == json_snapshot


@pytest.mark.parametrize("manifest", MANIFESTS, ids=IDS)
def test_cfn_lint_is_clean(synth, manifest):
    result = synth(manifest)
    lint = result.lint or cfn_lint(result)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert lint.stdout.strip() == ""


@pytest.mark.parametrize("manifest", MANIFESTS, ids=IDS)
def test_cdk_nag_reports_nothing_unacknowledged(synth, manifest):
    result = synth(manifest)
    assert "AwsSolutions" not in result.stdout + result.stderr
    report = json.loads((result.outdir / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []


@pytest.mark.parametrize("manifest", MANIFESTS, ids=IDS)
def test_stateful_resources_survive_stack_deletion(synth, manifest):
    for stack, template in synth(manifest).templates().items():
        for name, resource in template["Resources"].items():
            if kept_on_deletion(resource):
                assert resource.get("DeletionPolicy") == "Retain", f"{stack}/{name}"
                assert resource.get("UpdateReplacePolicy") == "Retain", f"{stack}/{name}"


@pytest.mark.parametrize("manifest", MANIFESTS, ids=IDS)
def test_no_launch_configurations(synth, manifest):
    for template in synth(manifest).templates().values():
        kinds = {r["Type"] for r in template["Resources"].values()}
        assert "AWS::AutoScaling::LaunchConfiguration" not in kinds


@pytest.mark.parametrize("manifest", MANIFESTS, ids=IDS)
def test_no_security_group_rule_is_declared_twice(synth, manifest):
    """EC2 keeps one rule per (group, peer, protocol, ports): a second declaration of it, in any
    stack, deletes it for both when it goes (aws-cdk#4437). Also tests/test_shared_rules.py."""
    templates = synth(manifest).templates()
    assert unresolved(templates) == []
    assert {repr(k): [(r.stack, r.logical_id) for r in rules] for k, rules in duplicates(templates).items()} == {}
