"""ecsforge runs jsii's kernel without jsii's relaying host process (ecsforge/jsii_kernel.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecsforge import jsii_kernel

from .helpers import ROOT

# A library's console output (a jsii deprecation warning, printed by the kernel) and the
# kernel's processes, seen from a fresh Python process.
PROBE = """
import json, os, subprocess, sys
from ecsforge.jsii_kernel import use_direct_kernel
direct = use_direct_kernel() if sys.argv[1] == "direct" else False
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
stack = Stack(App(), "Probe")
# `cidr` is deprecated: aws-cdk-lib prints a warning on the kernel's console.
vpc = ec2.Vpc(stack, "Vpc", cidr="10.0.0.0/16", max_azs=1, nat_gateways=0)
subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PUBLIC).subnet_ids
children = subprocess.run(["ps", "-o", "args=", "--ppid", str(os.getpid())], capture_output=True, text=True)
nodes = [line for line in children.stdout.splitlines() if line.startswith("node")]
print(json.dumps({"direct": direct, "nodes": nodes, "subnets": len(subnets)}))
"""


def probe(mode: str) -> tuple[dict[str, object], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JSII_RUNTIME", "NODE_PRESERVE_SYMLINKS")}
    env["JSII_DEPRECATED"] = "warn"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_the_pinned_jsii_kernel_can_run_direct():
    # Fails when a jsii upgrade changes how its kernel opens its channel: then ecsforge would
    # silently fall back to the slower host process.
    files = jsii_kernel.direct_files()
    assert files is not None
    kernel = files[jsii_kernel.KERNEL]
    assert kernel.count(jsii_kernel.DIRECT_CHANNEL) == 1
    assert jsii_kernel.HOSTED_CHANNEL not in kernel
    # Every other file is jsii's own, unchanged.
    stock = jsii_kernel.kernel_files()
    assert {path: files[path] for path in stock if path != jsii_kernel.KERNEL} == {
        path: content for path, content in stock.items() if path != jsii_kernel.KERNEL
    }


@pytest.fixture(scope="module")
def probes() -> dict[str, tuple[dict[str, object], str]]:
    return {mode: probe(mode) for mode in ("direct", "hosted")}


def test_the_direct_kernel_is_one_node_process(probes):
    direct, _ = probes["direct"]
    hosted, _ = probes["hosted"]
    assert direct["direct"] is True
    assert len(direct["nodes"]) == 1 and jsii_kernel.ENTRY.split("/")[-1] in direct["nodes"][0]
    # jsii's own runtime: the host process (its kernel is the host's child, not ours).
    assert hosted["direct"] is False
    assert len(hosted["nodes"]) == 1 and "jsii-runtime.js" in hosted["nodes"][0]
    assert direct["subnets"] == hosted["subnets"] == 1


def test_library_console_output_reaches_stderr_as_with_the_host(probes):
    _, direct_stderr = probes["direct"]
    _, hosted_stderr = probes["hosted"]
    warning = "aws-cdk-lib.aws_ec2.VpcProps#cidr is deprecated"
    assert warning in hosted_stderr
    # Decoded by jsii's Python side exactly as the host's, not printed as raw protocol lines.
    assert direct_stderr == hosted_stderr


def test_without_a_matching_kernel_jsii_keeps_its_host(monkeypatch, tmp_path):
    monkeypatch.setattr(jsii_kernel, "HOSTED_CHANNEL", b"no such channel")
    monkeypatch.delenv("JSII_RUNTIME", raising=False)
    assert jsii_kernel.direct_files() is None
    assert jsii_kernel.use_direct_kernel() is False
    monkeypatch.setenv("JSII_RUNTIME", str(tmp_path / "chosen.js"))
    monkeypatch.setattr(jsii_kernel, "HOSTED_CHANNEL", b"readFD:3,writeFD:3")
    assert jsii_kernel.use_direct_kernel() is False
    assert Path(os.environ["JSII_RUNTIME"]) == tmp_path / "chosen.js"
