"""The manifest layer: YAML file -> validated models. Never imports aws_cdk."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from .loader import Document, decode, load_text
from .models import Manifest
from .problems import ManifestError, Problem
from .report import as_written, problems_from
from .second_pass import semantic_problems

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
        data = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise ManifestError(filename, [Problem(1, 1, (), f"cannot read the file ({reason}); check the path")]) from None
    text, unreadable = decode(data)
    if text is None:
        assert unreadable is not None
        raise ManifestError(filename, [unreadable])
    document, problems = load_text(text, environ)
    if document.data is None or not isinstance(document.data, dict):
        raise ManifestError(filename, problems)
    try:
        manifest = Manifest.model_validate(document.data)
    except ValidationError as error:
        first = problems_from(Manifest, error, document.positions)
        seen = {(p.path, p.message) for p in first}
        more = [
            p for p in semantic_problems(document.data, error, document.positions) if (p.path, p.message) not in seen
        ]
        problems.extend(p for p in [*first, *more] if not _reported(document, p))
        raise ManifestError(filename, problems) from None
    if problems:
        raise ManifestError(filename, problems)
    warnings = [
        as_written(Problem(*document.positions.of_value(path), path, message), document.positions)
        for path, message in manifest.warnings()
    ]
    manifest.remember_locations({w.path: f"{filename}:{w.line}:{w.column}" for w in warnings})
    return LoadedManifest(filename, manifest, sorted(warnings))


def _reported(document: Document, problem: Problem) -> bool:
    """True when the loader already reported this value or one that contains it."""
    return any(problem.path[: len(path)] == path for path in document.reported if path)
