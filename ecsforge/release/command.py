"""`python -m ecsforge release MANIFEST --registry R --tag T [--dry-run]`: the pipeline's
release step for images built elsewhere (another CI), with the caller's AWS credentials."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from ..manifest import ManifestError, load_manifest
from .plan import release_plan
from .runner import ReleaseError, error_code, release

# boto3's errors, by name: this module does not import botocore for its types.
_NO_CREDENTIALS = ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError")
_EXPIRED = ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException")


def default_session(region: str) -> Any:
    try:
        boto3 = importlib.import_module("boto3")
    except ImportError:
        raise ReleaseError("boto3 is not installed; pip install -r requirements.txt") from None
    return boto3.Session(region_name=region)


def run(
    path: str,
    registry: str,
    tag: str,
    *,
    dry_run: bool = False,
    session_factory: Callable[[str], Any] = default_session,
) -> int:
    """Exit 0: released (or planned); 1: the manifest, the registry, the tag, the credentials
    or AWS said no (one line on stderr, no traceback)."""
    try:
        loaded = load_manifest(path)
    except ManifestError as error:
        print(error, file=sys.stderr)
        return 1
    manifest = loaded.manifest
    if registry not in manifest.registries:
        known = ", ".join(manifest.registries) or "none"
        print(f"{path}: registries.{registry}: unknown registry; the manifest has: {known}", file=sys.stderr)
        return 1
    plan = release_plan(manifest, registry)
    try:
        session = session_factory(manifest.region)
        _check_account(session, manifest.account)
        outcome = release(session, plan, tag, dry_run=dry_run)
    except ReleaseError as error:
        print(f"release failed: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        print(f"release failed: {_explain(error)}", file=sys.stderr)
        return 1
    verb = "would release" if dry_run else "released"
    print(f"{verb} {plan.repository}:{tag} ({plan.parameter} = {tag})")
    if not dry_run and outcome.handoff:
        print(f"started: {' '.join(outcome.handoff)}")
    return 0


def _check_account(session: Any, account: str | None) -> None:
    """The caller's account, checked before anything is read or written (and the credentials with it)."""
    caller = session.client("sts").get_caller_identity()["Account"]
    if account is not None and caller != account:
        raise ReleaseError(
            f"the credentials are for account {caller}, the manifest's environment is in {account}; "
            "use credentials of that account"
        )


def _explain(error: Exception) -> str:
    name = type(error).__name__
    if name in _NO_CREDENTIALS:
        return (
            f"no usable AWS credentials ({error}); set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or assume a role (in GitHub Actions: aws-actions/configure-aws-credentials)"
        )
    code = error_code(error)
    if code in _EXPIRED:
        return f"the AWS credentials were refused ({code}); refresh them"
    if code in ("AccessDenied", "AccessDeniedException"):
        return f"{error}; the credentials need the permissions listed in README (release from another CI)"
    return str(error) or name
