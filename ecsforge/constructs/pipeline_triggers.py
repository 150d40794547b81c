"""`source.github.trigger`: CodePipeline V2 push filters on the GitHub source action.

CodePipeline accepts a push filter on tags, on branches, or on branches and file paths, never
tags with branches, and at most 3 push filters per source action; so branches (with paths)
and tags become two filters. Without `trigger`, nothing is added: the action's own change
detection starts the pipeline on every push to `branch`, as in v1."""

from __future__ import annotations

from aws_cdk import aws_codepipeline as codepipeline

from ..manifest.pipelines import Pipeline


def add_triggers(pipeline: codepipeline.Pipeline, spec: Pipeline, source_actions: list[codepipeline.IAction]) -> None:
    for source, action in zip(spec.source, source_actions, strict=True):
        github = source.github
        if github is None or github.trigger is None:
            continue
        trigger = github.trigger
        filters = [
            codepipeline.GitPushFilter(
                branches_includes=github.trigger_branches, file_paths_includes=trigger.paths or None
            )
        ]
        if trigger.tags:
            filters.append(codepipeline.GitPushFilter(tags_includes=trigger.tags))
        pipeline.add_trigger(
            provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
            git_configuration=codepipeline.GitConfiguration(source_action=action, push_filter=filters),
        )
