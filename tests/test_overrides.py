"""`overrides` (manifest v1.2, "Escape hatches"): JSON Patch operations on a stack's synthesized
template. The example's templates are the unpatched ones with the patch applied (by `jsonpatch`,
the reference), with a coherent template asset; a path missing from the template stops synthesis
at its manifest line, every such path in one run; `ecsforge diff` shows what an override changes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonpatch
import pytest

from ecsforge import cli
from ecsforge.diff import synthesize_into
from ecsforge.manifest import LoadedManifest, ManifestError, load_manifest
from ecsforge.manifest.overrides import stack_units
from ecsforge.manifest.problems import Problem
from ecsforge.stacks.overrides import OverrideRun

from .helpers import ROOT, offline_env

EXAMPLE = "examples/overrides.yml"
STALE = "tests/manifests/overrides/stale-paths.yml"
SCHEMA = "tests/manifests/overrides/schema-errors.yml"
SERVICE = "shop-prod-service-orders"


def _templates(outdir: Path) -> dict[str, dict]:
    return {p.name.removesuffix(".template.json"): json.loads(p.read_text()) for p in outdir.glob("*.template.json")}


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example synthesized as it is, and with its overrides taken out."""
    loaded = load_manifest(ROOT / EXAMPLE)
    patched, plain = tmp_path_factory.mktemp("patched"), tmp_path_factory.mktemp("plain")
    synthesize_into(loaded, patched)
    without = loaded.manifest.model_copy(update={"overrides": {}})
    synthesize_into(LoadedManifest(loaded.filename, without), plain)
    return loaded, patched, plain


def test_the_patched_template_is_the_synthesized_one_with_the_patch_applied(example):
    loaded, patched, plain = example
    new, old = _templates(patched), _templates(plain)
    operations = [o.model_dump(by_alias=True, exclude_unset=True) for o in loaded.manifest.overrides["service-orders"]]
    assert new[SERVICE] == jsonpatch.apply_patch(old[SERVICE], operations)
    assert new[SERVICE] != old[SERVICE]
    # Only the overridden stack: the others are byte for byte what they were.
    others = sorted(name for name in new if name != SERVICE)
    assert others and all(
        (patched / f"{n}.template.json").read_bytes() == (plain / f"{n}.template.json").read_bytes() for n in others
    )


def test_a_patch_that_changes_nothing_leaves_the_file_as_cdk_wrote_it(example, tmp_path):
    """The patched file is written as CDK writes templates: with only the example's `test`
    operation, every byte is CDK's, so a patch shows in a file diff as exactly what it changed."""
    loaded, _, plain = example
    test_only = loaded.manifest.overrides["service-orders"][:1]
    assert test_only[0].op == "test"
    manifest = loaded.manifest.model_copy(update={"overrides": {"service-orders": test_only}})
    synthesize_into(LoadedManifest(loaded.filename, manifest), tmp_path)
    written = tmp_path / f"{SERVICE}.template.json"
    assert written.read_bytes() == (plain / f"{SERVICE}.template.json").read_bytes()


def test_the_example_sets_what_the_manifest_cannot(example):
    _, patched, _ = example
    resources = _templates(patched)[SERVICE]["Resources"]
    container = resources["ServiceTaskTaskDefinition2B6F6746"]["Properties"]["ContainerDefinitions"][0]
    assert container["Ulimits"] == [{"Name": "nofile", "SoftLimit": 131072, "HardLimit": 131072}]
    assert resources["Service9571FDD8"]["Properties"]["AvailabilityZoneRebalancing"] == "ENABLED"
    attributes = resources["ServiceTargetGroupE74A3394"]["Properties"]["TargetGroupAttributes"]
    assert attributes[-1] == {"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"}


def test_the_template_asset_is_the_patched_file(example):
    """cdk deploy uploads the template by its asset hash: it must be the patched file's."""
    _, patched, plain = example
    text = (patched / f"{SERVICE}.template.json").read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    assets = json.loads((patched / f"{SERVICE}.assets.json").read_text())["files"]
    assert assets[digest]["source"]["path"] == f"{SERVICE}.template.json"
    artifact = json.loads((patched / "manifest.json").read_text())["artifacts"][SERVICE]
    assert artifact["properties"]["stackTemplateAssetObjectUrl"].endswith(f"/{digest}.json")
    assert digest != hashlib.sha256((plain / f"{SERVICE}.template.json").read_bytes()).hexdigest()
    # Written as CDK writes templates (one-space indentation), so a diff of the files stays readable.
    assert text.decode().startswith('{\n "')


@pytest.mark.parametrize("manifest", ["examples/imported-vpc.yml", "examples/uploads.yml", "examples/fargate-web.yml"])
def test_stack_units_are_the_stacks_the_platform_builds(manifest):
    from aws_cdk import App

    from ecsforge.diff import cdk_context
    from ecsforge.platform import build

    loaded = load_manifest(ROOT / manifest).manifest
    platform = build(App(context=cdk_context()), loaded)
    built = {stack.unit for stack in platform.stacks if stack not in platform.promotions.values()}
    assert built == set(stack_units(loaded))


def _stale_problem_lines() -> list[int]:
    """The lines of the members the stale fixture's failures are about, read from the file."""
    lines = (ROOT / STALE).read_text().splitlines()
    wanted = ["path: /Resources/OrdersRepository", "path: /Resources/Service9571FDD8/Properties/Health"]
    wanted += [
        "path: /Resources/ServiceTaskTaskDefinition2B6F6746",
        "value: AWS::ECS::TaskDefinition",
        "from: /Outputs",
    ]
    return [next(i for i, line in enumerate(lines, 1) if line.strip().startswith(w)) for w in wanted]


@pytest.fixture(scope="module")
def stale_error(tmp_path_factory) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        synthesize_into(load_manifest(ROOT / STALE), tmp_path_factory.mktemp("stale"))
    return caught.value


def test_every_stale_path_is_reported_at_its_line_in_one_run(stale_error):
    problems = stale_error.problems
    assert [p.line for p in problems] == _stale_problem_lines()
    assert [p.path[:2] for p in problems] == [("overrides", "registries")] + [("overrides", "service-orders")] * 4
    assert [p.path[-1] for p in problems] == ["path", "path", "path", "value", "from"]
    for line in str(stale_error).splitlines():
        assert line.startswith(f"{ROOT / STALE}:") and ": overrides." in line


def test_a_stale_path_names_the_nearest_existing_one(stale_error):
    messages = [p.message for p in stale_error.problems]
    assert "nearest existing path: /Resources/Service9571FDD8/Properties/HealthCheckGracePeriodSeconds;" in messages[1]
    assert "ContainerDefinitions is an array of 1 item(s), indexed 0 to 0: it has no '1'" in messages[2]
    assert 'the value there is "AWS::ECS::Service", not "AWS::ECS::TaskDefinition"' in messages[3]
    assert "nearest existing path: /Outputs/ServiceName;" in messages[4]
    assert all("in the synthesized template of shop-prod-" in m for m in messages)


def test_cdk_synth_stops_with_the_lines_and_no_traceback(stale_error, tmp_path):
    """What `cdk synth` runs (app.py): exit 1, the same lines, no assembly left to deploy."""
    from ecsforge.diff import cdk_context

    context = json.dumps({**cdk_context(), "manifest": STALE})  # as the CLI passes it
    env = offline_env() | {"CDK_CONTEXT_JSON": context, "CDK_OUTDIR": str(tmp_path)}
    process = subprocess.run(
        [sys.executable, "-O", "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    expected = str(stale_error).replace(f"{ROOT}{os.sep}", "")
    assert process.stderr.strip().splitlines()[-len(stale_error.problems) :] == expected.splitlines()
    assert not (tmp_path / "manifest.json").exists()


def test_an_override_written_in_a_base_manifest_is_reported_there(tmp_path):
    (tmp_path / "base.yml").write_text(
        "version: 1\napp: shop\nenvironment: dev\nregion: eu-west-1\n"
        "services:\n  orders:\n    containers:\n      app: {image: nginx:1.27}\n"
        "overrides:\n  service-orders:\n    - {op: remove, path: /Outputs/ServiceName}\n"
    )
    (tmp_path / "prod.yml").write_text("extends: base.yml\nenvironment: prod\n")
    manifest = load_manifest(tmp_path / "prod.yml").manifest
    problem = manifest.problem_at(("overrides", "service-orders", 0, "path"), "'/Outputs/ServiceName': gone")
    line = (tmp_path / "base.yml").read_text().splitlines()[10]
    at = f"11:{line.index('/Outputs') + 1}"
    assert problem.where("prod.yml") == f"{tmp_path / 'base.yml'}:{at} (via {tmp_path / 'prod.yml'})"


def _value_lines(path: str) -> list[int]:
    return [i for i, line in enumerate((ROOT / path).read_text().splitlines(), 1) if line.strip().startswith("value:")]


@pytest.mark.parametrize("cdk_raises", [True, False], ids=["in-process", "report-only"])
def test_values_that_break_the_cloudformation_schema_are_reported_at_their_lines(cdk_raises, tmp_path):
    """CDK's CloudFormation validation reads the patched templates. It raises at synth in-process
    and in tests; with failSynthOnValidationErrors off (`cdk validate`) it only writes its report."""
    from aws_cdk import App

    from ecsforge.diff import cdk_context
    from ecsforge.platform import build, synthesize

    context = cdk_context() | {"@aws-cdk/core:failSynthOnValidationErrors": cdk_raises}
    app = App(outdir=str(tmp_path), context=context)
    with pytest.raises(ManifestError) as caught:
        synthesize(app, build(app, load_manifest(ROOT / SCHEMA).manifest))
    problems = caught.value.problems
    assert [(p.line, p.path) for p in problems] == [
        (line, ("overrides", "service-orders", index, "value")) for index, line in enumerate(_value_lines(SCHEMA))
    ]
    assert (
        "(F3012: ContainerDefinitions.0.Ulimits.0.HardLimit: 'unlimited' is not of type 'integer')"
        in problems[0].message
    )
    assert "(F3012: TargetGroupAttributes.2: " in problems[1].message
    assert "(F2002: Parameters/Stage/Type: Parameter 'Stage' has invalid Type 'Text')" in problems[2].message


def test_the_last_overridden_stack_raises_what_all_found():
    run = OverrideRun([object(), object()])  # type: ignore[list-item]
    first = Problem(3, 13, ("overrides", "cluster", 0, "path"), "'/X': missing", file="a.yml")
    run.finished([first])  # a stack still to come: no error yet
    assert run.error is None
    with pytest.raises(RuntimeError):
        run.finished([])
    assert run.error is not None and run.error.problems == [first]


# --- day 2: `ecsforge diff` ---------------------------------------------------------------------


def test_diff_shows_override_changes_resource_by_resource(diff, templates):
    result = diff("base", "overrides")
    old, new = templates("base")["life-dev-service-web"], templates("overrides")["life-dev-service-web"]
    assert "AvailabilityZoneRebalancing" not in old["Resources"]["Service9571FDD8"]["Properties"]
    changes = {c.logical_id: c for _, c in result.changes()}
    assert set(changes) == {"Service9571FDD8", "ServiceTaskTaskDefinition2B6F6746"}
    assert changes["Service9571FDD8"].action == "updated"
    assert "AvailabilityZoneRebalancing" in changes["Service9571FDD8"].properties
    # ContainerDefinitions is create-only: a new task definition revision, and one ECS deployment.
    assert changes["ServiceTaskTaskDefinition2B6F6746"].action == "replaced"
    assert changes["ServiceTaskTaskDefinition2B6F6746"].replaced_by == ("ContainerDefinitions",)
    assert [d.service for d in result.deployments] == ["Service9571FDD8"]
    assert new["Resources"]["Service9571FDD8"]["Properties"]["AvailabilityZoneRebalancing"] == "ENABLED"
    assert result.hazards == []


def test_diff_flags_an_override_that_replaces_a_stateful_resource(diff):
    result = diff("base", "overrides-log-group")
    assert [(h.kind, h.what.split()[0]) for h in result.hazards] == [("stateful", "ServiceTaskLogs28A293E0")]


def test_diff_command_prints_override_changes_and_stops_at_stale_paths(capsys):
    lifecycle = "tests/manifests/lifecycle"
    assert cli.main(["diff", f"{lifecycle}/base.yml", f"{lifecycle}/overrides.yml"]) == 0
    out = capsys.readouterr().out
    assert "  ~ updated Service9571FDD8 AWS::ECS::Service (AvailabilityZoneRebalancing, TaskDefinition)" in out
    assert (
        "  ! replaced ServiceTaskTaskDefinition2B6F6746 AWS::ECS::TaskDefinition (replaced by ContainerDefinitions"
        in out
    )
    assert cli.main(["diff", EXAMPLE, STALE]) == 1
    err = capsys.readouterr().err
    assert (
        "Traceback" not in err and f"{STALE}:{_stale_problem_lines()[1]}:13: overrides.service-orders[0].path: " in err
    )
