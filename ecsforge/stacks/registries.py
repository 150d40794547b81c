"""`<app>-<environment>-registries`: the ECR repositories."""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from .. import names
from ..constructs.registry import repository
from ..constructs.template import keep_only_depends_on
from ..manifest.models import Manifest
from .base import PlatformStack

# The one Lambda function that aws-cdk's AwsCustomResource shares within a stack.
AWS_CUSTOM_RESOURCE_FUNCTION = "AWS679f53fac002430cb0da5b7982bd2287"


class RegistriesStack(PlatformStack):
    def __init__(self, scope: Construct, manifest: Manifest) -> None:
        super().__init__(scope, manifest, "registries", description="ECR repositories (retained on deletion)")
        self.repositories = {}
        self.released_tags: dict[str, cr.AwsCustomResource] = {}
        for key, registry in manifest.registries.items():
            repo = repository(
                self,
                key,
                name=names.repository_name(manifest, key),
                registry=registry,
                pinned_tags=manifest.pinned_tags(key),
            )
            self.repositories[key] = repo
            self.released_tags[key] = self._released_tag(key)
            CfnOutput(
                self,
                f"{key}-uri",
                value=repo.repository_uri,
                description=f"Push images for registry {key} here",
                export_name=self.export_name(f"registry-{key}-uri"),
            )
        function = self.node.try_find_child(AWS_CUSTOM_RESOURCE_FUNCTION)
        if function is not None:
            # Its DependsOn names the role it GetAtts already (cfn-lint W3005).
            keep_only_depends_on(function)

    def _released_tag(self, key: str) -> cr.AwsCustomResource:
        """The tag the pipeline last released; "none" until the first release.

        Created once and never written again by CloudFormation: AWS::SSM::Parameter puts its
        template value on every stack update (a tag change too), which would reset a release.
        So a create-only call, with no update or delete: the properties never change (no
        manifest tags in them), and a parameter that exists already (kept from the
        AWS::SSM::Parameter of an older ecsforge, whose Retain policy keeps it when it leaves
        the template, or from before a `cdk destroy`) keeps its value.
        """
        manifest = self.manifest
        name = names.released_tag_parameter(manifest, key)
        arn = Stack.of(self).format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"))
        released = cr.AwsCustomResource(
            self,
            # Not the old construct id: the same logical id with another type is an update
            # CloudFormation refuses. Capitalized, so no registry key (lowercase) can collide.
            f"ReleasedTag-{key}",
            on_create=cr.AwsSdkCall(
                service="SSM",
                action="putParameter",
                parameters={
                    "Name": name,
                    "Value": names.NOT_RELEASED,
                    "Type": "String",
                    "Overwrite": False,
                    "Description": f"Tag of the image the pipeline last released to "
                    f"{names.repository_name(manifest, key)}",
                    # app and environment only: they are fixed for this stack, unlike manifest tags.
                    "Tags": [
                        {"Key": "app", "Value": manifest.app},
                        {"Key": "environment", "Value": manifest.environment},
                    ],
                },
                physical_resource_id=cr.PhysicalResourceId.of(name),
                ignore_error_codes_matching="ParameterAlreadyExists",
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["ssm:PutParameter", "ssm:AddTagsToResource"], resources=[arn])]
            ),
            install_latest_aws_sdk=False,
            # The parameter outlives the stack, like the repository; deletion sends no call.
            removal_policy=RemovalPolicy.RETAIN,
        )
        return released
