"""The base every manifest model shares: strict types, unknown keys rejected, and one
`check` per model for the rules that span several fields (Copilot's `validate`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from .problems import Path, show
from .reads import READING, resolve_and_check

# The contract's `^[a-z][a-z0-9-]{0,31}$`, less what AWS rejects where names end up (ECR
# repositories, Cloud Map and namespace names): a trailing hyphen, or two in a row.
NAME_PATTERN = r"^(?!.*--)[a-z]([a-z0-9-]{0,30}[a-z0-9])?$"
RULES_ERROR = "manifest_rules"
# Validation context key under which models record their broken rules instead of raising.
RECORD_RULES = "ecsforge.record_rules"

# The tags of tagged unions (a plain value or a mapping, told apart before validation): pydantic
# puts them in an error's location, where the user wrote nothing; report.py leaves them out.
UNION_TAGS = frozenset({"(value)", "(mapping)", "(export)"})

# (path relative to the model, message). The message starts with the value it is about.
Rule = tuple[Path, str]
# Validation context key: when set, rules whose message is a DeployedMayBreak do not fail.
TOLERATE_DEPLOYED = "ecsforge.tolerate_deployed"


class DeployedMayBreak(str):
    """The message of a rule added after manifests that break it could be deployed: it guards
    what a deploy would do, not what CloudFormation can create. `validate` rejects it;
    `diff` reads the deployed (OLD) manifest with it as a warning, so that the diff that
    moves off it can still be computed."""


# What each regex pattern of the models stands for, so that a mismatch reads as
# "'x' is not a valid email address; write it like ops@example.com", not as a regex.
PATTERN_HINTS: dict[str, tuple[str, str]] = {}


def pattern(regex: str, what: str, example: str) -> str:
    PATTERN_HINTS[regex] = (what, example)
    return regex


@dataclass(frozen=True)
class _Matching:
    regex: str
    what: str
    example: str
    advice: str | None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        # JSON Schema's `$` ends the text; Python's also matches before a final newline.
        compiled = re.compile(self.regex[:-1] + r"\Z" if self.regex.endswith("$") else self.regex)

        def validate(value: str) -> str:
            if not compiled.search(value):
                raise reject(
                    f"{show(value)} is not a valid {self.what}; {self.advice or f'write it like {self.example}'}"
                )
            return value

        return core_schema.no_info_after_validator_function(validate, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.regex
        return json_schema


class ManifestJsonSchema(GenerateJsonSchema):
    """pydantic writes a map with patterned keys as `patternProperties`, which lets any other
    key through unchecked; the manifest rejects such a key, so the schema names the pattern in
    `propertyNames` and checks every value."""

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        json_schema = super().dict_schema(schema)
        patterns = json_schema.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1:
            ((regex, values),) = patterns.items()
            del json_schema["patternProperties"]
            json_schema["propertyNames"] = {"pattern": regex}
            json_schema["additionalProperties"] = values
        return json_schema


def matching(regex: str, what: str, example: str, advice: str | None = None) -> Any:
    """The one way a string gets a pattern: validate rejects a mismatch as "'x' is not a valid
    <what>; write it like <example>" (or `advice`), and the JSON Schema carries the same regex,
    so an editor flags what validate rejects. Python's re checks it: pydantic's own patterns
    run on Rust's regex engine, which has no look-arounds."""
    pattern(regex, what, example)
    return _Matching(regex, what, example, advice)


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
        """Rules across this model's fields. Runs when every field parsed (and, in the second pass,
        on a copy with the malformed values taken out; see manifest/second_pass.py)."""
        return iter(())

    @model_validator(mode="wrap")
    @classmethod
    def _resolve_and_check(cls, data: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo) -> Any:
        self = handler(data)
        recorder = info.context.get(RECORD_RULES) if isinstance(info.context, dict) else None
        if recorder is not None:
            # The second pass (manifest.second_pass): record each rule with the fields it read,
            # and go on, so that the models around this one are built and checked too.
            found = resolve_and_check(self)
            if found:
                recorder.append((id(data), found))
            return self
        self.resolve()
        broken = list(self.check())
        if isinstance(info.context, dict) and info.context.get(TOLERATE_DEPLOYED):
            broken = [rule for rule in broken if not isinstance(rule[1], DeployedMayBreak)]
        if broken:
            # One error carrying all of this model's problems; the reporter splits it up,
            # so the user sees every problem at once, each at its own line.
            raise PydanticCustomError(RULES_ERROR, "{count} rule(s) broken", {"count": len(broken), "rules": broken})
        return self

    if not TYPE_CHECKING:  # for mypy, a model has only the attributes it declares

        def __getattr__(self, name: str) -> Any:
            # Reached only for what the instance lacks: a private attribute, or a field of a model
            # whose reads the second pass is counting (manifest/reads.py).
            reading = READING.get(id(self))
            if reading is not None and name in reading.fields:
                return reading.get(name)
            return super().__getattr__(name)


def reject(message: str) -> PydanticCustomError:
    return PydanticCustomError("manifest_value", message)


# A name of the manifest: map keys and the app / environment names.
Name = Annotated[
    str,
    matching(
        NAME_PATTERN,
        "name",
        "web (lowercase letters, digits and '-')",
        "use 1 to 32 lowercase letters, digits and single '-', starting with a letter and not ending with '-'",
    ),
]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
