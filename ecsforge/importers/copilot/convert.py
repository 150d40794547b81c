"""Copilot's value formats -> ecsforge's: durations, schedules, names, secrets."""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NAME_BAD = re.compile(r"[^a-z0-9-]+")


def duration_seconds(text: object) -> float | None:
    """A Go duration ("1h30m", "250ms", "30s") in seconds; a bare number is seconds."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text)
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def name(value: str, limit: int = 32) -> str:
    """An ecsforge name (^[a-z][a-z0-9-]{0,31}$) as close to value as it gets."""
    out = _NAME_BAD.sub("-", value.lower()).strip("-")
    out = re.sub(r"-{2,}", "-", out)
    if not out or not out[0].isalpha():
        out = "x-" + out
    return out[:limit].rstrip("-")


_MACROS = {
    "@yearly": "cron(0 0 1 1 ? *)",
    "@annually": "cron(0 0 1 1 ? *)",
    "@monthly": "cron(0 0 1 * ? *)",
    "@weekly": "cron(0 0 ? * 1 *)",
    "@daily": "cron(0 0 * * ? *)",
    "@midnight": "cron(0 0 * * ? *)",
    "@hourly": "cron(0 * * * ? *)",
}
_DOW_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def schedule(text: str) -> tuple[str | None, str | None]:
    """Copilot's `on.schedule` -> (an EventBridge Scheduler expression, a note when approximate).
    (None, why) when there is no equivalent."""
    value = text.strip()
    if value.lower() == "none":
        return None, "the job only runs when started by hand (`copilot job run`); it has no schedule to import"
    if value in _MACROS:
        return _MACROS[value], None
    if value.startswith("@every "):
        seconds = duration_seconds(value.removeprefix("@every ").strip())
        if seconds is None or seconds < 60:
            return None, "EventBridge Scheduler's rate is at least one minute; write a longer interval"
        minutes = round(seconds / 60)
        note = None if minutes * 60 == seconds else f"rounded to {minutes} whole minutes"
        if minutes % 1440 == 0:
            days = minutes // 1440
            return f"rate({days} {'day' if days == 1 else 'days'})", note
        if minutes % 60 == 0:
            hours = minutes // 60
            return f"rate({hours} {'hour' if hours == 1 else 'hours'})", note
        return f"rate({minutes} {'minute' if minutes == 1 else 'minutes'})", note
    if value.startswith(("cron(", "rate(")):
        return value, None
    fields = value.split()
    if len(fields) != 5:
        return None, f"{value!r} is not a five-field cron expression or a Copilot @ schedule; convert it by hand"
    minute, hour, dom, month, dow = fields
    dow = _day_of_week(dow)
    note = None
    if dow == "*" or dow == "?":
        dow = "?"
    elif dom in ("*", "?"):
        dom = "?"
    else:
        note = (
            "cron runs when either the day of month or the weekday matches; EventBridge needs one of them `?`: "
            "kept the day of month"
        )
        dow = "?"
    return f"cron({minute} {hour} {dom} {month} {dow} *)", note


def _day_of_week(field: str) -> str:
    """Standard cron counts weekdays 0-6 (or 7) from Sunday; EventBridge 1-7 from Sunday."""

    def one(token: str) -> str:
        if token.isdigit():
            return _DOW_NAMES[int(token) % 7]
        return token.upper()

    out = []
    for item in field.split(","):
        step = ""
        if "/" in item:
            item, step = item.split("/", 1)
            step = "/" + step
        if "-" in item:
            low, high = item.split("-", 1)
            out.append(f"{one(low)}-{one(high)}{step}")
        else:
            out.append(one(item) + step)
    return ",".join(out)


def split_command(value: object) -> list[str] | None:
    """Copilot's command/entrypoint: a list, or a string split the way a shell would."""
    import shlex

    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return None
    return None
