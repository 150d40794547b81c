"""How ecsforge's entry points run Python and jsii (ecsforge/runtime.py, app.py, cdk.json)."""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from ecsforge import runtime

from .helpers import ROOT

FRESH = """
import json, typing
from ecsforge import runtime
before = [cache.cache_parameters()["maxsize"] for cache, _ in runtime.typing_caches()]
changed = runtime.unbounded_typing_caches()
after = [cache.cache_parameters()["maxsize"] for cache, _ in runtime.typing_caches()]
print(json.dumps({"before": before, "changed": changed, "after": after}))
"""


def test_every_typing_cache_of_this_python_is_found_and_made_unbounded():
    # A fresh interpreter: this one was prepared by conftest already.
    result = subprocess.run([sys.executable, "-c", FRESH], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    # typing memoizes Optional/Union, generic aliases, Callable, Tuple, Annotated, Literal, Generic.
    assert len(seen["before"]) >= 6, "this Python's typing keeps its caches another way: see ecsforge/runtime.py"
    assert all(isinstance(size, int) for size in seen["before"])
    assert seen["changed"] == len(seen["before"])
    assert seen["after"] == [None] * seen["changed"]


def test_typing_still_memoizes_and_clears_after_the_change():
    assert runtime.prepare().unbounded_typing_caches == 0  # conftest's prepare() did it; twice is harmless
    kinds = [type(f"Kind{number}", (), {}) for number in range(300)]
    optional = typing.Optional  # subscribed at run time, as jsii's generated classes do
    first = optional[kinds[0]]
    for kind in kinds[1:]:
        optional[kind]
    # With 128 entries, 299 newer subscriptions would have evicted the first one.
    assert optional[kinds[0]] is first
    # typing._cleanups still empties every cache the subscriptions go through.
    for clear in typing._cleanups:  # type: ignore[attr-defined]
        clear()
    assert [cache.cache_info().currsize for cache, _ in runtime.typing_caches()] == [0] * len(runtime.typing_caches())
    assert optional[kinds[0]] is not first


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


def test_creation_stack_traces_would_show_only_aws_cdk_lib_and_jsii(tmp_path: Path):
    # Why app.py turns them off: aws-cdk-lib captures them in node, where a Python app has no
    # frame of its own, so every file they name is one of the jsii kernel's packages (in a
    # folder deleted when the synthesis ends), at a cost of about 0.35 s at 200 services.
    result = subprocess.run(
        [sys.executable, "-c", CREATION_STACKS, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    traces = json.loads(result.stdout.strip().splitlines()[-1])
    assert traces, "aws-cdk-lib no longer records creation stacks: drop runtime.APP_CONTEXT's setting"
    files = [name for trace in traces for line in trace for name in re.findall(r"[\w./@-]+\.(?:js|ts|py)\b", line)]
    assert [name for name in files if "/node_modules/" not in name and not name.startswith("node:")] == []
    assert any("no user code" in line for trace in traces for line in trace)


def test_synthesis_records_no_creation_stack_traces_and_warns_of_no_setting(synth):
    assert runtime.APP_CONTEXT["aws:cdk:disable-creation-stack-traces"] is True
    # The CDK CLI warns at every synthesis about each key of cdk.json's context that starts with aws:.
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert [key for key in context if key.startswith("aws:")] == []
    result = synth("platform.yml")  # by the CDK CLI, with cdk.json's context: a new user's first synth
    assert result.returncode == 0, result.stderr
    # Beyond the manifest's own warnings, the CLI says only that it synthesized: on stderr, or on
    # stdout where CI=true (the CDK CLI writes its messages there in CI).
    lines = [*result.stderr.splitlines(), *result.stdout.splitlines()]
    said = [line for line in lines if line.strip() and not line.startswith("warning: platform.yml:")]
    assert [line.split(" ", 2)[:2] for line in said] == [["Successfully", "synthesized"], ["Supply", "a"]], said
    entries = [
        entry["type"]
        for path in result.outdir.glob("*.metadata.json")
        for entries in json.loads(path.read_text()).values()
        for entry in entries
    ]
    assert "aws:cdk:logicalId" in entries  # the metadata the CLI uses is still there
    assert "aws:cdk:creationStack" not in entries


LOADING = """
import gc, json
collections = []
gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "start" else None)
import app
state = {"collections": list(collections), "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
gc.unfreeze()
state["garbage"] = gc.collect()
print(json.dumps(state))
"""


def test_app_loads_its_modules_without_collecting_and_then_collects_again():
    result = subprocess.run([sys.executable, "-c", LOADING], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # No full collection, which would only walk the modules' objects (with the collector on,
    # three of them while loading: 0.3 s at 200 services).
    assert 2 not in seen["collections"]
    # After loading, the collector runs again, and its full collections skip what loading made,
    # garbage included: little of it (about 3 thousand objects).
    assert seen["enabled"] is True
    assert seen["frozen"] > 100_000
    assert seen["garbage"] < seen["frozen"] // 20


def test_loading_modules_restores_the_collectors_state_even_on_error():
    try:
        gc.disable()
        with runtime.loading_modules():
            assert not gc.isenabled()
        assert not gc.isenabled()  # left off, as the caller had it
        gc.enable()
        with pytest.raises(ImportError), runtime.loading_modules():
            import ecsforge_no_such_module  # noqa: F401
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()  # the tests' objects stay collectable
