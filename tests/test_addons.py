"""Addons (manifest v1.2, issue 21): templates read by the manifest layer, nested stacks wired
by Copilot's conventions, environment addons' outputs as SSM parameters, and the findings of
the user's templates shown as warnings without stopping synthesis."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ecsforge.manifest import load_manifest
from ecsforge.manifest.addon_templates import TemplateError, parse_template, unknown_references
from ecsforge.manifest.addons import upper_snake

from .helpers import ROOT, only

SHOP = ROOT / "examples" / "addons" / "shop.yml"
WIRING = ROOT / "tests" / "manifests" / "addon-wiring.yml"
ADDONS = ROOT / "tests" / "manifests" / "addons"


@dataclass
class Built:
    templates: dict[str, dict[str, Any]]
    stderr: str
    assembly: dict[str, Any]

    def nested(self, part: str) -> dict[str, Any]:
        return only({k: v for k, v in self.templates.items() if k.endswith(".nested") and part in k})

    def resources(self, stack: str, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.templates[stack]["Resources"].items() if v["Type"] == kind}


def synthesized(manifest: Path, outdir: Path) -> Built:
    """The app in this process, with what it prints on stderr (the addons' findings)."""
    from aws_cdk import App

    from ecsforge.diff.synthesis import cdk_context
    from ecsforge.platform import build

    loaded = load_manifest(manifest)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        app = App(outdir=str(outdir), context=cdk_context())
        build(app, loaded.manifest)
        app.synth()  # raises when cdk-nag reports an unacknowledged finding
    templates = {
        p.name.removesuffix(".template.json"): json.loads(p.read_text()) for p in outdir.glob("*.template.json")
    }
    return Built(templates, err.getvalue(), json.loads((outdir / "manifest.json").read_text()))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return synthesized(SHOP, tmp_path_factory.mktemp("addons-shop"))


@pytest.fixture(scope="module")
def wiring(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return synthesized(WIRING, tmp_path_factory.mktemp("addons-wiring"))


def nested_output(stack_resource: str, output: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [stack_resource, f"Outputs.{output}"]}


def test_output_names_are_upper_snake_case_as_copilot_writes_them():
    assert upper_snake("OrdersTableName") == "ORDERS_TABLE_NAME"
    assert upper_snake("CacheURL") == "CACHE_URL"
    assert upper_snake("DBHostName") == "DB_HOST_NAME"


def test_short_form_intrinsics_read_as_their_long_form_with_lines():
    data, where = parse_template(
        "Resources:\n"
        "  Bucket:\n"
        "    Type: AWS::S3::Bucket\n"
        "    Properties:\n"
        "      BucketName: !Sub '${AWS::StackName}-x'\n"
        "      Tags: [{Key: a, Value: !Join [',', [!Ref A, !GetAtt Other.Arn]]}]\n"
        "Outputs:\n"
        "  Name: {Value: !Ref Bucket}\n"
    )
    properties = data["Resources"]["Bucket"]["Properties"]
    assert properties["BucketName"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert properties["Tags"][0]["Value"] == {"Fn::Join": [",", [{"Ref": "A"}, {"Fn::GetAtt": ["Other", "Arn"]}]]}
    assert data["Outputs"]["Name"]["Value"] == {"Ref": "Bucket"}
    assert where[("Resources", "Bucket")] == (2, 3)
    assert where[("Outputs", "Name")] == (8, 3)


def test_what_cfn_include_would_reject_is_found_first_at_its_line():
    data, where = parse_template(
        "Parameters:\n  App: {Type: String}\n"
        "Resources:\n"
        "  Broken: 1\n"
        "  Table:\n"
        "    Type: AWS::DynamoDB::Table\n"
        "    Properties: {TableName: !Sub '${App}-${Env}-${!Literal}-${AWS::Region}', X: {'Fn::Sub': {a: 1}}}\n"
        "Outputs:\n  Arn: {Value: !GetAtt Tabel.Arn}\n"
    )
    found = [
        (line, message.split(" ", 1)[0], message.split(" refers to ")[-1].split(",")[0])
        for line, _, message in unknown_references(data, where)
    ]
    assert found == [
        (4, "Resources.Broken", "Resources.Broken has no Type; give it one"),
        (5, "Resources.Table", "Env"),
        (9, "Outputs.Arn", "Tabel"),
    ]
    with pytest.raises(TemplateError):
        parse_template("Resources:\n  A: &a\n    Type: X\n    P: [*a]\n")


def test_workload_addon_outputs_reach_the_task_role_and_every_container(shop: Built):
    stack = "shop-dev-service-orders"
    nested_id, nested = next(iter(shop.resources(stack, "AWS::CloudFormation::Stack").items()))
    # Copilot's parameters, and only those the template declares.
    assert nested["Properties"]["Parameters"] == {"App": "shop", "Env": "dev", "Name": "orders"}
    role = shop.templates[stack]["Resources"]["ServiceTaskTaskDefinitionTaskRole49BB92BD"]
    assert role["Properties"]["ManagedPolicyArns"] == [nested_output(nested_id, "OrdersTableAccessPolicy")]
    container = only(shop.resources(stack, "AWS::ECS::TaskDefinition"))["Properties"]["ContainerDefinitions"][0]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["ORDERS_TABLE_NAME"] == nested_output(nested_id, "OrdersTableName")
    # The table keeps the DeletionPolicy its template gives it, under its own logical id.
    table = shop.nested("serviceorders")["Resources"]["OrdersTable"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_environment_addon_outputs_are_ssm_parameters_read_by_the_service(shop: Built):
    addons = "shop-dev-addons"
    nested_id, nested = next(iter(shop.resources(addons, "AWS::CloudFormation::Stack").items()))
    parameters = nested["Properties"]["Parameters"]
    assert parameters["VpcId"] == {"Fn::ImportValue": "shop-dev-vpc-id"}
    assert parameters["PrivateSubnets"] == {"Fn::ImportValue": "shop-dev-private-subnet-ids"}
    assert "PublicSubnets" not in parameters  # the template does not declare it
    published = {
        r["Properties"]["Name"]: r["Properties"]["Value"]
        for r in shop.resources(addons, "AWS::SSM::Parameter").values()
    }
    assert published == {
        f"/ecsforge/shop/dev/addons/{name}": nested_output(nested_id, name)
        for name in ("DbEndpoint", "DbPort", "DbSecretArn")
    }
    assert not any("Export" in o for o in shop.templates[addons].get("Outputs", {}).values())

    stack = "shop-dev-service-orders"
    read = {k: v["Default"] for k, v in shop.templates[stack]["Parameters"].items() if "/addons/" in v["Default"]}
    container = only(shop.resources(stack, "AWS::ECS::TaskDefinition"))["Properties"]["ContainerDefinitions"][0]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert read[environment["DB_HOST"]["Ref"]] == "/ecsforge/shop/dev/addons/DbEndpoint"
    assert read[secrets["DB_SECRET"]["Ref"]] == "/ecsforge/shop/dev/addons/DbSecretArn"
    policies = shop.resources(stack, "AWS::IAM::Policy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert {"Ref": secrets["DB_SECRET"]["Ref"]} in [
        s["Resource"] for s in statements if "secretsmanager:GetSecretValue" in s["Action"]
    ]
    # The parameters exist before the service reads them.
    dependencies = shop.assembly["artifacts"][stack]["dependencies"]
    assert addons in dependencies


def test_the_example_addons_raise_no_finding(shop: Built):
    assert "AwsSolutions" not in shop.stderr


def test_security_groups_secrets_and_variables_of_a_workload_addon(wiring: Built):
    for stack, kind, path in (
        ("shop-dev-service-api", "AWS::ECS::Service", ("NetworkConfiguration", "AwsvpcConfiguration")),
        (
            "shop-dev-task-report",
            "AWS::Scheduler::Schedule",
            ("Target", "EcsParameters", "NetworkConfiguration", "AwsvpcConfiguration"),
        ),
    ):
        nested_id = next(k for k in wiring.resources(stack, "AWS::CloudFormation::Stack") if "access" in k)
        properties = only(wiring.resources(stack, kind))["Properties"]
        for key in path:
            properties = properties[key]
        groups = properties["SecurityGroups"]
        assert len(groups) == 2 and groups[1] == nested_output(nested_id, "ClientGroup"), stack
        container = only(wiring.resources(stack, "AWS::ECS::TaskDefinition"))["Properties"]["ContainerDefinitions"][0]
        assert {s["Name"]: s["ValueFrom"] for s in container["Secrets"]} == {
            "API_KEY": nested_output(nested_id, "ApiKey")
        }
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
        assert environment["CACHE_URL"] == nested_output(nested_id, "CacheURL")


def test_a_copilot_storage_init_template_works_unchanged(wiring: Built):
    stack = "shop-dev-service-api"
    nested_id = next(k for k in wiring.resources(stack, "AWS::CloudFormation::Stack") if "copilotorders" in k)
    container = only(wiring.resources(stack, "AWS::ECS::TaskDefinition"))["Properties"]["ContainerDefinitions"][0]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["ORDERS_NAME"] == nested_output(nested_id, "ordersName")
    role = only({k: r for k, r in wiring.resources(stack, "AWS::IAM::Role").items() if "TaskRole" in k})
    assert nested_output(nested_id, "ordersAccessPolicy") in role["Properties"]["ManagedPolicyArns"]
    # Its wildcard on the table's indexes is the user's: a warning, and synthesis went on.
    assert "copilot-orders.yml:26:3: Resources.ordersAccessPolicy: AwsSolutions-IAM5[" in wiring.stderr


def test_addon_findings_are_warnings_naming_file_line_and_logical_id(wiring: Built):
    lines = [line for line in wiring.stderr.splitlines() if "AwsSolutions" in line]
    template = str(ADDONS / "access.yml")
    assert f"warning: {template}:12:3: Resources.ApiKey: AwsSolutions-SMG4: " in "\n".join(lines)
    assert "(in shop-dev-task-report)" in "\n".join(lines) and "(in shop-dev-service-api)" in "\n".join(lines)
    assert f"warning: {template}:33:3: Resources.OrdersTable: AwsSolutions-DDB3: " in "\n".join(lines)
    # Acknowledged in the template's own Metadata: quiet.
    assert not [line for line in lines if "CachePolicy" in line]
    # Kept as the user wrote them: Retain on the secret, nothing on the table.
    nested = wiring.nested("serviceapiAddonsaccess")["Resources"]
    assert nested["ApiKey"]["DeletionPolicy"] == "Retain"
    assert "DeletionPolicy" not in nested["OrdersTable"]


def test_nested_stacks_are_keyed_by_file_name_not_list_position(tmp_path: Path):
    from aws_cdk import App, Stack

    from ecsforge.platform import build

    for name in ("table.yml", "access.yml"):
        shutil.copy(ADDONS / name, tmp_path / name)
    ids = []
    for order in (["table.yml", "access.yml"], ["access.yml", "table.yml"]):
        listed = "".join(
            f"      - template: {t}\n"
            + ("        parameters: {VpcId: vpc-0123456789abcdef0}\n" if t == "access.yml" else "")
            for t in order
        )
        manifest = tmp_path / "m.yml"
        manifest.write_text(
            "version: 1\napp: shop\nenvironment: dev\nregion: eu-west-1\nservices:\n  api:\n    addons:\n"
            + listed
            + "    containers:\n      app: {image: 'nginx:1.27'}\n"
        )
        platform = build(App(), load_manifest(manifest).manifest)
        stack = platform.services["api"]
        ids.append(
            {
                included.resolved.key: stack.resolve(
                    Stack.of(stack).get_logical_id(included.stack.nested_stack_resource)
                )
                for included in stack.addons
            }
        )
    assert ids[0] == ids[1]
    assert len(set(ids[0].values())) == 2


def test_listing_another_addon_first_leaves_the_first_one_in_place(diff):
    """Day 2: the nested stack is keyed by the template's file name, so the table's stack (and
    the table in it) is neither replaced nor removed when another addon comes before it."""
    result = diff("addons-table", "addons-access-and-table")
    changes = {(stack, c.logical_id): c.action for stack, c in result.changes()}
    nested = [key for key in changes if key[1].startswith("Addons")]
    assert [changes[key] for key in nested] == ["added"] and "access" in nested[0][1]
    # A new task definition revision (the access outputs reach the containers) is all that is replaced.
    replaced = [key[1] for key, action in changes.items() if action in ("removed", "replaced")]
    assert replaced == ["ServiceTaskTaskDefinition2B6F6746"]
    # The table's nested stack is part of its parent (never a stack of its own), and nothing in it changes.
    assert not [s.name for s in result.stacks if s.name.endswith(".nested")]
    assert [c for c in result.stack("shop-dev-service-api").changes if c.logical_id.startswith("table/")] == []
    assert {key[1].split("/")[0] for key, action in changes.items() if action == "added" and "/" in key[1]} == {
        "access"
    }
    assert result.hazards == []


def test_removing_an_addon_with_an_unretained_table_is_a_hazard_naming_the_fix(diff):
    """Day 2: the addon's nested stack is deleted with its parent's update, and with it every
    resource of it without `DeletionPolicy: Retain`; the diff shows them under their parent."""
    result = diff("addons-access-and-table", "addons-table")
    assert [s.name for s in result.stacks if s.status != "unchanged"] == ["shop-dev-service-api"]
    removed = {c.logical_id for c in result.stack("shop-dev-service-api").by_action("removed")}
    assert {"access/OrdersTable", "access/ApiKey", "access/ClientGroup"} <= removed
    hazard = only({h.what: h for h in result.hazards})
    assert (hazard.stack, hazard.kind) == ("shop-dev-service-api", "stateful")
    assert "removing addon access" in hazard.what and "OrdersTable (AWS::DynamoDB::Table)" in hazard.what
    assert "DeletionPolicy: Retain" in hazard.action and hazard.action.endswith(
        "(the resource is then kept, outside any stack)"
    )
    # The secret is `Retain`: kept, and said so, not a hazard.
    assert [n.text for n in result.notes if "ApiKey" in n.text] == [
        "access/ApiKey (AWS::SecretsManager::Secret) is kept (Retain) and orphaned"
    ]


def test_a_nested_resource_is_replaced_by_its_create_only_properties(diff):
    """A new TableName in the addon's template replaces the table (TableName is create-only in
    the resource schema), in the parent's stack and with the stateful hazard of any table."""
    from ecsforge.diff import render

    result = diff("addons-table", "addons-table-renamed")
    stack = result.stack("shop-dev-service-api")
    table = only({c.logical_id: c for c in stack.changes if c.logical_id.startswith("table/")})
    assert (table.logical_id, table.action, table.replaced_by) == ("table/OrdersTable", "replaced", ("TableName",))
    assert "PointInTimeRecoverySpecification" in table.properties
    hazard = only({h.what: h for h in result.hazards})
    assert hazard.stack == "shop-dev-service-api" and hazard.what.startswith(
        "table/OrdersTable (AWS::DynamoDB::Table) is replaced"
    )
    # The table's name, an output of the nested stack, reaches ORDERS_TABLE_NAME: a new revision.
    replaced = [c.logical_id for c in stack.by_action("replaced")]
    assert replaced == ["ServiceTaskTaskDefinition2B6F6746", "table/OrdersTable"]
    assert [d.service for d in result.deployments] == ["Service9571FDD8"]
    lines = render(result).splitlines()
    at = lines.index("  addon table (nested stack)")
    assert lines[at - 1].startswith("  ! replaced ServiceTaskTaskDefinition") and lines[at + 1].startswith(
        "    ! replaced OrdersTable AWS::DynamoDB::Table (replaced by TableName"
    )
    assert not [line for line in lines if ".nested" in line]


def test_destroying_a_workload_names_its_addons_unretained_resources(diff):
    """`cdk destroy` of a removed stack deletes its nested stacks too: their resources count as its own."""
    result = diff("addons-access-and-table", "addons-other-service")
    removed = [h for h in result.hazards if h.kind == "stack-removed"]
    assert [h.stack for h in removed] == ["shop-dev-service-api"]
    stateful = [h.what for h in result.hazards if h.kind == "stateful"]
    assert stateful == ["access/OrdersTable (AWS::DynamoDB::Table) is deleted with the stack, and its data"]
    kept = sorted(n.text.split(" ")[0] for n in result.notes if "kept (Retain)" in n.text)
    kept = [logical_id for logical_id in kept if "/" in logical_id]  # the addons' (ecsforge's own log group too)
    assert kept == ["access/ApiKey", "table/OrdersTable"]


def test_a_replaced_environment_addon_resource_reaches_the_workloads_reading_its_output(diff):
    """A create-only parameter passed anew replaces the database cluster in the nested stack; its
    endpoint, an output, is the value of an SSM parameter of the addons stack, which the service
    reads (`{addon: DbEndpoint}`): its task definition is replaced too, one ECS deployment."""
    result = diff("addons-environment-orders", "addons-environment-orders2")
    addons = result.stack("shop-dev-addons")
    assert [(c.logical_id, c.replaced_by) for c in addons.by_action("replaced")] == [
        ("database/DbCluster", ("DatabaseName",)),
        ("database/DbWriter", ("DBClusterIdentifier",)),
    ]
    assert "OutputDbEndpointB5933CAF" in {c.logical_id for c in addons.by_action("updated")}
    api = result.stack("shop-dev-service-api")
    assert [c.logical_id for c in api.by_action("replaced")] == ["ServiceTaskTaskDefinition2B6F6746"]
    assert [(d.stack, d.reasons) for d in result.deployments] == [("shop-dev-service-api", ("TaskDefinition",))]
    assert [(h.stack, h.what.split(" ")[0]) for h in result.hazards] == [("shop-dev-addons", "database/DbCluster")]
