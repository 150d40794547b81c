# Two commands do everything, each idempotent: `make synth` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
# The project's own Python tools and the pinned CDK CLI and Node 22 come first, so jsii
# never runs on the machine's end-of-life Node.
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

MANIFEST ?= platform.yml
# Space-separated manifests for the gates (synth, snapshots, cfn-lint, cdk-nag);
# default: platform.yml and examples/*.yml.
MANIFESTS ?=
export ECSFORGE_MANIFESTS := $(MANIFESTS)
PYTEST_ARGS ?=

.PHONY: setup synth test lint ruff snapshot-update bench fuzz docs clean

# Then ecsforge itself, editable, for the `ecsforge` command (.venv/bin/ecsforge): built with the
# pinned setuptools just installed, nothing fetched for it.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# cdk.json runs the app with `python -O`, which skips jsii's argument type checks (the kernel
# checks every value again). Where PYTHONDONTWRITEBYTECODE is set, Python would compile the
# optimized bytecode of every module the app imports (most of it aws_cdk's) at every synth:
# importing the app once with caching on writes it, as any first run elsewhere does.
$(VENV)/.bytecode: $(VENV)/.installed node_modules/.installed
	env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/python -O -c "import app"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@node --version | grep -q '^v22\.' || { echo "node_modules/.bin/node is not Node 22"; exit 1; }
	touch $@

setup: $(VENV)/.installed node_modules/.installed $(VENV)/.bytecode

synth: setup
	cdk synth -c manifest=$(MANIFEST) -q
	@echo "synthesized $(MANIFEST) into cdk.out/"

RUFF_PATHS := ecsforge tests app.py scripts bench

ruff: setup
	ruff check $(RUFF_PATHS)
	ruff format --check $(RUFF_PATHS)

lint: ruff
	mypy ecsforge

# `make lint` and pytest, with mypy (about 50 s single-threaded from a cold cache) beside
# pytest, which leaves part of the second core idle: a clean-clone run is about 30 s shorter.
test: ruff
	mypy ecsforge > .mypy.log 2>&1 & checker=$$!; \
	tests=0; pytest $(if $(MANIFESTS),tests/test_gates.py --snapshot-warn-unused,) $(PYTEST_ARGS) || tests=$$?; \
	types=0; wait $$checker || types=$$?; \
	echo "mypy ecsforge:"; cat .mypy.log; rm -f .mypy.log; \
	test $$tests -eq 0 && test $$types -eq 0

bench: setup
	python bench/run.py

# A long mutation run over the examples (FUZZ_SECONDS, FUZZ_SEED); every defect it prints
# becomes a fixture under tests/manifests/invalid/.
FUZZ_SECONDS ?= 600
fuzz: setup
	python -m tests.fuzz --seconds $(FUZZ_SECONDS) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED),)

# The JSON Schema and docs/manifest.md, both generated from the models (tests fail when stale).
docs: setup
	python -m ecsforge schema > schema/manifest-v1.json
	python scripts/generate_docs.py

snapshot-update: setup
	pytest $(if $(MANIFESTS),tests/test_gates.py --snapshot-warn-unused,) --snapshot-update $(PYTEST_ARGS)

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
