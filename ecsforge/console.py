"""The `ecsforge` command (pyproject.toml's [project.scripts]), which `python -m ecsforge` runs too."""

from __future__ import annotations


def main() -> int:
    from .runtime import prepare

    prepare()  # before any command imports aws_cdk

    from .cli import main as run

    return run()
