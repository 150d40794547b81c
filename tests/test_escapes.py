"""README's `$${` escape (a literal `${`) synthesizes wherever a string reaches a template, passes
aws-cdk's template validation, cdk-nag and cfn-lint, and the container gets the literal text;
a task role granted only a managed policy synthesizes too (tests/manifests/escapes.yml)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecsforge.constructs.template import literal_pieces
from ecsforge.manifest import load_manifest

from .helpers import ROOT, Synth, cfn_lint, inprocess_synth, only

MANIFEST = ROOT / "tests" / "manifests" / "escapes.yml"


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return inprocess_synth(MANIFEST, tmp_path_factory.mktemp("escapes"))


def joined(value: Any) -> Any:
    """A value as CloudFormation hands it to ECS: an all-literal Fn::Join joined."""
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        assert all(isinstance(part, str) for part in parts), parts
        return separator.join(parts)
    return value


def container(synth: Synth, stack: str, name: str) -> dict[str, Any]:
    definition = only(synth.resources(stack, "AWS::ECS::TaskDefinition"))
    return next(c for c in definition["Properties"]["ContainerDefinitions"] if c["Name"] == name)


def test_synthesis_passes_template_validation_cdk_nag_and_cfn_lint(synth: Synth) -> None:
    assert synth.returncode == 0, synth.stderr
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []
    lint = cfn_lint(synth)
    assert lint.returncode == 0 and lint.stdout.strip() == "", lint.stdout + lint.stderr


def test_the_container_gets_the_text_the_manifest_means(synth: Synth) -> None:
    spec = load_manifest(MANIFEST, environ={}).manifest.services["web"].containers["web"]
    rendered = container(synth, "esc-dev-service-web", "web")
    assert [joined(part) for part in rendered["Command"]] == spec.command
    assert [joined(part) for part in rendered["EntryPoint"]] == spec.entrypoint
    assert {e["Name"]: joined(e["Value"]) for e in rendered["Environment"]} == spec.environment
    assert spec.health_check is not None
    assert [joined(part) for part in rendered["HealthCheck"]["Command"]] == ["CMD-SHELL", spec.health_check.command]
    assert joined(rendered["User"]) == spec.user
    assert spec.logging is not None and spec.logging.firelens is not None
    options = rendered["LogConfiguration"]["Options"]
    assert {k: joined(v) for k, v in options.items() if k != "Name"} == spec.logging.firelens.options
    assert [joined(m["ContainerPath"]) for m in rendered["MountPoints"]] == [m.path for m in spec.mounts]
    # README's own example, as the shell in the container reads it.
    assert spec.command[2] == "exec app --port ${PORT}"


def test_no_plain_string_of_a_container_holds_an_opening(synth: Synth) -> None:
    # What aws-cdk's template validation (E1029) would take for a reference outside Fn::Sub.
    for stack in ("esc-dev-service-web", "esc-dev-task-report"):
        definition = only(synth.resources(stack, "AWS::ECS::TaskDefinition"))
        assert "${" not in json.dumps(definition["Properties"]["ContainerDefinitions"]), stack


def test_a_scheduled_task_gets_the_literal_text_too(synth: Synth) -> None:
    rendered = container(synth, "esc-dev-task-report", "report")
    assert joined(rendered["Command"][2]) == "echo ${HOSTNAME}"


def test_policy_variables_reach_the_policy_as_written(synth: Synth) -> None:
    # In a policy `${aws:username}` is IAM's own variable: it stays a plain string there.
    policies = synth.resources("esc-dev-service-web", "AWS::IAM::Policy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    (statement,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert statement["Resource"] == "arn:aws:s3:::esc-home/${aws:username}/*"
    assert statement["Condition"] == {"StringLike": {"s3:prefix": ["${aws:username}/*"]}}


def test_a_task_role_with_only_a_managed_policy_synthesizes(synth: Synth) -> None:
    stack = "esc-dev-service-mailer"
    definition = only(synth.resources(stack, "AWS::ECS::TaskDefinition"))
    role_id = definition["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    role = synth.templates()[stack]["Resources"][role_id]
    assert json.dumps(role["Properties"]["ManagedPolicyArns"]).count("AmazonSESFullAccess") == 1
    # No other statement (no inline policy): the case in which the acknowledgement was skipped.
    policies = synth.resources(stack, "AWS::IAM::Policy").values()
    assert [p for p in policies if {"Ref": role_id} in p["Properties"]["Roles"]] == []
    metadata = json.loads((synth.outdir / f"{stack}.metadata.json").read_text())
    entries = metadata[f"/{stack}/Service/Task/TaskDefinition/TaskRole/Resource"]
    reasons = {
        rule: why for e in entries if e["type"] == "aws:cdk:acknowledged-rules" for rule, why in e["data"].items()
    }
    (why,) = [why for rule, why in reasons.items() if "AmazonSESFullAccess" in rule]
    assert why.startswith(f"Attached by the user at {MANIFEST}:")


@pytest.mark.parametrize("value", ["${PORT}", "a${B}c${D}", "$${X}", "${", "x$", "${}${}", "$$${A}$", "plain"])
def test_literal_pieces_hold_no_opening_and_join_back(value: str) -> None:
    pieces = literal_pieces(value)
    assert "".join(pieces) == value
    assert not any("${" in piece for piece in pieces)
