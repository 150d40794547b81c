"""`python -m ecsforge status | continue | logs`: the manifest first (exit 1 when invalid), then
AWS with the standard credential chain in the manifest's region (exit 2 when credentials are
missing or AWS cannot answer, with what to do and no traceback)."""

from __future__ import annotations

import datetime
import importlib
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..manifest import ManifestError, load_manifest
from ..manifest.models import Manifest
from . import logs as log_lines
from .aws import OpsError, act_on_hook, error_code, fetch_statuses, waiting_hook
from .model import exit_code, settled
from .render import Screen, render

EXIT_INVALID = 1
EXIT_NO_AWS = 2
EXIT_INTERRUPTED = 130
MISSING_CREDENTIALS = (
    "no AWS credentials: the standard chain found none (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "AWS_PROFILE or the default profile of ~/.aws/credentials and ~/.aws/config, SSO, web identity, "
    "a container or instance role); set one of them, e.g. `aws sso login --profile P` and AWS_PROFILE=P"
)
_REFUSED = ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException")


def default_session(region: str) -> Any:
    return importlib.import_module("boto3").Session(region_name=region)


@dataclass
class Context:
    """What the commands touch outside themselves; tests replace each part."""

    session_factory: Callable[[str], Any] = default_session
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)
    sleep: Callable[[float], None] = time.sleep


class MissingCredentials(Exception):
    pass


def _load(path: str, context: Context) -> Manifest | None:
    try:
        loaded = load_manifest(path)
    except ManifestError as error:
        print(error, file=context.err)
        return None
    for warning in loaded.warnings:
        print(f"warning: {warning.format(loaded.filename)}", file=context.err)
    return loaded.manifest


def _session(manifest: Manifest, context: Context) -> Any:
    session = context.session_factory(manifest.region)
    # Checked before any call, so that a missing credential never reaches the network.
    if session.get_credentials() is None:
        raise MissingCredentials(MISSING_CREDENTIALS)
    if manifest.account is not None:
        caller = session.client("sts").get_caller_identity()["Account"]
        if caller != manifest.account:
            raise OpsError(
                f"the credentials are for account {caller}, the manifest's environment is in {manifest.account}; "
                "use credentials of that account"
            )
    return session


def explain(error: Exception) -> str | None:
    """What to do about an error of botocore (None for any other error)."""
    exceptions = importlib.import_module("botocore.exceptions")
    if isinstance(error, (MissingCredentials, OpsError)):
        return str(error)
    if isinstance(error, (exceptions.NoCredentialsError, exceptions.PartialCredentialsError)):
        return f"{MISSING_CREDENTIALS} ({error})"
    if isinstance(error, exceptions.NoRegionError):
        return "no AWS region; set AWS_REGION (or the profile's region)"
    code = error_code(error)
    if code in _REFUSED:
        return f"the AWS credentials were refused ({code}); refresh them"
    if code in ("AccessDenied", "AccessDeniedException"):
        return f"{error}; the credentials need read access to ECS, SSM, ELB, CloudWatch and CloudWatch Logs"
    if isinstance(error, (exceptions.BotoCoreError, exceptions.ClientError)):
        return str(error)
    return None


def _guarded(command: str, context: Context, action: Callable[[], int]) -> int:
    try:
        return action()
    except Exception as error:
        message = explain(error)
        if message is None:
            raise
        print(f"{command}: {message}", file=context.err)
        return EXIT_NO_AWS


def _unknown(manifest: Manifest, names: Sequence[str], *, services_only: bool, context: Context) -> bool:
    known = list(manifest.services) if services_only else [*manifest.services, *manifest.scheduled_tasks]
    wrong = [n for n in names if n not in known]
    for name in wrong:
        what = (
            "a scheduled task, which has no deployments" if name in manifest.scheduled_tasks else "not in the manifest"
        )
        kind = "services" if services_only else "services and scheduled tasks"
        print(f"{name}: {what}; the manifest's {kind}: {', '.join(known) or 'none'}", file=context.err)
    return bool(wrong)


def status(path: str, workloads: Sequence[str], *, watch: bool, interval: float, context: Context) -> int:
    """Exit 0 steady, 3 a deployment failed or rolled back, 4 one waits on a pause hook, 5 (without
    --watch) one is in progress; --watch polls every `interval` seconds until nothing moves."""
    manifest = _load(path, context)
    if manifest is None:
        return EXIT_INVALID
    if _unknown(manifest, workloads, services_only=True, context=context):
        return EXIT_INVALID
    names = list(workloads) or list(manifest.services)
    if not names:
        print(f"{path}: the manifest has no services", file=context.out)
        return 0

    def resume(workload: str) -> str:
        return f"python -m ecsforge continue {shlex.quote(path)} {workload}"

    def run() -> int:
        session = _session(manifest, context)
        screen = Screen(context.out)
        while True:
            statuses = fetch_statuses(session, manifest, names)
            text = render(statuses, context.clock(), resume)
            if not watch:
                context.out.write(text)
                return exit_code(statuses)
            screen.draw(text, context.clock())
            if settled(statuses):
                return exit_code(statuses, watching=True)
            context.sleep(interval)

    try:
        return _guarded("status", context, run)
    except KeyboardInterrupt:
        print("\nstopped watching; the deployments go on", file=context.err)
        return EXIT_INTERRUPTED


def continue_(path: str, workload: str, *, rollback: bool, context: Context) -> int:
    """Exit 0: the waiting pause hook was acted on; 1: invalid manifest or service; 2: AWS said no,
    or no hook waits."""
    manifest = _load(path, context)
    if manifest is None or _unknown(manifest, [workload], services_only=True, context=context):
        return EXIT_INVALID

    def run() -> int:
        session = _session(manifest, context)
        deployment_arn, hook = waiting_hook(session, manifest, workload)
        act_on_hook(session, deployment_arn, hook, rollback=rollback)
        verb = "rolling back to the previous revision" if rollback else "continuing to the next lifecycle stage"
        print(f"{workload}: {verb} (hook {hook.hook_id} of {deployment_arn})", file=context.out)
        return 0

    return _guarded("continue", context, run)


def logs(
    path: str, workload: str, *, since: str, follow: bool, interval: float, context: Context, polls: int | None = None
) -> int:
    """Exit 0: printed (with --follow, until Ctrl-C); 1: invalid manifest, workload or --since; 2: AWS."""
    manifest = _load(path, context)
    if manifest is None or _unknown(manifest, [workload], services_only=False, context=context):
        return EXIT_INVALID
    try:
        window = log_lines.parse_since(since)
    except ValueError as error:
        print(error, file=context.err)
        return EXIT_INVALID

    def emit(line: log_lines.LogLine) -> None:
        context.out.write(line.format() + "\n")
        context.out.flush()

    def run() -> int:
        session = _session(manifest, context)
        groups = log_lines.log_groups(log_lines.task_definition(session, manifest, workload))
        if not groups:
            raise OpsError(
                f"{workload} writes no logs to CloudWatch (neither awslogs nor FireLens's cloudwatch output)"
            )
        start = int((context.clock() - window).timestamp() * 1000)
        client = session.client("logs")
        if not follow:
            for line in log_lines.read(client, groups, start):
                emit(line)
            return 0
        log_lines.follow(client, groups, start, emit, lambda: context.sleep(interval), polls)
        return 0

    try:
        return _guarded("logs", context, run)
    except KeyboardInterrupt:
        return 0
