"""The workspace's files that are not manifests: addons, YAML patch and CDK overrides, pipeline
buildspecs, anything else. Each is reported where it is (a patch per operation, a Docker Hub login
at its line): the import never drops a file silently."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from ...manifest.loader import decode, load_text
from .notes import NOT_IMPORTED, Note, Report
from .reading import Verbatim, Workspace, label

ADDONS = (
    "not an addon template of an imported workload (or of the environments); port what it does by hand, or move it "
    "where ecsforge's `addons` can list it"
)
PATCHES = (
    "a YAML patch of Copilot's template with no equivalent the importer maps; write it as `overrides` on the stack "
    "ecsforge makes for it (`cdk synth` shows the logical ids)"
)
_CDK_OVERRIDES = "a CDK override (`copilot svc override`) changes Copilot's template; port what it changes by hand"
_BUILDSPEC = (
    "Copilot's pipeline build (it runs `copilot svc package`); ecsforge generates its own build (tag with the "
    "commit id, push, imagedefinitions.json); port custom steps into the pipeline's `build.buildspec`"
)
_DOCKER_HUB_LOGIN = (
    "a Docker Hub login; ecsforge's `build.login` will take it; until then ecsforge's build pulls from Docker Hub "
    "without logging in (rate-limited): pull base images from ECR Public, or log in in your own `build.buildspec`"
)
_OVERRIDES = {"overrides", "override"}  # Copilot's documentation spells the CDK one both ways
_UNKNOWN = "the importer does not read this file; port what it does by hand"
_DOCKER_LOGIN = re.compile(r"\bdocker\s+login\b")
_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/")
_VALUE_OPTIONS = ("-u", "--username", "-p", "--password")


def custom_buildspecs(ws: Workspace) -> None:
    """A pipeline's `build.buildspec` outside copilot/ (the repository root is copilot/'s parent)."""
    for doc in ws.pipelines.values():
        build = doc.data.get("build")
        written = build.get("buildspec") if isinstance(build, dict) else None
        if not isinstance(written, str):
            continue
        path = (ws.root.parent / written).resolve()
        inside = path.is_relative_to(ws.root.parent.resolve()) and not path.is_relative_to(ws.root.resolve())
        if inside and path.is_file() and path not in ws.others:
            ws.others.append(path)


def report_files(ws: Workspace, report: Report) -> None:
    cdk: dict[Path, int] = {}  # a CDK override is one report line: a folder of a TypeScript app
    for path in ws.others:
        if not path.is_relative_to(ws.root):
            buildspec(path, path.relative_to(ws.root.parent.resolve()).as_posix(), report)
            continue
        where = label(ws.root, path)
        folders = path.relative_to(ws.root).parts[:-1]
        if "addons" in folders:
            report.add(Note(where, 1, 1, "addons", NOT_IMPORTED, ADDONS))
        elif _OVERRIDES & set(folders) and path.name == "cfn.patches.yml":
            _patches(path, where, report)
        elif _OVERRIDES & set(folders):
            end = next(i for i, part in enumerate(folders) if part in _OVERRIDES) + 1
            folder = ws.root.joinpath(*folders[:end])
            cdk[folder] = cdk.get(folder, 0) + 1
        elif path.name in ("buildspec.yml", "buildspec.yaml"):
            buildspec(path, where, report)
        else:
            report.add(Note(where, 1, 1, "(file)", NOT_IMPORTED, _UNKNOWN))
    for folder, count in cdk.items():
        report.add(
            Note(label(ws.root, folder) + "/", 1, 1, "overrides", NOT_IMPORTED, f"{_CDK_OVERRIDES} ({count} files)")
        )


def _patches(path: Path, where: str, report: Report) -> None:
    """One line per JSON-patch-style operation (op, path, value), at the operation."""
    text, _ = decode(path.read_bytes())
    document, _ = load_text(text or "", Verbatim())
    operations = document.data if isinstance(document.data, list) else []
    for index, operation in enumerate(operations):
        line, column = document.positions.of_value((index,))
        fields = operation if isinstance(operation, dict) else {}
        name = f"[{index}] {fields.get('op', '?')} {fields.get('path', '?')}"
        report.add(Note(where, line, column, name, NOT_IMPORTED, PATCHES))
    if not operations:
        report.add(Note(where, 1, 1, "overrides", NOT_IMPORTED, PATCHES + " (no operation could be read)"))


def buildspec(path: Path, where: str, report: Report) -> None:
    """The file, then each Docker Hub login at its line (an ECR or other registry login is not one)."""
    report.add(Note(where, 1, 1, "buildspec", NOT_IMPORTED, _BUILDSPEC))
    text, _ = decode(path.read_bytes())
    for number, line in enumerate((text or "").splitlines(), start=1):
        for match in _DOCKER_LOGIN.finditer(line):
            if _is_docker_hub(line[match.end() :]):
                report.add(Note(where, number, match.start() + 1, "docker login", NOT_IMPORTED, _DOCKER_HUB_LOGIN))


def _is_docker_hub(arguments: str) -> bool:
    """`docker login` without a server, or with Docker Hub's, logs in to Docker Hub."""
    command = re.split(r"\|\||&&|[|;&)]", arguments, maxsplit=1)[0]
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    server = None
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
        elif word in _VALUE_OPTIONS:
            skip_next = True
        elif not word.startswith("-"):
            server = word
            break
    return server is None or server.lower().rstrip("/") in (s.rstrip("/") for s in _DOCKER_HUB)
