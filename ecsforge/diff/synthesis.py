"""Templates synthesized in this process, as `cdk synth` would write them."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from ..manifest import LoadedManifest, ManifestError
from ..runtime import APP_CONTEXT
from .model import Templates

# ecsforge/diff/synthesis.py -> the repository root, where cdk.json is.
ROOT = Path(__file__).resolve().parents[2]


class SynthError(Exception):
    pass


def cdk_context() -> dict[str, Any]:
    """The app's own context, the feature flags of cdk.json and the CLI's defaults, as app.py
    has them under `cdk synth`."""
    context = {**APP_CONTEXT, **json.loads((ROOT / "cdk.json").read_text())["context"]}
    context.pop("manifest", None)
    # What the CLI adds by default, so in-process templates equal `cdk synth`'s.
    context.update(
        {
            "aws:cdk:enable-path-metadata": True,
            "aws:cdk:enable-asset-metadata": True,
            "aws:cdk:version-reporting": True,
        }
    )
    return context


def synthesize_into(loaded: LoadedManifest, outdir: str | Path) -> None:
    """Synthesize the manifest into outdir in this process, as `cdk synth` would, with CDK's
    own output swallowed (it is part of the SynthError when synthesis fails). Raises
    ManifestError when an override does not fit the synthesized template."""
    from aws_cdk import App

    from ..platform import build
    from ..platform import synthesize as synthesize_app

    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            app = App(outdir=str(outdir), context=cdk_context())
            synthesize_app(app, build(app, loaded.manifest))
        except ManifestError:
            raise  # an override whose path is not in the template: the manifest's problem, at its line
        except Exception as error:
            raise SynthError(f"{loaded.filename}: synthesis failed: {error}\n{captured.getvalue()}") from None


def synthesize(loaded: LoadedManifest) -> Templates:
    """The manifest's templates, synthesized in this process."""
    with tempfile.TemporaryDirectory(prefix="ecsforge-diff-") as outdir:
        synthesize_into(loaded, outdir)
        return {
            path.name.removesuffix(".template.json"): json.loads(path.read_text())
            for path in sorted(Path(outdir).glob("*.template.json"))
        }
