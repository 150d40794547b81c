"""One environment being built: the ecsforge document and what workloads add to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .notes import Report


@dataclass
class BuildInfo:
    """How the pipeline builds a workload's image (from `image.build`)."""

    registry: str
    dockerfile: str
    context: str
    args: dict[str, str] = field(default_factory=dict)  # `--build-arg`s
    target: str | None = None  # the stage of a multi-stage build

    def shape(self) -> dict[str, Any]:
        """The image as ecsforge's build (or one of `build.images`) writes it."""
        out: dict[str, Any] = {"registry": self.registry, "dockerfile": self.dockerfile, "context": self.context}
        if self.args:
            out["args"] = dict(self.args)
        if self.target is not None:
            out["target"] = self.target
        return out


@dataclass
class Env:
    app: str
    copilot_name: str  # the Copilot environment this overlay is for
    name: str  # its ecsforge name
    region: str
    report: Report
    doc: dict[str, Any] = field(default_factory=dict)
    builds: dict[str, BuildInfo] = field(default_factory=dict)  # workload -> build
    # (publishing workload, Copilot topic name) -> key of `topics`
    topic_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    certificates: list[str] = field(default_factory=list)
    public_http: bool = False  # some workload uses the internet-facing load balancer
    internal_http: list[str] = field(default_factory=list)  # Backend Services with `http`

    def section(self, key: str) -> dict[str, Any]:
        value = self.doc.setdefault(key, {})
        assert isinstance(value, dict)
        return value

    def interpolate(self, text: str, workload: str | None = None) -> str:
        """Copilot's predefined variables, known here; any other `${NAME}` stays."""
        out = text.replace("${COPILOT_APPLICATION_NAME}", self.app).replace(
            "${COPILOT_ENVIRONMENT_NAME}", self.copilot_name
        )
        if workload is not None:
            out = out.replace("${COPILOT_SERVICE_NAME}", workload)
        if "${" in out:
            for part in out.split("${")[1:]:
                var = part.split("}", 1)[0]
                if var and not var.startswith("COPILOT_"):
                    self.report.variable(var, "a variable Copilot read from the shell at deploy time; export it")
        return out
