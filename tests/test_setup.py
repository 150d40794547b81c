"""The set-up a new user meets: pinned dependencies, cdk.json, README, CI."""

from __future__ import annotations

import json
import re

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
