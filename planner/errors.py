"""The project's own error type: a message a person can act on, never a traceback."""


class PlannerError(Exception):
    """A problem with the user's input or data, described in one actionable line."""


class ProfileError(PlannerError):
    """A hardware profile file is malformed; the message names the file and the field."""


class ScenarioError(PlannerError):
    """A scenario is invalid; the message names the field and the allowed values."""


def yaml_error_line(exc: Exception) -> str:
    """A PyYAML error as one line: what went wrong and where (line and column, 1-based)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"
