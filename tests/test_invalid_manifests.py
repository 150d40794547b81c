"""One fixture file per invalid case; its error text is snapshotted (schemathesis style)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ecsforge.manifest import ManifestError, load_manifest

from .helpers import ROOT, offline_env

INVALID = sorted((ROOT / "tests" / "manifests" / "invalid").glob("*.yml"))
# The bases that overlay cases extend: not cases themselves.
BASES = ROOT / "tests" / "manifests" / "invalid" / "bases"
# The addon templates that addon cases list: a problem inside one names the template's own line.
ADDON_TEMPLATES = ROOT / "tests" / "manifests" / "addons"


def error_text(path: Path) -> str:
    with pytest.raises(ManifestError) as caught:
        load_manifest(path.relative_to(ROOT), environ={})
    return str(caught.value)


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_error_text(path, snapshot):
    text = error_text(path)
    case = str(path.relative_to(ROOT))
    for line in text.splitlines():
        location, _, rest = line.partition(": ")
        location, _, chain = location.partition(" (via ")
        file, row, column = location.rsplit(":", 2)
        assert row.isdigit() and column.isdigit(), line
        # A value written in a base (tests/manifests/invalid/bases/) names the base and the chain from the case.
        in_base = file.startswith(str(BASES.relative_to(ROOT))) and chain.startswith(case)
        assert file == case or in_base or file.startswith(str(ADDON_TEMPLATES.relative_to(ROOT))), line
        assert ": " in rest, f"no dotted path and message: {line}"
    assert text == snapshot


def test_every_problem_of_a_file_is_reported_at_once():
    lines = error_text(ROOT / "tests" / "manifests" / "invalid" / "several-problems.yml").splitlines()
    paths = [line.split(": ")[1] for line in lines]
    assert paths == [
        "network.cidr",
        "network.nat_gatways",
        "cluster.ec2.general.min",
        "cluster.ec2.awsbatch",
        "registries.web.untagged_days",
        "registries.web.encryption",
    ]


def test_validate_command_exits_1_without_traceback():
    env = {k: v for k, v in offline_env().items() if not k.startswith("ECSFORGE_TEST_")}
    process = subprocess.run(
        [sys.executable, "-m", "ecsforge", "validate", *[str(p.relative_to(ROOT)) for p in INVALID]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    expected = "\n".join(error_text(p) for p in INVALID)
    assert process.stderr.strip() == expected


def test_validate_command_accepts_valid_manifests():
    process = subprocess.run(
        [sys.executable, "-m", "ecsforge", "validate", "platform.yml", "examples/minimal.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.splitlines() == ["platform.yml: ok", "examples/minimal.yml: ok"]


def test_cdk_synth_of_an_invalid_manifest_shows_only_the_problems(synth):
    result = synth("tests/manifests/invalid/several-problems.yml")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "jsii" not in result.stderr.lower()
    assert error_text(ROOT / "tests" / "manifests" / "invalid" / "several-problems.yml") in result.stderr
