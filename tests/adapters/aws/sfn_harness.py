"""Run the analysis workflow in moto's Step Functions interpreter, its Lambda tasks in this process.

moto (parser mode) executes Amazon States Language, but runs no Lambda code without Docker: its
simple Lambda backend only echoes. ``lambda_tasks_in_process`` patches that backend so invoking a
function named like a pipeline step calls ``STEP_HANDLERS[name](app.context, event)`` on the test's app —
what the real one-line Lambda handlers do — and reports exceptions as Lambda does
(``FunctionError: Unhandled`` with ``errorType`` = the exception class name), so the state
machine's Retry/Catch rules match exactly as in AWS.

``state_machine_definition`` renders :data:`milkmobs.core.workflow.ANALYSIS_WORKFLOW` as ASL for
this harness (the deployed state machine comes from ``deploy/``). Waits are scaled down.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3
from moto.awslambda_simple.models import LambdaSimpleBackend

from milkmobs.adapters.aws.sfn_names import LAMBDA_SERVICE_ERRORS, error_names
from milkmobs.core.workflow import (
    ANALYSIS_WORKFLOW,
    Choice,
    EmitEvent,
    Merge,
    Parallel,
    PollUntilDone,
    RetryPolicy,
    Step,
    Task,
    Wait,
    WorkflowDefinition,
)

REGION = "us-east-1"

#: mock_aws configuration that makes moto run state machines.
MOTO_SFN_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


@contextmanager
def lambda_tasks_in_process(get_app: Callable[[], Any]) -> Iterator[list[str]]:
    """Patch moto's Lambda backend to run pipeline steps in process; yields the invoked names."""
    from milkmobs.core.steps import STEP_HANDLERS

    original = LambdaSimpleBackend.invoke
    invoked: list[str] = []

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> Any:
        name = function_name.split(":")[6] if function_name.startswith("arn:") else function_name
        handler = STEP_HANDLERS.get(name)
        if handler is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        invoked.append(name)
        try:
            return json.dumps(handler(get_app().context, json.loads(body or "{}"))).encode()
        except Exception as exc:  # reported to the state machine the way Lambda reports it
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    try:
        yield invoked
    finally:
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]


def create_functions(session: boto3.session.Session, names: list[str]) -> dict[str, str]:
    """A moto Lambda function per step handler; ``{handler name: function ARN}``."""
    iam, lam = session.client("iam", region_name=REGION), session.client("lambda", region_name=REGION)
    role = iam.create_role(RoleName="milkmobs-steps", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return {
        name: lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
            Code={"ZipFile": package.getvalue()},
        )["FunctionArn"]
        for name in names
    }  # fmt: skip


def _retries(policies: tuple[RetryPolicy, ...]) -> list[dict[str, Any]]:
    # moto sleeps the real interval; 1 s is the smallest ASL allows, and enough to prove the retry
    return [
        {
            "ErrorEquals": error_names(p.errors, runner_faults=LAMBDA_SERVICE_ERRORS if p.runner_faults else ()),
            "IntervalSeconds": 1,
            "MaxAttempts": p.max_attempts,
            "BackoffRate": p.backoff_rate,
        }
        for p in policies
    ]


class _Renderer:
    def __init__(self, functions: Mapping[str, str], catch_target: str | None, wait_scale: float) -> None:
        self.functions = functions
        self.catch_target = catch_target
        self.wait_scale = wait_scale

    def _task(self, task: Task, states: dict[str, Any], following: str | None, catch: bool) -> None:
        parameters: dict[str, Any] = {f"{name}.$": f"$.{name}" for name in task.input_fields}
        parameters.update(task.constants)
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": self.functions[task.handler],
            "Parameters": parameters,
            "TimeoutSeconds": task.timeout_seconds,
            "Retry": _retries(task.retry),
        }
        self._finish(task.name, state, states, following, catch)

    def _finish(self, name: str, state: dict[str, Any], states: dict[str, Any], following: str | None, catch: bool):
        if following is None:
            state["End"] = True
        else:
            state["Next"] = following
        if catch and self.catch_target is not None:
            # remember which step failed, then go to the catch task
            states[f"{name}Caught"] = {
                "Type": "Pass", "Result": name, "ResultPath": "$.failedStep", "Next": self.catch_target,
            }  # fmt: skip
            state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{name}Caught"}]
        states[name] = state

    def chain(self, steps: tuple[Step, ...], states: dict[str, Any], following: str | None, catch: bool) -> str:
        """Render ``steps`` into ``states`` so the last continues to ``following``; returns the first name."""
        nexts = [self.first_name(step) for step in steps[1:]] + [following]
        for step, after in zip(steps, nexts, strict=True):
            self.render(step, states, after, catch)
        return self.first_name(steps[0])

    @staticmethod
    def first_name(step: Step) -> str:
        return step.start.name if isinstance(step, PollUntilDone) else step.name

    def render(self, step: Step, states: dict[str, Any], following: str | None, catch: bool) -> None:
        if isinstance(step, Task):
            self._task(step, states, following, catch)
        elif isinstance(step, Wait):
            self._finish(step.name, {"Type": "Wait", "Seconds": int(step.seconds * self.wait_scale)}, states,
                         following, catch=False)  # fmt: skip
        elif isinstance(step, PollUntilDone):
            done = f"{step.name}Done"
            self._task(step.start, states, done, catch)
            states[done] = {
                "Type": "Choice",
                "Choices": [{"Variable": f"$.{step.done_field}", "BooleanEquals": True, "Next": f"{step.name}Exit"}],
                "Default": step.wait.name,
            }
            states[f"{step.name}Exit"] = {"Type": "Pass", **({"Next": following} if following else {"End": True})}
            self._finish(step.wait.name, {"Type": "Wait", "Seconds": int(step.wait.seconds * self.wait_scale)},
                         states, step.check.name, catch=False)  # fmt: skip
            self._task(step.check, states, done, catch)
        elif isinstance(step, Parallel):
            branches = []
            inner = _Renderer(self.functions, None, self.wait_scale)
            for branch in step.branches:
                branch_states: dict[str, Any] = {}
                start = inner.chain(branch, branch_states, None, catch=False)
                branches.append({"StartAt": start, "States": branch_states})
            self._finish(step.name, {"Type": "Parallel", "Branches": branches}, states, following, catch)
        elif isinstance(step, Merge):
            # moto's JSONPath turns "$[0].field" into a one-element list (AWS gives the value), so
            # first name the branch outputs ("$[0]" works), then pick the fields from them
            paths = {name: re.fullmatch(r"\$\[(\d+)\]\.(.+)", path) for name, path in step.fields.items()}
            if not all(paths.values()):
                raise ValueError(f"{step.name}: only $[i].field paths are supported: {dict(step.fields)}")
            branches = sorted({int(m.group(1)) for m in paths.values() if m})
            split = {f"branch{i}.$": f"$[{i}]" for i in branches}
            picked = {f"{name}.$": f"$.branch{m.group(1)}.{m.group(2)}" for name, m in paths.items() if m}
            self._finish(step.name, {"Type": "Pass", "Parameters": split}, states, f"{step.name}Fields", catch=False)
            self._finish(f"{step.name}Fields", {"Type": "Pass", "Parameters": picked}, states, following, catch=False)
        elif isinstance(step, Choice):
            first = self.chain(step.then, states, following, catch)
            states[step.name] = {
                "Type": "Choice",
                "Choices": [{"Variable": f"$.{step.field}", "StringEquals": step.equals, "Next": first}],
                **({"Default": following} if following else {}),
            }
        elif isinstance(step, EmitEvent):
            state = {
                "Type": "Task",
                "Resource": "arn:aws:states:::events:putEvents",
                "Parameters": {
                    "Entries": [
                        {
                            "Detail.$": f"$.{step.detail_field}",
                            "DetailType": step.detail_type,
                            "EventBusName": step.event_bus_name,
                            "Source": step.source,
                        }
                    ]
                },
                "Retry": _retries(step.retry),
            }
            self._finish(step.name, state, states, following, catch)
        else:  # pragma: no cover - a new step kind must be rendered here
            raise TypeError(f"cannot render {type(step).__name__}")


def state_machine_definition(
    functions: Mapping[str, str], *, workflow: WorkflowDefinition = ANALYSIS_WORKFLOW, wait_scale: float = 0.0
) -> str:
    """The workflow as ASL JSON, its Lambda tasks pointing at ``functions``."""
    catch = workflow.catch
    states: dict[str, Any] = {}
    renderer = _Renderer(functions, catch.task.name, wait_scale)
    start = renderer.chain(workflow.steps, states, "Done", catch=True)
    states["Done"] = {"Type": "Succeed"}
    catch_task = {
        "Type": "Task",
        "Resource": functions[catch.task.handler],
        "Parameters": {f"{name}.$": f"$.{name}" for name in catch.task.input_fields},
        "Retry": _retries(catch.task.retry),
        "ResultPath": None,
        "Next": catch.fail_state,
    }
    states[catch.task.name] = catch_task
    states[catch.fail_state] = {"Type": "Fail", "Error": "AnalysisFailed", "Cause": "see the video's failure"}
    return json.dumps({"Comment": workflow.comment, "StartAt": start, "States": states,
                       "TimeoutSeconds": workflow.timeout_seconds})  # fmt: skip


def wait_until_settled(client: Any, execution_arn: str, *, timeout: float = 60.0) -> str:
    """Poll DescribeExecution until the execution left RUNNING; returns its status."""
    deadline = time.monotonic() + timeout
    while True:
        status = str(client.describe_execution(executionArn=execution_arn)["status"])
        if status != "RUNNING":
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} still RUNNING after {timeout} s")
        time.sleep(0.05)
