"""`services.*.connect` as a mapping (contract v1.2): Service Connect with TLS from an AWS Private CA,
and the proxy's access logs. v1.1's `connect: true` stays valid and means a mapping with neither."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .base import Model, matching

PrivateCaArn = Annotated[
    str,
    matching(
        r"^arn:aws[a-z-]*:acm-pca:[a-z0-9-]+:[0-9]{12}:certificate-authority/[A-Za-z0-9-]+$",
        "AWS Private CA certificate authority ARN",
        "arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    ),
]


class ConnectTls(Model):
    """TLS between Service Connect proxies: ECS issues, rotates and distributes the certificates."""

    private_ca_arn: PrivateCaArn = Field(
        description="Required. The AWS Private CA that signs the service's certificates (short-lived mode "
        "recommended by AWS); ECS issues them through a role of the service stack."
    )


class Connect(Model):
    """Service Connect with options; `connect: true` is the same with none of them."""

    tls: ConnectTls | None = Field(
        None, description="Default: none, plain traffic between the proxies. Set: the service's endpoints speak TLS."
    )
    access_logs: bool = Field(
        False,
        description="Default: false. true: the Service Connect proxy writes one JSON line per request (query "
        "strings left out) to the service's Service Connect log group.",
    )


def connect_shape(value: object) -> str:
    """`connect: true` or `connect: {...}`, told apart before validation (one complaint, for the form written)."""
    return "(mapping)" if isinstance(value, dict | Connect) else "(value)"


def connect_settings(connect: bool | Connect) -> Connect | None:
    """The options of a service's `connect`, whichever form was written; None without Service Connect."""
    if isinstance(connect, Connect):
        return connect
    return Connect() if connect else None
