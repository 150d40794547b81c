"""Contract v1.1 additions to `pipelines`: V2 push triggers of a GitHub source, promotion
to other environments (`promote`) and where the pipeline's news goes (`notify`).

The rules that need the promoted environments' manifests run when the manifest is
loaded (promotion_checks.py), since a model never reads files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import Field, PrivateAttr

from .base import Model, Name, Rule, matching

EMAIL = Annotated[
    str, Field(max_length=254), matching(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "email address", "ops@example.com")
]
# CodePipeline's limits on a trigger filter (GitBranchFilterCriteria, GitFilePathFilterCriteria,
# GitTagFilterCriteria): 1..8 patterns, each 1..255 characters.
MAX_PATTERNS = 8
PATTERN = Annotated[str, Field(min_length=1, max_length=255)]
# Glob characters the filters accept: * ** ? [] {} and \ as escape.
_BRACKETS = {"[": "]", "{": "}"}


def _unbalanced(pattern: str) -> str | None:
    """The first bracket of a glob that is not closed (or closes nothing), or None."""
    stack: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _BRACKETS:
            stack.append(char)
        elif char in _BRACKETS.values() and (not stack or _BRACKETS[stack.pop()] != char):
            return char
    return stack[-1] if stack else None


class Trigger(Model):
    branches: list[PATTERN] | None = Field(
        None,
        min_length=1,
        max_length=MAX_PATTERNS,
        description="Default: [branch]. Glob patterns of branches whose pushes start the pipeline (at most 8).",
    )
    tags: list[PATTERN] = Field(
        default_factory=list,
        max_length=MAX_PATTERNS,
        description="Default: none. Glob patterns of Git tags whose push also starts the pipeline (at most 8).",
    )
    paths: list[PATTERN] = Field(
        default_factory=list,
        max_length=MAX_PATTERNS,
        description="Default: any path. Glob patterns of files: a branch push starts the pipeline only when it "
        "changes one (at most 8).",
    )

    def check(self) -> Iterator[Rule]:
        for field in ("branches", "tags", "paths"):
            for index, pattern in enumerate(getattr(self, field) or []):
                bracket = _unbalanced(pattern)
                if bracket is not None:
                    yield (field, index), f"{pattern!r}: {bracket!r} is not matched; close it or escape it with \\"
                elif pattern != pattern.strip():
                    yield (field, index), f"{pattern!r} starts or ends with a space; remove it"
                elif field == "paths" and pattern.startswith("/"):
                    yield (field, index), f"{pattern!r}: paths are relative to the repository root; drop the '/'"
                elif field != "paths" and pattern.startswith("refs/"):
                    prefix = "/".join(pattern.split("/")[:2]) + "/"
                    yield (field, index), f"{pattern!r}: patterns match the short name; drop {prefix!r}"


class Slack(Model):
    workspace_id: Annotated[
        str, matching(r"^[0-9A-Z]{1,255}$", "Slack workspace id", "T0123ABCD (Slack: workspace settings)")
    ] = Field(description="Required. The Slack workspace id, authorized once in the AWS Chatbot console.")
    channel_id: Annotated[str, matching(r"^[A-Za-z0-9]{1,255}$", "Slack channel id", "C0123ABCD")] = Field(
        description="Required. The Slack channel id (channel details, at the bottom)."
    )


class Notify(Model):
    emails: list[EMAIL] = Field(
        default_factory=list,
        description="Default: none. Emails told of failures, approvals and successful promotions.",
    )
    slack: Slack | None = Field(
        None, description="Default: no chat. An AWS Chatbot Slack channel told of the same events."
    )


class Approval(Model):
    """A manual approval: the pipeline's own `approval`, or one before a promoted environment."""

    notify: list[EMAIL] = Field(
        default_factory=list, description="Default: a topic with no subscriber. Emails subscribed to the topic."
    )
    comment: str | None = Field(None, max_length=512, description="Default: none.")
    timeout_minutes: int = Field(10080, ge=5, le=10080, description="5..10080. Default: 10080 (7 days).")


class Promotion(Model):
    manifest: Annotated[str, Field(min_length=1, max_length=1024)] = Field(
        description="Required. The promoted environment's manifest, relative to this file (same app)."
    )
    approval: Approval | None = Field(None, description="Default: no approval before this environment.")
    services: list[Name] | None = Field(
        None,
        min_length=1,
        description="Default: every service there that follows build.registry. The services deployed there.",
    )
    timeout_minutes: int = Field(60, ge=5, le=60, description="5..60. Default: 60.")
    # The promoted environment's manifest, set by the loader (promotion_checks.resolve_promotions).
    _target: Any = PrivateAttr(default=None)

    @property
    def target(self) -> Any:
        if self._target is None:
            raise ValueError(f"promotion to {self.manifest} was not loaded (use ecsforge.manifest.load_manifest)")
        return self._target

    def check(self) -> Iterator[Rule]:
        for index, name in enumerate(self.services or []):
            if name in (self.services or [])[:index]:
                yield ("services", index), f"{name!r} is listed twice; list each service once"
        if re.match(r"^[a-z][a-z0-9+.-]*://", self.manifest):
            yield (
                ("manifest",),
                f"{self.manifest!r} is a URL; write a local path relative to this manifest, e.g. prod.yml",
            )
