"""The manifest layer: YAML file -> validated models. Never imports aws_cdk."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from .addon_checks import read_addons, uses_addons
from .base import TOLERATE_DEPLOYED
from .loader import Document
from .models import Manifest
from .overlays import Chain, ChainBroken, load_chain, placed
from .problems import ManifestError, Path, Problem
from .promotion_checks import resolve_promotions
from .report import as_written, problems_from
from .second_pass import semantic_problems

__all__ = ["LoadedManifest", "Manifest", "ManifestError", "Problem", "load_manifest"]


@dataclass
class LoadedManifest:
    filename: str
    manifest: Manifest
    warnings: list[Problem] = field(default_factory=list)


def load_manifest(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None, *, deployed: bool = False
) -> LoadedManifest:
    """Read and validate one manifest (merged with the bases it `extends`). Raises
    ManifestError with every problem found. `deployed`: the manifest stacks were deployed from
    (diff's OLD), which may break the rules added since (base.DeployedMayBreak): those are warnings."""
    filename = str(path)
    try:
        chain = load_chain(filename, environ)
    except ChainBroken as broken:
        raise ManifestError(filename, broken.problems) from None
    document, problems = chain.document, chain.problems
    try:
        manifest = Manifest.model_validate(document.data, context={TOLERATE_DEPLOYED: True} if deployed else None)
    except ValidationError as error:
        first = problems_from(Manifest, error, document.positions)
        seen = {(p.path, p.message) for p in first}
        more = [
            p for p in semantic_problems(document.data, error, document.positions) if (p.path, p.message) not in seen
        ]
        problems.extend(placed(chain, p) for p in [*first, *more] if not _reported(document, p))
        raise ManifestError(filename, problems) from None
    if problems:
        raise ManifestError(filename, problems)
    if uses_addons(manifest):
        unusable = read_addons(filename, manifest, chain)
        if unusable:
            raise ManifestError(filename, unusable)
    if any(p.promote for p in manifest.pipelines.values()):
        promoted = resolve_promotions(filename, manifest, document.positions, environ, _load_model)
        if promoted:
            raise ManifestError(filename, promoted)
    kept = [
        (path, f"{message} (kept while deployed; a manifest to deploy must fix it)")
        for path, message in (manifest.deployed_may_break() if deployed else ())
    ]
    warnings = [
        placed(chain, as_written(Problem(*document.positions.of_value(path), path, message), document.positions))
        for path, message in [*kept, *manifest.warnings()]
    ]
    manifest.remember_locations({w.path: w.where(filename) for w in warnings})
    manifest.remember_anchors(_override_anchors(filename, chain, manifest))
    return LoadedManifest(filename, manifest, sorted(warnings, key=Problem.sort_key))


def _override_anchors(filename: str, chain: Chain, manifest: Manifest) -> dict[Path, Problem]:
    """Where each operation of `overrides` and its members were written, in whichever file of the chain."""
    anchors: dict[Path, Problem] = {}
    for unit, operations in manifest.overrides.items():
        for index in range(len(operations)):
            for member in ((), ("path",), ("from",), ("value",)):
                path: Path = ("overrides", unit, index, *member)
                at = placed(chain, Problem(*chain.document.positions.of_value(path), path, ""))
                anchors[path] = dataclasses.replace(at, file=at.file or filename)
    return anchors


def _load_model(path: str, environ: Mapping[str, str] | None) -> Manifest:
    return load_manifest(path, environ).manifest


def _reported(document: Document, problem: Problem) -> bool:
    """True when the loader already reported this value or one that contains it."""
    return any(problem.path[: len(path)] == path for path in document.reported if path)
