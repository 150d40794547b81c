"""The manifest layer: defaults as the contract states them, interpolation, warnings."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from pydantic import Field

from ecsforge.manifest import ManifestError, load_manifest
from ecsforge.manifest.base import Model
from ecsforge.manifest.reads import resolve_and_check

from .helpers import ROOT

BASE = "version: 1\napp: shop\nenvironment: prod\nregion: us-east-1\n"


def load(tmp_path, text, environ=None):
    path = tmp_path / "m.yml"
    path.write_text(BASE + textwrap.dedent(text))
    return load_manifest(path, environ=environ or {})


def test_defaults_are_the_contracts(tmp_path):
    manifest = load(tmp_path, "").manifest
    assert manifest.account is None
    assert manifest.network.cidr == "10.0.0.0/16"
    assert manifest.network.availability_zones is None and manifest.network.zone_count == 2
    assert manifest.network.nat_gateways == 1
    assert manifest.network.vpc_endpoints is False
    assert manifest.network.flow_logs is True
    assert manifest.network.import_ is None
    assert manifest.cluster.container_insights == "enhanced"
    assert manifest.cluster.fargate is True
    assert manifest.namespace == "prod.shop.local"
    assert manifest.cluster.ec2 == {}
    assert manifest.registries == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["0.0.0.0/0"]),
        ("load_balancer: {public: false}\nnetwork: {cidr: 10.20.0.0/16}\n", ["10.20.0.0/16"]),
        ("load_balancer: {public: false, allowed_cidrs: [10.9.0.0/16]}\n", ["10.9.0.0/16"]),
        ("load_balancer: {allowed_cidrs: [203.0.113.0/24]}\n", ["203.0.113.0/24"]),
    ],
)
def test_load_balancer_cidrs_are_resolved_by_the_model(tmp_path, text, expected):
    # Stacks and compliance read the resolved list; none of them re-derives the default.
    balancer = load(tmp_path, text).manifest.load_balancer
    assert balancer.allowed_cidrs == expected
    assert balancer.cidrs == expected


def test_ec2_and_registry_defaults(tmp_path):
    manifest = load(
        tmp_path,
        """
        cluster:
          ec2:
            small: {instance_type: t3.small}
            big: {instance_type: t3.small, min: 7}
        registries:
          web: {}
        """,
    ).manifest
    small, big = manifest.cluster.ec2["small"], manifest.cluster.ec2["big"]
    assert (small.min, small.max_size) == (2, 4)
    assert (big.min, big.max_size) == (7, 7)  # max(min, 4)
    assert small.spot is False and small.machine_image == "amazon-linux-2023"
    assert small.target_capacity_percent == 100 and small.root_volume_gib == 30
    assert small.managed_termination_protection is True and small.managed_draining is True
    web = manifest.registries["web"]
    assert (web.scan_on_push, web.immutable_tags, web.keep_images, web.untagged_days, web.encryption) == (
        True,
        True,
        30,
        7,
        "kms",
    )


def test_environment_variables_are_interpolated(tmp_path):
    manifest = load(
        tmp_path,
        """
        tags:
          owner: "team-${TEAM}"
          plain: ${TEAM}
        cluster:
          ec2:
            general:
              instance_type: "${SIZE}"
              min: ${MIN}
        """,
        environ={"TEAM": "web", "SIZE": "t3.large", "MIN": "3"},
    ).manifest
    assert manifest.tags == {"owner": "team-web", "plain": "web"}
    assert manifest.cluster.ec2["general"].instance_type == "t3.large"
    assert manifest.cluster.ec2["general"].min == 3  # an unquoted ${MIN} is the number


def test_a_quoted_variable_stays_a_string(tmp_path):
    with pytest.raises(ManifestError, match=r"cluster.ec2.general.min: '3' is not a whole number; remove the quotes"):
        load(
            tmp_path,
            """
            cluster:
              ec2:
                general: {instance_type: t3.small, min: "${MIN}"}
            """,
            environ={"MIN": "3"},
        )


def test_yaml_merge_keys_are_not_duplicates(tmp_path):
    manifest = load(
        tmp_path,
        """
        cluster:
          ec2:
            base: &base {instance_type: t3.small, max: 8}
            other:
              <<: *base
              max: 10
        """,
    ).manifest
    assert manifest.cluster.ec2["other"].max_size == 10
    assert manifest.cluster.ec2["other"].instance_type == "t3.small"


def test_fewer_than_two_instances_warns_but_passes(tmp_path):
    loaded = load(
        tmp_path,
        """
        cluster:
          ec2:
            one: {instance_type: t3.small, min: 1}
            two: {instance_type: t3.small, min: 2}
        """,
    )
    assert [w.path for w in loaded.warnings] == [("cluster", "ec2", "one", "min")]
    assert (loaded.warnings[0].line, loaded.warnings[0].column) == (8, 41)  # the `1` of `min: 1`


def test_validate_prints_warnings_and_exits_0(tmp_path):
    path = tmp_path / "m.yml"
    path.write_text(BASE + "cluster:\n  ec2:\n    one: {instance_type: t3.small, min: 1}\n")
    process = subprocess.run([sys.executable, "-m", "ecsforge", "validate", str(path)], capture_output=True, text=True)
    assert process.returncode == 0
    assert process.stderr.startswith(f"warning: {path}:7:")


def test_key_order_does_not_change_the_model(tmp_path):
    first = load(tmp_path, "registries: {a: {keep_images: 3}, b: {}}\ncluster: {fargate: false}\n").manifest
    second = load(tmp_path, "cluster: {fargate: false}\nregistries: {b: {}, a: {keep_images: 3}}\n").manifest
    assert first.model_dump() == second.model_dump()


def test_the_manifest_package_never_imports_aws_cdk():
    code = "import sys, ecsforge.manifest, ecsforge.cli; sys.exit('aws_cdk' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_instance_type_data_matches_the_cfn_lint_gate():
    """The manifest rejects exactly the instance types the cfn-lint gate would."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import update_instance_types
    finally:
        sys.path.pop(0)
    committed = (ROOT / "ecsforge" / "manifest" / "data" / "ec2_instance_types.json").read_text()
    assert committed == update_instance_types.generate(), "run: python scripts/update_instance_types.py"


def test_every_field_documents_its_default():
    import importlib
    import pkgutil

    from pydantic import BaseModel

    import ecsforge.manifest

    modules = [
        importlib.import_module(f"ecsforge.manifest.{m.name}") for m in pkgutil.iter_modules(ecsforge.manifest.__path__)
    ]
    assert len(modules) > 10, "the models span the package's modules"
    for module in modules:
        for model in vars(module).values():
            if isinstance(model, type) and issubclass(model, BaseModel) and model.__module__ == module.__name__:
                for name, field in model.model_fields.items():
                    assert field.description, f"{model.__name__}.{name} has no description"
                    if not field.is_required():
                        assert "Default" in field.description or "Not supported" in field.description, (
                            f"{model.__name__}.{name}: say what happens when it is left out"
                        )


def test_every_pattern_in_the_schema_has_a_readable_hint():
    import json

    from ecsforge.cli import schema
    from ecsforge.manifest.base import PATTERN_HINTS

    patterns = set(__import__("re").findall(r'"pattern": "((?:[^"\\]|\\.)*)"', json.dumps(schema())))
    patterns = {json.loads(f'"{p}"') for p in patterns}
    assert patterns, "the schema has patterns"
    assert patterns <= set(PATTERN_HINTS), patterns - set(PATTERN_HINTS)


def test_a_doubled_dollar_writes_a_literal_reference(tmp_path):
    manifest = load(
        tmp_path,
        """\
        services:
          web:
            containers:
              app:
                image: nginx
                command: ["sh", "-c", "exec app --port $${PORT} --name ${NAME}"]
        """,
        environ={"NAME": "web", "PORT": "should-not-be-read"},
    ).manifest
    assert manifest.services["web"].containers["app"].command == ["sh", "-c", "exec app --port ${PORT} --name web"]


def test_an_empty_variable_is_an_error_not_a_dropped_field(tmp_path):
    with pytest.raises(ManifestError) as caught:
        load(
            tmp_path,
            """\
            services:
              web:
                cpu: ${CPU}
                containers: {app: {image: nginx}}
            """,
            environ={"CPU": ""},
        )
    (problem,) = caught.value.problems
    assert problem.path == ("services", "web", "cpu") and "CPU is set but empty" in problem.message


def test_utf16_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "m.yml"
    path.write_bytes((BASE + "tags: {team: café}\n").encode("utf-16"))
    assert load_manifest(path, environ={}).manifest.tags == {"team": "café"}


def test_keys_are_names_as_written(tmp_path):
    # YAML 1.1 would read `no` and `on` as booleans and `1` as a number.
    manifest = load(tmp_path, "tags: {no: a, on: b, 1: c}\n").manifest
    assert manifest.tags == {"no": "a", "on": "b", "1": "c"}


@pytest.mark.parametrize("size", [10, 12])
def test_alias_expansion_is_bounded(tmp_path, size):
    # size**6 values: a million and more, from a few hundred bytes.
    text = f"x0: &x0 [{', '.join(['a'] * size)}]\n"
    for level in range(1, 6):
        text += f"x{level}: &x{level} [{', '.join([f'*x{level - 1}'] * size)}]\n"
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, text)
    (problem,) = caught.value.problems
    assert "expands to more than" in problem.message and problem.path == ()


def test_every_loader_problem_is_reported_once_with_a_real_position(tmp_path):
    lines = (BASE + "tags: {a: !Ref x, b: !!int abc}\nservices: !!set {a, b}\n").splitlines()
    path = tmp_path / "m.yml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, environ={})
    problems = caught.value.problems
    assert [p.path for p in problems] == [("tags", "a"), ("tags", "b"), ("services",)]
    for problem in problems:
        assert 1 <= problem.line <= len(lines) and 1 <= problem.column <= len(lines[problem.line - 1])


def test_rules_run_on_the_well_formed_parts_when_others_are_malformed(tmp_path):
    with pytest.raises(ManifestError) as caught:
        load(
            tmp_path,
            """\
            services:
              web:
                cpu: 300
                colour: blue
                containers: {app: {image: {registry: nope}}}
              api:
                memory: lots
                containers: {app: {image: nginx, memory: 4096}}
            """,
        )
    paths = [p.path for p in caught.value.problems]
    # The unknown key and the string memory are structural; the CPU and registry rules still run.
    assert ("services", "web", "colour") in paths and ("services", "api", "memory") in paths
    assert ("services", "web", "cpu") in paths
    assert ("services", "web", "containers", "app", "image", "registry") in paths
    # api's container memory is checked against the default task memory only if the user wrote
    # one: `memory: lots` was taken out, so no rule speaks of a task memory nobody gave.
    assert ("services", "api", "containers", "app", "memory") not in paths
    assert len(paths) == len(set(paths)) == 4


def test_a_malformed_value_hides_only_the_rules_that_read_its_default(tmp_path):
    with pytest.raises(ManifestError) as caught:
        load(
            tmp_path,
            """\
            services:
              web:
                cpu: 300
                discovery: maybe
                containers: {app: {image: nginx}}
              api:
                cpu: lots
                memory: 3072
                containers: {app: {image: nginx}}
            """,
        )
    paths = [p.path for p in caught.value.problems]
    # web's CPU rule never reads discovery, whose malformed value was taken out: it is reported.
    assert ("services", "web", "cpu") in paths and ("services", "web", "discovery") in paths
    # api's memory is checked against its CPU, which was taken out: 3072 is fine with 1024 CPU
    # and wrong with the default 256, so no rule speaks of it.
    assert paths.count(("services", "api", "cpu")) == 1 and len(paths) == 3


class _Probe(Model):
    unit: int = 1
    size: int | None = None
    other: int = 0
    import_: int = Field(0, alias="import")

    def resolve(self) -> None:
        if self.size is None:
            self.size = self.unit * 10

    def check(self):
        if self.other:
            yield ("other",), "other"
        if "import_" in self.model_fields_set:
            yield ("import",), "import"
        if self.size > 5:
            yield ("size",), "size"


def test_each_rule_is_recorded_with_what_it_and_resolve_read():
    probe = _Probe.model_construct(unit=1, other=1, import_=2, _fields_set={"unit", "other", "import_"})
    found = resolve_and_check(probe)
    assert found == [
        ((("other",), "other"), frozenset({"other"})),
        ((("import",), "import"), frozenset({"other", "import"})),
        # size was filled by resolve() from unit: reading it reads unit.
        ((("size",), "size"), frozenset({"other", "import", "size", "unit"})),
    ]
    # The model is as resolve() left it, read normally again.
    assert (probe.unit, probe.size, probe.other, probe.import_) == (1, 10, 1, 2)
    assert list(probe.__dict__) == ["unit", "size", "other", "import_"]  # in field order, as before
    assert type(probe.model_fields_set) is set and "size" in probe.model_fields_set


def test_a_byte_that_is_not_utf8_is_placed_at_its_character_column(tmp_path):
    path = tmp_path / "m.yml"
    path.write_bytes(BASE.encode() + 'tags: {team: "é'.encode() + b'\xff"}\n')
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, environ={})
    (problem,) = caught.value.problems
    # é is two bytes but one character: the bad byte is the 16th character of line 5.
    assert (problem.line, problem.column) == (5, 16) and "0xff" in problem.message
