"""`ecsforge diff` over pairs of manifests (tests/manifests/lifecycle/): what deploying the second
over the first would do. Expectations come from the synthesized templates where they can.
"""

from __future__ import annotations

import itertools
from typing import Any

from ecsforge import cli
from ecsforge.diff import (
    DEPLOYMENT_MARGIN_MINUTES,
    REPLACED,
    DiffResult,
)

LIFECYCLE = "tests/manifests/lifecycle"
SERVICE = "AWS::ECS::Service"
NLB = "AWS::ElasticLoadBalancingV2::LoadBalancer"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"


def kinds(result: DiffResult) -> list[str]:
    return sorted(h.kind for h in result.hazards)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def without_tags(template: dict[str, Any]) -> dict[str, Any]:
    resources = {
        k: {**v, "Properties": {p: x for p, x in v.get("Properties", {}).items() if p != "Tags"}}
        for k, v in template["Resources"].items()
    }
    return {**template, "Resources": resources}


# --- a tag edit --------------------------------------------------------------------------------


def test_tag_edit_updates_only_the_tagged_resources(diff, templates):
    result = diff("base", "tag-edit")
    old, new = templates("base"), templates("tag-edit")
    assert set(old) == set(new)
    for stack in old:
        # The templates differ in tags and nothing else...
        assert without_tags(old[stack]) == without_tags(new[stack])
    retagged = {
        (stack, k)
        for stack in old
        for k, v in old[stack]["Resources"].items()
        if v.get("Properties", {}).get("Tags") != new[stack]["Resources"][k].get("Properties", {}).get("Tags")
    }
    # ...so the diff updates exactly the resources whose tags differ, and says "tags only".
    assert retagged
    assert {(stack, c.logical_id) for stack, c in result.changes()} == retagged
    assert all(c.tags_only for _, c in result.changes())
    assert result.deployments == []
    assert all(s.status == "unchanged" or s.tags_only for s in result.stacks)


def test_tag_edit_leaves_released_tags_alone(diff):
    assert "released-tag" not in kinds(diff("base", "tag-edit"))


def test_tag_edit_keeps_the_scaled_count(diff):
    assert "desired-count" not in kinds(diff("base", "tag-edit"))


def test_tag_edit_has_no_hazard(diff):
    assert diff("base", "tag-edit").hazards == []


# --- a certificate added -----------------------------------------------------------------------


def test_certificate_added_adds_an_https_listener(diff, templates):
    result = diff("base", "certificate-added")
    old = of_type(templates("base")["life-dev-cluster"], "AWS::ElasticLoadBalancingV2::Listener")
    new = of_type(templates("certificate-added")["life-dev-cluster"], "AWS::ElasticLoadBalancingV2::Listener")
    https = {k for k, v in new.items() if v["Properties"]["Protocol"] == "HTTPS"} - set(old)
    assert len(https) == 1
    assert {c.logical_id for c in result.stack("life-dev-cluster").by_action("added")} == https
    assert not [c for _, c in result.changes() if c.type == "AWS::ElasticLoadBalancingV2::LoadBalancer"]
    assert not {"https", "load-balancer", "stateful", "stack-removed"} & set(kinds(result))


def test_certificate_added_changes_no_imported_export(diff):
    assert "export" not in kinds(diff("base", "certificate-added"))


# --- a service added, a service removed --------------------------------------------------------


def test_service_added_touches_no_other_stack(diff, templates):
    result = diff("base", "service-added")
    added = set(templates("service-added")) - set(templates("base"))
    assert added == {"life-dev-service-worker"}
    assert {s.name for s in result.stacks if s.status == "added"} == added
    assert {s.status for s in result.stacks if s.name not in added} == {"unchanged"}
    assert result.hazards == [] and result.deployments == []
    assert result.exit_code == 0  # what `ecsforge diff` exits with


def test_service_removed_asks_for_cdk_destroy(diff, templates):
    result = diff("base", "service-removed")
    removed = set(templates("base")) - set(templates("service-removed"))
    assert removed == {"life-dev-service-web"}
    assert [(h.kind, h.stack) for h in result.hazards] == [("stack-removed", "life-dev-service-web")]
    assert f"`cdk destroy life-dev-service-web -c manifest={LIFECYCLE}/base.yml`" in result.hazards[0].line()
    assert "BEFORE" not in result.hazards[0].line()
    assert {s.status for s in result.stacks if s.name not in removed} == {"unchanged"}
    # Its log group is retained: a note, not a hazard.
    assert any("kept (Retain)" in n.text for n in result.notes if n.stack == "life-dev-service-web")
    assert result.exit_code == 3


# --- a service replaced ------------------------------------------------------------------------


def test_replica_to_daemon_replaces_the_service(diff, templates):
    result = diff("ec2-replica", "ec2-daemon")
    stack = "life-ec2-service-agent"
    (old,) = of_type(templates("ec2-replica")[stack], SERVICE).values()
    (new,) = of_type(templates("ec2-daemon")[stack], SERVICE).values()
    assert old["Properties"].get("SchedulingStrategy") != new["Properties"].get("SchedulingStrategy")
    (change,) = [c for c in result.stack(stack).changes if c.type == SERVICE]
    assert change.action == REPLACED
    assert "SchedulingStrategy" in change.replaced_by
    assert [(d.stack, d.reasons) for d in result.deployments] == [(stack, ("replaced",))]
    assert result.hazards == []


# --- scaling added -----------------------------------------------------------------------------


def test_scaling_added_adds_a_scalable_target_without_a_deployment(diff, templates):
    result = diff("base", "scaling-added")
    targets = of_type(templates("scaling-added")["life-dev-service-web"], "AWS::ApplicationAutoScaling::ScalableTarget")
    assert len(targets) == 1
    added = {c.logical_id for c in result.stack("life-dev-service-web").by_action("added")}
    assert set(targets) <= added
    assert result.deployments == []


def test_scaling_added_has_no_hazard(diff):
    assert diff("base", "scaling-added").hazards == []


# --- rolling -> blue/green, then an http path edit ---------------------------------------------


def test_rolling_to_blue_green_starts_one_blue_green_deployment(diff, templates):
    result = diff("base", "blue-green")
    (service,) = of_type(templates("blue-green")["life-dev-service-web"], SERVICE).values()
    bake = service["Properties"]["DeploymentConfiguration"]["BakeTimeInMinutes"]
    (deployment,) = result.deployments
    assert deployment.stack == "life-dev-service-web"
    assert deployment.strategy == "blue_green"
    assert deployment.minutes == bake + DEPLOYMENT_MARGIN_MINUTES
    assert "LoadBalancers" in deployment.reasons
    # The rule has never been swapped while the service was rolling.
    assert "listener-rule" not in kinds(result)


def test_path_edit_on_a_blue_green_service_flags_the_listener_rule(diff, templates):
    result = diff("blue-green", "blue-green-path-edit")
    rules = of_type(
        templates("blue-green-path-edit")["life-dev-service-web"], "AWS::ElasticLoadBalancingV2::ListenerRule"
    )
    hazards = [h for h in result.hazards if h.kind == "listener-rule"]
    assert [h.stack for h in hazards] == ["life-dev-service-web"]
    assert any(rule in hazards[0].what for rule in rules)
    assert "ECS owns this rule after a swap" in hazards[0].line()
    assert result.exit_code == 3


def test_path_edit_on_a_rolling_service_is_no_hazard(diff):
    """The same rule edit on a rolling service: CloudFormation alone owns the rule."""
    result = diff("base", "path-edit")
    (change,) = result.stack("life-dev-service-web").changes
    assert change.type == "AWS::ElasticLoadBalancingV2::ListenerRule" and "Conditions" in change.properties
    assert result.hazards == [] and result.deployments == []


# --- the load balancer made private ------------------------------------------------------------


def test_public_flip_replaces_the_load_balancer(diff, templates):
    result = diff("base", "private-load-balancer")
    (old,) = of_type(templates("base")["life-dev-cluster"], "AWS::ElasticLoadBalancingV2::LoadBalancer").items()
    (new,) = of_type(
        templates("private-load-balancer")["life-dev-cluster"], "AWS::ElasticLoadBalancingV2::LoadBalancer"
    ).items()
    assert old[0] == new[0] and old[1]["Properties"]["Scheme"] != new[1]["Properties"]["Scheme"]
    replaced = {c.logical_id: c for c in result.stack("life-dev-cluster").by_action(REPLACED)}
    assert replaced[old[0]].replaced_by == ("Scheme",)
    listeners = of_type(templates("base")["life-dev-cluster"], "AWS::ElasticLoadBalancingV2::Listener")
    assert set(listeners) <= set(replaced)
    assert "load-balancer" in kinds(result)
    assert result.exit_code == 3


# --- a service's own NLB (services.*.nlb) ------------------------------------------------------------


def test_adding_an_nlb_service_touches_no_other_stack(diff):
    result = diff("base", "nlb-tcp")
    assert [s.name for s in result.stacks if s.status != "unchanged"] == ["life-dev-service-db"]
    assert result.hazards == []


def test_protocol_tcp_to_udp_replaces_the_target_group_and_is_a_hazard(diff):
    result = diff("nlb-tcp", "nlb-udp")
    replaced = result.stack("life-dev-service-db").by_action(REPLACED)
    assert [(c.type, c.replaced_by) for c in replaced if c.type == TARGET_GROUP] == [(TARGET_GROUP, ("Protocol",))]
    assert "target-group" in kinds(result) and result.exit_code == 3


def test_public_flip_of_an_nlb_replaces_it_and_is_a_hazard(diff):
    result = diff("nlb-tcp", "nlb-public")
    replaced = {c.type: c for c in result.stack("life-dev-service-db").by_action(REPLACED)}
    assert replaced[NLB].replaced_by == ("Scheme",)
    assert "load-balancer" in kinds(result)
    assert [s.name for s in result.stacks if s.status != "unchanged"] == ["life-dev-service-db"]


def test_tls_to_tcp_loses_the_tls_listener(diff):
    result = diff("nlb-tls", "nlb-tcp")
    assert "https" in kinds(result)
    assert "https" not in kinds(diff("nlb-tcp", "nlb-tls"))


def test_port_edit_on_a_blue_green_nlb_flags_its_listener(diff, templates):
    result = diff("nlb-blue-green", "nlb-blue-green-port")
    (listener,) = of_type(templates("nlb-blue-green")["life-dev-service-db"], "AWS::ElasticLoadBalancingV2::Listener")
    changed = {c.logical_id: c for c in result.stack("life-dev-service-db").changes}
    assert "Port" in changed[listener].properties
    assert [h.kind for h in result.hazards if listener in h.what] == ["listener-rule"]


def test_tag_edit_leaves_a_blue_green_nlb_listener_alone(templates):
    listeners = of_type(templates("nlb-blue-green")["life-dev-service-db"], "AWS::ElasticLoadBalancingV2::Listener")
    assert all("Tags" not in listener["Properties"] for listener in listeners.values())
    rolling = of_type(templates("nlb-tcp")["life-dev-service-db"], "AWS::ElasticLoadBalancingV2::Listener")
    assert all("Tags" in listener["Properties"] for listener in rolling.values())


# --- cluster.namespace changed under connect and discovery services ------------------------------


def test_namespace_change_under_connect_and_discovery_names_the_fields_to_take_out(diff):
    result = diff("connect", "connect-namespace")
    exports = {h.what.split(" ")[1]: h for h in result.hazards if h.kind == "export"}
    assert set(exports) == {"life-dev-namespace-arn", "life-dev-namespace-id"}
    # Service Connect imports the namespace's ARN, Cloud Map registrations its id: a `connect` service
    # imports it as long as it has `connect`, so "deploy it so that it no longer imports it" is no step.
    connect, discovery = exports["life-dev-namespace-arn"], exports["life-dev-namespace-id"]
    assert "life-dev-service-orders" in connect.what and "services.orders.connect to false" in connect.action
    assert "life-dev-service-reports" in discovery.what and "services.reports.discovery to false" in discovery.action
    for hazard in exports.values():
        assert "no longer import it" not in hazard.action and "keep cluster.namespace" in hazard.action


def test_the_three_namespace_deploys_each_deploy_without_an_export_hazard(diff):
    steps = ["connect", "connect-off", "connect-off-namespace", "connect-namespace"]
    for old, new in itertools.pairwise(steps):
        assert [h for h in diff(old, new).hazards if h.kind == "export"] == [], (old, new)


# --- a deployed manifest that breaks a rule added since ------------------------------------------


def test_a_deployed_manifest_breaking_a_newer_rule_is_diffed_and_the_fix_flagged(capsys):
    """Discovery on a canary service was deployable before it was rejected: diff still reads the
    deployed manifest (the rule is a warning there), and flags what removing discovery does."""
    old, new = f"{LIFECYCLE}/canary-discovery.yml", f"{LIFECYCLE}/base.yml"
    assert cli.main(["diff", old, new]) == 3
    out, err = capsys.readouterr()
    assert f"warning: {old}:28:16: services.api.discovery: true, with strategy 'canary'" in err
    assert "(kept while deployed; a manifest to deploy must fix it)" in err
    assert "HAZARD life-dev-service-api: Cloud Map service api is deleted" in out.splitlines()[-2]
    # As the manifest to deploy, it is rejected as `validate` rejects it.
    assert cli.main(["diff", new, old]) == 1
    assert f"{old}:28:16: services.api.discovery: true" in capsys.readouterr().err


# --- the command -------------------------------------------------------------------------------


def test_cli_exit_codes_and_text(tmp_path, capsys):
    """`python -m ecsforge diff`, in this process (its jsii runtime is already running)."""
    assert cli.main(["diff", f"{LIFECYCLE}/base.yml", f"{LIFECYCLE}/service-removed.yml"]) == 3
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert "STACK life-dev-service-api unchanged" in lines
    assert (
        "HAZARD life-dev-service-web: gone from the manifest, but `cdk deploy` never deletes stacks; "
        f"run `cdk destroy life-dev-service-web -c manifest={LIFECYCLE}/base.yml`"
    ) in lines
    assert lines[-1].startswith("SUMMARY ") and lines[-1].endswith("hazards: 1")
    # Nothing from CDK (cdk-nag, validation plugins) on either stream; only manifest warnings.
    assert err and all(line.startswith("warning: ") for line in err.splitlines()), err

    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\napp: x\nenvironment: dev\nregion: eu-west-1\nnetwork: {nat_gatways: 1}\n")
    assert cli.main(["validate", str(bad)]) == 1
    validate = capsys.readouterr()
    assert cli.main(["diff", str(bad), f"{LIFECYCLE}/base.yml"]) == 1
    invalid = capsys.readouterr()
    assert invalid.out == ""
    assert "nat_gatways" in validate.err
    assert invalid.err == validate.err


# --- load_balancer.domain: a service with a new host -------------------------------------------

CERTIFICATE = "AWS::CertificateManager::Certificate"


def test_new_host_replaces_the_certificate_and_keeps_the_listener(diff, templates):
    result = diff("domain", "domain-host-added")
    cluster = result.stack("life-dev-cluster")
    (certificate,) = of_type(templates("domain-host-added")["life-dev-cluster"], CERTIFICATE)
    (change,) = [c for c in cluster.changes if c.type == CERTIFICATE]
    # SubjectAlternativeNames is create-only: the certificate is replaced under the same logical ID...
    assert change.logical_id == certificate and change.action == REPLACED
    assert "SubjectAlternativeNames" in change.replaced_by
    # ...and the listener that references it is updated in place, never replaced: its ARN, the
    # listener parameter and the service stacks' rules stay as they are.
    (listener,) = [c for c in cluster.changes if c.type == "AWS::ElasticLoadBalancingV2::Listener"]
    assert (listener.action, listener.properties) == ("updated", ("Certificates",))
    https = templates("domain-host-added")["life-dev-cluster"]["Resources"][listener.logical_id]
    # The Ref makes CloudFormation create (and wait for the issue of) the new certificate before
    # it updates the listener; the old certificate goes in the clean-up phase, after the update.
    assert https["Properties"]["Certificates"] == [{"CertificateArn": {"Ref": certificate}}]
    assert not [c for c in cluster.changes if c.type == "AWS::SSM::Parameter"]
    kinds_changed = {c.type for c in cluster.changes}
    assert kinds_changed == {CERTIFICATE, "AWS::ElasticLoadBalancingV2::Listener", "AWS::Route53::RecordSet"}
    # the new host's A and AAAA records
    assert [c.action for c in cluster.changes if c.type == "AWS::Route53::RecordSet"] == ["added", "added"]
    assert any("old certificate is deleted only at the end" in n.text for n in result.notes)


def test_new_host_changes_only_the_cluster_stack_and_adds_the_service(diff):
    result = diff("domain", "domain-host-added")
    assert {s.name: s.status for s in result.stacks if s.status != "unchanged"} == {
        "life-dev-cluster": "changed",
        "life-dev-service-admin": "added",
    }
    assert result.hazards == [] and result.deployments == []
    assert "export" not in kinds(result)


def test_host_removed_warns_that_its_name_stops_resolving(diff):
    result = diff("domain-host-added", "domain")
    dns = [h for h in result.hazards if h.kind == "dns"]
    # its A and its AAAA record
    assert [h.stack for h in dns] == ["life-dev-cluster"] * 2
    assert all("admin.example.com." in h.line() for h in dns)


def test_domain_added_adds_https_without_a_hazard_on_rolling_services(diff):
    result = diff("base", "domain")
    added = {c.type for c in result.stack("life-dev-cluster").by_action("added")}
    assert {CERTIFICATE, "AWS::Route53::RecordSet", "AWS::ElasticLoadBalancingV2::Listener"} <= added
    # The canary API's rule moves to 443 (the known blue/green procedure); nothing else is a hazard.
    assert kinds(result) == ["listener-rule"]


# --- load_balancer.waf: a rules edit -----------------------------------------------------------


def test_waf_rules_edit_updates_the_web_acl_in_place(diff, templates):
    result = diff("waf", "waf-rules-edit")
    (change,) = result.stack("life-dev-cluster").changes
    assert (change.type, change.action, change.properties) == ("AWS::WAFv2::WebACL", "updated", ("Rules",))
    old, new = (of_type(templates(n)["life-dev-cluster"], "AWS::WAFv2::WebACL") for n in ("waf", "waf-rules-edit"))
    (old_acl,), (new_acl,) = old.values(), new.values()
    assert len(new_acl["Properties"]["Rules"]) == len(old_acl["Properties"]["Rules"]) + 2
    assert {s.status for s in result.stacks if s.name != "life-dev-cluster"} == {"unchanged"}
    assert result.hazards == []


# --- a bridge service's host port fixed --------------------------------------------------------

INGRESS = "AWS::EC2::SecurityGroupIngress"


def test_fixed_host_port_adds_the_services_own_rule_and_keeps_the_clusters(diff, templates):
    stack, cluster = "life-bridge-service-web", "life-bridge-cluster"
    # The dynamic ports are the cluster stack's rules (two ranges: tests/test_shared_rules.py), for
    # as long as a bridge service with http runs on the group, fixed port or not.
    assert of_type(templates("bridge-alb")[stack], INGRESS) == {}
    for name in ("bridge-alb", "bridge-alb-host-port"):
        ranges = sorted(
            (r["Properties"]["FromPort"], r["Properties"]["ToPort"])
            for r in of_type(templates(name)[cluster], INGRESS).values()
        )
        assert ranges[0][0] == 32768 and ranges[-1][1] == 65535 and len(ranges) == 2
    (new,) = of_type(templates("bridge-alb-host-port")[stack], INGRESS).values()
    assert (new["Properties"]["FromPort"], new["Properties"]["ToPort"]) == (8080, 8080)
    # Stateless and untaggable: deleted with its stack, untouched by a tag edit, never rewritten by AWS.
    assert "DeletionPolicy" not in new and "Tags" not in new["Properties"]
    result = diff("bridge-alb", "bridge-alb-host-port")
    # Added before the service moves to the fixed port; the dynamic ports stay open meanwhile.
    (change,) = [c for c in result.stack(stack).changes if c.type == INGRESS]
    assert change.action == "added"
    assert result.stack(cluster).status == "unchanged"
    assert [(d.stack, d.reasons) for d in result.deployments] == [(stack, ("TaskDefinition",))]
    assert result.hazards == []


# --- load_balancer.waf: managed rules <-> an existing web ACL ----------------------------------

ASSOCIATION = "AWS::WAFv2::WebACLAssociation"


def association_of(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((logical_id, association),) = of_type(template, ASSOCIATION).items()
    return logical_id, association


def test_waf_association_is_kept_when_replaced_and_deleted_when_removed(templates):
    """DisassociateWebACL takes only the load balancer: deleting a replaced association would detach
    the ACL that replaced it, so the replaced one is retained; removing `waf` still deletes it."""
    for name in ("waf", "waf-acl-arn"):
        _, association = association_of(templates(name)["life-dev-cluster"])
        assert association.get("UpdateReplacePolicy") == "Retain"
        assert association["DeletionPolicy"] == "Delete"


def test_waf_switch_to_an_existing_acl_replaces_the_association_and_is_a_hazard(diff, templates):
    result = diff("waf", "waf-acl-arn")
    logical_id, association = association_of(templates("waf-acl-arn")["life-dev-cluster"])
    (change,) = [c for c in result.stack("life-dev-cluster").changes if c.type == ASSOCIATION]
    assert (change.logical_id, change.action, change.replaced_by) == (logical_id, REPLACED, ("WebACLArn",))
    (hazard,) = [h for h in result.hazards if h.kind == "waf"]
    assert hazard.stack == "life-dev-cluster"
    (balancer,) = association["Properties"]["ResourceArn"].values()
    assert f"--logical-resource-id {balancer}" in hazard.action
    assert f"--web-acl-arn {association['Properties']['WebACLArn']}" in hazard.action
    assert "UpdateReplacePolicy Retain" in hazard.what and "rollback" in hazard.what
    # The managed ACL and its logging go; the log group is kept.
    removed = {c.type for c in result.stack("life-dev-cluster").by_action("removed")}
    assert removed == {"AWS::WAFv2::WebACL", "AWS::WAFv2::LoggingConfiguration", "AWS::Logs::LogGroup"}
    assert any("AWS::Logs::LogGroup) is kept (Retain)" in n.text for n in result.notes)
    assert result.exit_code == 3


def test_waf_switch_back_to_managed_rules_is_a_hazard_and_names_the_kept_log_group(diff, templates):
    result = diff("waf-acl-arn", "waf")
    (hazard,) = [h for h in result.hazards if h.kind == "waf"]
    (acl,) = of_type(templates("waf")["life-dev-cluster"], "AWS::WAFv2::WebACL")
    assert f"--web-acl-arn <the ARN of {acl}>" in hazard.action
    (group,) = of_type(templates("waf")["life-dev-cluster"], "AWS::Logs::LogGroup").values()
    name = group["Properties"]["LogGroupName"]
    assert any(f"aws logs delete-log-group --log-group-name {name}" in n.text for n in result.notes)


def test_waf_added_or_edited_is_no_waf_hazard(diff):
    assert "waf" not in kinds(diff("base", "waf"))
    assert "waf" not in kinds(diff("waf", "waf-rules-edit"))


# --- security_groups added ---------------------------------------------------------------------


def test_security_groups_added_update_the_service_in_place_with_a_rolling_deployment(diff, templates):
    result = diff("base", "security-groups-added")
    [service] = of_type(templates("security-groups-added")["life-dev-service-web"], SERVICE)
    changes = result.stack("life-dev-service-web").changes
    assert [(c.logical_id, c.action) for c in changes] == [(service, "updated")]
    assert [(d.stack, d.strategy, d.reasons) for d in result.deployments] == [
        ("life-dev-service-web", "rolling", ("NetworkConfiguration",))
    ]
    assert result.hazards == []
    assert all(s.name == "life-dev-service-web" or not s.changes for s in result.stacks)
