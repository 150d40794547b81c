"""What the templates must contain, read from the synthesized examples."""

from __future__ import annotations

import json

import pytest

from ecsforge.manifest import load_manifest

from .helpers import ROOT, only


def props(resources):
    return [r["Properties"] for r in resources.values()]


def test_stacks_are_named_per_deployment_unit(synth):
    manifest = load_manifest(ROOT / "platform.yml").manifest
    expected = {"shop-prod-network", "shop-prod-cluster", "shop-prod-registries"}
    expected |= {f"shop-prod-service-{name}" for name in manifest.services}
    expected |= {f"shop-prod-task-{name}" for name in manifest.scheduled_tasks}
    expected |= {f"shop-prod-pipeline-{name}" for name in manifest.pipelines}
    assert set(synth("platform.yml").templates()) == expected
    assert {"shop-prod-service-web", "shop-prod-task-rotate-logs"} <= expected
    assert set(synth("examples/imported-vpc.yml").templates()) == {"legacy-prod-cluster"}


@pytest.mark.parametrize(
    ("manifest", "stack", "nat", "zones"),
    [("platform.yml", "shop-prod-network", 3, 3), ("examples/minimal.yml", "hello-dev-network", 1, 2)],
)
def test_vpc_subnets_and_nat(synth, manifest, stack, nat, zones):
    result = synth(manifest)
    network = load_manifest(ROOT / manifest).manifest.network
    assert only(result.resources(stack, "AWS::EC2::VPC"))["Properties"]["CidrBlock"] == network.cidr
    assert len(result.resources(stack, "AWS::EC2::NatGateway")) == nat
    assert len(result.resources(stack, "AWS::EC2::Subnet")) == 2 * zones
    assert len(result.resources(stack, "AWS::EC2::InternetGateway")) == 1


def test_zones_come_from_the_manifest_or_from_getazs(synth):
    listed = {
        p["AvailabilityZone"] for p in props(synth("platform.yml").resources("shop-prod-network", "AWS::EC2::Subnet"))
    }
    assert listed == {"us-east-1a", "us-east-1b", "us-east-1c"}
    picked = props(synth("examples/minimal.yml").resources("hello-dev-network", "AWS::EC2::Subnet"))
    assert all("Fn::GetAZs" in json.dumps(p["AvailabilityZone"]) for p in picked)


def test_no_nat_means_isolated_subnets_and_endpoints(synth):
    result = synth("examples/no-nat.yml")
    stack = "vault-prod-network"
    assert result.resources(stack, "AWS::EC2::NatGateway") == {}
    default_routes = props(result.resources(stack, "AWS::EC2::Route"))
    # Only the public subnets have a default route (to the internet gateway).
    assert all("GatewayId" in route for route in default_routes)
    endpoints = props(result.resources(stack, "AWS::EC2::VPCEndpoint"))
    names = sorted(json.dumps(p["ServiceName"]) for p in endpoints)
    for service in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "s3"):
        assert any(service in name for name in names), service
    gateway = [p for p in endpoints if p.get("VpcEndpointType") == "Gateway"]
    assert len(gateway) == 1 and "s3" in json.dumps(gateway[0]["ServiceName"])
    group = only(result.resources(stack, "AWS::EC2::SecurityGroup"))["Properties"]
    assert group["SecurityGroupIngress"] == [
        {
            "CidrIp": "10.20.0.0/20",
            "Description": "HTTPS from the VPC",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]


def test_endpoints_are_absent_unless_asked(synth):
    assert synth("examples/minimal.yml").resources("hello-dev-network", "AWS::EC2::VPCEndpoint") == {}


def test_flow_logs_to_cloudwatch_for_30_days_retained(synth):
    result = synth("platform.yml")
    group_id, group = next(iter(result.resources("shop-prod-network", "AWS::Logs::LogGroup").items()))
    assert group["Properties"]["RetentionInDays"] == 30
    assert group["DeletionPolicy"] == "Retain"
    flow_log = only(result.resources("shop-prod-network", "AWS::EC2::FlowLog"))["Properties"]
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    assert flow_log["LogGroupName"] == {"Ref": group_id}
    assert flow_log["TrafficType"] == "ALL"


def test_imported_vpc_is_used_as_given(synth):
    result = synth("examples/imported-vpc.yml")
    namespace = only(result.resources("legacy-prod-cluster", "AWS::ServiceDiscovery::PrivateDnsNamespace"))
    assert namespace["Properties"]["Vpc"] == "vpc-0a1b2c3d4e5f67890"
    assert result.resources("legacy-prod-cluster", "AWS::EC2::VPC") == {}


def test_cluster_imports_the_network_stack_exports(synth):
    templates = synth("platform.yml").templates()
    exports = {o["Export"]["Name"] for o in templates["shop-prod-network"]["Outputs"].values() if "Export" in o}
    assert exports == {
        "shop-prod-vpc-id",
        "shop-prod-vpc-cidr",
        "shop-prod-private-subnet-ids",
        "shop-prod-public-subnet-ids",
        "shop-prod-private-route-table-ids",
        "shop-prod-public-route-table-ids",
    }
    cluster = json.dumps(templates["shop-prod-cluster"])
    assert '"Fn::ImportValue": "shop-prod-vpc-id"' in cluster
    assert '"Fn::ImportValue": "shop-prod-private-subnet-ids"' in cluster


def test_cluster_insights_fargate_and_namespace(synth):
    result = synth("platform.yml")
    cluster = only(result.resources("shop-prod-cluster", "AWS::ECS::Cluster"))["Properties"]
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enhanced"}]
    namespace = only(result.resources("shop-prod-cluster", "AWS::ServiceDiscovery::PrivateDnsNamespace"))
    assert namespace["Properties"]["Name"] == "prod.shop.local"
    association = only(result.resources("shop-prod-cluster", "AWS::ECS::ClusterCapacityProviderAssociations"))
    providers = association["Properties"]["CapacityProviders"]
    assert "FARGATE" in providers and "FARGATE_SPOT" in providers


def test_fargate_false_leaves_only_ec2_providers(synth):
    result = synth("examples/ec2-spot.yml")
    association = only(result.resources("batch-staging-cluster", "AWS::ECS::ClusterCapacityProviderAssociations"))
    assert not {"FARGATE", "FARGATE_SPOT"} & set(json.dumps(association["Properties"]["CapacityProviders"]).split('"'))
    assert len(association["Properties"]["CapacityProviders"]) == 2


def _providers(result, stack):
    return {p["Name"]: p for p in props(result.resources(stack, "AWS::ECS::CapacityProvider"))}


def test_capacity_providers_managed_scaling_termination_and_draining(synth):
    result = synth("examples/ec2-spot.yml")
    providers = _providers(result, "batch-staging-cluster")
    assert set(providers) == {"baseline-batch-staging", "burst-batch-staging"}
    burst = providers["burst-batch-staging"]["AutoScalingGroupProvider"]
    assert burst["ManagedScaling"]["Status"] == "ENABLED"
    assert burst["ManagedScaling"]["TargetCapacity"] == 90
    assert burst["ManagedTerminationProtection"] == "ENABLED"
    assert burst["ManagedDraining"] == "ENABLED"
    baseline = providers["baseline-batch-staging"]["AutoScalingGroupProvider"]
    assert baseline["ManagedScaling"]["TargetCapacity"] == 100


def test_auto_scaling_groups_sizes_and_spot(synth):
    result = synth("examples/ec2-spot.yml")
    groups = props(result.resources("batch-staging-cluster", "AWS::AutoScaling::AutoScalingGroup"))
    spot = [g for g in groups if "MixedInstancesPolicy" in g]
    on_demand = [g for g in groups if "LaunchTemplate" in g]
    assert len(spot) == 1 and len(on_demand) == 1
    assert (spot[0]["MinSize"], spot[0]["MaxSize"]) == ("0", "20")
    assert spot[0]["CapacityRebalance"] is True
    distribution = spot[0]["MixedInstancesPolicy"]["InstancesDistribution"]
    assert distribution["OnDemandPercentageAboveBaseCapacity"] == 0
    assert distribution["SpotAllocationStrategy"] == "price-capacity-optimized"
    assert (on_demand[0]["MinSize"], on_demand[0]["MaxSize"]) == ("2", "4")
    assert "CapacityRebalance" not in on_demand[0]
    # Managed termination protection needs new instances protected from scale-in.
    assert all(g["NewInstancesProtectedFromScaleIn"] is True for g in groups)


def test_launch_templates_imdsv2_encrypted_gp3_and_images(synth):
    result = synth("examples/ec2-spot.yml")
    templates = result.templates()["batch-staging-cluster"]
    launch = props(result.resources("batch-staging-cluster", "AWS::EC2::LaunchTemplate"))
    assert len(launch) == 2
    volumes = {}
    for template in launch:
        data = template["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        (device,) = data["BlockDeviceMappings"]
        assert device["Ebs"]["Encrypted"] is True and device["Ebs"]["VolumeType"] == "gp3"
        volumes[device["DeviceName"]] = device["Ebs"]["VolumeSize"]
    assert volumes == {"/dev/xvda": 30, "/dev/xvdb": 50}
    parameters = json.dumps(templates["Parameters"])
    assert "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id" in parameters
    assert "/aws/service/bottlerocket/aws-ecs-2/arm64/latest/image_id" in parameters
    user_data = json.dumps([t["LaunchTemplateData"].get("UserData") for t in launch])
    assert "enable-spot-instance-draining" in user_data


def test_spot_draining_is_on_only_for_spot(synth):
    result = synth("platform.yml")
    (template,) = props(result.resources("shop-prod-cluster", "AWS::EC2::LaunchTemplate"))
    user_data = json.dumps(template["LaunchTemplateData"]["UserData"])
    assert "ECS_CLUSTER" in user_data
    assert "SPOT_INSTANCE_DRAINING" not in user_data


def test_registries(synth):
    result = synth("platform.yml")
    repositories = {
        p["RepositoryName"]: p for p in props(result.resources("shop-prod-registries", "AWS::ECR::Repository"))
    }
    assert set(repositories) == {"shop/prod/web", "shop/prod/api"}
    web, api = repositories["shop/prod/web"], repositories["shop/prod/api"]
    assert web["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert web["ImageTagMutability"] == "IMMUTABLE"
    assert web["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    # aws-cdk leaves AES256 implicit: it is what ECR uses when no configuration is given.
    assert api.get("EncryptionConfiguration", {"EncryptionType": "AES256"}) == {"EncryptionType": "AES256"}
    rules = json.loads(api["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    by_status = {r["selection"]["tagStatus"]: r for r in rules}
    assert by_status["untagged"]["selection"]["countType"] == "sinceImagePushed"
    assert by_status["untagged"]["selection"]["countNumber"] == 7
    assert by_status["any"]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 50}
    # An `any` rule must come last, or it would also count the untagged images first.
    assert by_status["any"]["rulePriority"] > by_status["untagged"]["rulePriority"]


def test_mutable_tags_when_asked(synth):
    result = synth("examples/ec2-spot.yml")
    (repository,) = props(result.resources("batch-staging-registries", "AWS::ECR::Repository"))
    assert repository["ImageTagMutability"] == "MUTABLE"


def test_every_resource_is_tagged_with_app_environment_and_manifest_tags(synth):
    result = synth("platform.yml")
    for stack, template in result.templates().items():
        for name, resource in template["Resources"].items():
            tags = resource.get("Properties", {}).get("Tags")
            if isinstance(tags, list):
                pairs = {t["Key"]: t["Value"] for t in tags if "Key" in t}
                assert pairs.get("app") == "shop" and pairs.get("environment") == "prod", f"{stack}/{name}"
                assert pairs.get("team") == "web", f"{stack}/{name}"
