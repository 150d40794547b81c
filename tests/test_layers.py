"""The layers point one way: manifest -> platform -> stacks -> constructs, names shared by all.

Every module of ecsforge/ belongs to a part (a top-level module or package) placed in MAY_IMPORT;
an import counts wherever it is written (module level, in a function, under TYPE_CHECKING) and
however (`import`, `from`, or a literal name given to importlib.import_module or __import__)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from .helpers import ROOT

PACKAGE = ROOT / "ecsforge"

# The parts of ecsforge, lowest first, each with the other parts it may import. A part may import
# only parts placed before it, so the direction is one way; a new module or package gets its place
# here (test_every_module_belongs_to_a_placed_part fails until it does).
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "__init__.py": (),
    "jsii_kernel.py": (),
    # Runs before anything imports aws_cdk: it must not import it itself.
    "runtime.py": ("jsii_kernel.py",),
    # RFC 6902, pure Python: the overrides' patches.
    "json_patch.py": (),
    # The manifest file -> the loader -> the pydantic models.
    "manifest": (),
    "names.py": ("manifest",),
    # `python -m ecsforge release`, and the sources the pipelines ship to CodeBuild (SHIPPED).
    "release": ("manifest", "names.py"),
    # Day-2 commands (`status`, `continue`, `logs`): read the manifest and call AWS, never synthesize.
    "ops": ("manifest", "names.py"),
    # Manifest-level: reads another tool's files, writes YAML, never calls AWS.
    "importers": ("manifest",),
    "docs_text.py": ("manifest",),
    "docs.py": ("manifest", "docs_text.py"),
    "diagram": ("manifest",),
    # `ecsforge init`: a starter manifest, checked by the loader before it is written.
    "starter.py": ("manifest",),
    # One construct per concern; release: the shipped sources and the release plan.
    "constructs": ("manifest", "names.py", "release"),
    # One stack per deployment unit.
    "stacks": ("manifest", "names.py", "json_patch.py", "constructs"),
    # Acknowledgements, per stack and construct, applied by platform.build().
    "compliance": ("manifest", "names.py", "constructs", "stacks"),
    "platform.py": ("manifest", "names.py", "constructs", "stacks", "compliance"),
    # Synthesizes through platform.build() (in a function: DEFERRED_ONLY), compares templates.
    "diff": ("manifest", "names.py", "runtime.py", "platform.py"),
    "cli.py": ("manifest", "release", "ops", "importers", "diagram", "starter.py", "diff"),
    # The console script: runtime.prepare() before the CLI imports aws_cdk.
    "console.py": ("runtime.py", "cli.py"),
    "__main__.py": ("runtime.py", "cli.py", "console.py"),
}
CDK = ("aws_cdk", "cdk_nag", "constructs")
# Outside packages that only some parts (or files, by path under ecsforge/) may import.
ONLY_IN: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(CDK, ("constructs", "stacks", "compliance", "platform.py", "diff")),
    # Stacks and constructs never read YAML.
    "yaml": ("manifest", "importers", "starter.py"),
    "jsii": ("jsii_kernel.py",),
    **dict.fromkeys(("boto3", "botocore"), ("release", "ops", "constructs/unprotect_handler.py")),
}
# What a part imports only inside a function: `ecsforge diff` and its pure parts load without
# aws_cdk, which must not start before runtime.prepare().
DEFERRED_ONLY: dict[str, tuple[str, ...]] = {"diff": (*CDK, "ecsforge.platform")}
# Files shipped as they are (CodeBuild steps, a Lambda function's inline code): there, only the
# standard library and boto3 exist, and no other file of ecsforge.
SHIPPED = {
    PACKAGE / "release" / "runner.py",
    PACKAGE / "release" / "image_copy.py",
    PACKAGE / "constructs" / "unprotect_handler.py",
}
SHIPPED_MAY_IMPORT = {*sys.stdlib_module_names, "boto3", "botocore"}
# Imports that break a rule today, each with the issue that will remove it: (file, imported name).
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


class Import(NamedTuple):
    name: str
    line: int
    deferred: bool  # inside a function or under TYPE_CHECKING: not run when the module loads


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(["ecsforge", *parts]).removesuffix(".__init__")


def imports(path: Path) -> list[Import]:
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: str) -> list[Import]:
    found: list[Import] = []

    def absolute(name: str, level: int) -> str:
        base = package.split(".")
        base = base[: len(base) - level + 1] if level else []
        return ".".join([*base, name] if name else base)

    def visit(node: ast.AST, deferred: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, node.lineno, deferred) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = absolute(node.module or "", node.level)
            found.append(Import(target, node.lineno, deferred))
            found.extend(Import(f"{target}.{alias.name}", node.lineno, deferred) for alias in node.names)
        elif isinstance(node, ast.Call) and is_string_import(node.func):
            name = node.args[0] if node.args else None
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                level = len(name.value) - len(name.value.lstrip("."))
                found.append(Import(absolute(name.value[level:], level), node.lineno, deferred))
            else:  # a name the check cannot read: a rule of its own (test_every_import_names_its_module)
                found.append(Import("<computed>", node.lineno, deferred))
        function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            # The body of `if TYPE_CHECKING:` is deferred, not its `else:`.
            in_type_checking = is_type_checking(node) and child in getattr(node, "body", [])
            visit(child, deferred or function or in_type_checking)

    visit(ast.parse(source), False)
    return found


def is_string_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in ("import_module", "__import__")


def is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).split(".")[-1] == "TYPE_CHECKING"


def part_of(path: Path) -> str:
    """A top-level module (`cli.py`) or package (`diff`)."""
    return path.relative_to(PACKAGE).parts[0]


def imported_part(name: str) -> str | None:
    """The part of ecsforge an imported name belongs to; None outside ecsforge or for the package itself."""
    parts = name.split(".")
    if parts[0] != "ecsforge" or len(parts) == 1:
        return None
    return parts[1] if (PACKAGE / parts[1]).is_dir() else f"{parts[1]}.py"


def within(name: str, prefixes: tuple[str, ...] | set[str]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


EVERY_MODULE = sorted(PACKAGE.rglob("*.py"))


def files_of(part: str) -> list[Path]:
    return [path for path in EVERY_MODULE if part_of(path) == part]


def where(path: Path, imported: Import) -> tuple[str, int, str]:
    return (str(path.relative_to(ROOT)), imported.line, imported.name)


def unexcused(found: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    return [(file, line, name) for file, line, name in found if (file, name) not in KNOWN_EXCEPTIONS]


def test_every_module_belongs_to_a_placed_part():
    unplaced = sorted({part_of(path) for path in EVERY_MODULE} - MAY_IMPORT.keys())
    gone = sorted(part for part in MAY_IMPORT if not (PACKAGE / part).exists())
    assert (unplaced, gone) == ([], [])


def test_a_part_may_import_only_parts_placed_before_it():
    order = list(MAY_IMPORT)
    upward = [
        (part, other) for part, may in MAY_IMPORT.items() for other in may if other not in order[: order.index(part)]
    ]
    assert upward == []


@pytest.mark.parametrize("part", list(MAY_IMPORT))
def test_no_part_imports_one_it_may_not(part):
    allowed = {None, part, *MAY_IMPORT[part]}
    wrong = [
        where(path, found)
        for path in files_of(part)
        for found in imports(path)
        if imported_part(found.name) not in allowed
    ]
    assert files_of(part)
    assert unexcused(wrong) == []


def test_outside_packages_are_imported_only_where_they_belong():
    def may_use(path: Path, package: str) -> bool:
        places = ONLY_IN[package]
        return part_of(path) in places or str(path.relative_to(PACKAGE)) in places

    wrong = [
        where(path, found)
        for path in EVERY_MODULE
        for found in imports(path)
        if (package := found.name.split(".")[0]) in ONLY_IN and not may_use(path, package)
    ]
    assert unexcused(wrong) == []


@pytest.mark.parametrize("part", sorted(DEFERRED_ONLY))
def test_some_imports_happen_only_in_a_function(part):
    eager = [
        where(path, found)
        for path in files_of(part)
        for found in imports(path)
        if not found.deferred and within(found.name, DEFERRED_ONLY[part])
    ]
    # The rule must bite: the part does import these, in a function.
    used = [found for path in files_of(part) for found in imports(path) if within(found.name, DEFERRED_ONLY[part])]
    assert used
    assert unexcused(eager) == []


@pytest.mark.parametrize("path", sorted(SHIPPED), ids=lambda path: path.name)
def test_shipped_files_import_only_the_standard_library_and_boto3(path):
    # A relative import resolves into ecsforge, which is not shipped with the file.
    wrong = [where(path, found) for found in imports(path) if found.name.split(".")[0] not in SHIPPED_MAY_IMPORT]
    assert imports(path)
    assert wrong == []


def shipped_sources(path: Path) -> set[Path]:
    """The files a module reads as source to ship: `module.__file__` of a module it imports, or
    a `.py` name next to it (`Path(__file__).with_name("handler.py")`)."""
    tree = ast.parse(path.read_text())
    package = module_name(path).rsplit(".", 1)[0]
    modules = {
        alias.asname or alias.name: imported.name.rsplit(".", 1)[0] + "." + alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias, imported in zip(node.names, imports_in(ast.unparse(node), package)[1:], strict=True)
    }
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "__file__" and isinstance(node.value, ast.Name):
            if node.value.id in modules:
                found.add(ROOT / (modules[node.value.id].replace(".", "/") + ".py"))
        elif (
            isinstance(node, ast.Constant) and str(node.value).endswith(".py") and (path.parent / node.value).is_file()
        ):
            found.add(path.parent / node.value)
    return found


def test_every_shipped_file_is_checked():
    read = {source for path in EVERY_MODULE for source in shipped_sources(path)}
    assert read == SHIPPED


def test_every_import_names_its_module():
    computed = [where(path, found) for path in EVERY_MODULE for found in imports(path) if found.name == "<computed>"]
    assert computed == []


def test_known_exceptions_still_exist():
    # An exception that was fixed leaves the list, so that it cannot come back unnoticed.
    found = {(str(path.relative_to(ROOT)), imported.name) for path in EVERY_MODULE for imported in imports(path)}
    assert found >= KNOWN_EXCEPTIONS


def test_the_check_resolves_relative_imports():
    service = PACKAGE / "constructs" / "scheduled_task.py"
    assert any(found.name.startswith("ecsforge.names") for found in imports(service))
    assert "ecsforge.constructs.refs.PlatformRefs" in [found.name for found in imports(service)]


def test_the_check_counts_imports_in_functions_type_checking_and_importlib():
    source = """
from typing import TYPE_CHECKING
import importlib
if TYPE_CHECKING:
    from ..stacks import Platform
else:
    from .. import names
if not TYPE_CHECKING:
    from .. import runtime
def build():
    from ..platform import build
    importlib.import_module("aws_cdk.aws_ecs")
    importlib.import_module(".names", package=__package__)
    __import__("cdk_nag")
    importlib.import_module(name)
"""
    found = {(name, deferred) for name, _, deferred in imports_in(source, "ecsforge.diff")}
    assert {
        ("importlib", False),
        ("ecsforge.stacks.Platform", True),
        ("ecsforge.names", False),
        ("ecsforge.runtime", False),
        ("ecsforge.platform.build", True),
        ("aws_cdk.aws_ecs", True),
        ("ecsforge.diff.names", True),
        ("cdk_nag", True),
        ("<computed>", True),
    } <= found


SMALL = [*sorted((PACKAGE / "constructs").glob("*.py")), *sorted((PACKAGE / "compliance").glob("*.py"))]
# Shipped verbatim as the inline code of a Lambda function: boto3 exists only there.
LAMBDA_SOURCE = PACKAGE / "constructs" / "unprotect_handler.py"


def test_every_module_and_function_of_the_package_is_small():
    long_modules = [p.name for p in EVERY_MODULE if len(p.read_text().splitlines()) > 400]
    long_functions = [
        (p.name, node.name)
        for p in EVERY_MODULE
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 60
    ]
    assert set(SMALL) < set(EVERY_MODULE) and long_modules == [] and long_functions == []


def test_constructs_narrow_values_instead_of_asserting_them():
    paths = [p for p in SMALL if p != LAMBDA_SOURCE]
    asserts = [p.name for p in paths for node in ast.walk(ast.parse(p.read_text())) if isinstance(node, ast.Assert)]
    ignores = [p.name for p in paths if "type: ignore" in p.read_text()]
    assert asserts == [] and ignores == []
