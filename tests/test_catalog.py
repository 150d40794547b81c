"""The catalogs the validator trusts agree with what aws-cdk and cfn-lint accept."""

from __future__ import annotations

import sys

from ecsforge.manifest.catalog import (
    all_instance_types,
    instance_type_problem,
    instance_types_by_region,
    missing_resource_types,
    region_problem,
    resource_types_by_region,
)

from .helpers import ROOT


def _generator():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import update_instance_types
    finally:
        sys.path.pop(0)
    return update_instance_types


def test_region_data_matches_cfn_lint():
    committed = (ROOT / "ecsforge" / "manifest" / "data" / "region_resource_types.json").read_text()
    assert committed == _generator().generate_regions(), "run: python scripts/update_instance_types.py"


def test_zone_data_matches_cfn_lint():
    committed = (ROOT / "ecsforge" / "manifest" / "data" / "availability_zones.json").read_text()
    assert committed == _generator().generate_zones(), "run: python scripts/update_instance_types.py"


def test_every_instance_type_the_manifest_accepts_is_one_aws_cdk_parses():
    from aws_cdk import aws_ec2 as ec2

    regions = instance_types_by_region()
    accepted = []
    for instance_type in sorted(all_instance_types()):
        region = next(r for r, types in regions.items() if instance_type in types)
        if instance_type_problem(instance_type, region) is None:
            accepted.append(instance_type)
    unparsable = []
    for instance_type in accepted:
        try:
            ec2.InstanceType(instance_type).architecture  # noqa: B018 - parsing is the check
        except Exception:
            unparsable.append(instance_type)
    assert accepted and not unparsable


def test_regions_are_cfn_lints_and_features_follow_them():
    regions = resource_types_by_region()
    assert "us-east-1" in regions and region_problem("us-east-1") is None
    assert region_problem("us-east-9") is not None
    # cfn-lint knows no CodeStar Notifications in Osaka: no pipeline there.
    assert "AWS::CodeStarNotifications::NotificationRule" in missing_resource_types("ap-northeast-3", "pipelines")
    assert missing_resource_types("us-east-1", "pipelines") == []
