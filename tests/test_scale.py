"""500 services synthesize into templates CloudFormation and the ALB accept.

Correctness at scale, not speed: speed and memory are measured by `make bench`."""

from __future__ import annotations

import json
import sys

import pytest

from .helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from generate import manifest as bench_manifest

LIMITS = {"resources": 500, "bytes": 1_000_000, "outputs": 200}


@pytest.fixture(scope="module")
def five_hundred(synth, scale_manifest):
    return synth(scale_manifest)


def test_the_benchmark_mix_is_what_it_claims():
    services = bench_manifest(500)["services"]
    assert len(services) == 500
    assert sum("http" in s for s in services.values()) == 100
    assert {s.get("network_mode", "awsvpc") for s in services.values()} == {"awsvpc", "bridge"}
    assert all(s["containers"]["app"]["secrets"] for s in services.values())


def test_500_services_synthesize_with_cdk_nag_clean(five_hundred):
    assert five_hundred.returncode == 0, five_hundred.stderr[-3000:]
    assert "AwsSolutions" not in five_hundred.stdout + five_hundred.stderr
    assert len(five_hundred.templates()) == 3 + 500


def test_no_stack_over_cloudformation_limits(five_hundred):
    for path in five_hundred.outdir.glob("*.template.json"):
        template = json.loads(path.read_text())
        assert len(template["Resources"]) <= LIMITS["resources"], path.name
        assert path.stat().st_size <= LIMITS["bytes"], path.name
        assert len(template.get("Outputs", {})) <= LIMITS["outputs"], path.name


def test_the_shared_load_balancer_stays_within_its_rule_quota(five_hundred):
    rules = [
        r["Properties"]
        for t in five_hundred.templates().values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
    ]
    assert len(rules) == 100
    priorities = [r["Priority"] for r in rules]
    assert len(set(priorities)) == len(priorities)
    assert all(1 <= p <= 50000 for p in priorities)
