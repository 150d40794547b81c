"""`security_groups` of a service or scheduled task: existing groups its tasks join too (awsvpc)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated

from pydantic import Field

from .base import Rule, pattern

# ECS AwsVpcConfiguration: "There's a limit of 5 security groups".
MAX_TASK_SECURITY_GROUPS = 5

SECURITY_GROUP_ID = pattern(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$", "security group id", "sg-0123456789abcdef0")
# A rule rather than a pattern: a malformed item would be taken out of the second pass, and the
# items after it would be reported at the wrong index.
SecurityGroupId = Annotated[str, Field(json_schema_extra={"pattern": SECURITY_GROUP_ID})]


def own_security_groups(connect: bool) -> int:
    """The groups ecsforge gives an awsvpc task: its own, and the cluster's Service Connect group."""
    return 1 + int(connect)


def security_group_rules(extra: list[str], network_mode: str, connect: bool) -> Iterator[Rule]:
    if not extra:
        return
    if network_mode != "awsvpc":
        yield (
            ("security_groups",),
            f"only awsvpc tasks have security groups of their own (this task uses {network_mode}); use "
            "network_mode: awsvpc, or add the groups to the EC2 instances' rules instead",
        )
        return
    for index, group in enumerate(extra):
        if not re.fullmatch(SECURITY_GROUP_ID[1:-1], group):
            yield (
                ("security_groups", index),
                f"{group!r} is not a valid security group id; write it like sg-0123456789abcdef0",
            )
        elif group in extra[:index]:
            yield ("security_groups", index), f"{group!r} is listed twice; list each group once"
    own = own_security_groups(connect)
    if own + len(extra) > MAX_TASK_SECURITY_GROUPS:
        yield (
            ("security_groups",),
            f"{len(extra)} groups, with the task's own group{' and the Service Connect group' if connect else ''}, "
            f"make {own + len(extra)}; ECS allows at most {MAX_TASK_SECURITY_GROUPS} security groups per task: "
            f"list at most {MAX_TASK_SECURITY_GROUPS - own}",
        )
