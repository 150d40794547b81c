#!/usr/bin/env python3
"""The bench's baseline on ecsforge's runtime: bench/baseline_app.py, unchanged, started the way
app.py starts (run with `python -O`). Its ratio to ecsforge is what ecsforge's own work costs."""

import gc
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

gc.disable()  # as app.py: no collections while modules load

from ecsforge.runtime import prepare  # noqa: E402

prepare()

import baseline_app  # noqa: E402

gc.freeze()
gc.enable()
baseline_app.main()
gc.freeze()  # as app.py: the exit does not walk every object
