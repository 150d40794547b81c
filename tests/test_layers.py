"""The layers point one way: manifest -> platform -> stacks -> constructs, names shared by all."""

from __future__ import annotations

import ast

import pytest

from .helpers import ROOT

PACKAGE = ROOT / "ecsforge"
# What each layer may not import (at run time or for type checking).
FORBIDDEN = {
    "manifest": ("aws_cdk", "cdk_nag", "ecsforge.names", "ecsforge.stacks", "ecsforge.constructs", "ecsforge.platform"),
    "constructs": ("ecsforge.stacks", "ecsforge.platform", "ecsforge.compliance"),
    "stacks": ("ecsforge.platform", "ecsforge.compliance"),
    "names.py": ("ecsforge.stacks", "ecsforge.constructs", "ecsforge.platform", "aws_cdk"),
    "compliance": ("ecsforge.platform",),
    # Day-2 commands read the manifest and call AWS; they never synthesize.
    "ops": ("aws_cdk", "cdk_nag", "ecsforge.stacks", "ecsforge.constructs", "ecsforge.platform"),
}


def imports(path):
    module = "ecsforge." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append(target)
            found += [f"{target}.{alias.name}" for alias in node.names]
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_one_above_it(layer):
    paths = [PACKAGE / layer] if layer.endswith(".py") else sorted((PACKAGE / layer).rglob("*.py"))
    wrong = [
        (str(path.relative_to(ROOT)), name)
        for path in paths
        for name in imports(path)
        if name.startswith(FORBIDDEN[layer])
    ]
    assert paths and wrong == []


def test_the_check_resolves_relative_imports():
    service = PACKAGE / "constructs" / "scheduled_task.py"
    assert any(name.startswith("ecsforge.names") for name in imports(service))
    assert "ecsforge.constructs.refs.PlatformRefs" in imports(service)


SMALL = [*sorted((PACKAGE / "constructs").glob("*.py")), *sorted((PACKAGE / "compliance").glob("*.py"))]
EVERY_MODULE = sorted(PACKAGE.rglob("*.py"))
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
