"""The exceptions of taskpool.

Every store error is raised as a subclass of :class:`TaskpoolError`, chosen
by the error's kind (never by its message). The message is the Rust store's
message; URLs in it never show a password.
"""


class TaskpoolError(Exception):
    """Base class of every error a taskpool store reports."""


class InvalidInput(TaskpoolError, ValueError):
    """An argument is out of range or malformed: a bad id or status, an
    integer beyond 64 bits, an unknown pool name, a bad duration…"""


class InvalidQuery(TaskpoolError, ValueError):
    """A query cannot be parsed, or cannot be answered identically on every
    backend (taskpool accepts a documented subset of MongoDB's syntax)."""


class NotFound(TaskpoolError, LookupError):
    """The task, record or artifact does not exist."""


class AlreadyExists(TaskpoolError):
    """Something with the same identity already exists."""


class LeaseLost(TaskpoolError):
    """The task's lease is not held any more: it expired and another worker
    claimed the task, or an operator reset it. Nothing was changed."""


class Unavailable(TaskpoolError, ConnectionError):
    """The store cannot be reached (e.g. no MongoDB server answered within
    the server-selection timeout) or is locked by another process."""


class ConfigError(TaskpoolError):
    """The store URL or configuration is not usable (unknown scheme,
    malformed URL, missing calendar…)."""


class Unsupported(TaskpoolError):
    """The backend cannot do this operation."""


class BackendError(TaskpoolError):
    """Any other failure reported by the backend."""


__all__ = [
    "TaskpoolError",
    "InvalidInput",
    "InvalidQuery",
    "NotFound",
    "AlreadyExists",
    "LeaseLost",
    "Unavailable",
    "ConfigError",
    "Unsupported",
    "BackendError",
]
