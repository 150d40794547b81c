"""Benchmark manifests: N services in a realistic mix.

Every service has secrets; a third run on EC2 (bridge mode, spread and binpack), the
rest on Fargate and Fargate Spot; every fifth is behind the shared load balancer with a
path rule (at most 100 at N=500: an ALB takes 100 listener rules); Fargate services
scale on CPU (and on requests when load balanced), EC2 services with CPU steps.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

REGISTRIES = 10


def service(index: int) -> dict[str, Any]:
    name = f"svc-{index:03d}"
    on_ec2 = index % 3 == 2
    http = index % 5 == 0
    container: dict[str, Any] = {
        "image": {"registry": f"r{index % REGISTRIES}"} if index % 2 else "public.ecr.aws/nginx/nginx:1.27",
        "port": 8080,
        "environment": {"LOG_LEVEL": "info", "SERVICE": name},
        "secrets": {
            "DB_URL": f"ssm:/bench/{name}/db-url",
            "API_KEY": f"secretsmanager:bench/{name}/api-key",
        },
        "health_check": {"command": "curl -f http://localhost:8080/health || exit 1"},
    }
    spec: dict[str, Any] = {"containers": {"app": container}}
    if on_ec2:
        spec["capacity"] = "general"
        spec["network_mode"] = "bridge"
        container["memory"] = 512
        spec["scaling"] = {
            "min": 2,
            "max": 10,
            "step_scaling": [
                {
                    "metric": "cpu",
                    "scale_out": [{"at": 75, "add": 1}, {"at": 90, "add": 3}],
                    "scale_in": [{"below": 25, "remove": 1}],
                }
            ],
        }
    else:
        spec["capacity"] = [{"provider": "fargate", "base": 1, "weight": 1}, {"provider": "fargate_spot", "weight": 3}]
        spec["cpu"] = 512
        spec["memory"] = 1024
        tracking: dict[str, int] = {"cpu_percent": 70}
        if http:
            tracking["requests_per_target"] = 1000
        spec["scaling"] = {"min": 2, "max": 20, "target_tracking": tracking}
    if http:
        spec["http"] = {"path": f"/{name}/*", "health_check": {"path": "/health"}}
        spec["discovery"] = True
    return spec


def manifest(count: int) -> dict[str, Any]:
    return {
        "version": 1,
        "app": "bench",
        "environment": f"n{count}",
        "region": "us-east-1",
        "cluster": {
            "ec2": {
                "general": {"instance_type": "m6i.large", "min": 2, "max": 50},
                "spot": {"instance_type": "c7g.large", "spot": True, "min": 0, "max": 50},
            }
        },
        "registries": {f"r{i}": {} for i in range(REGISTRIES)},
        "services": {f"svc-{i:03d}": service(i) for i in range(count)},
    }


def write(count: int, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{count}.yml"
    path.write_text(yaml.safe_dump(manifest(count), sort_keys=False))
    return path


if __name__ == "__main__":
    for argument in sys.argv[2:]:
        print(write(int(argument), Path(sys.argv[1])))
