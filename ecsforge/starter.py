"""`ecsforge init FILE --app APP --environment ENV --region REGION [--image IMAGE] [--port N]`:
a commented starter manifest for one Fargate service behind the load balancer.

The text is checked by the same loader and models as `ecsforge validate` before it is written,
so the flags follow the manifest's own rules (none is repeated here) and a problem is reported
by the flag that caused it."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from .manifest import ManifestError, Problem, load_manifest

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "manifest-v1.json"
DEFAULT_IMAGE = "public.ecr.aws/nginx/nginx:1.27"
DEFAULT_PORT = 80
SERVICE = "web"


@dataclass(frozen=True)
class Flag:
    option: str
    question: str
    default: str | None = None  # None: required


FLAGS = {
    "app": Flag("--app", "application name (lowercase letters, digits and -, max 20), e.g. shop"),
    "environment": Flag("--environment", "environment name (lowercase letters, digits and -, max 12), e.g. dev"),
    "region": Flag("--region", "AWS region, e.g. eu-west-1"),
    "image": Flag("--image", "container image", DEFAULT_IMAGE),
    "port": Flag("--port", "port the container listens on", str(DEFAULT_PORT)),
}

TEMPLATE = """\
{schema_line}
# A starter manifest written by `ecsforge init`: one web service on Fargate behind the
# environment's load balancer, in a new VPC. `ecsforge validate {name}` checks it,
# `cdk synth -c manifest={name}` turns it into CloudFormation. Every field is described in
# docs/manifest.md; a field left out does what its "- ..." comment says.
version: 1                     # required; the manifest format
app: {app}{app_pad}# required; lowercase letters, digits and -; max 20 characters
environment: {environment}{environment_pad}# required; same rules; max 12 characters
region: {region}{region_pad}# required; where every stack is deployed
# account: "111111111111"      # - env-agnostic stacks (the account of the credentials at deploy time)
# network:                     # - a new VPC, 10.0.0.0/16, in the region's first two zones, one NAT gateway
# load_balancer:               # - created for the first service with `http`: internet-facing, HTTP on
#                              #   port 80 (certificate_arn: HTTPS on 443, and 80 redirects to it)

services:                      # - none. Each service gets its own stack: <app>-<environment>-service-<name>
  {service}:
    capacity: fargate          # fargate | fargate_spot | a strategy list; - fargate
    cpu: 256                   # task CPU units; - 256 on Fargate
    memory: 512                # task MiB; - 512 on Fargate (the pair must be one Fargate offers)
    count: 1                   # desired tasks; - 1 (scaling.min when `scaling` is set)
    containers:                # required; 1..10 containers
      {service}:
        image: {image}
                               # required. A reference like this one; or {{registry: <a key of
                               #   registries>}}: the image a pipeline last released
        port: {port}{port_pad}# - no port mapping; here the port the load balancer sends requests to
        log_retention_days: 30 # - 30 (awslogs driver)
    http:                      # - not load balanced. A rule on the environment's shared load balancer
      path: /*                 # - "/*" (every path); host: - any host
      health_check:
        path: /                # - "/"; healthy answers: - "200-399"
    deployment:
      strategy: rolling        # rolling | blue_green | canary | linear; - rolling
      circuit_breaker: true    # - on, with rollback
"""


def scalar(value: str) -> str:
    """A value as YAML reads back the same string (quoted only when it has to be)."""
    text: str = yaml.safe_dump(value, default_flow_style=True, width=1 << 16)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def render(values: dict[str, str], target: Path) -> str:
    # A port answered at the prompt may be anything: unless it is a number, it is written as a
    # string, which the model then refuses.
    fields = {key: value if key == "port" and value.isdigit() else scalar(value) for key, value in values.items()}
    pads = {f"{key}_pad": " " * max(1, 31 - len(f"{key}: {fields[key]}")) for key in ("app", "environment", "region")}
    port_pad = " " * max(1, 23 - len(f"port: {fields['port']}"))
    return TEMPLATE.format(
        schema_line=schema_line(target.parent),
        name=target.name,
        service=SERVICE,
        port_pad=port_pad,
        **fields,
        **pads,
    )


def schema_line(directory: Path) -> str:
    """The editor's schema comment, with the path from the manifest's folder to the schema."""
    try:
        location = os.path.relpath(SCHEMA_FILE, directory.resolve())
    except ValueError:  # another drive
        location = str(SCHEMA_FILE)
    return f"# yaml-language-server: $schema={Path(location).as_posix()}"


def flag_of(problem: Problem) -> str | None:
    """The flag whose value the problem is about."""
    path = problem.path
    if path[:1] in (("app",), ("environment",), ("region",)):
        return FLAGS[str(path[0])].option
    if "image" in path:
        return FLAGS["image"].option
    if path[-1:] == ("port",):
        return FLAGS["port"].option
    return None


def problems_in(values: dict[str, str], target: Path) -> dict[str | None, list[str]]:
    """Every problem the manifest's own rules find in the text, by flag."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / target.name
        path.write_text(render(values, target), encoding="utf-8")
        try:
            loaded = load_manifest(path)
        except ManifestError as error:
            found: dict[str | None, list[str]] = {}
            for problem in error.problems:
                found.setdefault(flag_of(problem), []).append(problem.message)
            # A rule that fails only because a flag's value was taken out (a port out of range:
            # "no container has a port") says nothing the flag's own problem does not.
            if len(found) > 1:
                found.pop(None, None)
            return found
    # The starter is written to pass without a second look: a warning is a bug here.
    return {None: [w.message for w in loaded.warnings]} if loaded.warnings else {}


def ask(key: str, read: Callable[[str], str]) -> str:
    flag = FLAGS[key]
    suffix = f" [{flag.default}]" if flag.default is not None else ""
    while True:
        answer = read(f"{flag.option.removeprefix('--')}: {flag.question}{suffix}: ").strip()
        if answer or flag.default is not None:
            return answer or str(flag.default)


def run(file: str, given: dict[str, str | None], read: Callable[[str], str] = input) -> int:
    """Exit 0: written; 1: FILE exists, or a value breaks the manifest's rules; 2: a flag is
    missing and no terminal can be asked."""
    target = Path(file)
    if target.exists():
        return refused(target)
    missing = [key for key, value in given.items() if value is None and FLAGS[key].default is None]
    asking = bool(missing) and sys.stdin.isatty()
    if missing and not asking:
        names = ", ".join(FLAGS[key].option for key in missing)
        print(f"ecsforge init: error: the following arguments are required: {names}", file=sys.stderr)
        return 2
    values = {key: value if value is not None else "" for key, value in given.items()}
    try:
        for key, value in given.items():
            if value is None:
                values[key] = ask(key, read) if asking else str(FLAGS[key].default)
        found = problems_in(values, target)
        while found and asking and None not in found:
            report(found)
            for key, flag in FLAGS.items():
                if flag.option in found:
                    values[key] = ask(key, read)
            found = problems_in(values, target)
    except (EOFError, KeyboardInterrupt):
        print("\nnothing written", file=sys.stderr)
        return 1
    if found:
        report(found)
        return 1
    return write(target, render(values, target))


def report(found: dict[str | None, list[str]]) -> None:
    for flag, messages in found.items():
        for message in messages:
            print(f"error: {flag or 'the starter manifest'}: {message}", file=sys.stderr)


def refused(target: Path) -> int:
    print(f"error: {target} exists: ecsforge init never overwrites a file; choose another FILE", file=sys.stderr)
    return 1


def write(target: Path, text: str) -> int:
    try:
        with target.open("x", encoding="utf-8") as out:  # "x": never over a file made meanwhile
            out.write(text)
    except FileExistsError:
        return refused(target)
    except OSError as error:
        print(f"error: cannot write {target}: {error.strerror}", file=sys.stderr)
        return 1
    print(
        f"wrote {target}: check it with `ecsforge validate {target}`, "
        f"synthesize it with `cdk synth -c manifest={target}`"
    )
    return 0
