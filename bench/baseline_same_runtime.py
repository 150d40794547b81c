#!/usr/bin/env python3
"""The bench's baseline on ecsforge's runtime: bench/baseline_app.py, unchanged, started the way
app.py starts (run with `python -O`). Its ratio to ecsforge is what ecsforge's own work costs."""

import gc
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from ecsforge.runtime import loading_modules, prepare  # noqa: E402

with loading_modules():
    if not prepare().direct_kernel:
        raise SystemExit("this jsii's kernel cannot run direct (tests/test_jsii_kernel.py says why)")
    import baseline_app

baseline_app.main()
gc.freeze()  # as app.py: the exit does not walk every object
