#!/usr/bin/env python3
"""The CDK app: `cdk synth -c manifest=FILE` (default platform.yml)."""

import gc
import sys

from ecsforge.runtime import APP_CONTEXT, loading_modules, prepare

with loading_modules():
    prepare()  # before aws_cdk starts jsii's kernel
    from aws_cdk import App

    from ecsforge.cli import print_warnings
    from ecsforge.manifest import ManifestError, load_manifest
    from ecsforge.platform import build, synthesize


def main() -> None:
    app = App(context=APP_CONTEXT)
    path = app.node.try_get_context("manifest") or "platform.yml"
    try:
        loaded = load_manifest(path)
    except ManifestError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    print_warnings(loaded.filename, loaded.warnings)
    try:
        synthesize(app, build(app, loaded.manifest))
    except ManifestError as error:  # an override whose path is not in the synthesized template
        print(error, file=sys.stderr)
        sys.exit(1)
    # Nothing is left to do but exit: the objects now alive are never collected again, so
    # the interpreter's final garbage collection does not walk them (0.3 s at 200 services).
    gc.freeze()


if __name__ == "__main__":
    main()
