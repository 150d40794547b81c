"""The set-up a new user meets: pinned dependencies, cdk.json, README, CI."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from .helpers import ROOT


def test_python_dependencies_are_pinned_exactly():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r "):
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.+\-]*", line), f"{name}: {line}"


def test_cdk_cli_and_node_are_pinned_in_package_lock():
    package = json.loads((ROOT / "package.json").read_text())
    assert package["devDependencies"] == {"aws-cdk": "2.1148.1", "node": "22.23.3"}
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/aws-cdk"]["version"] == "2.1148.1"
    assert lock["node_modules/node"]["version"] == "22.23.3"


def test_cdk_json():
    cdk = json.loads((ROOT / "cdk.json").read_text())
    # -O: no jsii argument type checks at synth (the tests keep them); setup compiles the
    # optimized bytecode, or every -O run would compile aws_cdk's modules again.
    assert cdk["app"] == "python3 -O app.py"
    assert 'env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/python -O -c "import app"' in (ROOT / "Makefile").read_text()
    assert cdk["context"]["manifest"] == "platform.yml"
    assert cdk["context"]["@aws-cdk/aws-autoscaling:generateLaunchTemplateInsteadOfLaunchConfig"] is True


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(make \S+)$", text.split("##")[0], re.MULTILINE)
    assert commands[:2] == ["make synth", "make test"]
    assert "cdk synth -c manifest=examples/" in text
    assert "cdk bootstrap aws://" in text and "cdk deploy --all" in text and "cdk destroy" in text


def test_ci_runs_make_test_and_nothing_else():
    lines = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))
    ]
    assert lines == ["make test"]


def test_setup_installs_the_ecsforge_command_from_this_checkout():
    """`make setup` (which `make synth` and `make test` run) installs the project editable:
    .venv/bin/ecsforge is pyproject.toml's [project.scripts] entry, running this checkout's code."""
    import tomllib
    from importlib import metadata

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [backend] = project["build-system"]["requires"]
    assert re.fullmatch(r"setuptools==[0-9.]+", backend)
    assert backend in (ROOT / "requirements-dev.txt").read_text().splitlines(), "pin the build backend for setup"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^\$\(VENV\)/\.installed: .*pyproject\.toml", makefile, re.MULTILINE)
    assert "pip install --quiet --no-deps --no-build-isolation -e ." in makefile

    [entry] = [e for e in metadata.distribution("ecsforge").entry_points if e.group == "console_scripts"]
    assert f"{entry.name} = {entry.value}" == "ecsforge = " + project["project"]["scripts"]["ecsforge"]
    command = ROOT / ".venv" / "bin" / "ecsforge"
    process = subprocess.run(
        [str(command), "validate", "examples/minimal.yml"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert (process.returncode, process.stdout) == (0, "examples/minimal.yml: ok\n"), process.stderr
    # Editable: the command runs the code of this checkout, not a copy that goes stale.
    imported = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", "import ecsforge; print(ecsforge.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(imported.stdout.strip()) == ROOT / "ecsforge" / "__init__.py"
