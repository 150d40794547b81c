"""The promotion's copy (ecsforge/release/image_copy.py) against ECR repositories kept in memory.

Each fake answers a real boto3 ECR client, after botocore has checked the call's parameters
against the ECR model (as botocore's Stubber does, through the same before-call hook), and does
what ECR does with them: it names a manifest by the digest of the bytes put, refuses a manifest
whose blobs or listed manifests are missing, checks each uploaded part's position and size and
each uploaded blob's digest. No network: blobs are read from the source fake, not from a URL."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from ecsforge.release import image_copy
from ecsforge.release.image_copy import CopyError, Repository, copy_image

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
PART_SIZE = 4  # ECR's is megabytes; a few bytes make every blob several parts


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class EcrError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class FakeEcr:
    """One ECR repository. `calls` lists every operation called, in order."""

    def __init__(self, name: str, *, immutable: bool = False) -> None:
        self.name = name
        self.immutable = immutable
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, tuple[str, str]] = {}  # digest -> (manifest, media type)
        self.tags: dict[str, str] = {}
        self.uploads: dict[str, list[bytes]] = {}
        self.calls: list[str] = []
        session = boto3.Session(region_name="eu-central-1", aws_access_key_id="test", aws_secret_access_key="test")
        self.client = session.client("ecr")
        self.client.meta.events.register("before-parameter-build.ecr.*", self._keep_parameters)
        self.client.meta.events.register("before-call.ecr.*", self._answer)

    def _keep_parameters(self, params, context, **_):
        context["fake_parameters"] = dict(params)

    def _answer(self, model, context, **_):
        self.calls.append(model.name)
        parameters = context["fake_parameters"]
        assert parameters.pop("repositoryName") == self.name
        try:
            body = getattr(self, model.name)(**parameters)
        except EcrError as error:
            return AWSResponse(None, 400, {}, None), {
                "Error": {"Code": error.code, "Message": error.code},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        return AWSResponse(None, 200, {}, None), {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}

    # One method per ECR operation, named as the operation (botocore's model.name).
    def BatchGetImage(self, imageIds, acceptedMediaTypes=()):
        images, failures = [], []
        for image_id in imageIds:
            found = self.manifests.get(image_id["imageDigest"])
            if found is None or found[1] not in acceptedMediaTypes:
                failures.append({"imageId": image_id, "failureCode": "ImageNotFound", "failureReason": "not found"})
            else:
                images.append({"imageId": image_id, "imageManifest": found[0], "imageManifestMediaType": found[1]})
        return {"images": images, "failures": failures}

    def BatchCheckLayerAvailability(self, layerDigests):
        assert len(layerDigests) <= 100
        return {
            "layers": [{"layerDigest": d, "layerAvailability": "AVAILABLE"} for d in layerDigests if d in self.blobs],
            "failures": [
                {"layerDigest": d, "failureCode": "MissingLayerDigest"} for d in layerDigests if d not in self.blobs
            ],
        }

    def GetDownloadUrlForLayer(self, layerDigest):
        if layerDigest not in self.blobs:
            raise EcrError("LayersNotFoundException")
        return {"downloadUrl": f"https://layers.example/{layerDigest}", "layerDigest": layerDigest}

    def InitiateLayerUpload(self):
        upload = str(uuid.uuid4())
        self.uploads[upload] = []
        return {"uploadId": upload, "partSize": PART_SIZE}

    def UploadLayerPart(self, uploadId, partFirstByte, partLastByte, layerPartBlob):
        received = self.uploads[uploadId]
        if partFirstByte != sum(map(len, received)) or partLastByte - partFirstByte + 1 != len(layerPartBlob):
            raise EcrError("InvalidLayerPartException")
        received.append(layerPartBlob)
        return {"uploadId": uploadId, "lastByteReceived": partLastByte}

    def CompleteLayerUpload(self, uploadId, layerDigests):
        parts = self.uploads.pop(uploadId)
        if any(len(part) != PART_SIZE for part in parts[:-1]) or len(parts[-1]) > PART_SIZE:
            raise EcrError("LayerPartTooSmallException")
        data = b"".join(parts)
        if digest_of(data) != layerDigests[0]:
            raise EcrError("InvalidLayerException")
        if layerDigests[0] in self.blobs:
            raise EcrError("LayerAlreadyExistsException")
        self.blobs[layerDigests[0]] = data
        return {"uploadId": uploadId, "layerDigest": layerDigests[0]}

    def PutImage(self, imageManifest, imageManifestMediaType, imageDigest=None, imageTag=None):
        digest = digest_of(imageManifest.encode())
        if imageDigest not in (None, digest):
            raise EcrError("InvalidParameterException")
        document = json.loads(imageManifest)
        if imageManifestMediaType == OCI_INDEX:
            if any(child["digest"] not in self.manifests for child in document["manifests"]):
                raise EcrError("ReferencedImagesNotFoundException")
        elif any(d["digest"] not in self.blobs for d in [document["config"], *document["layers"]]):
            raise EcrError("LayersNotFoundException")
        if digest in self.manifests and (imageTag is None or self.tags.get(imageTag) == digest):
            raise EcrError("ImageAlreadyExistsException")
        if imageTag in self.tags and self.immutable:
            raise EcrError("ImageTagAlreadyExistsException")
        self.manifests[digest] = (imageManifest, imageManifestMediaType)
        if imageTag is not None:
            self.tags[imageTag] = digest
        return {"image": {"imageId": {"imageDigest": digest, "imageTag": imageTag}, "imageManifest": imageManifest}}

    # What a push to the source did.
    def push_blob(self, data: bytes) -> dict[str, object]:
        self.blobs[digest_of(data)] = data
        return {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": digest_of(data),
            "size": len(data),
        }

    def push_manifest(self, document: dict[str, object], media_type: str) -> str:
        # Indented, as some builders write it: any re-serialization would change the digest.
        manifest = json.dumps(document, indent=3)
        self.manifests[digest_of(manifest.encode())] = (manifest, media_type)
        return digest_of(manifest.encode())


class SlowStream(io.BytesIO):
    """A download that answers at most 3 bytes a read, as a socket may."""

    def read(self, size=-1):
        return super().read(min(size, 3) if size and size > 0 else 3)


def download_from(source: FakeEcr, calls: list[str] | None = None):
    def download(url: str) -> io.BytesIO:
        digest = url.rsplit("/", 1)[1]
        if calls is not None:
            calls.append(digest)
        return SlowStream(source.blobs[digest])

    return download


def push_platform(source: FakeEcr, architecture: str, shared: dict[str, object]) -> dict[str, object]:
    config = source.push_blob(json.dumps({"architecture": architecture, "os": "linux"}).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    own = source.push_blob(f"layer of {architecture}, longer than a part".encode())
    document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [shared, own]}
    digest = source.push_manifest(document, OCI_MANIFEST)
    size = len(source.manifests[digest][0].encode())
    return {
        "mediaType": OCI_MANIFEST,
        "digest": digest,
        "size": size,
        "platform": {"os": "linux", "architecture": architecture},
    }


@pytest.fixture
def multi_arch():
    """A source holding a two-platform index (amd64 and arm64, sharing their base layer)."""
    source = FakeEcr("books/staging/web")
    shared = source.push_blob(b"base layer shared by both platforms")
    children = [push_platform(source, "amd64", shared), push_platform(source, "arm64", shared)]
    index = source.push_manifest({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}, OCI_INDEX)
    return source, index, [c["digest"] for c in children]


def test_an_index_is_copied_with_both_platforms_under_the_same_digest(multi_arch):
    source, index, children = multi_arch
    target = FakeEcr("books/prod/web")
    copied = copy_image(
        Repository(source.client, source.name),
        Repository(target.client, target.name),
        index,
        "v1",
        download=download_from(source),
        log=lambda _: None,
    )
    assert target.tags == {"v1": index}
    # Every manifest and blob byte for byte, so both platforms keep their digests too.
    assert target.manifests == source.manifests
    assert target.blobs == source.blobs
    assert copied.manifests == [*children, index]
    # The shared base layer is uploaded once.
    assert sorted(copied.blobs) == sorted(source.blobs) and len(copied.blobs) == 5
    assert "PutImage" not in source.calls and "InitiateLayerUpload" not in source.calls


def test_a_single_platform_manifest_keeps_its_digest():
    source = FakeEcr("books/staging/web")
    config = source.push_blob(b'{"architecture":"amd64"}')
    layer = source.push_blob(b"x" * 11)
    digest = source.push_manifest({"schemaVersion": 2, "config": config, "layers": [layer]}, DOCKER_MANIFEST)
    target = FakeEcr("books/prod/web")
    copy_image(
        Repository(source.client, source.name),
        Repository(target.client, target.name),
        digest,
        "v1",
        download=download_from(source),
        log=lambda _: None,
    )
    assert target.tags == {"v1": digest} and target.manifests[digest] == source.manifests[digest]


def test_a_copy_that_ran_before_uploads_only_what_is_missing(multi_arch):
    source, index, children = multi_arch
    target = FakeEcr("books/prod/web")
    first_child = source.manifests[children[0]]
    kept = json.loads(first_child[0])
    for blob in [kept["config"], *kept["layers"]]:
        target.blobs[blob["digest"]] = source.blobs[blob["digest"]]
    target.manifests[children[0]] = first_child  # an earlier run stopped after the first platform
    downloaded: list[str] = []
    pair = Repository(source.client, source.name), Repository(target.client, target.name)
    copy_image(*pair, index, "v1", download=download_from(source, downloaded), log=lambda _: None)
    second = json.loads(source.manifests[children[1]][0])
    assert sorted(downloaded) == sorted({second["config"]["digest"], second["layers"][1]["digest"]})
    assert target.tags == {"v1": index}
    # Once more: nothing is uploaded, and the manifests ECR already holds are fine.
    target.calls.clear()
    again = copy_image(*pair, index, "v1", download=download_from(source), log=lambda _: None)
    assert again.blobs == [] and "InitiateLayerUpload" not in target.calls and target.tags == {"v1": index}


def test_a_download_that_does_not_match_its_digest_tags_nothing(multi_arch):
    source, index, _ = multi_arch
    target = FakeEcr("books/prod/web")

    def corrupt(url):
        return io.BytesIO(source.blobs[url.rsplit("/", 1)[1]] + b"!")

    with pytest.raises(CopyError, match="another digest; nothing was tagged"):
        copy_image(
            Repository(source.client, source.name),
            Repository(target.client, target.name),
            index,
            "v1",
            download=corrupt,
            log=lambda _: None,
        )
    assert target.tags == {} and "CompleteLayerUpload" not in target.calls


def test_a_manifest_that_does_not_hash_to_its_digest_is_never_put(multi_arch):
    source, index, _ = multi_arch
    manifest, media_type = source.manifests.pop(index)
    source.manifests[index] = (json.dumps(json.loads(manifest)), media_type)  # re-serialized: other bytes
    target = FakeEcr("books/prod/web")
    with pytest.raises(CopyError, match="with another digest"):
        copy_image(
            Repository(source.client, source.name),
            Repository(target.client, target.name),
            index,
            "v1",
            download=download_from(source),
            log=lambda _: None,
        )
    assert target.manifests == {} and target.blobs == {}


def test_an_immutable_tag_naming_another_image_fails_clearly(multi_arch):
    source, index, _ = multi_arch
    target = FakeEcr("books/prod/web", immutable=True)
    target.tags["v1"] = "sha256:" + "0" * 64
    with pytest.raises(CopyError, match="already names another image and the repository's tags are immutable"):
        copy_image(
            Repository(source.client, source.name),
            Repository(target.client, target.name),
            index,
            "v1",
            download=download_from(source),
            log=lambda _: None,
        )


def test_download_urls_are_https_only():
    with pytest.raises(CopyError, match="not https"):
        image_copy.open_download("file:///etc/passwd")


def test_the_step_reads_the_source_with_its_own_role_and_writes_with_the_promoted_one(monkeypatch, multi_arch):
    source, index, _ = multi_arch
    target = FakeEcr("books/prod/web")
    sessions = []

    class Session:
        def __init__(self, region_name, profile_name=None):
            sessions.append((region_name, profile_name, image_copy.os.environ.get("AWS_PROFILE")))
            self.fake = target if profile_name else source

        def client(self, name):
            assert name == "ecr"
            return self.fake.client

    monkeypatch.setattr(boto3, "Session", Session)
    monkeypatch.setattr(image_copy, "open_download", download_from(source))
    for key, value in {
        "AWS_PROFILE": "promoted",
        "SOURCE_REGION": "eu-central-1",
        "SOURCE_REPOSITORY_NAME": source.name,
        "TARGET_REGION": "eu-west-1",
        "TARGET_REPOSITORY_NAME": target.name,
        "DIGEST": index,
        "IMAGE_TAG": "v1",
    }.items():
        monkeypatch.setenv(key, value)
    assert image_copy.main() == 0
    assert sessions == [("eu-central-1", None, None), ("eu-west-1", "promoted", None)]
    assert target.tags == {"v1": index}


def test_the_copy_imports_only_the_standard_library():
    tree = ast.parse(Path(image_copy.__file__).read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    standard = {
        "__future__",
        "hashlib",
        "json",
        "os",
        "sys",
        "urllib",
        "collections",
        "dataclasses",
        "typing",
        "importlib",
    }
    assert imported <= standard
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))
