"""What every Copilot workload type shares -> the task part of an ecsforge service or task."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...manifest.security_groups import MAX_TASK_SECURITY_GROUPS, SECURITY_GROUP_ID, own_security_groups
from . import containers as c
from . import convert
from .context import Env
from .node import Node

_ENV_FILE = (
    "Copilot uploads this local file to S3 at deploy time; upload it yourself and list its S3 object ARN "
    "in the container's `env_files`"
)
_NOT_ON_FARGATE = "ecsforge has no such field"


def task(node: Node, env: Env, workload: str, port_required: bool = False) -> dict[str, Any]:
    """cpu, memory, platform, storage and the containers (the main one is named after the workload)."""
    spec: dict[str, Any] = {}
    for key in ("cpu", "memory"):
        value = node.number(key)
        if value is not None:
            spec[key] = value
    _platform(node, spec)
    main = _main_container(node, env, workload)
    spec["containers"] = {workload: main}
    mounts: list[Mount] = []
    _sidecars(node, env, workload, spec, mounts)
    _storage(node, env, workload, spec, main, mounts)
    _logging(node, env, spec)
    _network(node, env, spec)
    _observability(node, spec)
    publish(node, env, workload, spec)
    if node.has("env_file"):
        node.skip("env_file", _ENV_FILE)
    return spec


def _main_container(node: Node, env: Env, workload: str) -> dict[str, Any]:
    container: dict[str, Any] = {}
    picture = node.child("image")
    if picture is not None and isinstance(picture.value, dict):
        c.image(picture, env, workload, container, workload)
        port = picture.raw("port")
        if isinstance(port, int) and not isinstance(port, bool):
            container["port"] = port
        elif port is not None:
            picture.skip("port", "expected a port number")
        credentials = picture.text("credentials")
        if credentials is not None:
            container["credentials"] = "secretsmanager:" + _secret_name(picture, credentials)
        if picture.has("labels"):
            picture.skip("labels", "ecsforge sets no Docker labels; bake them into the image (LABEL) if you read them")
        c.depends_on(picture, container)
        c.health_check(picture, env, workload, container)
    else:
        if picture is not None:
            picture.skip(None, "expected a mapping with `build` or `location`")
        c.image(Node(node.doc, (*node.path, "image"), {}), env, workload, container, workload)
    c.command_and_entrypoint(node, env, workload, container)
    c.variables(node, env, workload, container)
    c.secrets(node, env, workload, container)
    return {"image": container.pop("image"), **container}


def _secret_name(node: Node, text: str) -> str:
    if text.startswith("arn:"):
        name = text.split(":secret:", 1)[-1]
        name = name[:-7] if len(name) > 7 and name[-7] == "-" else name
        node.approx("credentials", f"the secret's ARN became its name {name!r} (same account and region)")
        return name
    return text


def _platform(node: Node, spec: dict[str, Any]) -> None:
    raw = node.raw("platform")
    if raw is None:
        return
    as_dict = isinstance(raw, dict)
    text = f"{raw.get('osfamily', 'linux')}/{raw.get('architecture', 'x86_64')}" if as_dict else str(raw)
    os_family, _, arch = text.lower().partition("/")
    if os_family != "linux":
        node.skip("platform", f"{text!r}: ecsforge runs Linux containers only; build a Linux image")
    elif arch in ("arm64", "arm"):
        spec["platform"] = "linux/arm64"
    elif arch in ("amd64", "x86_64", ""):
        spec["platform"] = "linux/amd64"
    else:
        node.skip("platform", f"{text!r}: use linux/amd64 or linux/arm64")


@dataclass
class Mount:
    """A sidecar's mount point, kept once its volume is known to be imported."""

    node: Node
    container: dict[str, Any]
    entry: dict[str, Any]


def _sidecars(node: Node, env: Env, workload: str, spec: dict[str, Any], mounts: list[Mount]) -> None:
    block = node.child("sidecars")
    if block is None:
        return
    for raw_name, sidecar in block.items():
        if not isinstance(sidecar.value, dict):
            block.skip(raw_name, "expected a mapping with `image`")
            continue
        name = convert.name(raw_name)
        container: dict[str, Any] = {}
        registry = convert.name(f"{workload}-{name}")
        inner = sidecar.child("image")
        if inner is not None and isinstance(inner.value, dict):
            c.image(inner, env, registry, container, registry)
            if "build" in inner.value:
                inner.approx("build", f"pushed to registry {registry!r}; the pipeline builds only the main image")
        elif inner is not None:
            inner.use()
            container["image"] = env.interpolate(str(inner.value), workload)
        else:
            c.image(Node(sidecar.doc, (*sidecar.path, "image"), {}), env, registry, container, registry)
        port = sidecar.raw("port")
        if port is not None:
            number, _, protocol = str(port).partition("/")
            if number.isdigit():
                container["port"] = int(number)
                if protocol and protocol.lower() != "tcp":
                    sidecar.approx("port", f"ecsforge maps container ports as TCP; {protocol} was dropped")
            else:
                sidecar.skip("port", "expected a port like 80 or 80/tcp")
        essential = sidecar.flag("essential")
        if essential is not None:
            container["essential"] = essential
        credentials = sidecar.text("credentialsParameter")
        if credentials is not None:
            container["credentials"] = "secretsmanager:" + _secret_name(sidecar, credentials)
        c.command_and_entrypoint(sidecar, env, workload, container)
        c.variables(sidecar, env, workload, container)
        c.secrets(sidecar, env, workload, container)
        c.depends_on(sidecar, container)
        c.health_check(sidecar, env, workload, container)
        if sidecar.has("labels"):
            sidecar.skip("labels", "ecsforge sets no Docker labels; bake them into the image if you read them")
        if sidecar.has("env_file"):
            sidecar.skip("env_file", _ENV_FILE)
        spec["containers"][name] = {"image": container.pop("image"), **container}
        _sidecar_mounts(sidecar, spec["containers"][name], mounts)


def _sidecar_mounts(sidecar: Node, container: dict[str, Any], mounts: list[Mount]) -> None:
    block = sidecar.child("mount_points")
    if block is None:
        return
    for mount in block.elements():
        source, path = mount.text("source_volume"), mount.text("path")
        if source is None or path is None:
            mount.skip(None, "a mount point needs source_volume and path")
            continue
        read_only = mount.flag("read_only")
        entry = {"volume": source, "path": path, "read_only": True if read_only is None else read_only}
        mounts.append(Mount(mount, container, entry))


def _storage(
    node: Node, env: Env, workload: str, spec: dict[str, Any], main: dict[str, Any], mounts: list[Mount]
) -> None:
    storage = node.child("storage")
    volumes = storage.child("volumes") if storage is not None else None
    renamed: dict[str, str] = {}
    declared = set(volumes.value) if volumes is not None and isinstance(volumes.value, dict) else set()
    for raw_name, volume in volumes.items() if volumes is not None else ():
        key = _volume(volume, env, workload, raw_name)
        if key is None:
            continue
        renamed[raw_name] = key
        path = volume.text("path")
        read_only = volume.flag("read_only")
        if path is not None:
            main.setdefault("mounts", []).append(
                {"volume": key, "path": path, "read_only": True if read_only is None else read_only}
            )
    for mount in mounts:
        source = mount.entry["volume"]
        if source in renamed:
            mount.container.setdefault("mounts", []).append({**mount.entry, "volume": renamed[source]})
        else:
            mount.node.skip(None, _UNKNOWN_VOLUME if source not in declared else _VOLUME_NOT_IMPORTED)
    if storage is None:
        return
    ephemeral = storage.number("ephemeral")
    if ephemeral is not None and ephemeral > 20:
        spec["ephemeral_storage_gib"] = max(21, min(ephemeral, 200))
    readonly = storage.flag("readonly_fs")
    if readonly is not None:
        for container in spec["containers"].values():
            container["readonly_root_filesystem"] = readonly


_UNKNOWN_VOLUME = (
    "its source_volume is not in storage.volumes (a cfn.patches.yml override may declare it; overrides are "
    "not imported), so the mount was dropped; add the volume to storage.volumes and import again"
)
_VOLUME_NOT_IMPORTED = "its volume was not imported (see storage.volumes), so the mount was dropped"


def _volume(volume: Node, env: Env, workload: str, raw_name: str) -> str | None:
    efs = volume.peek("efs")
    volumes = env.section("volumes")
    if efs is None or efs is False:
        volume.skip(None, "a task-local (bind mount) volume; ecsforge mounts only EFS volumes; use an EFS volume")
        return None
    if efs is True:
        volume.raw("efs")
        key = convert.name(f"{workload}-{raw_name}")
        volumes[key] = {}
        volume.approx(
            "efs",
            "Copilot's managed file system becomes a new one; to keep its data, set "
            f"volumes.{key}.file_system_id to the id of Copilot's file system",
        )
        return key
    efs_node = volume.child("efs")
    if efs_node is None or not isinstance(efs, dict):
        volume.skip("efs", "expected true or a mapping with `id`")
        return None
    fs_id = efs_node.raw("id")
    if isinstance(fs_id, str):
        key = convert.name(raw_name)
        volumes[key] = {"file_system_id": fs_id}
    elif fs_id is None and (efs_node.has("uid") or efs_node.has("gid")):
        key = convert.name(f"{workload}-{raw_name}")
        volumes[key] = {}
        for field in ("uid", "gid"):
            if efs_node.has(field):
                efs_node.approx(field, "ecsforge's access points use uid/gid 1000")
    else:
        efs_node.skip("id", "`from_cfn` or an unreadable id; write the file system id (fs-...)")
        return None
    for field in ("root_dir", "auth"):
        if efs_node.has(field):
            efs_node.skip(field, "ecsforge mounts through its own access point with IAM authorization and TLS")
    return key


def _logging(node: Node, env: Env, spec: dict[str, Any]) -> None:
    logging = node.child("logging")
    if logging is None:
        return
    retention = logging.number("retention")
    if retention is not None:
        days = c.log_retention(retention)
        if days != retention:
            logging.approx("retention", f"{retention} is not a CloudWatch Logs retention; used {days}")
        for container in spec["containers"].values():
            container["log_retention_days"] = days
    destination = logging.child("destination")
    main = next(iter(spec["containers"].values()))
    if destination is not None and isinstance(destination.value, dict):
        options = {str(k): str(v) for k, v in destination.value.items() if k != "Name"}
        destination.use()
        firelens: dict[str, Any] = {"name": str(destination.value.get("Name", "cloudwatch"))}
        if options:
            firelens["options"] = options
        secret_options = logging.child("secretOptions")
        for key, value in secret_options.items() if secret_options else ():
            source = c.secret_source(value, env, "")
            if source:
                firelens.setdefault("secret_options", {})[key] = source
        main["logging"] = {"firelens": firelens}
    for key in ("image", "configFilePath", "enableMetadata", "variables", "secrets", "env_file"):
        if logging.has(key):
            logging.skip(key, "ecsforge runs its own Fluent Bit log router; only the output (destination) is imported")


def _network(node: Node, env: Env, spec: dict[str, Any]) -> None:
    network = node.child("network")
    if network is None:
        return
    vpc = network.child("vpc")
    if vpc is not None:
        placement = vpc.raw("placement")
        if placement == "public":
            vpc.approx("placement", "ecsforge runs tasks in private subnets, reaching out through NAT")
        elif placement not in (None, "private"):
            vpc.skip("placement", "ecsforge picks the private subnets of its VPC; choose subnets with network.import")
    connect = network.peek("connect")
    if connect is True:
        network.raw("connect")
    if (connect is True or isinstance(connect, dict)) and not any("port" in c for c in spec["containers"].values()):
        network.skip("connect", "Service Connect needs a container port; give the main container `port`")
    elif connect is True or isinstance(connect, dict):
        spec["connect"] = True
        env.section("cluster")["service_connect"] = True
        if isinstance(connect, dict):
            network.approx("connect", "reachable as http://<service>:<port>; a Service Connect alias is not imported")
    if vpc is not None and vpc.has("security_groups"):
        _security_groups(vpc, spec)


def _security_groups(vpc: Node, spec: dict[str, Any]) -> None:
    """A list, or {groups: [...], deny_default: bool}; an item is an id or {from_cfn: export}."""
    block = vpc.child("security_groups")
    assert block is not None
    listed: Node | None = block
    if isinstance(block.value, dict):
        if block.flag("deny_default"):
            block.approx(
                "deny_default",
                "ecsforge's tasks never join a group shared by the environment: only their load balancer and Service "
                "Connect reach them, as with deny_default",
            )
        listed = block.child("groups")
    if listed is None:
        return
    if not isinstance(listed.value, list):
        listed.skip(None, "expected a list of security group ids, or {groups: [...], deny_default: ...}")
        return
    room = MAX_TASK_SECURITY_GROUPS - own_security_groups(bool(spec.get("connect")))
    groups: list[str] = []
    for item in listed.elements():
        if not (isinstance(item.value, str) and re.fullmatch(SECURITY_GROUP_ID[1:-1], item.value)):
            item.skip(None, "ecsforge takes a security group id here (sg-...); write the group's id")
        elif item.value in groups or len(groups) == room:
            item.skip(None, f"listed twice, or beyond the {room} groups a task takes besides ecsforge's own")
        else:
            item.use()
            groups.append(item.value)
    if groups:
        spec["security_groups"] = groups


def _observability(node: Node, spec: dict[str, Any]) -> None:
    block = node.child("observability")
    if block is None:
        return
    tracing = block.text("tracing")
    if tracing is not None and tracing.lower() == "awsxray":
        spec["tracing"] = "xray"
    elif tracing is not None:
        block.skip("tracing", "ecsforge traces with X-Ray only (awsxray)")


def publish(node: Node, env: Env, workload: str, spec: dict[str, Any]) -> None:
    block = node.child("publish")
    topics = block.child("topics") if block is not None else None
    if topics is None:
        return
    for topic in topics.elements():
        name = topic.text("name")
        if name is None:
            topic.skip(None, "a topic needs a name")
            continue
        key = env.topic_keys.get((workload, name)) or convert.name(name)
        fifo = topic.raw("fifo")
        settings: dict[str, Any] = {"fifo": bool(fifo)}
        if isinstance(fifo, dict):
            topic.approx("fifo", "a FIFO topic; content-based deduplication is not imported")
        env.section("topics")[key] = settings
        env.topic_keys[(workload, name)] = key
        spec.setdefault("access", {}).setdefault("topics", {})[key] = "publish"
        topic.approx(
            "name",
            f"the topic's ARN is in TOPIC_{key.upper().replace('-', '_')}_ARN (Copilot's COPILOT_SNS_TOPIC_ARNS "
            "is not set); update the code that reads it",
        )
