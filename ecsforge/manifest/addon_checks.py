"""The addon step of load_manifest: read every addon template, attach it to its model, and
report, all at once, what CloudFormation or the wiring would reject: a missing file, a file that
is no template, parameters nobody passes or nobody declares, output names that collide, and
`{addon: X}` naming no output of an environment addon."""

from __future__ import annotations

import os
from collections.abc import Iterator

from .addon_templates import TemplateError, Where, read_template, template_problems
from .addons import SECRET, SECURITY_GROUP, VARIABLE, Addon, AddonValue, upper_snake
from .models import Manifest
from .overlays import Chain, placed
from .problems import Path, Problem, show
from .security_groups import MAX_TASK_SECURITY_GROUPS, own_security_groups
from .tasks import TaskSpec
from .wiring import access_variables

WORKLOAD_PARAMETERS = {"App", "Env", "Name"}


def environment_parameters(manifest: Manifest) -> set[str]:
    """The parameters ecsforge passes to an environment addon that declares them."""
    passed = WORKLOAD_PARAMETERS | {"VpcId", "PrivateSubnets"}
    imported = manifest.network.import_
    if imported is None or imported.public_subnet_ids:
        passed.add("PublicSubnets")
    return passed


class _Reader:
    def __init__(self, filename: str, chain: Chain) -> None:
        self.filename, self.chain = filename, chain
        self.problems: list[Problem] = []
        self.where: dict[str, Where] = {}  # template path -> positions inside it
        self.shown: dict[str, str] = {}  # template path -> as problems name it

    def at_manifest(self, path: Path, message: str) -> None:
        positions = self.chain.document.positions
        self.problems.append(placed(self.chain, Problem(*positions.of_value(path), path, message)))

    def in_template(self, shown: str, line: int, column: int, path: Path, message: str) -> None:
        self.problems.append(Problem(line, column, path, message, file=shown))

    def _written_in(self, path: Path) -> str:
        for end in range(len(path), -1, -1):
            origin = self.chain.origins.get(path[:end])
            if origin is not None:
                return origin.name
        return self.chain.origin.name

    def read(self, addons: list[Addon], path: Path, automatic: set[str]) -> None:
        keys: dict[str, int] = {}
        for index, addon in enumerate(addons):
            here = (*path, index)
            folder = os.path.dirname(self._written_in((*here, "template")))
            shown = os.path.normpath(os.path.join(folder, addon.template))
            try:
                template, where, unknown = read_template(shown)
            except OSError as error:
                reason = error.strerror or str(error)
                self.at_manifest(
                    (*here, "template"),
                    f"{show(addon.template)}: cannot read {shown} ({reason}); give a path relative to the manifest",
                )
                continue
            except TemplateError as error:
                message = f"{show(addon.template)}: {error.message}"
                self.in_template(shown, error.line, error.column, (*here, "template"), message)
                continue
            for line, column, message in unknown:
                self.in_template(shown, line, column, (*here, "template"), f"{show(addon.template)}: {message}")
            addon.attach(template)
            self.where[template.path], self.shown[template.path] = where, shown
            key = "".join(c for c in template.key if c.isalnum())
            if key in keys:
                self.at_manifest(
                    (*here, "template"),
                    f"{show(addon.template)}: addon {keys[key]} has a template of the same name; the nested stack is "
                    "keyed by the file's name: rename one file",
                )
            keys.setdefault(key, index)
            for problem in template_problems(addon, here, shown, where, automatic):
                self.at_manifest(problem.path, problem.message)

    def at_output(self, addon: Addon, output: str, path: Path, message: str) -> None:
        """A problem of one of the addon's outputs, reported at that output's line in its template."""
        template = addon.resolved
        line, column = self.where[template.path].get(("Outputs", output), (1, 1))
        self.in_template(self.shown[template.path], line, column, path, message)


def uses_addons(manifest: Manifest) -> bool:
    """Whether the manifest has addons or reads one's output: only then are templates read."""
    return bool(manifest.addons) or any(
        spec.addons
        or any(
            isinstance(value, AddonValue)
            for container in spec.containers.values()
            for value in [*container.environment.values(), *container.secrets.values()]
        )
        for _, spec in manifest.workloads()
    )


def read_addons(filename: str, manifest: Manifest, chain: Chain) -> list[Problem]:
    reader = _Reader(filename, chain)
    reader.read(manifest.addons, ("addons",), environment_parameters(manifest))
    for path, spec in manifest.workloads():
        reader.read(spec.addons, (*path, "addons"), WORKLOAD_PARAMETERS)
    if reader.problems:
        return reader.problems
    outputs = _environment_outputs(reader, manifest)
    for path, spec in manifest.workloads():
        _workload_collisions(reader, spec, path)
        _security_group_count(reader, spec, path)
        for problem_path, message in _addon_values(spec, path, outputs):
            reader.at_manifest(problem_path, message)
    return reader.problems


def _environment_outputs(reader: _Reader, manifest: Manifest) -> set[str]:
    seen: dict[str, int] = {}
    for index, addon in enumerate(manifest.addons):
        for output in addon.resolved.outputs:
            if output in seen:
                reader.at_output(
                    addon,
                    output,
                    ("addons", index, "template"),
                    f"output {output!r} is also an output of addon {seen[output]}; both would be the SSM parameter "
                    "of that name: rename one",
                )
            seen.setdefault(output, index)
    return set(seen)


def _workload_collisions(reader: _Reader, spec: TaskSpec, path: Path) -> None:
    own = {
        variable: f"container {name!r}"
        for name, container in spec.containers.items()
        for variable in [*container.environment, *container.secrets]
    }
    own.update({variable: "access" for variable in access_variables(spec.access)})
    for index, addon in enumerate(spec.addons):
        for output, kind in addon.resolved.outputs.items():
            if kind == SECURITY_GROUP and spec.network_mode != "awsvpc":
                reader.at_output(
                    addon,
                    output,
                    (*path, "addons", index, "template"),
                    f"output {output!r} is a security group, and only awsvpc tasks have their own; use network_mode "
                    "awsvpc or drop the output",
                )
            if kind not in (VARIABLE, SECRET):
                continue
            variable = upper_snake(output)
            if variable in own:
                reader.at_output(
                    addon,
                    output,
                    (*path, "addons", index, "template"),
                    f"output {output!r} becomes the variable {variable}, which {own[variable]} sets already; rename "
                    "the output or the variable",
                )
            own.setdefault(variable, f"addon {index} ({addon.template})")


def _security_group_count(reader: _Reader, spec: TaskSpec, path: Path) -> None:
    """ECS allows 5 groups per task: the task's own, Service Connect's, `security_groups` and the
    addons' groups together (`security_groups` alone is checked by its model)."""
    own = own_security_groups(getattr(spec, "connect", False)) + len(spec.security_groups)
    from_addons = [
        (index, output)
        for index, addon in enumerate(spec.addons)
        for output, kind in addon.resolved.outputs.items()
        if kind == SECURITY_GROUP
    ]
    if spec.network_mode != "awsvpc" or not own <= MAX_TASK_SECURITY_GROUPS < own + len(from_addons):
        return
    index, output = from_addons[MAX_TASK_SECURITY_GROUPS - own]
    reader.at_output(
        spec.addons[index],
        output,
        (*path, "addons", index, "template"),
        f"output {output!r} would be security group {MAX_TASK_SECURITY_GROUPS + 1} of the tasks; ECS allows at most "
        f"{MAX_TASK_SECURITY_GROUPS} (the task's own, the Service Connect group, `security_groups` and the addons' "
        "groups): drop an output or a listed group",
    )


def _addon_values(spec: TaskSpec, path: Path, outputs: set[str]) -> Iterator[tuple[Path, str]]:
    for name, container in spec.containers.items():
        for section in ("environment", "secrets"):
            for variable, value in getattr(container, section).items():
                if isinstance(value, AddonValue) and value.addon not in outputs:
                    known = (
                        f"use one of: {', '.join(sorted(outputs))}"
                        if outputs
                        else "there are none: add a template that outputs it under top-level addons"
                    )
                    yield (
                        (*path, "containers", name, section, variable, "addon"),
                        f"{value.addon!r} is no output of an environment addon; {known}",
                    )
