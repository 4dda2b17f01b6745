"""Everything that can be checked about a definition before any step runs.

Unknown step types, types the local engine cannot run yet, duplicate names, references to
parameters, execution variables, steps, properties and property files that do not exist,
DependsOn naming no step, cycles, and each handler's own checks (images, paths,
hyperparameters). Every problem names the JSON pointer where it is.
"""

from __future__ import annotations

from typing import Any

from pipelines.build import parameters as parameter_values
from pipelines.core import graph
from pipelines.core.errors import DefinitionError
from pipelines.engine import properties, retries
from pipelines.engine.expressions import EXECUTION_VARIABLES, parse_path
from pipelines.engine.handlers import HANDLERS, SAGEMAKER_TYPES
from pipelines.engine.handlers.base import Handler, Problem
from pipelines.engine.runtimes import Runtimes


class ValidationError(DefinitionError):
    """The definition cannot run; ``problems`` lists every reason, each with its pointer."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        listed = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"the definition has {len(problems)} problem(s):\n{listed}")


def validate(
    definition: Any, runtimes: Runtimes, handlers: dict[str, Handler] = HANDLERS, skip: frozenset[str] = frozenset()
) -> list[graph.Node]:
    """The definition's steps, or :class:`ValidationError` listing every problem.

    A step of a type SageMaker knows but this engine cannot run is a problem unless it is named
    in ``skip`` (the orchestrator then leaves it out, and says so); so is naming a step to skip
    that the definition does not have.
    """
    problems: list[Problem] = []
    if not isinstance(definition, dict):
        raise ValidationError([Problem("", f"a definition is a JSON object, not {_kind(definition)}")])
    if not isinstance(definition.get("Steps"), list) or not definition["Steps"]:
        raise ValidationError([Problem("/Steps", "a definition needs a non-empty list of Steps")])
    if not isinstance(definition.get("Parameters", []), list):
        problems.append(Problem("/Parameters", f"a list of parameters, not {_kind(definition['Parameters'])}"))
    problems.extend(_shapes(definition["Steps"], "/Steps"))
    if problems:
        raise ValidationError(problems)
    parameters = _parameters(definition, problems)
    nodes = graph.steps(definition)
    by_name: dict[str, graph.Node] = {}
    for node in nodes:
        if not node.name or node.name == "None":
            problems.append(Problem(f"{node.pointer}/Name", "every step needs a Name"))
        elif node.name in by_name:
            problems.append(Problem(f"{node.pointer}/Name", f"duplicate step name {node.name!r} (also at {by_name[node.name].pointer})"))
        else:
            by_name[node.name] = node
        if node.name in skip:
            continue  # left out: its own arguments are SageMaker's business
        if node.type in handlers:
            problems.extend(handlers[node.type].validate(node, runtimes))
            problems.extend(retries.parse(node.step, node.pointer, handlers[node.type].makes_job)[1])
        elif node.type in SAGEMAKER_TYPES:
            problems.append(Problem(f"{node.pointer}/Type", f"step {node.name}: type {node.type} does not run on the local engine; run the pipeline on SageMaker, or name {node.name} among the steps to skip"))
        else:
            problems.append(Problem(f"{node.pointer}/Type", f"step {node.name}: unknown step type {node.type!r}"))

    for node in nodes:
        for index, name in enumerate(node.depends_on):
            if name == node.name:
                problems.append(Problem(f"{node.pointer}/DependsOn/{index}", f"step {node.name} depends on itself"))
            elif name not in by_name:
                problems.append(Problem(f"{node.pointer}/DependsOn/{index}", f"step {node.name} depends on {name!r}, which is not a step"))
        for reference in node.references:
            problem = _check_reference(reference, parameters, by_name, handlers)
            if problem:
                problems.append(Problem(reference.pointer, f"step {node.name}: {problem}"))
        problems.extend(_check_property_files(node, by_name))
    for name in sorted(skip - set(by_name)):
        problems.append(Problem("/Steps", f"asked to skip step {name!r}, which the definition does not have"))
    problems.extend(_cycles(nodes, by_name))
    if problems:
        raise ValidationError(problems)
    return nodes


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _shapes(steps: list[Any], pointer: str) -> list[Problem]:
    """Every step is an object whose Name and Type are strings, whose Arguments (when given) is
    an object and DependsOn a list of names; a Condition's branches are lists of such steps."""
    problems = []
    for index, step in enumerate(steps):
        here = f"{pointer}/{index}"
        if not isinstance(step, dict):
            problems.append(Problem(here, f"a step is a JSON object, not {_kind(step)}"))
            continue
        for key in ("Name", "Type"):
            if not isinstance(step.get(key), str) or not step[key]:
                problems.append(Problem(f"{here}/{key}", f"every step needs a {key} (a string), not {_kind(step.get(key))}"))
        if "Arguments" in step and not isinstance(step["Arguments"], dict):
            problems.append(Problem(f"{here}/Arguments", f"Arguments is a JSON object, not {_kind(step['Arguments'])}"))
            continue
        depends = step.get("DependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(name, str) for name in depends):
            problems.append(Problem(f"{here}/DependsOn", "DependsOn is a list of step names"))
        if step.get("Type") == "Condition":
            for branch in ("IfSteps", "ElseSteps"):
                children = (step.get("Arguments") or {}).get(branch, [])
                if not isinstance(children, list):
                    problems.append(Problem(f"{here}/Arguments/{branch}", f"{branch} is a list of steps, not {_kind(children)}"))
                else:
                    problems.extend(_shapes(children, f"{here}/Arguments/{branch}"))
    return problems


def _parameters(definition: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
    declared = {}
    for index, parameter in enumerate(definition.get("Parameters") or []):
        here = f"/Parameters/{index}"
        if not isinstance(parameter, dict):
            problems.append(Problem(here, f"a parameter is a JSON object, not {_kind(parameter)}"))
            continue
        name, kind = parameter.get("Name"), parameter.get("Type", "String")
        if not isinstance(name, str) or not name:
            problems.append(Problem(f"{here}/Name", "every parameter needs a Name"))
            continue
        if name in declared:
            problems.append(Problem(f"{here}/Name", f"duplicate parameter {name!r}"))
        if kind not in parameter_values.TYPES:
            problems.append(Problem(f"{here}/Type", f"parameter {name}: unknown type {kind!r}; known: {', '.join(parameter_values.TYPES)}"))
        elif "DefaultValue" in parameter:
            problem = parameter_values.value_problem(kind, parameter["DefaultValue"])
            if problem:
                problems.append(Problem(f"{here}/DefaultValue", f"parameter {name}: the default {problem}"))
        declared[name] = parameter
    return declared


def _check_reference(reference: graph.Reference, parameters: dict[str, Any], steps: dict[str, graph.Node], handlers: dict[str, Handler]) -> str | None:
    kind, _, rest = reference.target.partition(".")
    if kind == "Parameters":
        return None if rest in parameters else f"parameter {rest!r} is not defined"
    if kind == "Execution":
        return None if rest in EXECUTION_VARIABLES else f"unknown execution variable {rest!r}; known: {', '.join(EXECUTION_VARIABLES)}"
    if kind != "Steps":
        return f"cannot resolve {reference.target!r}: a Get names Parameters.*, Execution.* or Steps.*"
    name, _, path = rest.partition(".")
    source = steps.get(name)
    if source is None:
        return f"refers to step {name!r}, which is not defined"
    try:
        tokens = parse_path(path)
    except ValueError as exc:
        return str(exc)
    if tokens[0] == "PropertyFiles":
        return None  # checked with the Std:JsonGet that holds it
    problem = properties.check(source.type, tokens)  # what SageMaker has
    handler = handlers.get(source.type)
    if problem is None and handler is not None:
        problem = handler.check_property(source, tokens)  # what the local engine produces
    return f"{name}.{path}: {problem}" if problem else None


def _check_property_files(node: graph.Node, steps: dict[str, graph.Node]) -> list[Problem]:
    problems = []
    for reference in node.references:
        tokens = reference.target.split(".")
        if len(tokens) < 3 or tokens[0] != "Steps" or tokens[2] != "PropertyFiles":
            continue
        source = steps.get(tokens[1])
        if source is None:
            continue
        declared = {f.get("PropertyFileName"): f for f in source.step.get("PropertyFiles") or []}
        wanted = tokens[3] if len(tokens) > 3 else ""
        if wanted not in declared:
            problems.append(Problem(reference.pointer, f"step {tokens[1]} declares no property file {wanted!r}"))
            continue
        outputs = {o.get("OutputName") for o in ((source.step.get("Arguments") or {}).get("ProcessingOutputConfig") or {}).get("Outputs") or []}
        if declared[wanted].get("OutputName") not in outputs:
            problems.append(Problem(reference.pointer, f"property file {wanted} names output {declared[wanted].get('OutputName')!r}, which step {tokens[1]} does not have"))
    return problems


def _cycles(nodes: list[graph.Node], steps: dict[str, graph.Node]) -> list[Problem]:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    problems: list[Problem] = []

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2 or name not in steps:
            return
        if state.get(name) == 1:
            cycle = trail[trail.index(name):] + [name]
            problems.append(Problem(steps[name].pointer, f"steps form a cycle: {' -> '.join(reversed(cycle))}"))
            return
        state[name] = 1
        for upstream in steps[name].upstream:
            visit(upstream, [*trail, name])
        state[name] = 2

    for node in nodes:
        visit(node.name, [])
    return problems
