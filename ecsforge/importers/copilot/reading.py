"""Reading a Copilot workspace: `.workspace`, workloads, environments, pipelines, and the other files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ...manifest.loader import decode, load_text
from .node import Doc
from .notes import Report


class WorkspaceError(Exception):
    """The workspace cannot be read; each line is `file:line:col: message`."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class Verbatim(Mapping[str, str]):
    """Every `${NAME}` stays as written: Copilot's own interpolation happens at its deploy
    time, and ecsforge reads the same `${NAME}` syntax from the environment at synth time."""

    def __getitem__(self, key: str) -> str:
        return "${" + key + "}"

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass
class Workspace:
    root: Path  # the copilot/ folder
    app: str
    workloads: dict[str, Doc] = field(default_factory=dict)
    environments: dict[str, Doc] = field(default_factory=dict)
    pipelines: dict[str, Doc] = field(default_factory=dict)
    read: list[Path] = field(default_factory=list)  # the manifests read (and .workspace)
    others: list[Path] = field(default_factory=list)  # every other file: addons, overrides, buildspecs, ...


def label(root: Path, path: Path) -> str:
    return "copilot/" + path.relative_to(root).as_posix()


def read_yaml(root: Path, path: Path, report: Report, errors: list[str]) -> Doc | None:
    where = label(root, path)
    try:
        text, problem = decode(path.read_bytes())
    except OSError as error:
        errors.append(f"{where}:1:1: cannot read the file ({error.strerror or error}); check the path")
        return None
    if text is None:
        assert problem is not None
        errors.append(f"{where}:{problem.line}:{problem.column}: {problem.message}")
        return None
    if not text.strip():
        errors.append(f"{where}:1:1: the file is empty; a Copilot manifest is a mapping with `name` and `type`")
        return None
    document, problems = load_text(text, Verbatim())
    if document.data is not None and not isinstance(document.data, dict):
        errors.append(f"{where}:1:1: expected a mapping of fields (name:, type:, ...); fix the file")
        return None
    hard = [p for p in problems if "variable reference" not in p.message]
    if document.data is None or hard:
        errors.extend(f"{where}:{p.line}:{p.column}: {p.message}" for p in hard or problems)
        return None
    return Doc(where, document.data, document.positions, report)


def find_root(workspace: Path) -> Path | None:
    if workspace.name == "copilot" and workspace.is_dir():
        return workspace
    if (workspace / "copilot").is_dir():
        return workspace / "copilot"
    return None


def _app_name(root: Path, errors: list[str]) -> str:
    path = root / ".workspace"
    if not path.is_file():
        errors.append(
            "copilot/.workspace:1:1: missing; it names the application (`application: <name>`); "
            "run `copilot app init` or create it"
        )
        return ""
    text = path.read_text(encoding="utf-8", errors="replace")
    document, problems = load_text(text, Verbatim())
    data = document.data
    if problems or not isinstance(data, dict) or not isinstance(data.get("application"), str):
        errors.append("copilot/.workspace:1:1: expected `application: <name>`; fix the file")
        return ""
    return str(data["application"])


def read_workspace(workspace: Path, report: Report) -> Workspace:
    root = find_root(workspace)
    if root is None:
        raise WorkspaceError([f"{workspace}:1:1: no copilot/ folder here; give the folder that holds copilot/"])
    errors: list[str] = []
    result = Workspace(root, _app_name(root, errors))
    for entry in sorted(root.iterdir()):
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        if entry.name == "environments":
            _read_environments(root, entry, result, report, errors)
        elif entry.name == "pipelines":
            for pipeline in sorted(p for p in entry.iterdir() if p.is_dir()):
                _read_into(
                    root, pipeline / "manifest.yml", result.pipelines, pipeline.name, report, errors, result.read
                )
        elif (entry / "manifest.yml").is_file():
            _read_into(root, entry / "manifest.yml", result.workloads, entry.name, report, errors, result.read)
    legacy = root / "pipeline.yml"
    if legacy.is_file():
        _read_into(root, legacy, result.pipelines, "pipeline", report, errors, result.read)
    if errors:
        raise WorkspaceError(errors)
    result.read.insert(0, root / ".workspace")
    result.others = _other_files(root, set(result.read))
    return result


def _other_files(root: Path, read: set[Path]) -> list[Path]:
    """Every file of copilot/ that is not a manifest read above (hidden files and a CDK override's
    installed node_modules aside)."""
    return [
        path
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and path not in read
        and not any(p.startswith(".") or p == "node_modules" for p in path.relative_to(root).parts)
    ]


def _read_environments(root: Path, folder: Path, result: Workspace, report: Report, errors: list[str]) -> None:
    for env in sorted(p for p in folder.iterdir() if p.is_dir()):
        if env.name in ("addons", "overrides"):
            continue
        if (env / "manifest.yml").is_file():
            _read_into(root, env / "manifest.yml", result.environments, env.name, report, errors, result.read)


def _read_into(
    root: Path, path: Path, into: dict[str, Doc], name: str, report: Report, errors: list[str], read: list[Path]
) -> None:
    if not path.is_file():
        return
    read.append(path)
    doc = read_yaml(root, path, report, errors)
    if doc is not None:
        into[name] = doc
