"""A commit's minutes to the first environment, modelled from a pipeline's stages (issue 22 point 8):
parallel images take the longest one, the cache shortens each, the Deploy stage is the deployment
model's, and README's table is the model's output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecsforge.manifest import load_manifest
from ecsforge.manifest.deployment import deployment_minutes, service_pause_minutes
from ecsforge.manifest.models import Manifest
from ecsforge.manifest.pipeline_images import image_views
from ecsforge.manifest.pipeline_timing import after, before, image_minutes

from .helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from pipeline_speed import END, START, markdown, rows


def _monorepo(tmp_path: Path, change: dict[str, Any] | None = None) -> Manifest:
    data = yaml.safe_load((ROOT / "examples" / "monorepo.yml").read_text())
    for key, value in (change or {}).items():
        if value is None:
            data["pipelines"]["shop"].pop(key)
        else:
            data["pipelines"]["shop"]["build"][key] = value
    path = tmp_path / "monorepo.yml"
    path.write_text(yaml.safe_dump(data))
    return load_manifest(path).manifest


@pytest.mark.parametrize("path", ["README.md", "bench/results.md"])
def test_the_written_table_is_the_models_output(path: str) -> None:
    text = (ROOT / path).read_text()
    assert START in text and END in text
    written = text.split(START, 1)[1].split(END, 1)[0]
    assert written == "\n" + markdown(rows())


def test_images_build_in_parallel_so_the_build_stage_takes_the_longest(tmp_path: Path) -> None:
    manifest = _monorepo(tmp_path)
    web, api = image_minutes(1, cached=True), image_minutes(2, cached=True)  # api: amd64 and arm64
    assert after(manifest, "shop").build == max(web[0], api[0]) < web[0] + api[0]
    assert after(manifest, "shop").codebuild == web[1] + api[1] + after(manifest, "shop").test


def test_without_the_cache_every_build_takes_longer(tmp_path: Path) -> None:
    cached, uncached = _monorepo(tmp_path), _monorepo(tmp_path, {"cache": False})
    assert after(uncached, "shop").build == image_minutes(2, cached=False)[0] > after(cached, "shop").build


def test_the_deploy_stage_is_the_deployment_model_of_its_longest_service() -> None:
    manifest = load_manifest(ROOT / "examples" / "fargate-web.yml").manifest
    services = manifest.pipelines["api"].deploy.services
    assert not any(service_pause_minutes(manifest.services[s].deployment) for s in services)
    assert after(manifest, "api").deploy == max(deployment_minutes(manifest.services[s]) for s in services)
    assert after(manifest, "api").deploy > after(manifest, "web").deploy  # a canary bakes; a rolling one does not


def test_before_a_pipeline_per_image_approved_one_after_another_adds_up_the_deployments(tmp_path: Path) -> None:
    manifest = _monorepo(tmp_path)
    views = image_views(manifest, manifest.pipelines["shop"]).values()
    each = [max(deployment_minutes(manifest.services[s]) for s in view.deploy.services) for view in views]
    assert before(manifest, "shop").deploy == sum(each)
    unapproved = _monorepo(tmp_path, {"approval": None})
    assert before(unapproved, "shop").deploy == max(each) < sum(each)
    assert after(manifest, "shop").total < before(manifest, "shop").total
