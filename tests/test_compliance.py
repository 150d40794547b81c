"""cdk-nag is really wired in: without ecsforge's acknowledgements, synthesis fails."""

from __future__ import annotations

import os

import pytest
from aws_cdk import App

from ecsforge import compliance, platform
from ecsforge.diff import cdk_context
from ecsforge.manifest import load_manifest

from .helpers import ROOT


def build_app(tmp_path):
    app = App(outdir=str(tmp_path), context=cdk_context())
    platform.build(app, load_manifest(ROOT / "examples" / "ec2-spot.yml").manifest)
    return app


def test_unacknowledged_findings_fail_synthesis(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.pathsep.join([str(ROOT / "node_modules" / ".bin"), os.environ["PATH"]]))
    monkeypatch.setattr(compliance, "acknowledge", lambda *args: None)
    app = build_app(tmp_path)
    with pytest.raises(Exception, match="AwsSolutions-AS3"):
        app.synth()


def test_acknowledgements_have_reasons_and_are_scoped_to_resources():
    source = "".join(path.read_text() for path in sorted((ROOT / "ecsforge" / "compliance").glob("*.py")))
    # No stack-wide or app-wide acknowledgement: each one names the construct it is about.
    assert "Validations.of(app)" not in source and "Validations.of(stack)" not in source
    for rule, reason in compliance.INSTANCE_POLICY_FINDINGS.items():
        assert rule.startswith("AwsSolutions-IAM5[") and len(reason) > 40


OPTED_OUT = """\
version: 1
app: optout
environment: test
region: us-east-1
network:
  flow_logs: false
cluster:
  container_insights: disabled
"""


def test_explicit_opt_outs_are_acknowledged_and_nothing_else(synth, tmp_path):
    path = tmp_path / "opted-out.yml"
    path.write_text(OPTED_OUT)
    result = synth(path)
    assert result.returncode == 0, result.stderr
    templates = result.templates()
    assert not [r for r in templates["optout-test-network"]["Resources"].values() if r["Type"] == "AWS::EC2::FlowLog"]
    cluster = next(
        r for r in templates["optout-test-cluster"]["Resources"].values() if r["Type"] == "AWS::ECS::Cluster"
    )
    assert cluster["Properties"]["ClusterSettings"] == [{"Name": "containerInsights", "Value": "disabled"}]


def test_user_manifests_replace_the_default_gate_set(monkeypatch):
    from .helpers import default_manifests, gate_manifests

    monkeypatch.setenv("ECSFORGE_MANIFESTS", "a.yml  b/c.yml")
    assert gate_manifests() == ["a.yml", "b/c.yml"]
    monkeypatch.delenv("ECSFORGE_MANIFESTS")
    assert gate_manifests() == default_manifests()
    assert default_manifests()[0] == "platform.yml" and "examples/minimal.yml" in default_manifests()
