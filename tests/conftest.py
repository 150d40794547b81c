from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import Synth, cdk_synth


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str | Path], Synth]:
    """Synthesizes each manifest once per test session, with the real CDK CLI."""
    cache: dict[str, Synth] = {}

    def get(manifest: str | Path) -> Synth:
        key = str(manifest)
        if key not in cache:
            outdir = tmp_path_factory.mktemp("cdk.out")
            cache[key] = cdk_synth(manifest, outdir)
        return cache[key]

    return get
