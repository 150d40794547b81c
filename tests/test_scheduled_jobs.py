"""Scheduled tasks with `timeout_minutes` or `retries` (manifest v1.2): EventBridge Scheduler
starts a Step Functions state machine, which runs the task with `ecs:runTask.sync`."""

from __future__ import annotations

import json

import pytest

from ecsforge import names
from ecsforge.diff import ADDED, REMOVED, UPDATED
from ecsforge.manifest import load_manifest

from .helpers import ROOT, cfn_lint, only

WORKER = "examples/worker.yml"  # nightly-report: timeout_minutes 60, retries 2, Fargate, follows releases
EC2 = "tests/manifests/scheduled-job-ec2.yml"  # cleanup: timeout_minutes 15, EC2, bridge, placement
UNSUPERVISED = "examples/monorepo.yml"  # report: neither field


@pytest.fixture(scope="module")
def worker(synth):
    return synth(WORKER)


@pytest.fixture(scope="module")
def ec2(synth):
    return synth(EC2)


def run_state(result, stack):
    """The one state of the state machine, its definition rendered with each token as "<token>"."""
    machine = only(result.resources(stack, "AWS::StepFunctions::StateMachine"))["Properties"]
    pieces = machine["DefinitionString"]["Fn::Join"][1]
    definition = json.loads("".join(p if isinstance(p, str) else "<token>" for p in pieces))
    assert definition["StartAt"] == "Run"
    return definition["States"]["Run"], machine


def statements(result, stack, path_part):
    return [
        statement
        for logical_id, policy in result.resources(stack, "AWS::IAM::Policy").items()
        if path_part in logical_id
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_state_machine_runs_the_task_with_its_time_limit_and_retries(worker):
    state, machine = run_state(worker, "orders-prod-task-nightly-report")
    assert state["Resource"] == "arn:<token>:states:::ecs:runTask.sync"
    assert state["TimeoutSeconds"] == 3600
    assert state["Retry"] == [
        {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 60, "MaxAttempts": 2, "BackoffRate": 2}
    ]
    parameters = state["Parameters"]
    assert parameters["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Weight": 1}]
    assert parameters["PlatformVersion"] == "LATEST"
    vpc = parameters["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert (vpc["Subnets"], vpc["SecurityGroups"], vpc["AssignPublicIp"]) == (
        ["<token>", "<token>"],
        ["${SecurityGroups}"],  # substituted with the task's groups, see below
        "DISABLED",
    )
    (own_group,) = worker.resources("orders-prod-task-nightly-report", "AWS::EC2::SecurityGroup")
    assert machine["DefinitionSubstitutions"] == {"SecurityGroups": {"Fn::GetAtt": [own_group, "GroupId"]}}
    # cdk-nag SF1 and SF2: every event logged, X-Ray on.
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["TracingConfiguration"] == {"Enabled": True}


def test_the_schedule_starts_the_state_machine_instead_of_running_the_task(worker):
    stack = "orders-prod-task-nightly-report"
    schedule = only(worker.resources(stack, "AWS::Scheduler::Schedule"))["Properties"]
    machine_id = only(worker.resources(stack, "AWS::StepFunctions::StateMachine"))
    assert "EcsParameters" not in schedule["Target"]
    (machine_logical_id,) = [k for k, v in worker.resources(stack, "AWS::StepFunctions::StateMachine").items()]
    assert schedule["Target"]["Arn"] == {"Ref": machine_logical_id}
    assert machine_id["Properties"]["RoleArn"]["Fn::GetAtt"][0].startswith("ScheduledTaskRunnerStateMachineRole")
    assert statements(worker, stack, "SchedulerRole") == [
        {"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": machine_logical_id}}
    ]


def test_the_state_machine_may_run_watch_and_stop_only_this_task(worker):
    granted = {
        json.dumps(s["Action"]): s
        for s in statements(worker, "orders-prod-task-nightly-report", "RunnerStateMachineRole")
    }
    run = granted['"ecs:RunTask"']
    assert run["Resource"]["Fn::Join"][1][-1] == ":task-definition/orders-prod-nightly-report:*"
    assert run["Condition"] == {"ArnEquals": {"ecs:cluster": {"Fn::ImportValue": "orders-prod-cluster-arn"}}}
    watch = granted['["ecs:DescribeTasks", "ecs:StopTask"]']
    assert watch["Resource"]["Fn::Join"][1][-1] == ":task/*"
    assert watch["Condition"] == run["Condition"]  # this cluster's tasks only
    rule = granted['["events:DescribeRule", "events:PutRule", "events:PutTargets"]']
    assert rule["Resource"]["Fn::Join"][1][-1] == ":rule/StepFunctionsGetEventsForECSTaskRule"
    passed = granted['"iam:PassRole"']
    assert passed["Condition"] == {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert len(passed["Resource"]) == 2


def test_the_state_machine_log_group_is_kept(worker):
    groups = worker.resources("orders-prod-task-nightly-report", "AWS::Logs::LogGroup")
    runner = next(v for k, v in groups.items() if k.startswith("ScheduledTaskRunnerLogs"))
    assert (runner["DeletionPolicy"], runner["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_on_ec2_the_request_carries_the_capacity_provider_and_placement(ec2):
    assert ec2.returncode == 0, ec2.stderr
    state, _ = run_state(ec2, "jobs-test-task-cleanup")
    assert state["TimeoutSeconds"] == 900
    assert "Retry" not in state  # retries: 0
    parameters = state["Parameters"]
    manifest = load_manifest(ROOT / EC2).manifest
    provider = names.capacity_provider(manifest, "micro")
    assert [item["CapacityProvider"] for item in parameters["CapacityProviderStrategy"]] == [provider]
    assert "NetworkConfiguration" not in parameters and "PlatformVersion" not in parameters
    assert parameters["PlacementStrategy"] == [{"Type": "binpack", "Field": "memory"}]
    assert parameters["PlacementConstraints"] == [
        {"Type": "memberOf", "Expression": "attribute:ecs.instance-type == t3.small"}
    ]


def test_a_task_without_either_field_keeps_the_direct_ecs_target(synth):
    result = synth(UNSUPERVISED)
    stack = next(name for name in result.templates() if "-task-" in name)
    assert not result.resources(stack, "AWS::StepFunctions::StateMachine")
    schedule = only(result.resources(stack, "AWS::Scheduler::Schedule"))["Properties"]
    assert "EcsParameters" in schedule["Target"]


def test_the_ec2_job_is_cfn_lint_clean(ec2):
    lint = cfn_lint(ec2)
    assert lint.returncode == 0, lint.stdout + lint.stderr


# --- day 2 (tests/manifests/lifecycle/job.yml <-> job-limits.yml) ------------------------------


def test_adding_limits_updates_the_schedule_in_place_and_adds_the_state_machine(diff, templates):
    result = diff("job", "job-limits")
    stack = "life-dev-task-report"
    changes = {c.type: c.action for c in result.stack(stack).changes}
    assert changes["AWS::Scheduler::Schedule"] == UPDATED  # Target is not create-only (only Name is)
    assert changes["AWS::StepFunctions::StateMachine"] == ADDED
    old, new = (
        only({k: v for k, v in templates(name)[stack]["Resources"].items() if v["Type"] == "AWS::Scheduler::Schedule"})
        for name in ("job", "job-limits")
    )
    assert "EcsParameters" in old["Properties"]["Target"] and "EcsParameters" not in new["Properties"]["Target"]
    assert result.hazards == [] and result.deployments == []


def test_removing_limits_removes_the_state_machine_and_keeps_its_log_group(diff):
    result = diff("job-limits", "job")
    stack = result.stack("life-dev-task-report")
    changes = {c.type: c.action for c in stack.changes}
    assert changes["AWS::Scheduler::Schedule"] == UPDATED
    assert changes["AWS::StepFunctions::StateMachine"] == REMOVED
    assert any("kept (Retain)" in n.text and "RunnerLogs" in n.text for n in result.notes)
    assert result.hazards == []


def test_an_addons_security_group_reaches_the_state_machines_request(synth, tmp_path_factory):
    """A workload addon's groups are added after the definition is rendered: through its substitution."""
    folder = tmp_path_factory.mktemp("job-addon")
    (folder / "addons").symlink_to(ROOT / "tests" / "manifests" / "addons")
    text = (ROOT / "tests" / "manifests" / "addon-wiring.yml").read_text()
    assert "    schedule: rate(1 hour)\n" in text
    (folder / "m.yml").write_text(
        text.replace("    schedule: rate(1 hour)\n", "    schedule: rate(1 hour)\n    retries: 1\n")
    )
    result = synth(folder / "m.yml")
    assert result.returncode == 0, result.stderr
    stack = "shop-dev-task-report"
    state, machine = run_state(result, stack)
    assert state["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"] == ["${SecurityGroups}"]
    nested = next(k for k in result.resources(stack, "AWS::CloudFormation::Stack") if "access" in k)
    joined = machine["DefinitionSubstitutions"]["SecurityGroups"]["Fn::Join"]
    assert joined[0] == '","' and len(joined[1]) == 2
    assert joined[1][1] == {"Fn::GetAtt": [nested, "Outputs.ClientGroup"]}


def test_listed_security_groups_reach_the_state_machines_request_beside_an_addons(synth, tmp_path_factory):
    """`security_groups` and an addon's group both reach the request a state machine sends (the
    direct Scheduler target had them; the state machine's request must not lose them)."""
    folder = tmp_path_factory.mktemp("job-groups")
    (folder / "addons").symlink_to(ROOT / "tests" / "manifests" / "addons")
    text = (ROOT / "tests" / "manifests" / "addon-wiring.yml").read_text()
    listed = "sg-0123456789abcdef0"
    (folder / "m.yml").write_text(
        text.replace(
            "    schedule: rate(1 hour)\n",
            f"    schedule: rate(1 hour)\n    retries: 1\n    security_groups: [{listed}]\n",
        )
    )
    result = synth(folder / "m.yml")
    assert result.returncode == 0, result.stderr
    stack = "shop-dev-task-report"
    _, machine = run_state(result, stack)
    own, *others = machine["DefinitionSubstitutions"]["SecurityGroups"]["Fn::Join"][1]
    assert own == {"Fn::GetAtt": [next(iter(result.resources(stack, "AWS::EC2::SecurityGroup"))), "GroupId"]}
    nested = next(k for k in result.resources(stack, "AWS::CloudFormation::Stack") if "access" in k)
    assert others == [listed, {"Fn::GetAtt": [nested, "Outputs.ClientGroup"]}]
