"""`ecsforge init`: a starter manifest that validates and synthesizes as written, and the
`ecsforge` command itself (pyproject.toml's [project.scripts])."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tomllib
from importlib import import_module
from pathlib import Path

import pytest

from ecsforge.cli import main
from ecsforge.manifest import load_manifest

from .helpers import ROOT, cdk_synth, cfn_lint

FLAGS = ["--app", "shop", "--environment", "dev", "--region", "eu-west-1"]


class Terminal(io.StringIO):
    """Standard input as a terminal, with the user's answers already typed."""

    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("init") / "platform.yml"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdin", Pipe(""))
        assert main(["init", str(path), *FLAGS]) == 0
    return path


@pytest.fixture(scope="module")
def synthesized(starter: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The starter through the real `cdk synth`, once for the module."""
    return cdk_synth(starter, tmp_path_factory.mktemp("init-out"))


def test_init_then_validate_pass_without_warnings(starter, capsys):
    capsys.readouterr()
    assert main(["validate", str(starter)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"{starter}: ok"
    assert "warning" not in captured.err


def test_the_starter_is_one_fargate_service_behind_the_load_balancer(starter):
    manifest = load_manifest(starter).manifest
    assert (manifest.app, manifest.environment, manifest.region) == ("shop", "dev", "eu-west-1")
    [service] = manifest.services.values()
    assert service.http is not None
    [container] = service.containers.values()
    assert (container.image.reference, container.port) == ("public.ecr.aws/nginx/nginx:1.27", 80)
    assert not manifest.cluster.ec2 and not manifest.registries and not manifest.pipelines


def test_cdk_synth_of_the_starter_is_lint_and_nag_clean(synthesized):
    assert synthesized.returncode == 0, synthesized.stderr
    assert "AwsSolutions" not in synthesized.stdout + synthesized.stderr
    stacks = set(synthesized.templates())
    assert {"shop-dev-network", "shop-dev-cluster", "shop-dev-service-web"} <= stacks
    lint = cfn_lint(synthesized)
    assert lint.returncode == 0 and lint.stdout.strip() == "", lint.stdout + lint.stderr
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []


def test_the_schema_line_points_at_the_repositorys_schema(starter):
    first = starter.read_text().splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    assert (starter.parent / first.removeprefix(prefix)).resolve() == ROOT / "schema" / "manifest-v1.json"


def test_every_field_written_is_explained(starter):
    """Each line that sets a value carries a comment, on it or on the line after (a long image)."""
    lines = starter.read_text().splitlines()
    unexplained = [
        line
        for index, line in enumerate(lines)
        if re.match(r"^\s*[a-z_]+: \S", line) and "#" not in line and not lines[index + 1].lstrip().startswith("#")
    ]
    assert unexplained == []


def test_image_and_port_flags(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Pipe(""))
    path = tmp_path / "api.yml"
    image = "public.ecr.aws/docker/library/httpd:2.4"
    assert main(["init", str(path), *FLAGS, "--image", image, "--port", "8080"]) == 0
    [service] = load_manifest(path).manifest.services.values()
    [container] = service.containers.values()
    assert (container.image.reference, container.port) == (image, 8080)


def test_never_overwrites(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", Pipe(""))
    path = tmp_path / "platform.yml"
    path.write_text("mine\n")
    assert main(["init", str(path), *FLAGS]) == 1
    assert path.read_text() == "mine\n"
    assert f"{path} exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [
        ("--app", "Shop", "is not a valid name"),
        ("--app", "a-very-long-app-name-x", "use at most 20"),
        ("--environment", "production-eu", "use at most 12"),
        ("--region", "europe", "is not a valid AWS region"),
        ("--image", "bad image", "is not an image reference"),
        ("--port", "70000", "outside 1..65535"),
    ],
)
def test_a_bad_value_is_reported_by_its_flag(tmp_path, monkeypatch, capsys, flag, value, said):
    monkeypatch.setattr(sys, "stdin", Pipe(""))
    path = tmp_path / "platform.yml"
    given = dict(zip(FLAGS[::2], FLAGS[1::2], strict=True)) | {flag: value}
    assert main(["init", str(path), *(part for pair in given.items() for part in pair)]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"error: {flag}: "), errors
    assert value in errors[0] and said in errors[0]
    assert not path.exists()


def test_missing_flags_without_a_terminal_exit_2_naming_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", Pipe(""))
    path = tmp_path / "platform.yml"
    assert main(["init", str(path), "--app", "shop"]) == 2
    assert "required: --environment, --region" in capsys.readouterr().err
    assert not path.exists()


def test_in_a_terminal_it_asks_and_asks_again_for_a_bad_answer(tmp_path, monkeypatch, capsys):
    # app, environment, region, image (default), port (default); then app again.
    monkeypatch.setattr(sys, "stdin", Terminal("Shop\ndev\neu-west-1\n\n\nshop\n"))
    path = tmp_path / "platform.yml"
    assert main(["init", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("app: application name") == 2
    assert "error: --app: 'Shop' is not a valid name" in captured.err
    manifest = load_manifest(path).manifest
    assert (manifest.app, manifest.environment, manifest.region) == ("shop", "dev", "eu-west-1")


def test_an_interrupted_prompt_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal("shop\n"))  # then end of input
    path = tmp_path / "platform.yml"
    assert main(["init", str(path)]) == 1
    assert not path.exists()


# --- the `ecsforge` command ---------------------------------------------------------------


def console_script():  # type: ignore[no-untyped-def]
    """What pip's generated .venv/bin/ecsforge calls: pyproject.toml's [project.scripts] entry."""
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["ecsforge"]
    module, function = target.split(":")
    return getattr(import_module(module), function)


def test_the_console_script_runs_the_commands(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ecsforge", "validate", str(ROOT / "examples" / "minimal.yml")])
    assert console_script()() == 0
    assert capsys.readouterr().out.strip().endswith("minimal.yml: ok")


def test_help_names_the_command_ecsforge_and_python_m_still_works():
    process = subprocess.run(
        [sys.executable, "-m", "ecsforge", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert process.stdout.startswith("usage: ecsforge ")
    assert "init" in process.stdout
