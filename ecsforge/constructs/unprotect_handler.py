"""On Delete: lift scale-in protection from an Auto Scaling group and its instances, and
delete ECS's managed-draining hook. Create/Update do nothing. Always answers CloudFormation.
Inline Lambda code (see capacity.py): standard library and boto3 only, under 4096 bytes."""

import json
import urllib.request
from typing import Any

BATCH = 50  # SetInstanceProtection takes at most 50 instances per call
HOOK = "ecs-managed-draining-termination-hook"
SPARE_MS = 10000  # stop this long before the Lambda times out, to answer in time


def unprotect(client: Any, group: str, time_left: Any = lambda: 60000) -> list[str]:
    done: list[str] = []
    try:
        client.update_auto_scaling_group(AutoScalingGroupName=group, NewInstancesProtectedFromScaleIn=False)
        done.append("group")
    except Exception as error:  # the running instances matter more
        done.append(f"group unchanged ({error})")
    found = client.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    ids = [i["InstanceId"] for g in found for i in g.get("Instances", []) if i.get("ProtectedFromScaleIn")]
    for start in range(0, len(ids), BATCH):
        if time_left() < SPARE_MS:
            done.append("out of time")
            return done
        batch = ids[start : start + BATCH]
        client.set_instance_protection(AutoScalingGroupName=group, InstanceIds=batch, ProtectedFromScaleIn=False)
        done.append(f"{len(batch)} instances")
    try:
        # Nobody completes it once the capacity provider is gone: each instance would wait
        # out its hour-long heartbeat in Terminating:Wait.
        client.delete_lifecycle_hook(AutoScalingGroupName=group, LifecycleHookName=HOOK)
        done.append("hook")
    except Exception as error:  # absent without managed draining
        done.append(f"no hook ({error})")
    return done


def props(event: dict[str, Any]) -> dict[str, Any]:
    return event.get("ResourceProperties") or {}


def answer(event: dict[str, Any], context: Any, reason: str, send: Any = None) -> Any:
    # SUCCESS even on error: a failed Delete would only stop the stack deletion earlier.
    body = json.dumps(
        {
            "Status": "SUCCESS",
            "Reason": f"{reason} (log stream {getattr(context, 'log_stream_name', '?')})"[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId") or props(event).get("AutoScalingGroupName", "-"),
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {},
        }
    ).encode()
    if send is not None:
        return send(event["ResponseURL"], body)
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status


def handler(event: dict[str, Any], context: Any, client: Any = None, send: Any = None) -> Any:
    reason = "nothing to do"
    try:
        if event["RequestType"] == "Delete":
            group = props(event)["AutoScalingGroupName"]
            if client is None:
                import boto3  # type: ignore[import-not-found]
                from botocore.config import Config  # type: ignore[import-not-found]

                config = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 3})
                client = boto3.client("autoscaling", config=config)
            reason = f"{group}: " + ", ".join(unprotect(client, group, context.get_remaining_time_in_millis))
    except Exception as error:  # never fail a delete, never hang CloudFormation
        reason = f"left protection as it was: {error!r}"
    print(reason)
    return answer(event, context, reason, send)
