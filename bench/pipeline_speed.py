#!/usr/bin/env python3
"""What a commit costs before it reaches the first environment, for each pipeline of examples/,
before issue 22 (a pipeline per image, every layer built anew) and after (one pipeline, its
images in parallel, from the cache), from ecsforge/manifest/pipeline_timing.py's model.

`make bench` adds this section to bench/results.md and results.json; alone (no synthesis),
`python bench/pipeline_speed.py` rewrites the section there and README's table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ecsforge.manifest import load_manifest  # noqa: E402
from ecsforge.manifest import pipeline_timing as timing  # noqa: E402

START, END = "<!-- pipeline-speed:start -->", "<!-- pipeline-speed:end -->"


def rows() -> list[dict[str, Any]]:
    out = []
    for path in sorted((ROOT / "examples").glob("*.yml")):
        manifest = load_manifest(path).manifest
        for name, pipeline in manifest.pipelines.items():
            old, new = timing.before(manifest, name), timing.after(manifest, name)
            out.append(
                {
                    "example": path.name,
                    "pipeline": name,
                    "images": len(pipeline.build.images or {None: None}),
                    "before": {**vars(old), "total": old.total},
                    "after": {**vars(new), "total": new.total},
                }
            )
    return out


def _stages(figures: dict[str, Any]) -> str:
    return f"{figures['total']:g} ({figures['build']:g} / {figures['test']:g} / {figures['deploy']:g})"


def markdown(found: list[dict[str, Any]]) -> str:
    lines = [
        f"Assumed (not measured) minutes: source {timing.SOURCE_MINUTES:g}; CodeBuild queue and provisioning "
        f"{timing.PROVISION_MINUTES:g} per build host; an image's build {timing.BUILD_CACHE_MISS_MINUTES:g} "
        f"without cache, {timing.BUILD_CACHE_HIT_MINUTES:g} from the cache; an image index "
        f"{timing.IMAGE_INDEX_MINUTES:g}; the test commands {timing.TEST_MINUTES:g}. Deploy: the longest "
        "service's modelled deployment (README's Deployment time, without pause hooks). Approvals are a "
        "person's time and not counted.",
        "",
        "| example | pipeline | images | before: minutes (build / test / deploy) "
        "| after: minutes (build / test / deploy) | CodeBuild minutes before / after |",
        "|---|---|---:|---|---|---|",
    ]
    for row in found:
        before, after = row["before"], row["after"]
        lines.append(
            f"| {row['example']} | {row['pipeline']} | {row['images']} | {_stages(before)} | {_stages(after)} "
            f"| {before['codebuild']:g} / {after['codebuild']:g} |"
        )
    return "\n".join(lines) + "\n"


def replace_block(text: str, block: str) -> str:
    """text with the section between the markers replaced (appended when it has none)."""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        return head + START + "\n" + block + END + rest.split(END, 1)[1]
    return (
        text.rstrip("\n") + "\n\n## Pipelines: minutes to the first environment\n\n" + START + "\n" + block + END + "\n"
    )


def write(results: dict[str, Any] | None = None) -> str:
    """The section into bench/results.json and results.md (and README's table); returns it."""
    found = rows()
    block = markdown(found)
    results_json = ROOT / "bench" / "results.json"
    data = results if results is not None else json.loads(results_json.read_text())
    data["pipelines"] = found
    results_json.write_text(json.dumps(data, indent=2) + "\n")
    results_md = ROOT / "bench" / "results.md"
    results_md.write_text(replace_block(results_md.read_text(), block))
    readme = ROOT / "README.md"
    readme.write_text(replace_block(readme.read_text(), block))
    return block


if __name__ == "__main__":
    print(write())
