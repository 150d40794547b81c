"""Application wiring: the resources stack, `access` grants and variables, `permissions`,
`managed_policies`, EFS mounts and queue-backlog scaling, read from synthesized templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import ROOT, Synth, inprocess_synth, only

BASE: dict[str, Any] = {
    "version": 1,
    "app": "wire",
    "environment": "dev",
    "region": "eu-west-1",
    "topics": {"events": {}},
    "queues": {
        "work": {
            "visibility_timeout_seconds": 60,
            "subscribe": [{"topic": "events", "filter": {"kind": ["a", "b"]}}],
        }
    },
    "buckets": {"files": {}},
    "volumes": {"shared": {}},
    "services": {
        "worker": {
            "containers": {
                "main": {
                    "image": "nginx:1.27",
                    "stop_timeout_seconds": 60,
                    "mounts": [{"volume": "shared", "path": "/d"}],
                },
                "side": {"image": "busybox:1.36", "essential": False},
            },
            "access": {"queues": {"work": "consume"}, "topics": {"events": "publish"}, "buckets": {"files": "read"}},
            "scaling": {"min": 0, "max": 4, "queue_backlog_per_task": 20},
        }
    },
}
ADDED_SERVICE = {
    "containers": {"app": {"image": "nginx:1.27", "mounts": [{"volume": "shared", "path": "/d", "read_only": True}]}},
    "access": {"queues": {"work": "send"}, "topics": {"events": "publish"}, "buckets": {"files": "read_write"}},
}
RESOURCES = "wire-dev-resources"
WORKER = "wire-dev-service-worker"


def synth_data(tmp_path: Path, name: str, data: dict[str, Any]) -> Synth:
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(data))
    result = inprocess_synth(path, tmp_path / f"{name}.out")
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth_data(tmp_path_factory.mktemp("base"), "base", BASE)


def of_type(synth: Synth, stack: str, kind: str) -> dict[str, dict[str, Any]]:
    return synth.resources(stack, kind)


def task_role_statements(synth: Synth, stack: str) -> list[dict[str, Any]]:
    definition = only(of_type(synth, stack, "AWS::ECS::TaskDefinition"))
    role = definition["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    policies = [
        p for p in of_type(synth, stack, "AWS::IAM::Policy").values() if {"Ref": role} in p["Properties"]["Roles"]
    ]
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


# --- the resources stack ------------------------------------------------------------------------


def test_queues_have_a_dead_letter_queue_kms_and_ssl_only(base: Synth) -> None:
    queues = of_type(base, RESOURCES, "AWS::SQS::Queue")
    by_name = {q["Properties"]["QueueName"]: q for q in queues.values()}
    assert set(by_name) == {"wire-dev-work", "wire-dev-work-dlq"}
    work, dlq = by_name["wire-dev-work"], by_name["wire-dev-work-dlq"]
    assert work["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
    assert work["Properties"]["VisibilityTimeout"] == 60
    assert work["Properties"]["MessageRetentionPeriod"] == 4 * 86400
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 86400
    key = only(of_type(base, RESOURCES, "AWS::KMS::Key"))
    assert key["DeletionPolicy"] == "Retain" and key["Properties"]["EnableKeyRotation"] is True
    for queue in queues.values():
        assert queue["DeletionPolicy"] == "Retain"
        assert "KmsMasterKeyId" in queue["Properties"]
    text = json.dumps(of_type(base, RESOURCES, "AWS::SQS::QueuePolicy"))
    assert '"aws:SecureTransport": "false"' in text


def test_the_subscription_filters_and_sns_may_deliver_to_the_encrypted_queue(base: Synth) -> None:
    subscription = only(of_type(base, RESOURCES, "AWS::SNS::Subscription"))["Properties"]
    assert subscription["Protocol"] == "sqs"
    assert subscription["FilterPolicy"] == {"kind": ["a", "b"]}
    assert subscription["FilterPolicyScope"] == "MessageAttributes"
    key_policy = only(of_type(base, RESOURCES, "AWS::KMS::Key"))["Properties"]["KeyPolicy"]["Statement"]
    sns = [s for s in key_policy if s.get("Principal") == {"Service": "sns.amazonaws.com"}]
    assert sns and all("aws:SourceArn" in s["Condition"]["ArnEquals"] for s in sns)
    assert any("kms:GenerateDataKey*" in s["Action"] for s in sns)
    topic = only(of_type(base, RESOURCES, "AWS::SNS::Topic"))
    assert topic["Properties"]["TopicName"] == "wire-dev-events" and "KmsMasterKeyId" in topic["Properties"]


def test_buckets_and_volumes_are_encrypted_private_and_retained(base: Synth) -> None:
    buckets = of_type(base, RESOURCES, "AWS::S3::Bucket")
    files = next(b for k, b in buckets.items() if "Bucketfiles" in k)
    assert files["DeletionPolicy"] == "Retain"
    assert files["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert files["Properties"]["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert "LoggingConfiguration" in files["Properties"]
    volume = only(of_type(base, RESOURCES, "AWS::EFS::FileSystem"))
    assert volume["DeletionPolicy"] == "Retain" and volume["Properties"]["Encrypted"] is True
    assert len(of_type(base, RESOURCES, "AWS::EFS::MountTarget")) == 2
    # The file system policy grants nothing (no root access to anyone) and refuses plain NFS.
    (statement,) = volume["Properties"]["FileSystemPolicy"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_no_resources_no_resources_stack(tmp_path: Path) -> None:
    data = {
        **{k: v for k, v in BASE.items() if k not in ("topics", "queues", "buckets", "volumes", "services")},
        "volumes": {"old": {"file_system_id": "fs-0123456789abcdef0"}},
        "services": {
            "web": {"containers": {"web": {"image": "nginx:1.27", "mounts": [{"volume": "old", "path": "/o"}]}}}
        },
    }
    result = synth_data(tmp_path, "imported", data)
    assert RESOURCES not in result.templates()
    # An imported file system's security group is the user's: no ingress is written for it.
    assert of_type(result, "wire-dev-service-web", "AWS::EC2::SecurityGroupIngress") == {}


# --- access ---------------------------------------------------------------------------------------


def test_access_grants_exactly_the_named_resources_and_never_star(base: Synth) -> None:
    statements = task_role_statements(base, WORKER)
    resources = [r for s in statements for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    assert "*" not in resources
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sns:Publish", "s3:GetObject", "kms:Decrypt"} <= actions
    # consume and read: nothing that sends, writes or administers.
    assert not {"sqs:SendMessage", "s3:PutObject", "elasticfilesystem:ClientRootAccess"} & actions
    assert not any(a.endswith("*") for a in actions)


def test_every_container_gets_the_variables(base: Synth) -> None:
    definition = only(of_type(base, WORKER, "AWS::ECS::TaskDefinition"))
    for container in definition["Properties"]["ContainerDefinitions"]:
        variables = {e["Name"] for e in container.get("Environment", [])}
        assert {"QUEUE_WORK_URL", "TOPIC_EVENTS_ARN", "BUCKET_FILES_NAME"} <= variables, container["Name"]


def test_adding_a_service_with_access_changes_no_other_stack(base: Synth, tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["services"]["sender"] = ADDED_SERVICE
    added = synth_data(tmp_path, "added", data)
    old, new = base.templates(), added.templates()
    assert set(new) - set(old) == {"wire-dev-service-sender"}
    for stack in old:
        assert old[stack] == new[stack], f"{stack} changed"
    # The sender's grants are in its own role: the resources stack (key policy included) is as it was.
    sender_actions = json.dumps(task_role_statements(added, "wire-dev-service-sender"))
    assert "sqs:SendMessage" in sender_actions and "kms:GenerateDataKey" in sender_actions


# --- permissions and managed policies ----------------------------------------------------------------


def test_own_wildcards_are_warned_at_their_line_and_acknowledged_citing_it(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["services"]["worker"]["permissions"] = [{"actions": ["dynamodb:*"], "resources": ["*"]}]
    data["services"]["worker"]["managed_policies"] = ["arn:aws:iam::aws:policy/AmazonSESFullAccess"]
    result = synth_data(tmp_path, "own", data)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any("services.worker.permissions[0]" in w and "AwsSolutions-IAM5" in w for w in warnings)
    assert any("services.worker.managed_policies[0]" in w and "AwsSolutions-IAM4" in w for w in warnings)
    metadata = (result.outdir / f"{WORKER}.metadata.json").read_text()
    location = next(w.split(" ")[1].rstrip(":") for w in warnings if "permissions[0]" in w)
    assert f"Written by the user at {location}" in metadata


# --- mounts -------------------------------------------------------------------------------------------


def test_mounts_use_tls_iam_and_an_access_point_of_the_service(base: Synth) -> None:
    definition = only(of_type(base, WORKER, "AWS::ECS::TaskDefinition"))["Properties"]
    (volume,) = definition["Volumes"]
    efs = volume["EFSVolumeConfiguration"]
    assert efs["TransitEncryption"] == "ENABLED" and efs["AuthorizationConfig"]["IAM"] == "ENABLED"
    point = only(of_type(base, WORKER, "AWS::EFS::AccessPoint"))["Properties"]
    assert point["PosixUser"] == {"Uid": "1000", "Gid": "1000"}
    mount = [s for s in task_role_statements(base, WORKER) if "elasticfilesystem:ClientMount" in s["Action"]]
    assert len(mount) == 1 and "elasticfilesystem:AccessPointArn" in mount[0]["Condition"]["StringEquals"]
    ingress = only(of_type(base, WORKER, "AWS::EC2::SecurityGroupIngress"))["Properties"]
    assert ingress["FromPort"] == ingress["ToPort"] == 2049
    assert "Fn::GetAtt" in ingress["SourceSecurityGroupId"]


def test_read_only_mounts_get_no_client_write(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["services"]["worker"]["containers"]["main"]["mounts"][0]["read_only"] = True
    result = synth_data(tmp_path, "ro", data)
    (mount,) = [s for s in task_role_statements(result, WORKER) if "elasticfilesystem:ClientMount" in s["Action"]]
    assert "elasticfilesystem:ClientWrite" not in mount["Action"]


# --- queue backlog scaling -------------------------------------------------------------------------


def test_backlog_scaling_tracks_messages_per_task_and_wakes_from_zero(base: Synth) -> None:
    policies = of_type(base, WORKER, "AWS::ApplicationAutoScaling::ScalingPolicy")
    tracking = [p for p in policies.values() if p["Properties"]["PolicyType"] == "TargetTrackingScaling"]
    (policy,) = tracking
    config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 20
    metrics = {m["Id"]: m for m in config["CustomizedMetricSpecification"]["Metrics"]}
    assert metrics["backlog"]["Expression"] == "messages / tasks"
    assert metrics["messages"]["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "QueueName", "Value": "wire-dev-work"}
    ]
    assert metrics["tasks"]["MetricStat"]["Metric"]["Namespace"] == "ECS/ContainerInsights"
    target = only(of_type(base, WORKER, "AWS::ApplicationAutoScaling::ScalableTarget"))
    assert target["Properties"]["MinCapacity"] == 0
    steps = [p for p in policies.values() if p["Properties"]["PolicyType"] == "StepScaling"]
    assert len(steps) == 1  # the wake-up from zero


def test_no_wake_policy_above_zero(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["services"]["worker"]["scaling"]["min"] = 1
    result = synth_data(tmp_path, "min1", data)
    policies = of_type(result, WORKER, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert [p["Properties"]["PolicyType"] for p in policies.values()] == ["TargetTrackingScaling"]


def test_worker_example_wires_topic_queue_and_worker() -> None:
    data = yaml.safe_load((ROOT / "examples" / "worker.yml").read_text())
    worker = data["services"]["worker"]
    assert worker["scaling"]["min"] == 0 and worker["access"]["queues"] == {"fulfilment": "consume"}
    assert data["queues"]["fulfilment"]["subscribe"][0]["topic"] in data["topics"]


def test_bridge_mode_mounts_admit_nfs_from_the_capacity_group(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["cluster"] = {"ec2": {"general": {"instance_type": "t3.medium"}}}
    data["services"] = {
        "agent": {
            "capacity": "general",
            "network_mode": "bridge",
            "containers": {
                "app": {"image": "nginx:1.27", "memory": 256, "mounts": [{"volume": "shared", "path": "/d"}]}
            },
        }
    }
    data["scheduled_tasks"] = {"nightly": {"schedule": "rate(1 day)", **data["services"]["agent"]}}
    result = synth_data(tmp_path, "bridge", data)
    # The rule every bridge workload of the group needs alike is the cluster stack's, declared once.
    assert of_type(result, "wire-dev-service-agent", "AWS::EC2::SecurityGroupIngress") == {}
    assert of_type(result, "wire-dev-task-nightly", "AWS::EC2::SecurityGroupIngress") == {}
    cluster = result.templates()["wire-dev-cluster"]
    ingress = only(of_type(result, "wire-dev-cluster", "AWS::EC2::SecurityGroupIngress"))["Properties"]
    (capacity_group,) = [k for k, v in cluster["Resources"].items() if v["Type"] == "AWS::EC2::SecurityGroup"]
    assert ingress["SourceSecurityGroupId"] == {"Fn::GetAtt": [capacity_group, "GroupId"]}
    # The volume's group, from the parameter the resources stack writes; this stack deploys after it.
    parameter = cluster["Parameters"][ingress["GroupId"]["Ref"]]["Default"]
    (written,) = [
        p["Properties"]
        for p in of_type(result, "wire-dev-resources", "AWS::SSM::Parameter").values()
        if p["Properties"]["Name"] == parameter
    ]
    volume_group = written["Value"]["Fn::GetAtt"][0]
    assert result.templates()["wire-dev-resources"]["Resources"][volume_group]["Type"] == "AWS::EC2::SecurityGroup"
    assert (ingress["FromPort"], ingress["ToPort"]) == (2049, 2050)
    artifacts = json.loads((result.outdir / "manifest.json").read_text())["artifacts"]
    assert "wire-dev-resources" in artifacts["wire-dev-cluster"]["dependencies"]


def test_scheduled_tasks_take_access_and_mounts(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["scheduled_tasks"] = {"nightly": {"schedule": "rate(1 day)", **ADDED_SERVICE}}
    result = synth_data(tmp_path, "task", data)
    stack = "wire-dev-task-nightly"
    actions = json.dumps(task_role_statements(result, stack))
    assert "sqs:SendMessage" in actions and "elasticfilesystem:ClientMount" in actions
    assert len(of_type(result, stack, "AWS::EC2::SecurityGroupIngress")) == 1


def test_variable_names_upper_case_the_name_and_replace_hyphens() -> None:
    from ecsforge.manifest.wiring import Access, access_variables

    access = Access(queues={"orders-work": "consume"}, topics={"order-events": "publish"}, buckets={"up-loads": "read"})
    assert set(access_variables(access)) == {
        "QUEUE_ORDERS_WORK_URL",
        "TOPIC_ORDER_EVENTS_ARN",
        "BUCKET_UP_LOADS_NAME",
    }


def test_only_allowed_wildcards_and_aws_managed_policies_are_warned(tmp_path: Path) -> None:
    from ecsforge.manifest import load_manifest

    data = json.loads(json.dumps(BASE))
    data["services"]["worker"]["permissions"] = [
        {"actions": ["s3:*"], "resources": ["*"], "effect": "Deny"},
        {"actions": ["dynamodb:GetItem"], "resources": ["arn:aws:dynamodb:eu-west-1:111111111111:table/t"]},
    ]
    data["services"]["worker"]["managed_policies"] = ["arn:aws:iam::111111111111:policy/mine"]
    path = tmp_path / "quiet.yml"
    path.write_text(yaml.safe_dump(data))
    assert [w for w in load_manifest(path).warnings if "permissions" in str(w.path) or "managed" in str(w.path)] == []


def test_a_visibility_longer_than_fargate_can_wait_is_warned(tmp_path: Path) -> None:
    from ecsforge.manifest import load_manifest

    data = json.loads(json.dumps(BASE))
    data["queues"]["jobs"] = {"visibility_timeout_seconds": 600}
    data["services"]["worker"]["access"]["queues"] = {"jobs": "consume"}
    data["services"]["worker"]["containers"]["main"]["stop_timeout_seconds"] = 120
    path = tmp_path / "long.yml"
    path.write_text(yaml.safe_dump(data))
    (warning,) = [w for w in load_manifest(path).warnings if w.path[-1] == "queue_backlog_per_task"]
    assert "task-protection/v1/state" in warning.message and "(120s)" in warning.message


def test_an_unwritten_stop_timeout_waits_out_the_consumed_queue(tmp_path: Path) -> None:
    from ecsforge.manifest import load_manifest

    data = json.loads(json.dumps(BASE))
    data["queues"]["jobs"] = {"visibility_timeout_seconds": 75}
    data["services"]["worker"]["access"]["queues"] = {"jobs": "consume"}
    data["services"]["worker"]["containers"]["main"].pop("stop_timeout_seconds", None)
    path = tmp_path / "unwritten.yml"
    path.write_text(yaml.safe_dump(data))
    container = load_manifest(path).manifest.services["worker"].containers["main"]
    assert container.stop_timeout_seconds == 75
    # Above what Fargate can wait: the limit, and a warning (the test above).
    data["queues"]["jobs"] = {"visibility_timeout_seconds": 600}
    path.write_text(yaml.safe_dump(data))
    assert load_manifest(path).manifest.services["worker"].containers["main"].stop_timeout_seconds == 120
