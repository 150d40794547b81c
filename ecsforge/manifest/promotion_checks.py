"""Promotion across environments: load each `promote[].manifest` (with the manifest package's own
loader, relative to the declaring file) and check it against the pipeline that promotes into it.

A model never reads files, so these rules run after the declaring manifest validated, from
load_manifest. Each problem sits at the `promote` entry's value in the declaring file."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from .base import Rule
from .deployment import deployment_minutes
from .loader import Positions
from .models import Manifest
from .pipelines import Pipeline
from .problems import ManifestError, Problem, show
from .promotion import Promotion

# The manifests being loaded for a promotion, outermost first: a chain that comes back is a cycle.
_CHAIN: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar("ecsforge_promotion_chain", default=())

CYCLE = "promotions form a cycle"

Loader = Callable[[str, Mapping[str, str] | None], Manifest]


def target_path(declaring: str | os.PathLike[str], promotion: Promotion) -> Path:
    return Path(os.path.normpath(Path(declaring).parent / promotion.manifest))


def resolve_promotions(
    filename: str, manifest: Manifest, positions: Positions, environ: Mapping[str, str] | None, load: Loader
) -> list[Problem]:
    """Load every promoted manifest into its Promotion (`promotion.target`) and return the problems."""
    problems: list[Problem] = []
    chain = _CHAIN.get()
    token = _CHAIN.set((*chain, Path(os.path.abspath(filename))))
    try:
        for name, pipeline in manifest.pipelines.items():
            seen: dict[str, int] = {}
            for index, promotion in enumerate(pipeline.promote):
                at = ("pipelines", name, "promote", index)
                for path, message in _one(filename, manifest, pipeline, promotion, (seen, index), environ, load):
                    full = (*at, *path)
                    problems.append(Problem(*positions.of_value(full), full, message))
    finally:
        _CHAIN.reset(token)
    return problems


def _one(
    filename: str,
    manifest: Manifest,
    pipeline: Pipeline,
    promotion: Promotion,
    seen_at: tuple[dict[str, int], int],
    environ: Mapping[str, str] | None,
    load: Loader,
) -> Iterator[Rule]:
    seen, index = seen_at
    path = target_path(filename, promotion)
    value = show(promotion.manifest)
    chain = _CHAIN.get()
    if Path(os.path.abspath(path)) in chain:
        loop = " -> ".join(p.name for p in [*chain, path])
        yield ("manifest",), f"{value}: {CYCLE} ({loop}); promote only away from this environment"
        return
    if not path.is_file():
        yield ("manifest",), f"{value}: there is no file {path}; the path is relative to this manifest's directory"
        return
    try:
        target = load(str(path), environ)
    except ManifestError as error:
        cycle = next((p for p in error.problems if CYCLE in p.message), None)
        if cycle is not None:
            # The loop closes in the promoted manifest; it is reported here, where it starts.
            yield ("manifest",), f"{value}: {cycle.message.split(': ', 1)[1]}"
            return
        first = error.problems[0].format(error.filename) if error.problems else ""
        yield (
            ("manifest",),
            f"{value} ({path}) cannot be used: {first}; fix that manifest (paths are relative to this one)",
        )
        return
    promotion._target = target
    if target.app != manifest.app:
        yield (
            ("manifest",),
            f"{value} is app {target.app!r}, this manifest {manifest.app!r}; promote only between environments "
            "of one app",
        )
        return
    if target.environment == manifest.environment:
        yield (
            ("manifest",),
            f"{value} is environment {target.environment!r}, this manifest's own, which Deploy already "
            "releases to; promote to another environment",
        )
        return
    if target.environment in seen:
        yield (
            ("manifest",),
            f"{value}: environment {target.environment!r} is already promoted to by "
            f"promote[{seen[target.environment]}]; list each environment once",
        )
    seen.setdefault(target.environment, index)
    yield from _accounts(manifest, target, value)
    yield from _tags(manifest, target, value)
    yield from _registry_and_services(manifest, pipeline, promotion, target, value)


def _accounts(manifest: Manifest, target: Manifest, value: str) -> Iterator[Rule]:
    if manifest.account == target.account or (manifest.account and target.account):
        return
    named = f"account {target.account}" if target.account else "no account"
    missing = "this manifest" if manifest.account is None else value
    yield (
        ("manifest",),
        f"{value} names {named}, this manifest {manifest.account or 'none'}: a promotion that may cross "
        f"accounts needs `account` in both (the promoted role trusts the pipeline's account, the pipeline "
        f"assumes a role in the promoted one); set it in {missing}",
    )


def _tags(manifest: Manifest, target: Manifest, value: str) -> Iterator[Rule]:
    # The promotion stack carries this manifest's tags and, above them, the promoted one's: a key
    # spelt in two cases is two tags there, which IAM refuses on the stack's role.
    ours = {key.lower(): key for key in manifest.tags}
    for key in target.tags:
        if ours.get(key.lower(), key) != key:
            yield (
                ("manifest",),
                f"{value} has tag key {key!r}, this manifest {ours[key.lower()]!r}: the promotion stack carries "
                "both, and IAM refuses a role with two tag keys that differ only in case; spell the key alike",
            )


def _registry_and_services(
    manifest: Manifest, pipeline: Pipeline, promotion: Promotion, target: Manifest, value: str
) -> Iterator[Rule]:
    registry = pipeline.build.registry
    if registry is None:  # build.images: check_images refuses promote for now
        return
    if registry not in target.registries:
        yield (
            ("manifest",),
            f"{value} has no registry {registry!r} to copy the image into (every environment pulls only from its "
            f"own registries); add `registries: {{{registry}: {{}}}}` there",
        )
        return
    followers = [
        n
        for n, s in target.services.items()
        if any(c.image.released and c.image.registry == registry for c in s.containers.values())
    ]
    if promotion.services is None and not followers:
        yield (
            ("manifest",),
            f"{value}: no service there follows registry {registry!r} (`image: {{registry: {registry}}}`), so "
            "nothing would run the promoted image; point a service there at it",
        )
    for index, name in enumerate(promotion.services or []):
        if name not in target.services:
            known = ", ".join(target.services) or "none defined"
            yield ("services", index), f"{name!r} is not a service of {value} ({known}); fix the name"
        elif name not in followers:
            yield (
                ("services", index),
                f"{name!r} has no container with `image: {{registry: {registry}}}` in {value}, so the promoted "
                "image would never reach it; point a container there at the registry or remove it",
            )
    built = pipeline.build.architectures
    deployed = [manifest.services[s] for s in pipeline.deploy.services if s in manifest.services]
    ours = set(built) if built else {a for service in deployed for a in manifest.architectures(service)}
    for name in promotion_services(promotion, target, registry):
        service = target.services[name]
        theirs = target.architectures(service)
        # One architecture must match; an image index (several platforms) serves each it holds.
        if ours and (not theirs <= ours if pipeline.build.multi_architecture else theirs != ours):
            yield (
                ("manifest",),
                f"{value}: service {name!r} runs on {', '.join(sorted(theirs))} there, but the pipeline builds "
                f"for {', '.join(sorted(ours))}; the promoted image is the same image, so use one architecture",
            )
        needed = deployment_minutes(service)
        if promotion.timeout_minutes < needed:
            yield (
                ("timeout_minutes",),
                f"{promotion.timeout_minutes}: service {name!r} takes about {needed} minutes to deploy in {value}; "
                f"raise timeout_minutes to {needed} or more (at most 60)",
            )


def promotion_services(promotion: Promotion, target: Manifest, registry: str) -> list[str]:
    """The services deployed in the promoted environment: those listed, or every one following the registry."""
    if promotion.services is not None:
        return [s for s in promotion.services if s in target.services]
    return [
        n
        for n, s in target.services.items()
        if any(c.image.released and c.image.registry == registry for c in s.containers.values())
    ]
