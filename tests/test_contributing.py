"""CONTRIBUTING.md stays true: every file, make target, command and symbol it names exists.

A bare file name (`network.py`) is looked up next to the folders its paragraph names
(`ecsforge/stacks/`) and at the root; "`SYMBOL` in `FILE`" means FILE defines SYMBOL."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from .helpers import ROOT

GUIDE = ROOT / "CONTRIBUTING.md"
SOURCES = [
    *sorted((ROOT / "ecsforge").rglob("*.py")),
    *sorted((ROOT / "tests").glob("*.py")),
    *sorted((ROOT / "scripts").glob("*.py")),
    *sorted((ROOT / "bench").glob("*.py")),
    ROOT / "app.py",
]
# Names the guide uses that are not defined in this repository: pydantic's, Python's, cdk-nag's
# and the shell's words, manifest fields (`network.import`, a group's `min`), placeholders, and
# cdk.out/, which synthesis writes.
NOT_OURS = {
    *("ge", "le", "min_length", "max_length", "description", "None", "aws_cdk", "AwsSolutionsChecks"),
    *("TYPE_CHECKING", "__import__", "importlib.import_module()", "make", "PATH"),
    *("network.import", "group.min", "min", "max"),
    *("old.yml", "new.yml", "OLD.yml", "NEW.yml", "cdk.out/"),
    "ecsforge",  # the console command (pyproject's [project.scripts])
}
ROOTED = re.compile(r"(?<![\w/.])(?:ecsforge|tests|scripts|examples|docs|schema|bench)/[\w./*<>-]*")
SUFFIXES = (".py", ".md", ".json", ".yml", ".yaml", ".txt", ".ambr", ".toml")
SYMBOL = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\([^()]*\))?")
# "`SYMBOL` in `FILE`" or "`SYMBOL` in `FILE` and `FILE`".
SYMBOL_IN = re.compile(r"`([A-Za-z_][\w.]*)(?:\([^`]*\))?`\s+in\s+((?:`[^`]+`(?:\s*,\s*|\s+and\s+)?)+)")


def paragraphs(text: str) -> list[str]:
    """Blank-line-separated blocks, and each item of a list on its own."""
    return re.split(r"\n\s*\n|\n(?=\s*(?:\d+\.|-) )", text)


def is_path(token: str) -> bool:
    file = token.endswith(SUFFIXES) and token not in SUFFIXES
    named = "/" in token or file or token in ("Makefile", ".venv", "node_modules")
    return not token.startswith(("-", "$")) and named


def folders_of(paragraph: str) -> list[Path]:
    """Where a bare name in this paragraph may live: the root and every folder the paragraph names."""
    folders = [ROOT]
    for path in ROOTED.findall(paragraph):
        folder = ROOT / path if path.endswith("/") else (ROOT / path).parent
        folders.append(folder)
        folders.extend(parent for parent in folder.parents if ROOT in parent.parents)
    return folders


def resolve(token: str, folders: list[Path]) -> list[Path]:
    """The files a path of the guide stands for; `<case>` and `*` match any name."""
    pattern = re.sub(r"<[^>]+>", "*", token).rstrip("/")
    for folder in folders:
        found = sorted(folder.glob(pattern)) if "*" in pattern else [folder / pattern]
        found = [path for path in found if path.exists()]
        if found:
            return found
    return []


def definitions(path: Path) -> set[str]:
    """The names a module defines, alone and qualified: `f`, `module.f`, `Class.method`,
    `Class.attribute` (also `self.attribute = ...` in a method), `package.module.f`."""
    tree = ast.parse(path.read_text())
    parts = path.relative_to(ROOT).with_suffix("").parts
    modules = [".".join(parts).removesuffix(".__init__"), parts[-2] if parts[-1] == "__init__" else parts[-1]]
    names: set[str] = set()
    for node in tree.body:
        own = defined_names(node)
        names |= own | {f"{module}.{name}" for module in modules for name in own}
        if isinstance(node, ast.ClassDef):
            members = {name for child in node.body for name in defined_names(child)}
            members |= {
                target.attr
                for child in ast.walk(node)
                for target in getattr(child, "targets", [getattr(child, "target", None)])
                if isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            }
            names |= members | {f"{node.name}.{member}" for member in members}
    return names


def defined_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return {target.id for target in targets if isinstance(target, ast.Name)}


def make_targets_and_variables() -> tuple[set[str], set[str]]:
    text = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", text, re.MULTILINE))
    variables = set(re.findall(r"\$\((\w+)\)", text)) | set(re.findall(r"^(\w+)\s*[?:]?=", text, re.MULTILINE))
    return targets, variables


def cli_words() -> set[str]:
    """The commands, options and choices of `python -m ecsforge`."""
    tree = ast.parse((ROOT / "ecsforge" / "cli.py").read_text())
    values = [
        value
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in ("add_parser", "add_argument")
        for value in [*call.args, *(keyword.value for keyword in call.keywords if keyword.arg == "choices")]
    ]
    return {
        constant.value
        for value in values
        for constant in ast.walk(value)
        if isinstance(constant, ast.Constant) and isinstance(constant.value, str)
    }


def stale_references(text: str) -> list[str]:
    known = set().union(*(definitions(path) for path in SOURCES))
    targets, variables = make_targets_and_variables()
    commands = cli_words()
    stale: list[str] = []
    for paragraph in paragraphs(text):
        folders = folders_of(paragraph)
        fenced = " ".join(re.findall(r"```(.*?)```", paragraph, re.DOTALL))
        spans = re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", paragraph, flags=re.DOTALL))
        files = [word for word in fenced.split() if word.endswith(SUFFIXES)]
        for path in {*ROOTED.findall(paragraph), *files, *(token for span in spans for token in path_tokens(span))}:
            if path not in NOT_OURS and not resolve(path, folders):
                stale.append(f"path {path}")
        for span in spans:
            stale += [
                f"{kind} {word}"
                for kind, word in command_words(span)
                if missing(kind, word, targets, variables, commands)
            ]
            symbol = SYMBOL.fullmatch(span) and not is_path(span) and span not in NOT_OURS
            if symbol and span.split("(")[0] not in known:
                stale.append(f"symbol {span}")
        for symbol, paths in SYMBOL_IN.findall(paragraph):
            for path in re.findall(r"`([^`]+)`", paths):
                files = [found for found in resolve(path, folders) if found.suffix == ".py"]
                if is_path(path) and files and symbol not in set().union(*(definitions(file) for file in files)):
                    stale.append(f"symbol {symbol} in {path}")
    return sorted(set(stale))


def path_tokens(span: str) -> Iterator[str]:
    for word in span.split():
        token = word.split("=")[-1].strip("()[],;:\"'")
        if is_path(token) and "://" not in token:
            yield token


def command_words(span: str) -> Iterator[tuple[str, str]]:
    """("make target", "clean"), ("make variable", "FUZZ_SEED"), ("ecsforge word", "--tag"), ..."""
    words = span.split()
    if words[:1] == ["make"]:
        for word in words[1:]:
            yield ("make variable", word.split("=")[0]) if "=" in word else ("make target", word)
    for word in span.split():
        if word.startswith(("FUZZ_", "MANIFEST=")):
            yield "make variable", word.split("=")[0]
    if words[:3] == ["python", "-m", "ecsforge"]:
        for word in words[3:]:
            word = word.strip("[]")
            if word == ">":
                break
            if re.fullmatch(r"--?[a-z][\w-]*|[a-z]+", word):
                yield "ecsforge word", word


def missing(kind: str, word: str, targets: set[str], variables: set[str], commands: set[str]) -> bool:
    return word not in {"make target": targets, "make variable": variables, "ecsforge word": commands}[kind]


def test_every_path_command_and_symbol_of_the_guide_exists():
    assert stale_references(GUIDE.read_text()) == []


def test_the_check_finds_stale_references():
    text = (
        "New stateful types go into `STATEFUL_TYPES` in `tests/test_gates.py` and `ecsforge/diff.py`.\n\n"
        "The stacks (`ecsforge/stacks/`): `network.py`, `gone.py`, `base.PlatformStack`, `base.Gone`.\n\n"
        "Run `make synth MANIFEST=examples/minimal.yml`, `make deploy`, `python -m ecsforge deploy X --tag T`,\n"
        "`runtime.loading_modules()`, `runtime.unloading()`, and `_VALIDATOR_WORDS` in `ecsforge/names.py`.\n"
    )
    assert stale_references(text) == [
        "ecsforge word deploy",
        "make target deploy",
        "path ecsforge/diff.py",
        "path gone.py",
        "symbol _VALIDATOR_WORDS in ecsforge/names.py",
        "symbol base.Gone",
        "symbol runtime.unloading()",
    ]
