from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from .helpers import ROOT, Synth, cdk_synth, gate_manifests, inprocess_synth

# Whether the session runs the gates: then every gate manifest is synthesized anyway, and
# doing it in the background uses the core that the single-threaded test process leaves idle.
_RUNS_GATES: list[bool] = [False]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _RUNS_GATES[0] = any(item.path.name == "test_gates.py" for item in items)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str | Path], Synth]]:
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
            if absolute in with_cli or "/manifests/invalid/" in absolute:
                cache[key] = background.submit(cdk_synth, manifest, outdir)
            else:
                done: Future[Synth] = Future()
                done.set_result(inprocess_synth(manifest, outdir))
                cache[key] = done
        return cache[key]

    if _RUNS_GATES[0]:
        for manifest in gate_manifests():
            start(manifest)

    def get(manifest: str | Path) -> Synth:
        future = start(manifest)
        # Not started in the background yet: synthesize it here rather than wait behind the queue.
        if future.cancel():
            outdir = tmp_path_factory.mktemp("cdk.out")
            done: Future[Synth] = Future()
            done.set_result(cdk_synth(manifest, outdir))
            cache[str(manifest)] = future = done
        return future.result()

    yield get
    background.shutdown(cancel_futures=True)
