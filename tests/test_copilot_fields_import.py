"""`import copilot` of the fields real Copilot applications use (manifest v1.2, issue 23)."""

from __future__ import annotations

from pathlib import Path

from .test_copilot_mapping import imported, web


def test_task_security_groups_are_imported_from_a_list(tmp_path: Path) -> None:
    job = {
        "name": "report",
        "type": "Scheduled Job",
        "image": {"location": "a:1"},
        "on": {"schedule": "@daily"},
        "network": {"vpc": {"security_groups": ["sg-0123456789abcdef0"]}},
    }
    service = web(network={"vpc": {"security_groups": ["sg-0123456789abcdef0", "sg-0fedcba9"]}})
    full, lines = imported(tmp_path, {"web": service, "report": job})
    assert full["test"]["services"]["web"]["security_groups"] == ["sg-0123456789abcdef0", "sg-0fedcba9"]
    assert full["test"]["scheduled_tasks"]["report"]["security_groups"] == ["sg-0123456789abcdef0"]
    assert not any("security_groups" in line for line in lines), lines


def test_task_security_groups_with_deny_default_and_an_export_are_reported(tmp_path: Path) -> None:
    groups = {"groups": ["sg-00000001", {"from_cfn": "db-SecurityGroup"}], "deny_default": True}
    full, lines = imported(tmp_path, {"web": web(network={"vpc": {"security_groups": groups}})})
    assert full["test"]["services"]["web"]["security_groups"] == ["sg-00000001"]
    assert any("network.vpc.security_groups.deny_default: approximate" in line for line in lines), lines
    assert any("network.vpc.security_groups.groups[1]: not imported" in line for line in lines), lines


def test_task_security_groups_beyond_what_a_task_takes_are_reported(tmp_path: Path) -> None:
    listed = [f"sg-0000000{n}" for n in range(1, 7)]
    service = web(network={"connect": True, "vpc": {"security_groups": listed}})
    full, lines = imported(tmp_path, {"web": service})
    assert full["test"]["services"]["web"]["security_groups"] == listed[:3]  # own + connect + 3 = 5
    assert sum("network.vpc.security_groups[" in line and "not imported" in line for line in lines) == 3, lines


def test_from_cfn_variables_and_secrets_become_cfn_export_values(tmp_path: Path) -> None:
    service = web(
        variables={"DB_HOST": {"from_cfn": "shop-db-Endpoint"}, "PLAIN": "x"},
        secrets={"DB_SECRET": {"from_cfn": "shop-db-SecretArn"}, "BAD": {"from_cfn": "no spaces allowed"}},
    )
    full, lines = imported(tmp_path, {"web": service})
    container = full["test"]["services"]["web"]["containers"]["web"]
    assert container["environment"] == {"DB_HOST": {"cfn_export": "shop-db-Endpoint"}, "PLAIN": "x"}
    assert container["secrets"] == {"DB_SECRET": {"cfn_export": "shop-db-SecretArn"}}
    assert any("secrets.DB_SECRET: approximate; ecsforge reads the export as a Secrets Manager" in x for x in lines)
    assert any("secrets.BAD: not imported" in line for line in lines), lines


def test_the_environments_ssl_policy_is_imported_with_its_certificate(tmp_path: Path) -> None:
    cert = "arn:aws:acm:us-east-1:111111111111:certificate/abc-123"
    policy = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    public = {"certificates": [cert], "ssl_policy": policy}
    full, lines = imported(
        tmp_path, {"web": web(http={"path": "/"})}, environments={"test": {"http": {"public": public}}}
    )
    assert full["test"]["load_balancer"]["ssl_policy"] == policy
    assert not any("ssl_policy" in line for line in lines), lines


def test_an_ssl_policy_without_a_certificate_or_unknown_is_reported(tmp_path: Path) -> None:
    cert = "arn:aws:acm:us-east-1:111111111111:certificate/abc-123"
    envs = {
        "test": {"http": {"public": {"ssl_policy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"}}},
        "prod": {"http": {"public": {"certificates": [cert], "ssl_policy": "Mine"}}},
    }
    full, lines = imported(tmp_path, {"web": web(http={"path": "/"})}, environments=envs)
    assert all("ssl_policy" not in full[env].get("load_balancer", {}) for env in envs)
    assert sum("http.public.ssl_policy: not imported" in line for line in lines) == 2, lines


def test_the_health_check_port_is_imported(tmp_path: Path) -> None:
    service = web(http={"path": "/", "healthcheck": {"path": "/health", "port": 8081}})
    full, lines = imported(tmp_path, {"web": service})
    assert full["test"]["services"]["web"]["http"]["health_check"] == {"path": "/health", "port": 8081}
    assert not any("healthcheck.port" in line for line in lines), lines


def test_a_list_of_aliases_becomes_hosts_of_one_rule(tmp_path: Path) -> None:
    service = web(http={"path": "/", "alias": ["www.example.com", {"name": "example.com"}]})
    full, lines = imported(tmp_path, {"web": service})
    http = full["test"]["services"]["web"]["http"]
    assert http["hosts"] == ["www.example.com", "example.com"]
    assert "host" not in http
    assert not any("one host per service" in line for line in lines), lines


def test_aliases_beyond_what_a_rule_matches_are_reported(tmp_path: Path) -> None:
    aliases = [f"h{n}.example.com" for n in range(5)]
    full, lines = imported(tmp_path, {"web": web(http={"path": "/", "alias": aliases})})
    assert full["test"]["services"]["web"]["http"]["hosts"] == aliases[:3]
    assert any("http.alias: not imported; a listener rule matches at most 3 hosts" in line for line in lines), lines
