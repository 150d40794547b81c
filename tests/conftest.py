from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from ecsforge.runtime import prepare

prepare()  # the tests' in-process synths run on the runtime app.py uses

from ecsforge.diff import DiffResult, Templates, diff_templates, synthesize  # noqa: E402
from ecsforge.manifest import load_manifest  # noqa: E402

from .helpers import ROOT, Synth, cdk_synth, cdk_synth_and_lint, gate_manifests, inprocess_synth  # noqa: E402

LIFECYCLE = "tests/manifests/lifecycle"
LIFECYCLE_REGION = "eu-west-1"

# Whether the session runs the gates: then every gate manifest is synthesized anyway, and
# doing it in the background uses the core that the single-threaded test process leaves idle.
_RUNS_GATES: list[bool] = [False]
_RUNS_SCALE: list[bool] = [False]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _RUNS_GATES[0] = any(item.path.name == "test_gates.py" for item in items)
    _RUNS_SCALE[0] = any(item.path.name == "test_scale.py" for item in items)


@pytest.fixture(scope="session")
def scale_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's 500-service manifest (tests/test_scale.py)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import write

    path: Path = write(500, tmp_path_factory.mktemp("bench"))
    return path


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory, scale_manifest: Path) -> Iterator[Callable[[str | Path], Synth]]:
    """Synthesizes each manifest once per test session: the examples, platform.yml and the
    invalid fixtures with the real CDK CLI, the tests' own ad-hoc manifests in-process."""
    cache: dict[str, Future[Synth]] = {}
    with_cli = {str(ROOT / m) for m in gate_manifests()}
    background = ThreadPoolExecutor(max_workers=1)

    def start(manifest: str | Path) -> Future[Synth]:
        key = str(manifest)
        if key not in cache:
            outdir = tmp_path_factory.mktemp("cdk.out")
            absolute = str(manifest if Path(manifest).is_absolute() else ROOT / manifest)
            if absolute in with_cli:
                cache[key] = background.submit(cdk_synth_and_lint, manifest, outdir)
            # The invalid fixtures, and the longest synthesis of all (500 services, not linted).
            elif "/manifests/invalid/" in absolute or absolute == str(scale_manifest):
                cache[key] = background.submit(cdk_synth, manifest, outdir)
            else:
                done: Future[Synth] = Future()
                done.set_result(inprocess_synth(manifest, outdir))
                cache[key] = done
        return cache[key]

    if _RUNS_GATES[0]:
        for manifest in gate_manifests():
            start(manifest)
    if _RUNS_SCALE[0]:
        start(scale_manifest)

    def get(manifest: str | Path) -> Synth:
        future = start(manifest)
        # Not started in the background yet: synthesize it here rather than wait behind the queue.
        if future.cancel():
            outdir = tmp_path_factory.mktemp("cdk.out")
            done: Future[Synth] = Future()
            done.set_result(cdk_synth(manifest, outdir))  # linted, if at all, by the test that asks
            cache[str(manifest)] = future = done
        return future.result()

    yield get
    background.shutdown(cancel_futures=True)


@pytest.fixture(scope="session")
def templates() -> Callable[[str], Templates]:
    """Each manifest of tests/manifests/lifecycle synthesized once per session, in this process.
    They stand for deployed stacks, some deployed before a rule was added (canary-discovery.yml):
    read as `ecsforge diff` reads its OLD manifest."""
    cache: dict[str, Templates] = {}

    def get(name: str) -> Templates:
        if name not in cache:
            cache[name] = synthesize(load_manifest(ROOT / LIFECYCLE / f"{name}.yml", deployed=True))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def diff(templates: Callable[[str], Templates]) -> Callable[[str, str], DiffResult]:
    cache: dict[tuple[str, str], DiffResult] = {}

    def get(old: str, new: str) -> DiffResult:
        if (old, new) not in cache:
            cache[old, new] = diff_templates(
                templates(old),
                templates(new),
                old_manifest=f"{LIFECYCLE}/{old}.yml",
                new_manifest=f"{LIFECYCLE}/{new}.yml",
                region=LIFECYCLE_REGION,
            )
        return cache[old, new]

    return get
