"""The standing guard of the manifest layer: mutants of the examples are rejected in the
promised form or synthesize. A short seeded run here; `make fuzz` runs a long random one."""

from __future__ import annotations

import random

from . import fuzz
from .helpers import ROOT

# Small examples only: every accepted mutant is synthesized in-process, a few seconds each.
BASES = [ROOT / "examples" / name for name in ("minimal.yml", "fargate-web.yml", "pipeline-s3.yml", "wordpress.yml")]
MUTANTS = 3000
SYNTHS = 4


def test_mutants_are_rejected_in_the_promised_form_or_synthesize():
    import yaml

    rng = random.Random(20261127)
    bases = [yaml.safe_load(path.read_text()) for path in BASES]
    outcome = fuzz.Outcome()
    for count in range(MUTANTS):
        text = yaml.safe_dump(fuzz.mutate(rng.choice(bases), rng), sort_keys=False)
        fuzz.check_one(text, outcome.synthesized < SYNTHS, outcome, f"mutant {count}")
    assert not outcome.defects, "\n\n".join(outcome.defects[:5])
    # The run must exercise both outcomes, or it proves nothing.
    assert outcome.rejected > MUTANTS // 2 and outcome.synthesized == SYNTHS


def test_a_badly_formed_error_or_a_crash_is_a_defect(monkeypatch, tmp_path):
    from ecsforge.manifest import loader

    outcome = fuzz.Outcome()
    fuzz.check_one("version: 1\napp: [\n", False, outcome, "broken yaml")
    assert outcome.defects == [] and outcome.rejected == 1

    def explode(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(loader, "load_text", explode)
    monkeypatch.setattr("ecsforge.manifest.overlays.load_text", explode)  # what load_manifest reads through
    fuzz.check_one("version: 1\n", False, outcome, "crash")
    assert len(outcome.defects) == 1 and "validate crashed" in outcome.defects[0]


def test_a_secret_named_like_the_registry_login_still_synthesizes():
    # Found by the fuzzer: `Credentials` next to `credentials:` once collided in construct ids.
    text = (
        "version: 1\napp: shop\nenvironment: prod\nregion: us-east-1\nservices:\n  web:\n    containers:\n"
        "      app:\n        image: nginx:1.27\n        credentials: secretsmanager:dockerhub\n"
        '        secrets: {Credentials: "secretsmanager:shop/creds"}\n'
    )
    outcome = fuzz.Outcome()
    fuzz.check_one(text, True, outcome, "credentials")
    assert outcome.defects == [] and outcome.synthesized == 1
