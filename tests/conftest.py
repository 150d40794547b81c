from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import ROOT, Synth, cdk_synth, gate_manifests, inprocess_synth


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str | Path], Synth]:
    """Synthesizes each manifest once per test session: the examples, platform.yml and the
    invalid fixtures with the real CDK CLI, the tests' own ad-hoc manifests in-process."""
    cache: dict[str, Synth] = {}
    with_cli = {str(ROOT / m) for m in gate_manifests()}

    def get(manifest: str | Path) -> Synth:
        key = str(manifest)
        if key not in cache:
            outdir = tmp_path_factory.mktemp("cdk.out")
            absolute = str(manifest if Path(manifest).is_absolute() else ROOT / manifest)
            cli = absolute in with_cli or "/manifests/invalid/" in absolute
            cache[key] = (cdk_synth if cli else inprocess_synth)(manifest, outdir)
        return cache[key]

    return get
