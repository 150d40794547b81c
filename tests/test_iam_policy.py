"""The IAM rules of `permissions` agree with cfn-lint's IAM schema (which aws-cdk's template
validation shares) and let IAM's own examples through."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cfnlint

from ecsforge.manifest.iam_policy import OPERATORS, condition_rules, policy_variable_problem

SCHEMA = Path(cfnlint.__file__).parent / "data" / "schemas" / "other" / "iam" / "policy.json"


def test_every_operator_is_one_cfn_lints_iam_schema_takes() -> None:
    condition = json.loads(SCHEMA.read_text())["definitions"]["Condition"]
    patterns = [re.compile(p) for p in condition["patternProperties"]]
    refused = [op for op in OPERATORS if op not in condition["properties"] and not any(p.search(op) for p in patterns)]
    assert refused == []


def test_iam_examples_pass() -> None:
    conditions = {
        "StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"},
        "StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]},
        "ForAnyValue:StringLike": {"aws:PrincipalServiceNamesList": "*.amazonaws.com"},
        "StringEqualsIfExists": {"ec2:InstanceType": ["t1.*", "t2.*"]},
        "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:01Z"},
        "NumericLessThanEquals": {"s3:max-keys": "10"},
        "Bool": {"aws:SecureTransport": False},
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"},
        "Null": {"aws:TokenIssueTime": "true"},
        "BinaryEquals": {"key:name": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="},
    }
    assert list(condition_rules(conditions)) == []


def test_policy_variables_with_a_default_or_a_special_character() -> None:
    assert policy_variable_problem("home/${aws:username, 'anonymous'}/*", in_resource=True) is None
    assert policy_variable_problem("a${*}b", in_resource=False) is None
    assert policy_variable_problem("a${*}b", in_resource=True) is not None
    assert policy_variable_problem("${STAGE}", in_resource=False) is not None
