"""`status` as text: one block per service, and `--watch`, which redraws it until every
deployment ends (in place on a terminal, as repeated blocks elsewhere)."""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Callable, Sequence
from typing import TextIO

from .model import Deployment, Hook, ServiceStatus, TargetGroupHealth

BAR_WIDTH = 20
LABEL = 11  # the width of the left column


def _line(label: str, text: str) -> str:
    return f"  {label:<{LABEL}}{text}"


def progress_bar(percent: float) -> str:
    filled = round(BAR_WIDTH * max(0.0, min(percent, 100.0)) / 100)
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:g}%"


def _duration(delta: datetime.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def _hook(hook: Hook, now: datetime.datetime) -> str:
    text = f"{hook.kind} {hook.status}"
    if hook.expires_at is not None:
        expires = hook.expires_at.astimezone(datetime.UTC)
        text += f", expires {expires:%Y-%m-%d %H:%M} UTC (in {_duration(expires - now)})"
    if hook.timeout_action:
        text += f", then {hook.timeout_action}"
    return text


def _deployment(deployment: Deployment, now: datetime.datetime, resume: str) -> list[str]:
    stage = f" at {deployment.stage}" if deployment.stage else ""
    lines = [_line("deployment", f"{deployment.strategy.lower()} {deployment.status}{stage}")]
    running, requested = deployment.target_tasks
    lines.append(_line("new tasks", f"{running} running of {requested}"))
    if deployment.production_percent is not None:
        lines.append(_line("production", progress_bar(deployment.production_percent)))
    if deployment.test_percent is not None and deployment.strategy != "ROLLING":
        lines.append(_line("test", progress_bar(deployment.test_percent)))
    lines += [_line("hook", _hook(hook, now)) for hook in deployment.hooks if hook.status != "SUCCEEDED"]
    if deployment.waiting_hook is not None:
        lines.append(_line("", f"to go on: {resume}  (or add --rollback)"))
    for label, value in (
        ("reason", deployment.reason),
        ("rollback", deployment.rollback_reason),
        ("breaker", deployment.circuit_breaker if deployment.circuit_breaker == "TRIGGERED" else None),
        ("triggered", ", ".join(deployment.triggered_alarms)),
    ):
        if value:
            lines.append(_line(label, value))
    return lines


def _targets(group: TargetGroupHealth) -> str:
    states = ", ".join(f"{count} {state}" for state, count in sorted(group.states.items())) or "no targets"
    return f"{group.name}: {states}"


def render_service(status: ServiceStatus, now: datetime.datetime, resume: str) -> list[str]:
    lines = [
        f"{status.workload} ({status.service_name})",
        _line("tasks", f"{status.running} running, {status.desired} desired, {status.pending} pending"),
    ]
    if status.deployment is not None:
        lines += _deployment(status.deployment, now, resume)
    lines += [_line("targets", _targets(group)) for group in status.targets]
    lines += [_line("alarm", f"{name}: {state}") for name, state in sorted(status.alarms.items())]
    return lines


def render(statuses: Sequence[ServiceStatus], now: datetime.datetime, continue_command: Callable[[str], str]) -> str:
    """Every service's block; `continue_command(workload)` is the command that acts on its hook."""
    blocks = ["\n".join(render_service(s, now, continue_command(s.workload))) for s in statuses]
    return "\n\n".join(blocks) + "\n"


class Screen:
    """Where --watch draws: in place on a terminal (ANSI: cursor up, clear to the end), else one
    block after the other, each under a time stamp."""

    def __init__(self, out: TextIO, columns: int | None = None) -> None:
        self.out = out
        self.tty = out.isatty()
        self.drawn_lines = 0
        # Lines are clipped to the terminal's width: a wrapped line would throw the count off.
        self.columns = columns or shutil.get_terminal_size().columns

    def draw(self, text: str, now: datetime.datetime) -> None:
        header = f"-- {now.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC --\n"
        if self.tty:
            if self.drawn_lines:
                self.out.write(f"\x1b[{self.drawn_lines}F\x1b[J")
            text = "".join(line[: self.columns - 1] + "\n" for line in text.splitlines())
            self.drawn_lines = (header + text).count("\n")
        elif self.drawn_lines:
            self.out.write("\n")
        else:
            self.drawn_lines = 1
        self.out.write(header + text)
        self.out.flush()
