"""`services.*.deployment.hooks` and `test_traffic`: ECS deployment lifecycle hooks (Lambda and
pause), the role that lets ECS invoke exactly each hook's function, the test listener rule, and
the email that says a deployment waits on a pause hook, with the command that ends the wait."""

from __future__ import annotations

import json
import shlex

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ..manifest.deployment import Deployment, Hook, test_rule_priority
from ..manifest.http import Http
from ..manifest.models import Manifest
from ..manifest.promotion import Slack
from .template import cfn_resource

# The file `continue` is run with: the one this synthesis read (app.py's context), or its default.
DEFAULT_MANIFEST = "platform.yml"
# EventBridge's event for a pause hook that waits ("Pause hooks for Amazon ECS service deployments").
HOOK_EVENT = "ECS Hook State Change"
HOOK_AWAITING = "HOOK_AWAITING_ACTION"
TIMEOUT_ACTIONS = {"rollback": "ROLLBACK", "continue": "CONTINUE"}


def pause_slack(manifest: Manifest, name: str) -> Slack | None:
    """The Slack channel of the pipeline that deploys the service, else of any pipeline."""
    pipelines = sorted(manifest.pipelines.items(), key=lambda item: name not in item[1].deploy.services)
    return next((p.notify.slack for _, p in pipelines if p.notify is not None and p.notify.slack), None)


def test_listener_rule(
    scope: Construct,
    *,
    http: Http,
    deployment: Deployment,
    listener: elbv2.IApplicationListener,
    target_group: elbv2.IApplicationTargetGroup,
) -> elbv2.ApplicationListenerRule | None:
    """The production rule's conditions plus the test header, one priority before it (ALB evaluates
    the lowest first). A header on the production listener rather than a test port: no second
    listener, security group rule or certificate on the shared load balancer, and test requests
    take the same path (WAF, TLS, host names) as production ones. ECS rewrites its forward at each
    test traffic shift, like the production rule's (see EcsService._keep_rule_to_ecs)."""
    test = deployment.test_traffic
    if test is None:
        return None
    conditions = [
        elbv2.ListenerCondition.path_patterns([http.path]),
        elbv2.ListenerCondition.http_header(test.header.name, [test.header.value]),
    ]
    if http.host_names:
        conditions.append(elbv2.ListenerCondition.host_headers(http.host_names))
    rule = elbv2.ApplicationListenerRule(
        scope,
        "TestListenerRule",
        listener=listener,
        priority=test_rule_priority(http.rule_priority),
        conditions=conditions,
        action=elbv2.ListenerAction.forward([target_group]),
    )
    cfn_resource(rule).add_property_deletion_override("Tags")
    return rule


class DeploymentGates(Construct):
    """LifecycleHooks of the service's DeploymentConfiguration, and for pause hooks with `notify`
    one topic, its key and the EventBridge rule that mails when this service's deployment waits."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        deployment: Deployment,
        service: ecs.BaseService,
        slack: Slack | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.roles: dict[str, iam.Role] = {}
        hooks = [self._hook(hook) for hook in deployment.hooks]
        cfn_resource(service).add_property_override("DeploymentConfiguration.LifecycleHooks", hooks)
        emails = sorted({a for hook in deployment.hooks if hook.pause for a in hook.pause.notify})
        self.topic = self._notification(name, service, emails, slack) if emails else None

    def _hook(self, hook: Hook) -> dict[str, object]:
        stages = list(hook.stages)
        if hook.pause is not None:
            return {
                "TargetType": "PAUSE",
                "LifecycleStages": stages,
                "TimeoutConfiguration": {
                    "TimeoutInMinutes": hook.pause.timeout_minutes,
                    "Action": TIMEOUT_ACTIONS[hook.pause.on_timeout],
                },
            }
        function = hook.lambda_ or ""  # the manifest's check: a hook that is no pause has a function
        result: dict[str, object] = {
            "TargetType": "AWS_LAMBDA",
            "HookTargetArn": function,
            "RoleArn": self._invoke_role(function).role_arn,
            "LifecycleStages": stages,
        }
        if hook.details is not None:
            result["HookDetails"] = json.dumps(hook.details, sort_keys=True, separators=(",", ":"))
        return result

    def _invoke_role(self, function_arn: str) -> iam.Role:
        """One role per function, allowed to invoke that function and nothing else."""
        if function_arn not in self.roles:
            key = function_arn.split(":function:", 1)[1].replace(":", "-")
            role = iam.Role(
                self,
                f"Invoke-{key}",
                assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
                description=f"Lets ECS run the deployment hook {function_arn}",
            )
            role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function_arn]))
            self.roles[function_arn] = role
        return self.roles[function_arn]

    def _notification(self, name: str, service: ecs.BaseService, emails: list[str], slack: Slack | None) -> sns.Topic:
        # EventBridge publishes to an encrypted topic only under a customer-managed key that admits it.
        key = kms.Key(
            self,
            "NotifyKey",
            description=f"Pause hook notifications of service {name}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        key.grant(iam.ServicePrincipal("events.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(self, "Notify", display_name=f"{name}: deployment waits", master_key=key, enforce_ssl=True)
        for address in emails:
            topic.add_subscription(subscriptions.EmailSubscription(address))
        manifest = self.node.try_get_context("manifest") or DEFAULT_MANIFEST
        command = f"python -m ecsforge continue {shlex.quote(str(manifest))} {name}"
        hook_id = events.EventField.from_path("$.detail.hookId")
        stage = events.EventField.from_path("$.detail.lifecycleStage")
        text = (
            f"The deployment of service {name} waits on pause hook {hook_id} at stage {stage}. "
            f"To continue: {command} ; to roll back: {command} --rollback"
        )
        targets = [events_targets.SnsTopic(topic, message=events.RuleTargetInput.from_text(text))]
        if slack is not None:
            targets.append(self._chat(name, service, key, slack, text))
        events.Rule(
            self,
            "Waiting",
            description=f"A deployment of service {name} waits on a pause hook",
            # The event's `resources` name the service deployment; its detail names the service. The
            # rule depends on the service, so it exists from the service's second deployment on.
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=[HOOK_EVENT],
                detail={"eventName": [HOOK_AWAITING], "hookType": ["PAUSE"], "serviceArn": [service.service_arn]},
            ),
            targets=targets,
        )
        return topic

    def _chat(
        self, name: str, service: ecs.BaseService, key: kms.Key, slack: Slack, text: str
    ) -> events_targets.SnsTopic:
        """The pipeline's Slack channel, through a topic of its own: AWS Chatbot shows only messages in
        its custom notification format, which would reach the emails as raw JSON."""
        stack = Stack.of(self)
        topic = sns.Topic(self, "Chat", display_name=f"{name}: deployment waits", master_key=key, enforce_ssl=True)
        # What someone in the channel may do through Chatbot: read this service, nothing else.
        read_service = iam.PolicyStatement(actions=["ecs:DescribeServices"], resources=[service.service_arn])
        role = iam.Role(
            self,
            "ChatRole",
            assumed_by=iam.ServicePrincipal("chatbot.amazonaws.com"),
            description=f"AWS Chatbot channel of the pause hooks of service {name}",
        )
        role.add_to_policy(read_service)
        guardrail = iam.ManagedPolicy(
            self, "ChatGuardrail", description=f"The most the pause channel of {name} may do", statements=[read_service]
        )
        chatbot.SlackChannelConfiguration(
            self,
            "ChatChannel",
            # With the workspace (create-only) in the name, moving workspaces replaces it without a clash.
            slack_channel_configuration_name=f"{stack.stack_name}-pause-{stack.region}-{slack.workspace_id}"[:128],
            slack_workspace_id=slack.workspace_id,
            slack_channel_id=slack.channel_id,
            notification_topics=[topic],
            role=role,
            guardrail_policies=[guardrail],
            user_role_required=False,
        )
        message = events.RuleTargetInput.from_object(
            {
                "version": "1.0",
                "source": "custom",
                "content": {"title": f"{name}: deployment waits", "description": text},
            }
        )
        return events_targets.SnsTopic(topic, message=message)
