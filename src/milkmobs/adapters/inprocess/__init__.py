"""The in-process workflow engine: the ``Workflow`` port for the memory and local backends, beside
``adapters.aws.stepfunctions.StepFunctionsWorkflow``.

It runs the core's description of the workflow (``core.workflow.ANALYSIS_WORKFLOW``) with Step
Functions' semantics: ``InProcessOrchestrator`` starts, resumes and tracks executions,
``WorkflowInterpreter`` runs one of them, ``execution_tracking`` keeps its record.
"""

from milkmobs.adapters.inprocess.interpreter import WorkflowInterpreter
from milkmobs.adapters.inprocess.orchestrator import InProcessOrchestrator, resume_interrupted

__all__ = ["InProcessOrchestrator", "WorkflowInterpreter", "resume_interrupted"]
