"""Copying one image, by digest, from an ECR repository to another (another account or region)
with the ECR API alone: the one code path of a promotion's copy.

Standard library and boto3 only, no other ecsforge module: the promotion's CodeBuild step ships
this file as it is (as it ships runner.py) and runs it with the build image's python3 and boto3,
so a promotion needs nothing from outside AWS and installs nothing.

The copy has the digest of the source because every manifest is put back byte for byte, in the
media type ECR returned it with, after checking that those bytes hash to the digest asked for.
An image index (a multi-architecture image, or one with attestations) is copied with every
manifest it lists, by digest and untagged, before the index itself takes the tag. Blobs (config
and layers) are read from the source's download URLs, as a pull reads them, and written through
the layer upload API, each checked against its digest and size; blobs the target already holds
are skipped, so a copy that failed halfway copies only what is missing when it runs again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
IMAGE_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json")
# By digest ECR converts no manifest, but it answers only in a media type the caller accepts.
ACCEPTED = [*IMAGE_TYPES, *INDEX_TYPES]
CHECK_BATCH = 100  # digests per BatchCheckLayerAvailability
READ_TIMEOUT_SECONDS = 60


class CopyError(Exception):
    """A copy that cannot be done or did not give the same image; the message says which."""


@dataclass
class Repository:
    client: Any  # a boto3 ECR client, with the credentials and region of the repository's side
    name: str


@dataclass
class Copied:
    """What a copy wrote: manifests put (an index after what it lists) and blobs uploaded."""

    manifests: list[str] = field(default_factory=list)
    blobs: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)  # blobs the target already held


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def open_download(url: str) -> BinaryIO:
    """A layer's download URL, which ECR signs for the caller (on Amazon S3, as a pull reads it)."""
    if not url.startswith("https://"):
        raise CopyError(f"ECR returned a download URL that is not https: {url.split('?')[0]}")
    stream: BinaryIO = urllib.request.urlopen(url, timeout=READ_TIMEOUT_SECONDS)
    return stream


def copy_image(
    source: Repository,
    target: Repository,
    digest: str,
    tag: str,
    *,
    download: Callable[[str], BinaryIO] | None = None,
    log: Callable[[str], None] = print,
) -> Copied:
    """Copy source@digest to target:tag, so that target:tag has the digest `digest`. `download`
    opens a layer's download URL (open_download)."""
    copied = Copied()
    manifest, media_type = _copy_tree(source, target, digest, copied, download or open_download, log)
    _put(target, manifest, media_type, digest, tag)
    copied.manifests.append(digest)
    log(f"{target.name}:{tag} is {digest} ({len(copied.blobs)} blobs copied, {len(copied.present)} already there)")
    return copied


def _copy_tree(
    source: Repository,
    target: Repository,
    digest: str,
    copied: Copied,
    download: Callable[[str], BinaryIO],
    log: Callable[[str], None],
) -> tuple[str, str]:
    """Everything the manifest `digest` refers to, into the target; returns the manifest itself."""
    manifest, media_type = _manifest(source, digest)
    document = json.loads(manifest)
    if media_type in INDEX_TYPES:
        for child in document.get("manifests", []):
            if child["digest"] in copied.manifests:
                continue
            child_manifest, child_type = _copy_tree(source, target, child["digest"], copied, download, log)
            _put(target, child_manifest, child_type, child["digest"], None)
            copied.manifests.append(child["digest"])
    elif media_type in IMAGE_TYPES:
        blobs = [d for d in [document["config"], *document.get("layers", [])] if not _foreign(d)]
        _copy_blobs(source, target, blobs, copied, download, log)
    else:
        raise CopyError(f"{source.name}@{digest} is a {media_type}, which a promotion does not copy")
    return manifest, media_type


def _manifest(repository: Repository, digest: str) -> tuple[str, str]:
    found = repository.client.batch_get_image(
        repositoryName=repository.name, imageIds=[{"imageDigest": digest}], acceptedMediaTypes=ACCEPTED
    )
    images = found.get("images", [])
    if not images:
        reasons = [f"{f.get('failureCode')}: {f.get('failureReason')}" for f in found.get("failures", [])]
        raise CopyError(f"{repository.name}@{digest} cannot be read ({'; '.join(reasons) or 'no image'})")
    manifest: str = images[0]["imageManifest"]
    media_type: str = images[0].get("imageManifestMediaType") or json.loads(manifest).get("mediaType", "")
    if sha256(manifest.encode("utf-8")) != digest:
        raise CopyError(
            f"ECR returned a manifest of {repository.name}@{digest} with another digest; nothing was tagged"
        )
    return manifest, media_type


def _foreign(descriptor: dict[str, Any]) -> bool:
    """Windows base layers that registries never store (their `urls` name where they live)."""
    media_type = str(descriptor.get("mediaType", ""))
    return ".foreign." in media_type or ".nondistributable." in media_type


def _copy_blobs(
    source: Repository,
    target: Repository,
    blobs: list[dict[str, Any]],
    copied: Copied,
    download: Callable[[str], BinaryIO],
    log: Callable[[str], None],
) -> None:
    wanted = [b for b in {b["digest"]: b for b in blobs}.values() if b["digest"] not in copied.blobs]
    missing = _missing(target, [b["digest"] for b in wanted])
    for blob in wanted:
        if blob["digest"] not in missing:
            copied.present.append(blob["digest"])
            continue
        _copy_blob(source, target, blob, download)
        copied.blobs.append(blob["digest"])
        log(f"copied {blob['digest']} ({blob['size']} bytes)")


def _missing(target: Repository, digests: list[str]) -> set[str]:
    missing = set()
    for start in range(0, len(digests), CHECK_BATCH):
        checked = target.client.batch_check_layer_availability(
            repositoryName=target.name, layerDigests=digests[start : start + CHECK_BATCH]
        )
        available = {
            layer["layerDigest"] for layer in checked.get("layers", []) if layer.get("layerAvailability") == "AVAILABLE"
        }
        missing |= set(digests[start : start + CHECK_BATCH]) - available
    return missing


def _copy_blob(
    source: Repository, target: Repository, blob: dict[str, Any], download: Callable[[str], BinaryIO]
) -> None:
    digest, size = blob["digest"], blob["size"]
    url = source.client.get_download_url_for_layer(repositoryName=source.name, layerDigest=digest)["downloadUrl"]
    upload = target.client.initiate_layer_upload(repositoryName=target.name)
    upload_id, part_size = upload["uploadId"], int(upload["partSize"])
    hashed, position = hashlib.sha256(), 0
    with download(url) as stream:
        for part in _parts(stream, part_size):
            hashed.update(part)
            target.client.upload_layer_part(
                repositoryName=target.name,
                uploadId=upload_id,
                partFirstByte=position,
                partLastByte=position + len(part) - 1,
                layerPartBlob=part,
            )
            position += len(part)
    if "sha256:" + hashed.hexdigest() != digest or position != size:
        raise CopyError(f"the download of {digest} gave {position} bytes with another digest; nothing was tagged")
    try:
        target.client.complete_layer_upload(repositoryName=target.name, uploadId=upload_id, layerDigests=[digest])
    except Exception as error:
        if error_code(error) != "LayerAlreadyExistsException":  # uploaded meanwhile: ECR checked the digest
            raise


def _parts(stream: BinaryIO, size: int) -> Iterator[bytes]:
    """The stream in parts of exactly `size` bytes (ECR's part size), the last one shorter."""
    while True:
        part = b""
        while len(part) < size:
            chunk = stream.read(size - len(part))
            if not chunk:
                break
            part += chunk
        if part:
            yield part
        if len(part) < size:
            return


def _put(target: Repository, manifest: str, media_type: str, digest: str, tag: str | None) -> None:
    request = {
        "repositoryName": target.name,
        "imageManifest": manifest,
        "imageManifestMediaType": media_type,
        "imageDigest": digest,
    }
    if tag is not None:
        request["imageTag"] = tag
    try:
        put = target.client.put_image(**request)
    except Exception as error:
        code = error_code(error)
        if code == "ImageAlreadyExistsException":  # the same manifest (and tag): an earlier copy
            return
        if code == "ImageTagAlreadyExistsException":
            raise CopyError(
                f"{target.name}:{tag} already names another image and the repository's tags are immutable; "
                "promote another tag, or delete that image first"
            ) from None
        raise
    written = put["image"]["imageId"]["imageDigest"]
    if written != digest:
        raise CopyError(f"{target.name} stored {written} for {digest}")


def main() -> int:
    """The promotion's copy step: SOURCE_REPOSITORY_NAME in SOURCE_REGION, read with CodeBuild's own
    role; TARGET_REPOSITORY_NAME in TARGET_REGION, written with the profile AWS_PROFILE names (the
    promoted environment's role); DIGEST of the source, and IMAGE_TAG for the copy."""
    import importlib

    boto3 = importlib.import_module("boto3")
    env = os.environ
    # Taken out of the environment, or the source would be read with the promoted environment's role.
    target_profile = env.pop("AWS_PROFILE", None)
    source = boto3.Session(region_name=env["SOURCE_REGION"])
    target = boto3.Session(profile_name=target_profile, region_name=env["TARGET_REGION"])
    try:
        copy_image(
            Repository(source.client("ecr"), env["SOURCE_REPOSITORY_NAME"]),
            Repository(target.client("ecr"), env["TARGET_REPOSITORY_NAME"]),
            env["DIGEST"],
            env["IMAGE_TAG"],
        )
    except CopyError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
