#!/usr/bin/env python3
"""`make bench`: synthesis time and memory of ecsforge against a hand-written aws-cdk-lib
baseline, for 1 to 500 services. Writes bench/results.json, bench/results.md and the
table in README.md, then (bench/pipeline_speed.py, a model, nothing synthesized) the
pipelines' minutes to a first environment. Figures are medians of RUNS runs; peak RSS is the whole process tree
(python and its jsii node process), sampled from /proc.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import write  # noqa: E402
from pipeline_speed import write as write_pipeline_speed  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "1 10 50 100 200 500").split()]
CLI_SIZES = [n for n in (1, 200) if n in SIZES]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
LIMITS = {"resources": 500, "bytes": 1_000_000, "outputs": 200, "listener_rules": 100}


def cdk_json_command() -> list[str]:
    """ecsforge as `cdk synth` runs it: cdk.json's app command, on this interpreter."""
    words = shlex.split(json.loads((ROOT / "cdk.json").read_text())["app"])
    return [sys.executable, *words[1:]]


# The baseline runs as `cdk init app --language python` runs an app: `python3 app.py`.
APPS = {"ecsforge": cdk_json_command(), "baseline": [sys.executable, "bench/baseline_app.py"]}
# The same baseline on ecsforge's runtime (python -O, and app.py's setup: ecsforge/runtime.py):
# its ratio is what ecsforge's own work costs.
SAME_RUNTIME = "baseline_same_runtime"
COMMANDS = {**APPS, SAME_RUNTIME: [sys.executable, "-O", "bench/baseline_same_runtime.py"]}
SAME_RUNTIME_SIZES = [n for n in (200, 500) if n in SIZES]


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in (Path("/proc") / str(current) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
        stack.extend(children.get(current, []))
    return total


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    # stderr to a file, not a pipe: nobody reads a pipe while the app runs, and warnings of
    # hundreds of services fill its 64 KiB, which would block the app for good.
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        errors.seek(0)
        stderr = errors.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-3000:]}")
    return elapsed, peak


def stack_figures(outdir: Path) -> dict[str, Any]:
    largest: dict[str, Any] = {"resources": 0, "bytes": 0, "outputs": 0, "listener_rules": 0, "stacks": 0}
    rules = 0
    for path in outdir.glob("*.template.json"):
        template = json.loads(path.read_text())
        resources = template.get("Resources", {})
        largest["stacks"] += 1
        largest["resources"] = max(largest["resources"], len(resources))
        largest["bytes"] = max(largest["bytes"], path.stat().st_size)
        largest["outputs"] = max(largest["outputs"], len(template.get("Outputs", {})))
        rules += sum(1 for r in resources.values() if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule")
    largest["listener_rules"] = rules  # one shared load balancer
    return largest


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(ROOT / ".venv" / "bin"), str(ROOT / "node_modules" / ".bin"), env["PATH"]])
    return env


def app_run(app: str, manifest: Path, context: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as outdir:
        env = base_env()
        env["CDK_OUTDIR"] = outdir
        env["CDK_CONTEXT_JSON"] = json.dumps({**context, "manifest": str(manifest)})
        seconds, peak = measure(COMMANDS[app], env)
        return seconds, peak, stack_figures(Path(outdir))


def cli_run(app: str, manifest: Path) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as outdir:
        command = [str(ROOT / "node_modules/.bin/cdk"), "synth", "-q", "-o", outdir, "-c", f"manifest={manifest}"]
        if app == "baseline":
            command += ["--app", f"{sys.executable} bench/baseline_app.py"]
        return measure(command, base_env())


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.machine(),
    )
    memory = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    node = subprocess.run(
        [str(ROOT / "node_modules/.bin/node"), "--version"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory / 1024 / 1024:.0f} GiB, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, Node {node}"
    )


def table(results: dict[str, Any]) -> str:
    lines = [
        f"Machine: {results['machine']}. Medians of {results['runs']} runs; "
        "peak RSS is python plus its jsii node process.",
        "",
        "| services | stacks | ecsforge s | baseline s | ratio | baseline on ecsforge's runtime s (ratio) "
        "| peak RSS MiB (ecsforge / baseline) "
        "| largest stack, resources / KB / outputs (ecsforge; baseline) | listener rules "
        "| cdk synth s (ecsforge / baseline) |",
        "|---:|---:|---:|---:|---:|---|---|---|---:|---|",
    ]

    def size(largest: dict[str, Any]) -> str:
        return f"{largest['resources']} / {largest['bytes'] / 1000:.0f} / {largest['outputs']}"

    for row in results["rows"]:
        cli = row.get("cli")
        cli_text = f"{cli['ecsforge']:.1f} / {cli['baseline']:.1f}" if cli else ""
        ours, theirs = row["ecsforge"], row["baseline"]
        same = row.get(SAME_RUNTIME)
        same_text = f"{same['seconds']:.1f} ({row['ratio_same_runtime']:.2f})" if same else ""
        lines.append(
            f"| {row['services']} | {ours['largest']['stacks']} | {ours['seconds']:.1f} | {theirs['seconds']:.1f} | "
            f"{row['ratio']:.2f} | {same_text} | {ours['peak_mib']:.0f} / {theirs['peak_mib']:.0f} | "
            f"{size(ours['largest'])}; {size(theirs['largest'])} | {ours['largest']['listener_rules']} | {cli_text} |"
        )
    lines += [
        "",
        "Seconds per added service (ecsforge), between consecutive sizes: "
        + ", ".join(f"{a}->{b}: {s:.3f}" for a, b, s in results["marginal"]),
    ]
    return "\n".join(lines) + "\n"


def compile_bytecode() -> None:
    """ecsforge's modules, compiled as Python does at their first import wherever
    PYTHONDONTWRITEBYTECODE is unset (it is set on some CI machines, which would otherwise
    compile every module again in every run; the baseline is one script, compiled anyway)."""
    for level in ("0", "1"):  # plain and -O
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-o", level, "ecsforge"], cwd=ROOT, check=True)


def main() -> None:
    compile_bytecode()
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    folder = Path(tempfile.mkdtemp(prefix="ecsforge-bench-"))
    rows = []
    for count in SIZES:
        manifest = write(count, folder)
        row: dict[str, Any] = {"services": count}
        apps = [*APPS, SAME_RUNTIME] if count in SAME_RUNTIME_SIZES else list(APPS)
        # Interleaved, so that a slow minute of the machine weighs on every app alike.
        measured = [[app_run(app, manifest, context) for app in apps] for _ in range(RUNS)]
        for index, app in enumerate(apps):
            runs = [each[index] for each in measured]
            seconds = statistics.median(r[0] for r in runs)
            peak = statistics.median(r[1] for r in runs)
            row[app] = {
                "seconds": seconds,
                "peak_mib": peak / 1024 / 1024,
                "all_seconds": [r[0] for r in runs],
                "largest": runs[0][2],
            }
            print(f"{count:4d} services  {app:9s} {seconds:6.1f} s  {peak / 1024 / 1024:6.0f} MiB", flush=True)
        row["ratio"] = row["ecsforge"]["seconds"] / row["baseline"]["seconds"]
        if SAME_RUNTIME in row:
            row["ratio_same_runtime"] = row["ecsforge"]["seconds"] / row[SAME_RUNTIME]["seconds"]
        if count in CLI_SIZES:
            timed = [[cli_run(app, manifest)[0] for app in APPS] for _ in range(RUNS)]  # interleaved too
            row["cli"] = {app: statistics.median(each[index] for each in timed) for index, app in enumerate(APPS)}
        rows.append(row)
    marginal = [
        (
            a["services"],
            b["services"],
            (b["ecsforge"]["seconds"] - a["ecsforge"]["seconds"]) / (b["services"] - a["services"]),
        )
        for a, b in itertools.pairwise(rows)
    ]
    results = {"machine": machine(), "runs": RUNS, "limits": LIMITS, "rows": rows, "marginal": marginal}
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = table(results)
    (ROOT / "bench" / "results.md").write_text(markdown)
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        readme.write_text(head + start + "\n" + markdown + end + rest.split(end, 1)[1])
    print(markdown)
    # Modelled, not measured: a pipeline's minutes from a push to its first environment.
    print(write_pipeline_speed(results))
    broken = [
        f"{row['services']} services: largest stack {key} {row['ecsforge']['largest'][key]} > {limit}"
        for row in rows
        for key, limit in LIMITS.items()
        if row["ecsforge"]["largest"][key] > limit
    ]
    if broken:
        raise SystemExit("limits broken:\n" + "\n".join(broken))


if __name__ == "__main__":
    main()
