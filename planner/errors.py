"""The project's own error type: a message a person can act on, never a traceback."""


class PlannerError(Exception):
    """A problem with the user's input or data, described in one actionable line."""


class ProfileError(PlannerError):
    """A hardware profile file is malformed; the message names the file and the field."""


class ScenarioError(PlannerError):
    """A scenario is invalid; the message names the field and the allowed values."""
