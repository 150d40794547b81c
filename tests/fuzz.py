"""A mutation fuzzer over the example manifests: every mutant is either rejected in the
promised form (file:line:col: path: message, no traceback) or synthesizes without error.

Used by tests/test_fuzz.py (a short, seeded run in `make test`) and by `make fuzz`
(a long run: `python -m tests.fuzz --seconds 600 --seed N`).
"""

from __future__ import annotations

import argparse
import copy
import random
import re
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# file:line:col: dotted.path: message
PROMISED = re.compile(r"^(?P<file>[^:]+):(?P<line>[0-9]+):(?P<column>[0-9]+): (?P<path>[^:]+|\([^)]*\)): .+$")

# Values that sit on the edges of what AWS and aws-cdk accept.
ODD_VALUES: list[Any] = [
    "",
    " ",
    "-",
    "a-",
    "a--b",
    "A",
    "ä",
    "web.git",
    "x" * 300,
    "${NOT_SET}",
    "$${LITERAL}",
    "0.0.0.0",
    "10.0.0.1",
    "::/0",
    "10.0.0.0/8",
    "192.168.0.1",
    "ssm:relative/path",
    "secretsmanager:x",
    "cron(0 0 1 * MON *)",
    "rate(0 minutes)",
    "cron(cron(0 8 * * ? *))",
    "0 8 ? * MON-FRI *",
    "200-600",
    "99",
    "arn:aws:acm:eu-west-1:111111111111:certificate/abc",
    "us-east-1z",
    "Credentials",
    "web-uri",
    0,
    1,
    2,
    3,
    -1,
    99,
    100,
    101,
    128,
    16385,
    10**20,
    True,
    False,
    None,
    [],
    {},
    ["a"],
    {"a": "b"},
]


@dataclass
class Outcome:
    rejected: int = 0
    synthesized: int = 0
    defects: list[str] = field(default_factory=list)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def mutate(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One to three edits: replace a value, drop a key, copy a named entry under an odd name."""
    mutant = copy.deepcopy(data)
    for _ in range(rng.randint(1, 3)):
        paths = _paths(mutant)
        if not paths:
            break
        path = rng.choice(paths)
        parent = _parent(mutant, path)
        last = path[-1]
        kind = rng.random()
        if kind < 0.7:
            parent[last] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif kind < 0.85 and isinstance(parent, dict):
            del parent[last]
        elif isinstance(parent, dict) and isinstance(last, str):
            twin = rng.choice([f"{last}-uri", f"{last}-", "credentials", "Credentials", f"{last}x" * 4])
            parent[twin] = copy.deepcopy(parent[last])
    return mutant


def check_one(text: str, synthesize: bool, outcome: Outcome, label: str) -> None:
    from ecsforge.diff import SynthError, synthesize_into
    from ecsforge.manifest import ManifestError, load_manifest

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant.yml"
        path.write_text(text)
        try:
            loaded = load_manifest(path, environ={})
        except ManifestError as error:
            bad = [line for line in str(error).splitlines() if not PROMISED.match(line)]
            if bad or not error.problems:
                outcome.defects.append(f"{label}: badly formed error {bad[:1]}\n{text}")
            outcome.rejected += 1
            return
        except Exception:
            outcome.defects.append(f"{label}: validate crashed\n{traceback.format_exc(limit=3)}\n{text}")
            return
        if not synthesize:
            return
        try:
            synthesize_into(loaded, Path(folder) / "cdk.out")
        except ManifestError as error:  # an override's path, checked against the synthesized template
            bad = [line for line in str(error).splitlines() if not PROMISED.match(line)]
            if bad or not error.problems:
                outcome.defects.append(f"{label}: badly formed error {bad[:1]}\n{text}")
            outcome.rejected += 1
            return
        except SynthError as error:
            outcome.defects.append(f"{label}: accepted but synth failed: {str(error)[:300]}\n{text}")
            return
        outcome.synthesized += 1


def run(seconds: float, seed: int, manifests: list[Path], max_synths: int) -> Outcome:
    rng = random.Random(seed)
    bases = [(p, yaml.safe_load(p.read_text())) for p in manifests]
    outcome = Outcome()
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        base_path, base = rng.choice(bases)
        mutant = mutate(base, rng)
        text = yaml.safe_dump(mutant, sort_keys=False)
        count += 1
        check_one(text, outcome.synthesized < max_synths, outcome, f"seed {seed} #{count} from {base_path.name}")
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(1 << 30))
    parser.add_argument("--max-synths", type=int, default=1000)
    parser.add_argument("manifests", nargs="*", type=Path)
    args = parser.parse_args(argv)
    manifests = args.manifests or [ROOT / "platform.yml", *sorted((ROOT / "examples").glob("*.yml"))]
    outcome = run(args.seconds, args.seed, manifests, args.max_synths)
    for defect in outcome.defects:
        print(defect, end="\n\n")
    print(
        f"seed {args.seed}: {outcome.rejected} rejected, {outcome.synthesized} synthesized, "
        f"{len(outcome.defects)} defects"
    )
    return 1 if outcome.defects else 0


if __name__ == "__main__":
    sys.exit(main())
