"""Shared by the tests: the real CDK CLI, run offline, once per manifest and session."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def default_manifests() -> list[str]:
    """platform.yml, examples/*.yml and the environments of examples/*/ (their overlays)."""
    examples = [*(ROOT / "examples").glob("*.yml"), *overlays(ROOT / "examples")]
    return ["platform.yml", *sorted(str(p.relative_to(ROOT)) for p in examples)]


def overlays(examples: Path) -> list[Path]:
    """The manifests of examples/<folder>/ that no other file there extends: a file that is
    extended is a base, not a complete manifest, and is gated through its overlays."""
    import yaml

    found = []
    for folder in sorted(p for p in examples.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.yml"))
        extended = set()
        for path in files:
            base = (yaml.safe_load(path.read_text()) or {}).get("extends")
            if isinstance(base, str):
                extended.add((folder / base).resolve())
        found += [path for path in files if path.resolve() not in extended]
    return found


def gate_manifests() -> list[str]:
    """`make test MANIFESTS="a.yml b.yml"` puts the user's own manifests through the gates."""
    chosen = os.environ.get("ECSFORGE_MANIFESTS", "").split()
    return chosen or default_manifests()


def offline_env() -> dict[str, str]:
    """No AWS credentials, no config, no instance metadata: synth must not need them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    missing = str(ROOT / "tests" / "no-such-aws-file")
    env.update(
        AWS_CONFIG_FILE=missing,
        AWS_SHARED_CREDENTIALS_FILE=missing,
        AWS_EC2_METADATA_DISABLED="true",
        PATH=os.pathsep.join([str(ROOT / ".venv" / "bin"), str(ROOT / "node_modules" / ".bin"), env["PATH"]]),
    )
    return env


@dataclass
class Synth:
    manifest: str
    outdir: Path
    returncode: int
    stdout: str
    stderr: str
    lint: subprocess.CompletedProcess[str] | None = None  # cfn-lint, when run with the synthesis

    def templates(self) -> dict[str, dict[str, Any]]:
        """The synthesized templates, read once. Tests read them and never change them."""
        assert self.returncode == 0, self.stderr
        if not hasattr(self, "_templates"):
            self._templates = {
                p.name.removesuffix(".template.json"): json.loads(p.read_text())
                for p in sorted(self.outdir.glob("*.template.json"))
            }
        return self._templates

    def resources(self, stack: str, kind: str) -> dict[str, dict[str, Any]]:
        resources = self.templates()[stack]["Resources"]
        return {k: v for k, v in resources.items() if v["Type"] == kind}


def only(found: dict[str, Any]) -> Any:
    """The one value of a mapping of resources (fails, naming them, if there are more)."""
    assert len(found) == 1, list(found)
    return next(iter(found.values()))


def cdk_synth(manifest: str | Path, outdir: Path) -> Synth:
    process = subprocess.run(
        [str(CDK), "synth", "-c", f"manifest={manifest}", "-o", str(outdir), "-q"],
        cwd=ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Synth(str(manifest), outdir, process.returncode, process.stdout, process.stderr)


def cfn_lint(synth: Synth) -> subprocess.CompletedProcess[str]:
    """cfn-lint over every template of a synthesis, in the manifest's region (an overlay may
    take it from its base)."""
    from ecsforge.manifest import load_manifest

    manifest = Path(synth.manifest)
    region = load_manifest(manifest if manifest.is_absolute() else ROOT / manifest).manifest.region
    templates = sorted(str(p) for p in synth.outdir.glob("*.template.json"))
    return subprocess.run(
        ["cfn-lint", "--regions", region, "--", *templates],
        cwd=ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
    )


def cdk_synth_and_lint(manifest: str | Path, outdir: Path) -> Synth:
    """A gate manifest: synthesized by the CLI, then linted (both in the background)."""
    result = cdk_synth(manifest, outdir)
    if result.returncode == 0:
        result.lint = cfn_lint(result)
    return result


def inprocess_synth(manifest: str | Path, outdir: Path) -> Synth:
    """The app as `cdk synth` runs it (cdk.json's context, warnings on stderr), in this
    process: a second or two instead of the CLI's five, for the tests' ad-hoc manifests."""
    import contextlib
    import io

    from ecsforge.cli import print_warnings
    from ecsforge.diff import SynthError, synthesize_into
    from ecsforge.manifest import ManifestError, load_manifest

    err = io.StringIO()
    out = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            loaded = load_manifest(manifest)
            print_warnings(loaded.filename, loaded.warnings)
            synthesize_into(loaded, outdir)
            code = 0
        except (ManifestError, SynthError) as error:  # the test reads either from stderr
            print(error, file=err)
            code = 1
    return Synth(str(manifest), outdir, code, out.getvalue(), err.getvalue())


def normalized(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Templates with what differs between identical runs taken out: asset hashes and the
    CDK analytics blob (which encodes library versions, not anything ecsforge decides)."""
    text = ASSET_HASH.sub("<asset-hash>", json.dumps(templates, sort_keys=True))
    result: dict[str, Any] = json.loads(text)
    for template in result.values():
        template.get("Resources", {}).pop("CDKMetadata", None)
        template.get("Conditions", {}).pop("CDKMetadataAvailable", None)
        if "Conditions" in template and not template["Conditions"]:
            del template["Conditions"]
    return result


def variant(tmp_path: Path, base: str, name: str, change: dict[str, Any]) -> Path:
    """`base` (a path under ROOT) with each dotted key of `change` set, written as tmp_path/<name>.yml."""
    manifest = yaml.safe_load((ROOT / base).read_text())
    for dotted, value in change.items():
        *parents, key = dotted.split(".")
        target = manifest
        for parent in parents:
            target = target.setdefault(parent, {})
        target[key] = value
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path
