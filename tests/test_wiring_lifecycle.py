"""Day 2 for application wiring: `ecsforge diff` over the wiring pairs in
tests/manifests/lifecycle/ (wiring-*.yml). Data-holding resources are retained, their
construct IDs are stable, and a replacement of one is a hazard.

Create-only properties (cfn-lint's schemas, ecsforge/diff/schemas.py): AWS::SQS::Queue
FifoQueue, QueueName; AWS::SNS::Topic FifoTopic, TopicName; AWS::S3::Bucket BucketName
(ecsforge lets CloudFormation name buckets); AWS::EFS::FileSystem Encrypted, KmsKeyId,
PerformanceMode; AWS::EFS::AccessPoint FileSystemId, PosixUser, RootDirectory;
AWS::SNS::Subscription Endpoint, Protocol, TopicArn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecsforge.diff import REPLACED, DiffResult, Templates

RESOURCES = "wire-dev-resources"
STATEFUL = {"AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::S3::Bucket", "AWS::EFS::FileSystem", "AWS::KMS::Key"}


def stateful(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] in STATEFUL}


def test_every_data_holding_resource_is_retained(templates: Callable[[str], Templates]) -> None:
    found = stateful(templates("wiring-base")[RESOURCES])
    assert {v["Type"] for v in found.values()} == STATEFUL
    assert all(v.get("DeletionPolicy") == "Retain" and v.get("UpdateReplacePolicy") == "Retain" for v in found.values())


def test_construct_ids_are_keyed_by_name(templates: Callable[[str], Templates]) -> None:
    """Removing the bucket and the volume leaves the logical IDs of the queues, topic and key as they were."""
    old = stateful(templates("wiring-base")[RESOURCES])
    new = stateful(templates("wiring-storage-removed")[RESOURCES])
    kept = {k for k, v in old.items() if v["Type"] not in ("AWS::S3::Bucket", "AWS::EFS::FileSystem")}
    assert kept == {k for k, v in new.items() if v["Type"] != "AWS::S3::Bucket"}


def test_removed_storage_is_kept_not_deleted(diff: Callable[[str, str], DiffResult]) -> None:
    result = diff("wiring-base", "wiring-storage-removed")
    assert "stateful" not in {h.kind for h in result.hazards}
    assert any("kept (Retain)" in n.text for n in result.notes if n.stack == RESOURCES)


def test_a_queue_turned_fifo_is_a_replacement_and_a_hazard(diff: Callable[[str, str], DiffResult]) -> None:
    result = diff("wiring-base", "wiring-queue-fifo")
    replaced = {c.logical_id: c for c in result.stack(RESOURCES).changes if c.action == REPLACED}
    queues = [c for c in replaced.values() if c.type == "AWS::SQS::Queue"]
    assert len(queues) == 2  # the queue and its dead-letter queue
    assert all("FifoQueue" in c.replaced_by for c in queues)
    flagged = [h for h in result.hazards if h.kind == "stateful" and h.stack == RESOURCES]
    assert {h.what.split(" ")[0] for h in flagged} >= {c.logical_id for c in queues}


def test_ordinary_edits_replace_nothing(diff: Callable[[str, str], DiffResult]) -> None:
    result = diff("wiring-base", "wiring-edits")
    changed = result.stack(RESOURCES).changes
    assert changed and all(c.action != REPLACED for c in changed)
    assert result.hazards == []


def test_a_service_with_access_added_touches_no_other_stack(diff: Callable[[str, str], DiffResult]) -> None:
    result = diff("wiring-base", "wiring-service-added")
    assert {s.name for s in result.stacks if s.status == "added"} == {"wire-dev-service-sender"}
    assert {s.status for s in result.stacks if s.name != "wire-dev-service-sender"} == {"unchanged"}
    assert result.hazards == []
