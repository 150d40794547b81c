"""The environment's topics, queues, buckets and EFS volumes (`<app>-<env>-resources`), and the
role and key of its EBS task volumes (ebs.py).

Everything here holds data and is retained on deletion. Queues and topics get
deterministic names (names.py) and the values AWS generates are published as SSM
parameters, so the service and task stacks that use them compute or read them and never
import an export: adding or removing a service never touches this stack, and nothing
here is ever pinned by an importer.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import names
from ..manifest.models import Manifest
from ..manifest.wiring import DEAD_LETTER_RETENTION_DAYS, Queue, Subscription, Volume
from .buckets import secure_bucket
from .ebs import EbsInfrastructure
from .refs import PlatformRefs

NFS_PORT = 2049
FILTER_SCOPES = {"attributes": "MessageAttributes", "body": "MessageBody"}


class Resources(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, manifest: Manifest, refs: PlatformRefs) -> None:
        super().__init__(scope, construct_id)
        self.manifest, self.refs = manifest, refs
        self.key: kms.Key | None = None
        if manifest.topics or manifest.queues:
            self.key = self._key()
        self.topics = {name: self._topic(name, topic.fifo) for name, topic in manifest.topics.items()}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.queues = {name: self._queue(name, queue) for name, queue in manifest.queues.items()}
        for name, queue in manifest.queues.items():
            for subscription in queue.subscribe:
                self._subscribe(name, subscription)
        self.access_logs: s3.Bucket | None = None
        self.buckets: dict[str, s3.Bucket] = {}
        if manifest.buckets:
            # Server access logs of the buckets below (S3 delivers them only to SSE-S3 buckets).
            self.access_logs = secure_bucket(self, "AccessLogs")
        for name, bucket in manifest.buckets.items():
            self.buckets[name] = self._bucket(name, bucket.versioned)
        self.file_systems: dict[str, efs.FileSystem] = {}
        for name, volume in manifest.volumes.items():
            if volume.creates_file_system:
                self.file_systems[name] = self._file_system(name, volume)
        self.ebs: EbsInfrastructure | None = None
        if any(volume.ebs is not None for volume in manifest.volumes.values()):
            self.ebs = EbsInfrastructure(self, "EbsVolumes", manifest=manifest)

    def _parameter(self, construct_id: str, name: str, value: str, description: str) -> None:
        ssm.StringParameter(self, construct_id, parameter_name=name, string_value=value, description=description)

    def _key(self) -> kms.Key:
        manifest = self.manifest
        stack = Stack.of(self)
        key = kms.Key(
            self,
            "MessagingKey",
            description=f"Encrypts the topics and queues of {manifest.app}/{manifest.environment}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        topic_arns = [
            stack.format_arn(
                service="sns",
                resource=names.topic_name(manifest, name, fifo=topic.fifo),
                arn_format=ArnFormat.NO_RESOURCE_NAME,
            )
            for name, topic in manifest.topics.items()
        ]
        if topic_arns:
            # SNS encrypts what it delivers to an encrypted queue with the queue's key: only
            # these topics, in this account.
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="TopicsDeliverToQueues",
                    principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],
                    conditions={"ArnEquals": {"aws:SourceArn": topic_arns}},
                )
            )
        self._parameter(
            "MessagingKeyArn",
            names.messaging_key_parameter(manifest),
            key.key_arn,
            f"Key of the topics and queues of {manifest.app}/{manifest.environment}",
        )
        return key

    def _topic(self, name: str, fifo: bool) -> sns.Topic:
        topic = sns.Topic(
            self,
            f"Topic-{name}",
            topic_name=names.topic_name(self.manifest, name, fifo=fifo),
            fifo=fifo or None,
            master_key=self.key,
            enforce_ssl=True,
        )
        topic.apply_removal_policy(RemovalPolicy.RETAIN)
        return topic

    def _queue(self, name: str, queue: Queue) -> sqs.Queue:
        manifest = self.manifest
        common: dict[str, Any] = {
            "encryption": sqs.QueueEncryption.KMS,
            "encryption_master_key": self.key,
            "enforce_ssl": True,
            "fifo": queue.fifo or None,
            "removal_policy": RemovalPolicy.RETAIN,
        }
        dead_letter = sqs.Queue(
            self,
            f"DeadLetterQueue-{name}",
            queue_name=names.dead_letter_queue_name(manifest, name, fifo=queue.fifo),
            retention_period=Duration.days(DEAD_LETTER_RETENTION_DAYS),
            **common,
        )
        self.dead_letter_queues[name] = dead_letter
        return sqs.Queue(
            self,
            f"Queue-{name}",
            queue_name=names.queue_name(manifest, name, fifo=queue.fifo),
            retention_period=Duration.days(queue.retention_days),
            visibility_timeout=Duration.seconds(queue.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=queue.dead_letter.max_receives, queue=dead_letter),
            **common,
        )

    def _subscribe(self, name: str, subscription: Subscription) -> None:
        topic = self.topics[subscription.topic]
        queue = self.queues[name]
        sns.CfnSubscription(
            self,
            f"Subscription-{name}-{subscription.topic}",
            protocol="sqs",
            topic_arn=topic.topic_arn,
            endpoint=queue.queue_arn,
            filter_policy=json.loads(json.dumps(subscription.filter)) if subscription.filter else None,
            filter_policy_scope=FILTER_SCOPES[subscription.filter_on] if subscription.filter else None,
        )
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"From{_pascal(subscription.topic)}Topic",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": topic.topic_arn}},
            )
        )

    def _bucket(self, name: str, versioned: bool) -> s3.Bucket:
        bucket = secure_bucket(
            self,
            f"Bucket-{name}",
            versioned=versioned,
            access_logs=self.access_logs,
            access_logs_prefix=f"{name}/",
        )
        self._parameter(
            f"BucketName-{name}",
            names.bucket_name_parameter(self.manifest, name),
            bucket.bucket_name,
            f"Name of bucket {name} of {self.manifest.app}/{self.manifest.environment}",
        )
        return bucket

    def _file_system(self, name: str, volume: Volume) -> efs.FileSystem:
        manifest = self.manifest
        # "rules live in their stacks": an awsvpc task's do; a bridge group's are the cluster stack's.
        # GroupDescription is create-only, so the text stays as it was.
        group = ec2.SecurityGroup(
            self,
            f"VolumeSecurityGroup-{name}",
            vpc=self.refs.vpc,
            description=f"EFS volume {name}: NFS from the tasks that mount it (rules live in their stacks)",
            allow_all_outbound=False,
        )
        file_system = efs.FileSystem(
            self,
            f"Volume-{name}",
            vpc=self.refs.vpc,
            vpc_subnets=self.refs.private_subnets(),
            security_group=group,
            encrypted=True,
            enable_automatic_backups=True,
            removal_policy=RemovalPolicy.RETAIN,
            # Not aws-cdk's "deny anonymous" policy, which allows ClientWrite and ClientRootAccess to
            # any principal through a mount target: the policy below allows nobody anything, so a
            # client needs an identity policy (a task role's ClientMount through its access point),
            # and anonymous NFS clients get nothing, as with any file system policy.
            allow_anonymous_access=True,
        )
        # TLS only: every ecsforge mount uses transit encryption.
        file_system.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TlsOnly",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["*"],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            )
        )
        self._parameter(
            f"VolumeId-{name}",
            names.volume_id_parameter(manifest, name),
            file_system.file_system_id,
            f"File system of volume {name} of {manifest.app}/{manifest.environment}",
        )
        self._parameter(
            f"VolumeSecurityGroupId-{name}",
            names.volume_security_group_parameter(manifest, name),
            group.security_group_id,
            f"Security group of the mount targets of volume {name}",
        )
        return file_system


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
