"""`python -m ecsforge validate FILE...` and `python -m ecsforge schema`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .manifest import ManifestError, Problem, load_manifest
from .manifest.models import Manifest


def print_warnings(filename: str, warnings: list[Problem]) -> None:
    for warning in warnings:
        print(f"warning: {warning.format(filename)}", file=sys.stderr)


def validate(paths: Sequence[str]) -> int:
    status = 0
    for path in paths:
        try:
            loaded = load_manifest(path)
        except ManifestError as error:
            print(error, file=sys.stderr)
            status = 1
            continue
        print_warnings(loaded.filename, loaded.warnings)
        print(f"{path}: ok")
    return status


def schema() -> dict[str, object]:
    document = Manifest.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **document}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecsforge", description="ecsforge manifest tools")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate", help="check manifests; exit 1 if any is invalid")
    check.add_argument("files", nargs="+", metavar="FILE")
    commands.add_parser("schema", help="print the manifest's JSON Schema")
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate(args.files)
    print(json.dumps(schema(), indent=2, sort_keys=True))
    return 0
