"""How ecsforge's entry points run Python and jsii (ecsforge/runtime.py, app.py, cdk.json)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .helpers import ROOT

CREATION_STACKS = """
import json, sys
from pathlib import Path
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs
app = App(outdir=sys.argv[1])
sqs.Queue(Stack(app, "Probe"), "Queue")
app.synth()
stacks = [entry["data"] for entries in json.loads(Path(sys.argv[1], "Probe.metadata.json").read_text()).values()
          for entry in entries if entry["type"] == "aws:cdk:creationStack"]
print(json.dumps(stacks))
"""


def test_creation_stack_traces_would_hold_no_python_frame(tmp_path: Path):
    # Why cdk.json turns them off: aws-cdk-lib captures them in node, where a Python app's own
    # frames do not exist, at a cost of about 0.35 s at 200 services. Fails if they ever do.
    result = subprocess.run(
        [sys.executable, "-c", CREATION_STACKS, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    traces = json.loads(result.stdout.strip().splitlines()[-1])
    assert traces, "aws-cdk-lib no longer records creation stacks: drop the setting from cdk.json"
    assert not [line for trace in traces for line in trace if ".py" in line]


def test_synthesis_records_no_creation_stack_traces(synth):
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert context["aws:cdk:disable-creation-stack-traces"] is True
    result = synth("platform.yml")  # by the CDK CLI, with cdk.json's context
    assert result.returncode == 0, result.stderr
    entries = [
        entry["type"]
        for path in result.outdir.glob("*.metadata.json")
        for entries in json.loads(path.read_text()).values()
        for entry in entries
    ]
    assert "aws:cdk:logicalId" in entries  # the metadata the CLI uses is still there
    assert "aws:cdk:creationStack" not in entries
