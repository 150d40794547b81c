"""`python -m ecsforge import copilot WORKSPACE --region R [--account ENV=ID ...] [--connection-arn ARN] --out DIR`

AWS Copilot workspaces (copilot/: services, jobs, environments, pipelines) -> ecsforge manifests:
a shared base.yml and one overlay per Copilot environment, plus a report of every Copilot field
that was not imported or was mapped only approximately. Reads files only: never calls AWS.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

from .importer import Options, Result, import_workspace, write
from .reading import WorkspaceError

__all__ = ["Options", "Result", "WorkspaceError", "import_workspace", "run", "write"]

_ACCOUNT = re.compile(r"^[0-9]{12}$")


def run(workspace: str, region: str, accounts: Sequence[str], connection_arn: str | None, out: str) -> int:
    """Exit 0: the manifests were written (the report says what was left out); 1: unreadable."""
    parsed: dict[str, str] = {}
    for item in accounts:
        env, _, account = item.partition("=")
        if not env or not _ACCOUNT.match(account):
            print(f"--account {item}: write ENV=ACCOUNT with a 12-digit account id", file=sys.stderr)
            return 1
        parsed[env] = account
    try:
        result = import_workspace(Path(workspace), Options(region, parsed, connection_arn))
    except WorkspaceError as error:
        print(error, file=sys.stderr)
        return 1
    written = write(result, Path(out))
    result.report.written = [str(p) for p in written] + [str(Path(out) / copy) for copy in result.copies]
    for line in result.report.lines():
        print(line)
    return 0
