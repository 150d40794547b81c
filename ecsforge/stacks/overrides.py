"""`overrides`: a stack's JSON Patch operations, applied to the template CDK writes for it.

A stack with overrides gets this synthesizer: CDK's DefaultStackSynthesizer with one step added.
DefaultStackSynthesizer.synthesize has the stack write its template (`synthesizeTemplate`), then
registers the returned file as the template's asset and points the stack artifact at it. Here the
operations are applied to that file in between, and the asset is described by the patched text's
hash, so `<stack>.assets.json`, the artifact's template URL and `cdk deploy` all use the patched
template. CDK's own escape hatches (`add_override`) cannot do this: they address resources only,
and an array index that does not exist becomes an object key.

What reads the written templates checks the patched ones: CDK's CloudFormation validation (on at
synth by cdk.json's validateAgainstDefaultRules; its errors in what an override wrote are reported
at the override's line), cfn-lint and the gates. cdk-nag cannot see any override: its rules read
the constructs' properties (cdk-nag 3 walks the construct tree), as with CDK's add_property_override.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aws_cdk import DefaultStackSynthesizer, FileAssetSource, IBoundStackSynthesizer, ISynthesisSession, Stack

from .. import json_patch
from ..manifest.models import Manifest
from ..manifest.problems import ManifestError, Problem, show

# What CDK writes into the cloud assembly after its validation plugins ran, and the plugin that
# checks each written template against the CloudFormation resource schemas.
VALIDATION_REPORT = "validation-report.json"
CLOUDFORMATION_VALIDATE = "CloudFormation Validate"


class OverrideRun:
    """The overridden stacks of one app. Each reports here as it is synthesized; the last one
    raises every problem found, so one synthesis shows all broken overrides."""

    def __init__(self, synthesizers: list[OverridingSynthesizer]) -> None:
        self.synthesizers = synthesizers
        self.pending = len(synthesizers)
        self.problems: list[Problem] = []
        self.error: ManifestError | None = None

    def finished(self, problems: list[Problem]) -> None:
        self.problems += problems
        self.pending -= 1
        if self.pending == 0 and self.problems:
            self.error = _error(self.problems)
            # jsii passes only the text on to CDK: platform.synthesize raises self.error instead.
            raise RuntimeError(str(self.error))

    def schema_errors(self, outdir: Path) -> ManifestError | None:
        """The errors CDK's own CloudFormation validation (cdk.json's validateAgainstDefaultRules,
        run on the written templates after every stack) found in what an override wrote, at the
        override's line; None when it found none there."""
        report = outdir / VALIDATION_REPORT
        if not report.exists():
            return None
        by_template = {s.template_file: s for s in self.synthesizers}
        by_stack = {s.manifest.stack_name(s.unit): s for s in self.synthesizers}
        problems = []
        for violation, construct in _schema_violations(json.loads(report.read_text(encoding="utf-8"))):
            resource = construct.get("cloudFormationResource")
            if resource:  # a resource's property: propertyPaths are below its logical ID
                synthesizer = by_template.get(str(resource.get("templatePath")))
                paths = resource.get("propertyPaths") or [""]
                found = [["Resources", str(resource.get("logicalId")), *_split(p, ".")] for p in paths]
            else:  # another section: the stack, and the place that leads the description (Parameters/P/Type: ...)
                synthesizer = by_stack.get(str(construct.get("constructPath")))
                place = re.match(r"^([A-Za-z]+(?:/[^:\s]+)*):", violation.get("description", ""))
                found = [_split(place.group(1), "/")] if place else []
            if synthesizer is not None:
                problems += synthesizer.schema_problems(violation, found)
        return _error(problems) if problems else None


def _schema_violations(report: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(violation, construct) for every error of CDK's CloudFormation validation."""
    for plugin in report.get("pluginReports", []):
        if plugin.get("pluginName") == CLOUDFORMATION_VALIDATE:
            for violation in plugin.get("violations", []):
                if violation.get("severity") == "error":
                    yield from ((violation, construct) for construct in violation.get("violatingConstructs", []))


def _error(problems: list[Problem]) -> ManifestError:
    # Problems compare by position only: the same one reported twice is the whole problem again.
    unique = {(p.line, p.column, p.path, p.message): p for p in problems}
    return ManifestError(problems[0].file or "manifest", list(unique.values()))


class OverridingSynthesizer(DefaultStackSynthesizer):
    def __init__(self, manifest: Manifest, unit: str) -> None:
        super().__init__()
        self.manifest = manifest
        self.unit = unit
        self.run: OverrideRun | None = None
        self.template_file = f"{manifest.stack_name(unit)}.template.json"  # as CDK names it; set again at synth

    def reusable_bind(self, stack: Stack) -> IBoundStackSynthesizer:
        # CDK binds a reusable synthesizer by binding a copy of it (Object.create), whose calls
        # into the methods below would reach Python as this unbound original: bind the original.
        self.bind(stack)
        return self

    def _synthesize_template(
        self,
        session: ISynthesisSession,
        lookup_role_arn: str | None = None,
        lookup_role_external_id: str | None = None,
        lookup_role_additional_options: Any = None,
    ) -> FileAssetSource:
        source = super()._synthesize_template(
            session, lookup_role_arn, lookup_role_external_id, lookup_role_additional_options
        )
        assert source.file_name is not None  # a stack template is a file
        self.template_file = source.file_name
        path = Path(session.assembly.outdir) / source.file_name
        text = path.read_text(encoding="utf-8")
        patched, problems = self.patched(json.loads(text))
        if not problems:
            # As CDK writes it (JSON.stringify(template, undefined, 1)), or unindented when it did.
            text = json.dumps(patched, ensure_ascii=False, indent=1 if "\n" in text else None)
            path.write_text(text, encoding="utf-8")
        (self.run or OverrideRun([self])).finished(problems)
        return FileAssetSource(
            source_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            file_name=source.file_name,
            packaging=source.packaging,
            deploy_time=source.deploy_time,
            display_name=source.display_name,
        )

    def patched(self, template: dict[str, Any]) -> tuple[Any, list[Problem]]:
        """The template with this stack's operations applied, and a problem per failed operation."""
        operations = self.manifest.overrides[self.unit]
        patch = [json_patch.Operation(o.op, o.path, o.value, o.from_) for o in operations]
        result, failures = json_patch.apply(template, patch)
        stack = self.manifest.stack_name(self.unit)
        problems = []
        for index, failure in failures:
            operation = operations[index]
            member = failure.member if failure.member in ("from", "value") else "path"
            written = {"path": operation.path, "from": operation.from_, "value": operation.value}[member]
            fix = (
                "the stack is not what this override was written for: check it and update the override"
                if member == "value"
                else "write a path of the template `cdk synth` writes for the stack (a logical ID changes when its "
                "construct does, as an ecsforge upgrade may do)"
            )
            message = f"{show(written)}: in the synthesized template of {stack}, {failure.message}; {fix}"
            problems.append(self.manifest.problem_at(("overrides", self.unit, index, member), message))
        return result, problems

    def schema_problems(self, violation: dict[str, Any], found: list[list[str]]) -> list[Problem]:
        """A problem at the last operation that wrote where a violation of the CloudFormation schema
        was found (or that removed something from there); none when no operation did."""
        operations = self.manifest.overrides[self.unit]
        rule, text = violation.get("ruleName", "?"), violation.get("description", "")
        problems = []
        for place in found:
            written = [
                i for i, o in enumerate(operations) if o.op != "test" and _overlap(json_patch.parse(o.path), place)
            ]
            if not written:
                continue
            index = written[-1]
            member = "value" if operations[index].op in ("add", "replace") else "path"
            shown = operations[index].value if member == "value" else operations[index].path
            message = (
                f"{show(shown)}: the patched template of {self.manifest.stack_name(self.unit)} breaks the "
                f"CloudFormation schema ({rule}: {text}); fix the override"
            )
            problems.append(self.manifest.problem_at(("overrides", self.unit, index, member), message))
        return problems


def _split(text: str, separator: str) -> list[str]:
    return [token for token in text.split(separator) if token]


def _overlap(written: list[str], found: list[str]) -> bool:
    """Whether a patched location and a violation's location are one inside the other ("-", the
    item appended, is any index)."""
    return bool(written and found) and all(a == b or a == "-" for a, b in zip(written, found, strict=False))


def overriding_synthesizer(manifest: Manifest, unit: str) -> OverridingSynthesizer | None:
    """The synthesizer of a stack with overrides; None (CDK's default) for every other stack."""
    return OverridingSynthesizer(manifest, unit) if manifest.overrides.get(unit) else None


def start_run(synthesizers: list[OverridingSynthesizer]) -> OverrideRun | None:
    """One run for the overridden stacks of an app, so that the last one reports them all."""
    if not synthesizers:
        return None
    run = OverrideRun(synthesizers)
    for synthesizer in synthesizers:
        synthesizer.run = run
    return run
