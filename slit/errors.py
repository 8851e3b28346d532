"""The one exception family of slit.

Every error a user can cause derives from :class:`SlitError`. A user error says *what* is wrong,
*where* (file, YAML path, column, row), *what is valid* and *how to fix it*; the CLI prints it
without a traceback and exits with status 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_SHOWN_PROBLEMS = 50
"""The most problems an error message lists (the rest are counted)."""

MAX_SHOWN_CHARS = 300
"""The longest description of one problem shown in full (a value echoed back may be huge)."""


class SlitError(Exception):
    """Base class of every error slit raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a user input.

    Attributes:
        where: location, e.g. ``"scenario.yaml: datacenters[2].pools[0].gpu"``.
        what: what is wrong.
        hint: what is valid and how to fix it (may be empty).
    """

    where: str
    what: str
    hint: str = ""

    def __str__(self) -> str:
        what = self.what if len(self.what) <= MAX_SHOWN_CHARS else (
            f"{self.what[:MAX_SHOWN_CHARS]}... ({len(self.what):,} characters)")  # fmt: skip
        text = f"{self.where}: {what}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


@dataclass
class ScenarioError(SlitError):
    """A scenario file (or override) is invalid; holds every problem found, not just the first."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the scenario:"
        shown = [f"  - {p}" for p in self.problems[:MAX_SHOWN_PROBLEMS]]
        if n > MAX_SHOWN_PROBLEMS:  # the first ones say what is wrong; thousands bury it
            shown.append(f"  ... and {n - MAX_SHOWN_PROBLEMS:,} more")
        return "\n".join([head, *shown])


class TraceError(SlitError):
    """A trace (request trace or grid signal) is missing, malformed or too short."""


class RoutingError(SlitError):
    """A routing policy chose a datacenter the scenario forbids (one outside the request's
    origin's data residency): a fault of the policy, found by the simulator's check."""


class OutputError(SlitError):
    """An output location cannot be used (e.g. it exists and ``--overwrite`` was not given)."""


class RegistryError(SlitError):
    """An unknown name was asked of a registry (policy, algorithm, ...)."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGTERM); Ctrl-C raises plain ``KeyboardInterrupt``.

    A ``KeyboardInterrupt`` so that every clean-up written for Ctrl-C also runs for SIGTERM.
    """

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
