"""Every exception buildgate raises, in one place.

A verdict is one of ``pass``, ``fail``, ``error``, ``skipped`` (and ``waived`` at the gate).
Exceptions map onto verdicts like this:

    BuildgateError                 any problem buildgate itself detected      -> error
    ├── TargetError                the target file is invalid (unknown key, wrong type,
    │                              a path that leaves the repository)          -> error
    ├── InputError                 a file the target names can't be used: missing,
    │                              too large, binary, invalid YAML, a symlink
    │                              out of the repository                        -> error
    ├── CannotDecide               the check can't reach a verdict (an expression
    │                              it can't evaluate, an unknown action)        -> error
    ├── RemoteError                talking to a registry or cluster failed      -> error
    │   ├── Unreachable            connection refused, DNS, timeout
    │   ├── Unauthorized           401 / 403 (no or bad credentials, RBAC)
    │   ├── RateLimited            429 past the retry budget
    │   └── ProtocolError          5xx, malformed or oversized answers
    └── NotApplicable              the layer can't be exercised here (no root, no
                                   credentials configured, no devpod named)     -> skipped

A *failure* is never an exception of this tree: a check that ran and found the claim false
returns a :class:`buildgate.result.CheckResult` with ``ok=False`` and the step asserts it.

Every exception carries ``where`` (``file:line``, a URL, an object name) and renders as one
line, so that a verdict message never needs a traceback. Messages never contain credentials.
"""
from __future__ import annotations


class BuildgateError(Exception):
    """Base class: a one-line reason, plus where it happened."""

    def __init__(self, reason: str, where: str | None = None) -> None:
        self.reason = " ".join(str(reason).split())  # always one line
        self.where = where
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason

    @property
    def kind(self) -> str:
        """Short label used in reports (``InputError`` -> ``input error``)."""
        name = type(self).__name__
        out = "".join(" " + c.lower() if c.isupper() else c for c in name).strip()
        return out


class TargetError(BuildgateError):
    """The target file is invalid."""


class InputError(BuildgateError):
    """A file named by the target is missing, unreadable, too large, binary or malformed."""


class CannotDecide(BuildgateError):
    """The check ran but can't reach an honest verdict."""


class RemoteError(BuildgateError):
    """A registry, cluster or devpod could not be talked to properly."""


class Unreachable(RemoteError):
    """Connection refused, name resolution failure or timeout."""


class Unauthorized(RemoteError):
    """401 or 403: missing or rejected credentials, or a missing permission."""


class RateLimited(RemoteError):
    """429 beyond the retry budget."""


class ProtocolError(RemoteError):
    """A 5xx, or an answer that is malformed or over the size limit."""


class NotApplicable(BuildgateError):
    """The check can't be exercised in this environment; the scenario is skipped with this reason."""
