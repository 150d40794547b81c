"""`import copilot`, pipelines (issue 22 point 7): one Copilot pipeline becomes one ecsforge pipeline that
builds every image its first stage runs (services, their sidecars, scheduled jobs) from one commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ecsforge.importers.copilot import Options, Result, import_workspace

from .helpers import Synth, inprocess_synth
from .test_copilot_mapping import CONNECTION, imported, validate_written, web, workspace

GITHUB = {"provider": "GitHub", "properties": {"repository": "https://github.com/acme/demo"}}
STAGES = [
    {"name": "test", "test_commands": ["make test"], "requires_approval": True},
    {"name": "prod", "requires_approval": True},
]
REPORT = {
    "name": "report",
    "type": "Scheduled Job",
    "on": {"schedule": "@daily"},
    "image": {"build": "jobs/Dockerfile"},
}
SIDECAR = {"cache": {"image": {"build": "cache/Dockerfile"}, "port": 6379}}


def _workloads() -> dict[str, Any]:
    site = web(http={"path": "/"}, image={"build": "web/Dockerfile", "port": 80}, sidecars=SIDECAR)
    return {"web": site, "report": REPORT}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    tmp = tmp_path_factory.mktemp("copilot-pipeline")
    pipelines = {"release": {"name": "release", "source": GITHUB, "stages": STAGES}}
    ws = workspace(tmp, _workloads(), environments={"test": {}, "prod": {}}, pipelines=pipelines)
    found = import_workspace(ws, Options("us-east-1", {}, CONNECTION))
    validate_written(found, tmp / "out")
    return found, tmp / "out"


@pytest.fixture(scope="module")
def synthesized(result: tuple[Result, Path], tmp_path_factory: pytest.TempPathFactory) -> Synth:
    _, out = result
    return inprocess_synth(out / "test.yml", tmp_path_factory.mktemp("cdk") / "cdk.out")


def test_every_image_of_the_first_stage_is_built_by_one_pipeline(result: tuple[Result, Path]) -> None:
    found, _ = result
    pipelines = found.full["test"]["pipelines"]
    assert list(pipelines) == ["release"]
    release = pipelines["release"]
    assert release["build"] == {
        "images": {
            "web": {"registry": "web", "dockerfile": "web/Dockerfile", "context": "web"},
            "report": {"registry": "report", "dockerfile": "jobs/Dockerfile", "context": "jobs"},
        }
    }
    assert release["deploy"] == {"services": ["web"]}  # the job follows its registry's released tag
    assert release["test"] == {"commands": ["make test"]}
    assert release["approval"] == {}


def test_the_report_says_what_became_of_each_image_and_stage(result: tuple[Result, Path]) -> None:
    found, _ = result
    lines = found.report.lines()
    assert not [line for line in lines if "built by no ecsforge pipeline" in line]
    # the sidecar's image: its service deploys one image from the pipeline, the web image
    assert any(
        "stages: approximate; 'web-cache': its service runs another image of this pipeline" in line for line in lines
    )
    assert any(
        line.startswith("copilot/pipelines/release/manifest.yml:")
        and "stages[1]: not imported; promotion of several images" in line
        and "'prod' (and its approval)" in line
        for line in lines
    )


def test_the_imported_pipeline_synthesizes_with_a_build_per_image(synthesized: Synth) -> None:
    assert synthesized.returncode == 0, synthesized.stderr
    pipelines = [
        resource
        for template in synthesized.templates().values()
        for resource in template.get("Resources", {}).values()
        if resource["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    assert len(pipelines) == 1
    stages = {stage["Name"]: stage["Actions"] for stage in pipelines[0]["Properties"]["Stages"]}
    build = next(actions for name, actions in stages.items() if name.lower().startswith("build"))
    assert len(build) == 2


def test_a_pipeline_of_one_workload_keeps_the_one_image_form_and_promotes(tmp_path: Path) -> None:
    stages = [{**stage, "deployments": {"web": None}} for stage in STAGES]
    pipelines = {"release": {"name": "release", "source": GITHUB, "stages": stages}}
    full, _ = imported(
        tmp_path,
        {"web": web(http={"path": "/"}, image={"build": "web/Dockerfile", "port": 80}), "report": REPORT},
        environments={"test": {}, "prod": {}},
        pipelines=pipelines,
        connection_arn=CONNECTION,
    )
    release = full["test"]["pipelines"]["release"]
    assert release["build"] == {"registry": "web", "dockerfile": "web/Dockerfile", "context": "web"}
    assert release["promote"] == [{"manifest": "prod.yml", "approval": {}, "services": ["web"]}]


def test_a_pipeline_deploying_only_a_job_is_reported_not_imported(tmp_path: Path) -> None:
    pipelines = {"jobs": {"name": "jobs", "source": GITHUB, "stages": [{"name": "test"}]}}
    full, lines = imported(tmp_path, {"report": REPORT}, pipelines=pipelines, connection_arn=CONNECTION)
    assert "pipelines" not in full["test"]
    assert any("stages: not imported; the first stage deploys no service" in line for line in lines)


def test_build_args_and_target_go_to_the_image(tmp_path: Path) -> None:
    build = {"dockerfile": "web/Dockerfile", "args": {"NODE_ENV": "production", "bad-name": "x"}, "target": "runtime"}
    built = web(http={"path": "/"}, image={"build": {**build, "cache_from": ["a:b"]}, "port": 80})
    pipelines = {"release": {"name": "release", "source": GITHUB, "stages": [{"name": "test"}]}}
    full, lines = imported(tmp_path, {"web": built}, pipelines=pipelines, connection_arn=CONNECTION)
    assert full["test"]["pipelines"]["release"]["build"] == {
        "registry": "web",
        "dockerfile": "web/Dockerfile",
        "context": "web",
        "args": {"NODE_ENV": "production"},
        "target": "runtime",
    }
    text = "\n".join(lines)
    assert "image.build.args.bad-name: not imported" in text
    assert "image.build.cache_from: not imported" in text
    assert "image.build.target" not in text
