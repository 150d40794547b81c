"""A `permissions` statement's conditions and policy variables, checked as IAM and the template
linters read them: aws-cdk passes them through unchecked, so a typo would fail synthesis
(aws-cdk's template validation) or the deployment instead of `validate`."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from .base import Rule
from .problems import show

# IAM's operators (IAM JSON policy elements: Condition operators). IfExists goes on any of
# them but Null, ForAllValues:/ForAnyValue: before them; BinaryEquals takes neither here,
# because cfn-lint's IAM schema, which aws-cdk's template validation shares, rejects those.
_BASES = (
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "IpAddress", "NotIpAddress",
    "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
)  # fmt: skip
OPERATORS = frozenset(
    {"BinaryEquals", "Null"}
    | {f"{prefix}{base}{suffix}" for prefix in ("", "ForAllValues:", "ForAnyValue:") for base in _BASES
       for suffix in ("", "IfExists")}
)  # fmt: skip
_KEY = re.compile(r"^[A-Za-z0-9-]+:.+$")
# In a resource or a condition's value IAM reads `${...}` as a policy variable: a condition key
# such as aws:username (with an optional default, `${aws:username, 'anonymous'}`), or one of the
# special characters `${*}`, `${?}`, `${$}`, which aws-cdk's template validation refuses in a
# resource (as it refuses anything else there).
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_POLICY_VARIABLE = re.compile(r"^[A-Za-z0-9-]+:[^,]+(,\s*'[^']*')?$")
_SPECIAL_CHARACTERS = ("*", "?", "$")


def policy_variable_problem(text: str, *, in_resource: bool) -> str | None:
    for name in _VARIABLE.findall(text):
        if _POLICY_VARIABLE.match(name):
            continue
        if name in _SPECIAL_CHARACTERS and not in_resource:
            continue
        what = "aws-cdk's template validation refuses it in a resource" if name in _SPECIAL_CHARACTERS else "it is none"
        return (
            f"IAM reads ${{{name}}} here as a policy variable, and {what}; write the text without ${{, or a policy "
            "variable such as ${aws:username} or ${aws:PrincipalTag/team}"
        )
    return None


def condition_rules(conditions: dict[str, dict[str, Any]]) -> Iterator[Rule]:
    for operator, tests in conditions.items():
        where = ("conditions", operator)
        if operator not in OPERATORS:
            yield where, f"{operator!r} is not an IAM condition operator; {_advice(operator)}"
            continue
        if not tests:
            yield where, f"{{}}: {operator} compares nothing; give it a condition key and a value, or remove it"
        for key, value in tests.items():
            if not _KEY.match(key):
                yield (*where, key), f"{key!r} is not a condition key; write it like aws:PrincipalTag/team or s3:prefix"
            message = _value_problem(operator, value)
            if message:
                yield (*where, key), f"{show(value)}: {message}"


def _advice(operator: str) -> str:
    base = operator.split(":")[-1].removesuffix("IfExists")
    if base in ("Null", "BinaryEquals"):
        return f"write {base} alone (IAM or the template linters take no IfExists, ForAllValues: or ForAnyValue: on it)"
    close = difflib.get_close_matches(operator, sorted(OPERATORS), n=1)
    if close:
        return f"did you mean {close[0]}?"
    return "use one such as StringEquals, StringLike, ArnLike, NumericLessThan, DateGreaterThan, Bool or Null"


def _value_problem(operator: str, value: Any) -> str | None:
    values = value if isinstance(value, list) else [value]
    if not values:
        return "an empty list gives the condition nothing to compare with; list at least one value"
    if operator == "Null":
        if not all(isinstance(v, bool) or v in ("true", "false") for v in values):
            return "Null takes true (the key is absent) or false (it is present)"
        return None
    if isinstance(value, list) and not all(isinstance(v, str) for v in values):
        return "the values of a list are strings in a policy; put each in quotes"
    if isinstance(value, dict) or value is None:
        return "a condition value is a string, a number, true/false or a list of strings; write one of those"
    texts = [v for v in values if isinstance(v, str)]
    return next(filter(None, (policy_variable_problem(text, in_resource=False) for text in texts)), None)
