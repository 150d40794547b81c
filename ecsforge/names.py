"""The names under which the network and cluster stacks export what other stacks use.

Exports are written whoever uses them, so a service or task stack coming or going never
changes the stack that exports, and CloudFormation never holds an export hostage.
Only values that never change while the environment lives are exports; an imported
export can neither change nor go. Values that an ordinary edit changes (the listener,
the load balancer's name) are SSM parameters, read by consumers at every deploy.
"""

from __future__ import annotations

import hashlib

from .manifest.models import Manifest
from .manifest.placement import FARGATE_PROVIDERS

VPC_ID = "vpc-id"
VPC_CIDR = "vpc-cidr"
PRIVATE_SUBNETS = "private-subnet-ids"
PUBLIC_SUBNETS = "public-subnet-ids"
PRIVATE_ROUTE_TABLES = "private-route-table-ids"
PUBLIC_ROUTE_TABLES = "public-route-table-ids"
CLUSTER_NAME = "cluster-name"
CLUSTER_ARN = "cluster-arn"
NAMESPACE_ID = "namespace-id"
NAMESPACE_ARN = "namespace-arn"
ALB_SECURITY_GROUP = "alb-security-group-id"
# Written while cluster.service_connect is on; every service with `connect` joins it.
CONNECT_SECURITY_GROUP = "service-connect-security-group-id"
# Still written with their old values, but nothing imports them any more: the listener
# moves when a certificate comes or goes, and the name when the load balancer is
# replaced, and an imported export can change neither. Services read the SSM
# parameters below instead. Kept one version so that stacks of the previous version,
# which import them, still update; remove in the next.
LISTENER_ARN = "alb-listener-arn"
ALB_FULL_NAME = "alb-full-name"


def capacity_security_group(key: str) -> str:
    return f"capacity-{key}-security-group-id"


def managed_instances_provider(key: str) -> str:
    # Exported by the cluster stack and imported by the workloads that run there, so that
    # CloudFormation refuses to delete a provider a deployed service still uses.
    return f"capacity-{key}-provider-name"


def name(manifest: Manifest, what: str) -> str:
    return f"{manifest.app}-{manifest.environment}-{what}"


def cluster_name(manifest: Manifest) -> str:
    """The ECS cluster's name, which the cluster stack gives it. Known from the manifest alone, so a
    stack of another manifest (a promotion's trust stack) names the cluster without importing an
    export: an imported export locks the exporting stack until the importer is gone."""
    return manifest.stack_name("cluster")


def released_tag_parameter(manifest: Manifest, registry: str) -> str:
    """The SSM parameter holding the tag the pipeline last released to a registry."""
    return f"/ecsforge/{manifest.app}/{manifest.environment}/registries/{registry}/released-tag"


def listener_parameter(manifest: Manifest) -> str:
    """The SSM parameter holding the listener that carries the services' rules (HTTPS:443 with a
    certificate, HTTP:80 without). A parameter, not an export: its value may change."""
    return f"/ecsforge/{manifest.app}/{manifest.environment}/load-balancer/listener-arn"


def alb_full_name_parameter(manifest: Manifest) -> str:
    """The SSM parameter holding the load balancer's full name (app/<name>/<id>), for metrics."""
    return f"/ecsforge/{manifest.app}/{manifest.environment}/load-balancer/full-name"


def web_acl_name(manifest: Manifest) -> str:
    """The shared load balancer's web ACL (load_balancer.waf); its logs go to aws-waf-logs-<this>.
    Create-only, so it depends on nothing an edit changes."""
    return f"{manifest.app}-{manifest.environment}"


# The value of a released-tag parameter before any release.
NOT_RELEASED = "none"
# The release step adds `released-<tag>` to each image it releases; lifecycle rules keep those.
RELEASED_TAG_PREFIX = "released-"


def service_name_parameter(manifest: Manifest, service: str) -> str:
    """The SSM parameter in which a service stack records its ECS service's name, for the pipeline."""
    return f"/ecsforge/{manifest.app}/{manifest.environment}/services/{service}/service-name"


def task_role_path(manifest: Manifest, task: str) -> str:
    """The IAM path of a scheduled task's task and execution roles: the release step may pass
    exactly the roles under it when it registers a task definition revision."""
    return f"/ecsforge/{manifest.app}/{manifest.environment}/task-{task}/"


def capacity_provider_name(manifest: Manifest, key: str) -> str:
    # Unique per account and region; the key leads because ECS rejects aws/ecs/fargate prefixes.
    return f"{key}-{manifest.app}-{manifest.environment}"


def capacity_provider(manifest: Manifest, provider: str) -> str:
    """A manifest provider (fargate, fargate_spot or a cluster.ec2 key) as ECS names it."""
    if provider in FARGATE_PROVIDERS:
        return provider.upper()
    return capacity_provider_name(manifest, provider)


def repository_name(manifest: Manifest, registry: str) -> str:
    """The ECR repository of a registry: the registries stack creates it, the others find it by name."""
    return f"{manifest.app}/{manifest.environment}/{registry}"


def service_name(service: str) -> str:
    """The export of a service's ECS name. No longer imported (see service_name_parameter); kept
    so that an upgrade can update the service stack while an older pipeline stack imports it."""
    return f"service-{service}-name"


# Promotion across environments (manifest v1.1). The promoted environment holds, in a stack
# of its own, the role the promoting pipeline assumes; both sides derive its ARN from these.
def promotion_unit(source: Manifest, pipeline: str) -> str:
    """The unit of the promoted environment's stack that trusts pipeline `pipeline` of `source`."""
    return f"promotion-{source.environment}-{pipeline}"


def promotion_role_path(target: Manifest) -> str:
    return f"/ecsforge/{target.app}/{target.environment}/promotion/"


def promotion_role_name(source: Manifest, pipeline: str) -> str:
    return f"{source.environment}-{pipeline}"


def promoting_role_name(source: Manifest, pipeline: str, target: Manifest) -> str:
    """The pipeline's role promoting to `target`, which `target` trusts by name. Named, not under a
    path: CodeBuild (and CloudFormation's checks of it) want a project role at the root path."""
    digest = hashlib.sha256(f"{pipeline}/{target.app}/{target.environment}".encode()).hexdigest()[:8]
    return f"{source.app}-{source.environment}-promote-{digest}"


def promotion_trust_parameter(target: Manifest, source: Manifest, pipeline: str) -> str:
    """What the trusting stack granted (a fingerprint) and the cluster the pipeline deploys into."""
    return f"/ecsforge/{target.app}/{target.environment}/promotion/{source.environment}-{pipeline}/trust"


# --- application wiring (topics, queues, buckets, volumes) -----------------------------------
# Queues and topics have deterministic names, so service stacks compute their ARNs and URLs and
# never import an export from the resources stack. Values AWS generates (bucket names, file
# system and security group ids, the key's ARN) are SSM parameters, read at every deploy.
RESOURCES_UNIT = "resources"


def _fifo(name: str, fifo: bool) -> str:
    return f"{name}.fifo" if fifo else name


def queue_name(manifest: Manifest, queue: str, *, fifo: bool) -> str:
    return _fifo(f"{manifest.app}-{manifest.environment}-{queue}", fifo)


def dead_letter_queue_name(manifest: Manifest, queue: str, *, fifo: bool) -> str:
    return _fifo(f"{manifest.app}-{manifest.environment}-{queue}-dlq", fifo)


def topic_name(manifest: Manifest, topic: str, *, fifo: bool) -> str:
    return _fifo(f"{manifest.app}-{manifest.environment}-{topic}", fifo)


def _resources_parameter(manifest: Manifest, *parts: str) -> str:
    return "/".join(("", "ecsforge", manifest.app, manifest.environment, *parts))


def messaging_key_parameter(manifest: Manifest) -> str:
    """The ARN of the customer key that encrypts the environment's topics and queues."""
    return _resources_parameter(manifest, "resources", "messaging-key-arn")


def bucket_name_parameter(manifest: Manifest, bucket: str) -> str:
    return _resources_parameter(manifest, "buckets", bucket, "name")


def volume_id_parameter(manifest: Manifest, volume: str) -> str:
    return _resources_parameter(manifest, "volumes", volume, "file-system-id")


def volume_security_group_parameter(manifest: Manifest, volume: str) -> str:
    return _resources_parameter(manifest, "volumes", volume, "security-group-id")


def ebs_role_parameter(manifest: Manifest) -> str:
    """The ARN of the ECS infrastructure role that creates and deletes the tasks' EBS volumes."""
    return _resources_parameter(manifest, "resources", "ebs-infrastructure-role-arn")


def ebs_key_parameter(manifest: Manifest) -> str:
    """The ARN of the customer key that encrypts the tasks' EBS volumes."""
    return _resources_parameter(manifest, "resources", "ebs-key-arn")


# --- addons (manifest v1.2): the environment's templates, in a stack of their own -------------
ADDONS_UNIT = "addons"


def addon_output_parameter(manifest: Manifest, output: str) -> str:
    """An environment addon's output, which `{addon: <output>}` reads at every deploy."""
    return _resources_parameter(manifest, "addons", output)
