"""The base every manifest model shares: strict types, unknown keys rejected, and one
`check` per model for the rules that span several fields (Copilot's `validate`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from .problems import Path

# The contract's `^[a-z][a-z0-9-]{0,31}$`, less what AWS rejects where names end up (ECR
# repositories, Cloud Map and namespace names): a trailing hyphen, or two in a row.
NAME_PATTERN = r"^(?!.*--)[a-z]([a-z0-9-]{0,30}[a-z0-9])?$"
RULES_ERROR = "manifest_rules"

# (path relative to the model, message). The message starts with the value it is about.
Rule = tuple[Path, str]

# What each regex pattern of the models stands for, so that a mismatch reads as
# "'x' is not a valid email address; write it like ops@example.com", not as a regex.
PATTERN_HINTS: dict[str, tuple[str, str]] = {}


def pattern(regex: str, what: str, example: str) -> str:
    PATTERN_HINTS[regex] = (what, example)
    return regex


def matching(regex: str, what: str, example: str) -> Any:
    pattern(regex, what, example)

    def validate(value: str) -> str:
        if not re.match(regex, value):
            raise reject(f"{value!r} is not a valid {what}; write it like {example}")
        return value

    return AfterValidator(validate)


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        populate_by_name=True,
        validate_default=False,
    )

    def resolve(self) -> None:
        """Fill defaults that depend on other fields (e.g. max from min). Runs before `check`."""

    def check(self) -> Iterator[Rule]:
        """Rules across this model's fields. Runs only when every field parsed."""
        return iter(())

    @model_validator(mode="after")
    def _resolve_and_check(self) -> Any:
        self.resolve()
        broken = list(self.check())
        if broken:
            # One error carrying all of this model's problems; the reporter splits it up,
            # so the user sees every problem at once, each at its own line.
            raise PydanticCustomError(RULES_ERROR, "{count} rule(s) broken", {"count": len(broken), "rules": broken})
        return self


def reject(message: str) -> PydanticCustomError:
    return PydanticCustomError("manifest_value", message)


def _name(value: str) -> str:
    if not re.match(NAME_PATTERN, value):
        raise reject(
            f"{value!r} is not a valid name; use 1 to 32 lowercase letters, digits and single '-', starting "
            "with a letter and not ending with '-'"
        )
    return value


pattern(NAME_PATTERN, "name", "web (lowercase letters, digits and '-')")

# A name of the manifest: map keys and the app / environment names.
Name = Annotated[str, AfterValidator(_name), Field(json_schema_extra={"pattern": NAME_PATTERN})]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
