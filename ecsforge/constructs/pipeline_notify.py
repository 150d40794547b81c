"""`pipelines.<name>.notify`: failures, approvals and (with `promote`) successful promotions go to
emails and, with `slack`, to an AWS Chatbot Slack channel, all through the pipeline's one
notification topic. Without `notify`, the v1 behaviour: failures and approvals go to the email
subscribers of approval.notify.

The topic is encrypted with the pipeline's own customer-managed key, whose policy lets CodeStar
Notifications use it through SNS (pipeline.py); Chatbot receives from SNS, which decrypts, and
cannot read a topic under the AWS-managed SNS key, which no other service may use."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ..manifest.pipelines import Pipeline

SUCCEEDED = "codepipeline-pipeline-pipeline-execution-succeeded"


def notify_events(spec: Pipeline, events: list[str]) -> list[str]:
    """The v1 events, and a successful execution (every promotion done) when `notify` is set."""
    return [*events, SUCCEEDED] if spec.notify is not None and spec.promote else list(events)


def add_notify(
    scope: Construct, *, spec: Pipeline, topic: sns.Topic, pipeline: codepipeline.Pipeline, title: str
) -> chatbot.SlackChannelConfiguration | None:
    notify = spec.notify
    if notify is None:
        return None
    subscribed = set(spec.approval.notify) if spec.approval else set()
    for address in notify.emails:
        if address not in subscribed:
            topic.add_subscription(subscriptions.EmailSubscription(address))
            subscribed.add(address)
    if notify.slack is None:
        return None
    # What someone in the channel may do through Chatbot: read this pipeline's state, nothing else.
    read_pipeline = iam.PolicyStatement(
        actions=["codepipeline:GetPipelineState", "codepipeline:GetPipelineExecution"],
        resources=[pipeline.pipeline_arn],
    )
    role = iam.Role(
        scope,
        "ChatRole",
        assumed_by=iam.ServicePrincipal("chatbot.amazonaws.com"),
        description=f"AWS Chatbot channel of pipeline {title}",
    )
    role.add_to_policy(read_pipeline)
    guardrail = iam.ManagedPolicy(
        scope,
        "ChatGuardrail",
        description=f"The most the Chatbot channel of {title} may do",
        statements=[read_pipeline],
    )
    return chatbot.SlackChannelConfiguration(
        scope,
        "Chat",
        slack_channel_configuration_name=f"{title}-{Stack.of(scope).region}"[:128],
        slack_workspace_id=notify.slack.workspace_id,
        slack_channel_id=notify.slack.channel_id,
        notification_topics=[topic],
        role=role,
        guardrail_policies=[guardrail],
        user_role_required=False,
    )
