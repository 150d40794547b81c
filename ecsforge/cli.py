"""`ecsforge validate FILE...`, `diff OLD NEW`, `diagram FILE`, `schema`, `release`, `import`, `init`, and
`status`, `continue`, `logs` (ecsforge/ops) (`python -m ecsforge ...` is the same)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .manifest import ManifestError, Problem, load_manifest
from .manifest.base import ManifestJsonSchema
from .manifest.models import Manifest
from .manifest.overlay_schema import with_overlays


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


def diff(old: str, new: str) -> int:
    """Exit 0: no hazard; 1: a manifest is invalid; 2: synthesis failed; 3: a hazard."""
    from .diff import SynthError, diff_manifests, render

    loaded = []
    for index, path in enumerate((old, new)):
        try:
            # OLD is what is deployed: it may break rules added since, which the diff helps to fix.
            loaded.append(load_manifest(path, deployed=index == 0))
        except ManifestError as error:
            print(error, file=sys.stderr)
    if len(loaded) < 2:
        return 1
    for manifest in loaded:
        print_warnings(manifest.filename, manifest.warnings)
    try:
        result = diff_manifests(*loaded)
    except ManifestError as error:  # an override that does not fit its synthesized template
        print(error, file=sys.stderr)
        return 1
    except SynthError as error:
        print(error, file=sys.stderr)
        return 2
    print(render(result))
    return result.exit_code


def diagram(path: str, fmt: str, output: str | None) -> int:
    """Exit 0: drawn; 1: the manifest is invalid. SVG and HTML are drawn in pure Python: no Graphviz."""
    from .diagram import FORMATS, render

    try:
        loaded = load_manifest(path)
    except ManifestError as error:
        print(error, file=sys.stderr)
        return 1
    print_warnings(loaded.filename, loaded.warnings)
    text = render(loaded.manifest, next(f for f in FORMATS if f == fmt), source=Path(path).name)
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")
    return 0


def schema() -> dict[str, object]:
    document = Manifest.model_json_schema(by_alias=True, mode="validation", schema_generator=ManifestJsonSchema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **with_overlays(document)}


def add_import_parser(commands: Any) -> None:
    """`import copilot WORKSPACE ...`: manifests written from another tool's files (never calls AWS)."""
    importer = commands.add_parser("import", help="write ecsforge manifests from another tool's files")
    sources = importer.add_subparsers(dest="source", required=True)
    copilot = sources.add_parser("copilot", help="an AWS Copilot workspace (the folder holding copilot/)")
    copilot.add_argument("workspace", metavar="WORKSPACE")
    copilot.add_argument("--region", required=True)
    copilot.add_argument("--account", action="append", default=[], metavar="ENV=ACCOUNT")
    copilot.add_argument("--connection-arn", metavar="ARN", help="the CodeConnections ARN for the pipeline source")
    copilot.add_argument("--out", required=True, metavar="DIR")


def poll_seconds(text: str) -> float:
    """--interval: bounded, so that --watch and --follow neither hammer the APIs nor go quiet."""
    value = float(text)
    if not 2 <= value <= 60:
        raise argparse.ArgumentTypeError("give 2 to 60 seconds")
    return value


def add_ops_parsers(commands: Any) -> None:
    """`status`, `continue` and `logs`: a deployed environment, with the caller's AWS credentials."""
    show = commands.add_parser(
        "status",
        help="tasks, deployments, hooks, targets and alarms of deployed services (AWS credentials); "
        "exit 0 steady, 3 failed or rolled back, 4 waiting on a pause hook, 5 in progress (without --watch)",
    )
    show.add_argument("file", metavar="MANIFEST")
    show.add_argument(
        "workloads", nargs="*", metavar="WORKLOAD", help="services of the manifest; default: every service"
    )
    show.add_argument("--watch", action="store_true", help="redraw until every deployment ends or waits on a hook")
    show.add_argument("--interval", type=poll_seconds, default=10.0, help="seconds between polls, 2..60 (default 10)")
    resume = commands.add_parser("continue", help="act on the pause hook a service's deployment waits on")
    resume.add_argument("file", metavar="MANIFEST")
    resume.add_argument("service", metavar="SERVICE")
    resume.add_argument("--rollback", action="store_true", help="roll back to the previous revision instead")
    tail = commands.add_parser("logs", help="a service's or scheduled task's log lines from CloudWatch Logs")
    tail.add_argument("file", metavar="MANIFEST")
    tail.add_argument("workload", metavar="WORKLOAD")
    tail.add_argument("--since", default="10m", help="how far back: 30s, 10m, 2h, 1d (default 10m)")
    tail.add_argument("--follow", action="store_true", help="keep printing new lines until Ctrl-C")
    tail.add_argument("--interval", type=poll_seconds, default=5.0, help="seconds between polls, 2..60 (default 5)")


def run_ops(args: argparse.Namespace) -> int:
    from .ops import commands

    context = commands.Context()
    if args.command == "status":
        return commands.status(args.file, args.workloads, watch=args.watch, interval=args.interval, context=context)
    if args.command == "continue":
        return commands.continue_(args.file, args.service, rollback=args.rollback, context=context)
    return commands.logs(
        args.file, args.workload, since=args.since, follow=args.follow, interval=args.interval, context=context
    )


def add_init_parser(commands: Any) -> None:
    """`init FILE ...`: a commented starter manifest; asks for missing flags in a terminal."""
    start = commands.add_parser(
        "init", help="write a commented starter manifest (one Fargate web service); never overwrites"
    )
    start.add_argument("file", metavar="FILE")
    start.add_argument("--app", help="the application name (max 20 characters)")
    start.add_argument("--environment", help="the environment name (max 12 characters)")
    start.add_argument("--region", help="the AWS region, e.g. eu-west-1")
    start.add_argument("--image", help="the container image; default: public.ecr.aws/nginx/nginx:1.27")
    start.add_argument("--port", type=int, help="the port the container listens on; default: 80")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ecsforge", description="ecsforge manifest tools")
    commands = parser.add_subparsers(dest="command", required=True)
    add_import_parser(commands)
    add_ops_parsers(commands)
    add_init_parser(commands)
    check = commands.add_parser("validate", help="check manifests; exit 1 if any is invalid")
    check.add_argument("files", nargs="+", metavar="FILE")
    compare = commands.add_parser(
        "diff", help="what deploying NEW over OLD would do, offline; exit 3 on a hazard, 1 if a manifest is invalid"
    )
    compare.add_argument("old", metavar="OLD")
    compare.add_argument("new", metavar="NEW")
    draw = commands.add_parser("diagram", help="draw the environment, offline (Mermaid, DOT, SVG or an HTML page)")
    draw.add_argument("file", metavar="MANIFEST")
    draw.add_argument("--format", choices=("mermaid", "dot", "svg", "html"), default="mermaid")
    draw.add_argument("--output", metavar="FILE", help="default: standard output")
    commands.add_parser("schema", help="print the manifest's JSON Schema")
    publish = commands.add_parser(
        "release", help="release an image built elsewhere, as the pipeline's release step does (AWS credentials)"
    )
    publish.add_argument("file", metavar="MANIFEST")
    publish.add_argument("--registry", required=True, help="a key of the manifest's registries")
    publish.add_argument("--tag", required=True, help="the image tag pushed to that registry's repository")
    publish.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate(args.files)
    if args.command in ("status", "continue", "logs"):
        return run_ops(args)
    if args.command == "import":
        from .importers.copilot import run as import_copilot

        return import_copilot(args.workspace, args.region, args.account, args.connection_arn, args.out)
    if args.command == "init":
        from .starter import run as init

        flags = ("app", "environment", "region", "image", "port")
        return init(args.file, {k: None if getattr(args, k) is None else str(getattr(args, k)) for k in flags})
    if args.command == "diff":
        return diff(args.old, args.new)
    if args.command == "diagram":
        return diagram(args.file, args.format, args.output)
    if args.command == "release":
        from .release.command import run as release

        return release(args.file, args.registry, args.tag, dry_run=args.dry_run)
    print(json.dumps(schema(), indent=2, sort_keys=True))
    return 0
