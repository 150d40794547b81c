"""The manifest layer: YAML file -> validated models. Never imports aws_cdk."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from .loader import load_text
from .models import Manifest
from .problems import ManifestError, Problem
from .report import problems_from

__all__ = ["LoadedManifest", "Manifest", "ManifestError", "Problem", "load_manifest"]


@dataclass
class LoadedManifest:
    filename: str
    manifest: Manifest
    warnings: list[Problem] = field(default_factory=list)


def load_manifest(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> LoadedManifest:
    """Read and validate one manifest. Raises ManifestError with every problem found."""
    filename = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ManifestError(filename, [Problem(1, 1, (), f"cannot read the file ({reason}); check the path")]) from None
    document, problems = load_text(text, environ)
    if document.data is None or not isinstance(document.data, dict):
        raise ManifestError(filename, problems)
    try:
        manifest = Manifest.model_validate(document.data)
    except ValidationError as error:
        problems.extend(problems_from(Manifest, error, document.positions))
        raise ManifestError(filename, problems) from None
    if problems:
        raise ManifestError(filename, problems)
    warnings = [Problem(*document.positions.of_value(path), path, message) for path, message in manifest.warnings()]
    return LoadedManifest(filename, manifest, sorted(warnings))
