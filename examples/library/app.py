#!/usr/bin/env python3
"""ecsforge as a library: the platform of shop.yml, plus a DynamoDB table of the team's own in
the orders service's stack, which the service's tasks read and write.

    cdk synth --app "python examples/library/app.py"    # from the repository root (cdk.json's flags)

The table goes through the same cdk-nag check as ecsforge's own resources: a finding nobody
acknowledges fails the synthesis (README "ecsforge as a library").
"""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import Acknowledgment, App, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb

from ecsforge.manifest import ManifestError, load_manifest
from ecsforge.platform import Platform, build, synthesize

MANIFEST = Path(__file__).with_name("shop.yml")


def add_orders_table(platform: Platform) -> dynamodb.Table:
    orders = platform.handles.services["orders"]
    # In the service's own stack: it is deployed, and destroyed, with the service.
    table = dynamodb.Table(
        orders.stack,
        "OrdersTable",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        # Kept when the stack is destroyed or the table replaced: it holds the orders.
        removal_policy=RemovalPolicy.RETAIN,
    )
    table.grant_read_write_data(orders.task_role)
    for container in orders.containers.values():
        container.add_environment("ORDERS_TABLE_NAME", table.table_name)
    # cdk-nag flags every plain environment variable (AwsSolutions-ECS2). How a finding of your
    # own is acknowledged (cdk-nag 3 reports through CDK's Validations): scoped to the one
    # resource, with a reason a reviewer can check.
    task_definition = orders.task_definition.node.default_child
    assert task_definition is not None
    Validations.of(task_definition).acknowledge(
        Acknowledgment(id="AwsSolutions-ECS2", reason="ORDERS_TABLE_NAME is the table's name, not a secret.")
    )
    return table


def main() -> None:
    app = App()
    try:
        platform = build(app, load_manifest(MANIFEST).manifest)
        add_orders_table(platform)
        synthesize(app, platform)  # applies the manifest's overrides and reports their errors
    except ManifestError as error:
        print(error, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
